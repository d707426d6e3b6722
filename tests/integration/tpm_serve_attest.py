#!/usr/bin/env python3
"""Drives `atoll-enclave --serve` like the island does (include/atoll/enclave.h
framing: 4-byte big-endian length of type+payload, 1-byte type, payload) over
a socketpair on descriptor 3: PING, then one ATTEST per nonce, then SHUTDOWN.
Writes each evidence wrapper to PREFIX.<i>.json. Exit 0 when every answer is
EVIDENCE and the enclave exits 0.

usage: tpm_serve_attest.py ENCLAVE PREFIX NONCE [NONCE...] -- ENCLAVE-ARGS...
(enclave arguments start at the first one beginning with "--")."""
import fcntl
import json
import os
import socket
import struct
import subprocess
import sys

ATTEST, EVIDENCE, ERROR, PING, PONG, SHUTDOWN = 1, 2, 5, 6, 7, 8


def send(s, t, payload=b""):
    s.sendall(struct.pack(">IB", len(payload) + 1, t) + payload)


def recv_exact(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise EOFError("enclave closed the channel")
        b += c
    return b


def recv(s):
    n, t = struct.unpack(">IB", recv_exact(s, 5))
    return t, recv_exact(s, n - 1)


def main():
    enclave, prefix = sys.argv[1], sys.argv[2]
    rest = sys.argv[3:]
    i = next(k for k, a in enumerate(rest) if a.startswith("--"))
    nonces, args = rest[:i], rest[i:]
    parent, child = socket.socketpair()
    # both ends above 3 first, so that putting the child's end on 3 closes
    # nothing of ours
    hp = fcntl.fcntl(parent.fileno(), fcntl.F_DUPFD_CLOEXEC, 10)
    hc = fcntl.fcntl(child.fileno(), fcntl.F_DUPFD_CLOEXEC, 10)
    parent.close()
    child.close()
    parent = socket.socket(fileno=hp)
    os.dup2(hc, 3, inheritable=True)
    os.close(hc)
    p = subprocess.Popen([enclave, "--serve", "--fd", "3"] + args, pass_fds=(3,))
    os.close(3)
    parent.settimeout(30)
    ok = True
    try:
        send(parent, PING)
        t, _ = recv(parent)
        if t != PONG:
            print("no PONG", file=sys.stderr)
            ok = False
        for k, nonce in enumerate(nonces, 1):
            send(parent, ATTEST, json.dumps({"nonce": nonce}).encode())
            t, body = recv(parent)
            if t != EVIDENCE:
                print("ATTEST %d: type %d %r" % (k, t, body[:200]), file=sys.stderr)
                ok = False
                break
            with open("%s.%d.json" % (prefix, k), "wb") as f:
                f.write(body)
        send(parent, SHUTDOWN)
    except (OSError, EOFError) as e:
        print("channel: %s" % e, file=sys.stderr)
        ok = False
    try:
        rc = p.wait(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = -9
    if rc != 0:
        print("enclave exit %d" % rc, file=sys.stderr)
    return 0 if ok and rc == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
