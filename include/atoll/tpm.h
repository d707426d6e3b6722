/* The `tpm` attestation backend (DESIGN §4, issue 5): TPM 2.0 quotes, the TCG
 * crypto-agile event log, AK-EK credential activation, and evidence
 * generation through tpm2-tss ESAPI (swtpm in tests).
 *
 * Verification needs no TPM: every wire structure (TPMS_ATTEST, TPMT_SIGNATURE,
 * TPMT_PUBLIC, TPML_PCR_SELECTION, the event log, the go-tpm-tools protobuf)
 * is parsed with the bounded reader, validated against the limits in
 * include/atoll/limits.h ("tpm" section), then used. Parsed structures borrow
 * from the caller's buffer (views) unless a field says otherwise.
 *
 * Accepted evidence (ops->verify sniffs the first byte):
 *   - Atoll's own JSON evidence {"format":"atoll-tpm-v1", ...} (docs/internals/attest-tpm.md);
 *   - a serialized go-tpm-tools attest.Attestation protobuf (GCE vTPM);
 *   - trustee's generic TPM evidence {"ak_public", "tpm_quote":{message, signature, pcrs}}.
 *
 * Policy section "tpm" (validated by atl_tpm_policy_validate):
 *   {"pcr_bank":"sha256"|"sha384"|"sha1",  default "sha256"
 *    "allow_sha1":false,                    SHA-1 banks refused unless true
 *    "pcrs":{"<index>":"<hex>", ...},       expected values; each must be quoted
 *    "measurement_pcr":23,                  PCR carrying the enclave measurement
 *    "ak_names":["<hex TPM name>", ...],    pinned AKs (dev, trustee-style)
 *    "activation_keys":["<PEM>", ...],      who may sign AK-EK activation records
 *    "intermediates":["<PEM>", ...],        EK/AK CA intermediates (not anchors)
 *    "require_event_log":false,
 *    "activation_max_age_s":N}              activation records older are refused
 * The AK must be trusted by exactly one path that works: an AK certificate
 * chaining to trust_anchors.tpm, an activation record signed by an
 * activation key for an EK whose certificate chains to trust_anchors.tpm, or
 * a pinned AK name. */
#ifndef ATOLL_TPM_H
#define ATOLL_TPM_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "atoll/attest.h"
#include "atoll/err.h"
#include "atoll/limits.h"
#include "atoll/sig.h"

/* TCG Algorithm Registry (TPM_ALG_ID) and TPM 2.0 Part 2 constants. */
#define ATL_TPM_ALG_RSA 0x0001
#define ATL_TPM_ALG_SHA1 0x0004
#define ATL_TPM_ALG_AES 0x0006
#define ATL_TPM_ALG_SHA256 0x000B
#define ATL_TPM_ALG_SHA384 0x000C
#define ATL_TPM_ALG_SHA512 0x000D
#define ATL_TPM_ALG_NULL 0x0010
#define ATL_TPM_ALG_RSASSA 0x0014
#define ATL_TPM_ALG_RSAPSS 0x0016
#define ATL_TPM_ALG_ECDSA 0x0018
#define ATL_TPM_ALG_ECC 0x0023
#define ATL_TPM_ALG_CFB 0x0043
#define ATL_TPM_ECC_NIST_P256 0x0003
#define ATL_TPM_ECC_NIST_P384 0x0004

#define ATL_TPM_GENERATED_VALUE 0xff544347u /* Part 2 §6.2 TPM_GENERATED */
#define ATL_TPM_ST_ATTEST_QUOTE 0x8018      /* Part 2 §6.9 TPM_ST */

/* TPMA_OBJECT bits (Part 2 §8.3). */
#define ATL_TPMA_FIXEDTPM (1u << 1)
#define ATL_TPMA_FIXEDPARENT (1u << 4)
#define ATL_TPMA_SENSITIVEDATAORIGIN (1u << 5)
#define ATL_TPMA_RESTRICTED (1u << 16)
#define ATL_TPMA_DECRYPT (1u << 17)
#define ATL_TPMA_SIGN (1u << 18)

#define ATL_TPM_PCRS 24          /* PCRs of a PC Client TPM */
#define ATL_TPM_DEFAULT_PCR 23   /* where the enclave measurement goes */
#define ATL_TPM_NAME_MAX_LEN 66  /* nameAlg (2) + SHA-512 digest */
#define ATL_TPM_EVIDENCE_FORMAT "atoll-tpm-v1"

/* ---- wire structures ---- */

/* One TPMS_PCR_SELECTION: bank and PCR bitmap (bit i = PCR i, i < 24). */
struct atl_tpm_pcrsel {
	uint16_t hash;
	uint32_t mask;
};

/* TPMS_ATTEST of a quote (Part 2 §10.12.12); views borrow the input. */
struct atl_tpm_attest {
	uint32_t magic;
	uint16_t type;
	const uint8_t *signer; /* qualifiedSigner (TPM2B_NAME contents) */
	size_t signer_len;
	const uint8_t *extra; /* extraData: the qualifying data (nonce) */
	size_t extra_len;
	uint64_t clock;
	uint32_t reset_count, restart_count;
	uint8_t safe;
	uint64_t firmware;
	size_t n_sel;
	struct atl_tpm_pcrsel sel[8]; /* ATL_TPM_BANKS_MAX */
	const uint8_t *pcr_digest;
	size_t pcr_digest_len;
};

/* Parses a TPMS_ATTEST whose attested part is TPMS_QUOTE_INFO. The magic and
 * type are parsed, not judged (the verifier checks them and names the check).
 * ATL_E_TRUNCATED / ATL_E_FORMAT / ATL_E_LIMIT / ATL_E_TRAILING. */
ATL_NODISCARD enum atl_err atl_tpm_attest_parse(const uint8_t *buf, size_t len,
						struct atl_tpm_attest *out);

/* TPMT_SIGNATURE (Part 2 §11.3.4): RSASSA/RSAPSS or ECDSA; views borrow. */
struct atl_tpm_sig {
	uint16_t alg, hash;
	const uint8_t *rsa; /* RSA signature */
	size_t rsa_len;
	const uint8_t *r, *s; /* ECDSA */
	size_t r_len, s_len;
};
ATL_NODISCARD enum atl_err atl_tpm_sig_parse(const uint8_t *buf, size_t len,
					     struct atl_tpm_sig *out);

/* TPMT_PUBLIC (Part 2 §12.2.4) of an RSA or ECC key. key is owned (free with
 * atl_tpm_public_clear); name = nameAlg || H(TPMT_PUBLIC) (Part 1 §16). */
struct atl_tpm_public {
	uint16_t type, name_alg;
	uint32_t attrs;
	uint16_t scheme, scheme_hash; /* signing/decryption scheme, or NULL */
	uint16_t sym_alg, sym_bits, sym_mode;
	uint16_t curve;     /* ECC */
	uint8_t ecc_x[66];  /* ECC: the point's x-coordinate (KDFe PartyVInfo) */
	size_t ecc_x_len;
	uint16_t rsa_bits;  /* RSA */
	struct atl_pubkey *key;
	uint8_t name[ATL_TPM_NAME_MAX_LEN];
	size_t name_len;
};
ATL_NODISCARD enum atl_err atl_tpm_public_parse(const uint8_t *buf, size_t len,
						struct atl_tpm_public *out);
void atl_tpm_public_clear(struct atl_tpm_public *p);

/* PCR values of one bank: value[i] valid when bit i of present is set. */
struct atl_tpm_pcrs {
	uint16_t hash; /* TPM_ALG_ID of the bank */
	uint32_t present;
	uint8_t value[ATL_TPM_PCRS][64];
};

/* Digest length of a TPM hash algorithm (0 if not supported). */
size_t atl_tpm_hash_len(uint16_t alg);
/* Name of a TPM hash ("sha256"), or NULL. */
const char *atl_tpm_hash_name(uint16_t alg);
/* TPM hash from its name; 0 if unknown. */
uint16_t atl_tpm_hash_from_name(const char *name);

/* pcrDigest = H_alg(selected PCR values in selection order, ascending index)
 * (Part 3 §18.4). ATL_E_NOTFOUND when a selected PCR has no value,
 * ATL_E_UNSUPPORTED for an unsupported hash (SHA-1 cannot be computed here). */
ATL_NODISCARD enum atl_err atl_tpm_pcr_digest(uint16_t alg, const struct atl_tpm_pcrsel *sel,
					      size_t n_sel, const struct atl_tpm_pcrs *banks,
					      size_t n_banks, uint8_t *out, size_t *out_len);

/* Verifies sig over the TPMS_ATTEST bytes with the AK: the scheme must be
 * RSASSA, RSAPSS or ECDSA with SHA-256/384 and match the AK's own scheme when
 * it has one. ATL_E_AUTH (bad signature), ATL_E_UNSUPPORTED, ATL_E_FORMAT. */
ATL_NODISCARD enum atl_err atl_tpm_sig_verify(const struct atl_tpm_public *ak,
					      const struct atl_tpm_sig *sig, const uint8_t *msg,
					      size_t msg_len);
/* Same with a bare public key (trustee/Azure evidence carries an SPKI/JWK). */
ATL_NODISCARD enum atl_err atl_tpm_sig_verify_key(const struct atl_pubkey *key,
						  const struct atl_tpm_sig *sig,
						  const uint8_t *msg, size_t msg_len);

/* ---- TCG PC Client crypto-agile event log (tpm_evlog.c) ---- */

struct atl_tpm_evlog_result {
	size_t n_events;
	uint32_t covered;   /* PCRs with at least one extended event */
	uint8_t locality;   /* from the StartupLocality event (0 if none) */
	bool types_ok;      /* PCRs 0-7: known event types, one EV_SEPARATOR each */
	char why[160];      /* first structural complaint when !types_ok */
};

/* Replays the log's bank `hash` (SHA-256 or SHA-384) into out (PCRs start at
 * zero; PCR 0 at the StartupLocality value; EV_NO_ACTION not extended).
 * Fails on any malformed event (ATL_E_FORMAT/TRUNCATED/LIMIT), a bank the log
 * lacks (ATL_E_NOTFOUND) or an event missing the bank's digest. Event-type
 * sanity (NEGATIVE-TESTS 30) is reported in res->types_ok, not as an error. */
ATL_NODISCARD enum atl_err atl_tpm_evlog_replay(const uint8_t *log, size_t len, uint16_t hash,
						struct atl_tpm_pcrs *out,
						struct atl_tpm_evlog_result *res);

/* ---- verification (tpm.c) ---- */

/* Validates the "tpm" policy section (NULL is fine). ATL_E_FORMAT naming the
 * field in why. */
ATL_NODISCARD enum atl_err atl_tpm_policy_validate(const json_t *section, char *why,
						   size_t why_cap);

/* Verifies evidence as ops->verify does; additionally, when expected is not
 * NULL, records a "nonce" check comparing the quote's extraData with it
 * (exactly; Atoll's binding is the first 32 bytes of report_data). Returns
 * ATL_OK when verification ran to the end (read ar for the outcome). */
ATL_NODISCARD enum atl_err atl_tpm_verify(const uint8_t *ev, size_t ev_len,
					  const struct atl_verify_in *in, const uint8_t *expected,
					  size_t expected_len, struct atl_ar *ar);

/* The backend table (registry.c). */
extern const struct atl_tee_ops atl_tee_tpm;

/* ---- AK-EK credential activation (tpm_cred.c) ----
 *
 * Verifier side (no TPM): atl_tpm_make_credential encrypts a fresh secret to
 * the EK (TPM2_MakeCredential in software, Part 1 §24: RSA-OAEP seed with
 * label "IDENTITY", KDFa "STORAGE"/"INTEGRITY", AES-128-CFB, HMAC) bound to
 * the AK's name. Only the TPM holding both the EK and an object with that
 * name can recover the secret with TPM2_ActivateCredential. */
struct atl_tpm_challenge {
	uint8_t *blob;   /* TPM2B_ID_OBJECT contents (credentialBlob) */
	size_t blob_len;
	uint8_t *secret; /* TPM2B_ENCRYPTED_SECRET contents */
	size_t secret_len;
};
/* ek_pub / ak_pub: TPMT_PUBLIC bytes. The AK must be a restricted signing
 * key with fixedTPM; the EK an RSA-2048 restricted decryption key with an
 * AES-128-CFB symmetric (the TCG default EK template). credential is the
 * expected answer (1..32 bytes; caller keeps it secret). */
ATL_NODISCARD enum atl_err atl_tpm_make_credential(const uint8_t *ek_pub, size_t ek_len,
						   const uint8_t *ak_pub, size_t ak_len,
						   const uint8_t *credential, size_t cred_len,
						   struct atl_tpm_challenge *out);
void atl_tpm_challenge_clear(struct atl_tpm_challenge *c);

/* Activation record: the activator's statement that ak_name lives in the TPM
 * whose EK certificate has SHA-256 ek_cert_sha256, signed with ECDSA P-384.
 * JSON {"v":1,"ak_name":hex,"ek_cert_sha256":hex,"issued_at":n,"sig":b64}
 * (sig over the compact sorted-keys dump without "sig"). */
ATL_NODISCARD enum atl_err atl_tpm_activation_sign(const struct atl_privkey *key,
						   const uint8_t *ak_name, size_t ak_name_len,
						   const uint8_t ek_cert_sha256[32],
						   int64_t issued_at, json_t **rec_out);
/* Checks a record's signature against one key and its fields against the
 * AK name and EK certificate hash. ATL_E_AUTH / ATL_E_FORMAT / ATL_E_POLICY. */
ATL_NODISCARD enum atl_err atl_tpm_activation_verify(const json_t *rec,
						     const struct atl_pubkey *key,
						     const uint8_t *ak_name, size_t ak_name_len,
						     const uint8_t ek_cert_sha256[32]);

/* Island registration, coordinator side. info is what the island's
 * atl_tpm_ak_info returned ({"ek_pub","ek_cert","ak_pub",...}).
 * begin: checks that the EK certificate chains to the policy's
 * trust_anchors.tpm (through tpm.intermediates) at now, that ek_pub is the
 * certified key and the AK a restricted fixedTPM signing key; then draws a
 * fresh 32-byte credential (cred_out: keep it secret until finish) and the
 * challenge to send. ATL_E_AUTH / ATL_E_EXPIRED (chain), ATL_E_FORMAT, with a
 * reason in why.
 * finish: compares the island's answer with cred (constant time; ATL_E_AUTH
 * when it differs: the AK does not live with that EK) and signs the
 * activation record with the coordinator's activation key; the island
 * attaches it to its evidence (cfg "activation"). */
ATL_NODISCARD enum atl_err atl_tpm_activation_begin(const json_t *info, const json_t *policy,
						    int64_t now, uint8_t cred_out[32],
						    struct atl_tpm_challenge *ch_out, char *why,
						    size_t why_cap);
ATL_NODISCARD enum atl_err atl_tpm_activation_finish(const json_t *info, const uint8_t cred[32],
						     const uint8_t *answer, size_t answer_len,
						     const struct atl_privkey *key, int64_t now,
						     json_t **rec_out);
/* Challenge transport: {"blob":b64,"secret":b64}. */
ATL_NODISCARD enum atl_err atl_tpm_challenge_to_json(const struct atl_tpm_challenge *ch,
						     json_t **out);
ATL_NODISCARD enum atl_err atl_tpm_challenge_from_json(const json_t *j,
						       struct atl_tpm_challenge *ch);

/* Freshness countersignature (coordinator side, after verifying an island's
 * tpm evidence wrapper against its own fresh nonce): returns a copy of the
 * wrapper whose native Atoll tpm evidence carries "freshness":
 * {"v":1,"ak_name":hex,"qualifying_data":hex,"issued_at":now,"sig":b64},
 * signed (ECDSA P-384) with the activation key. A verifier without a nonce
 * of its own (a client) takes issued_at as the evidence's time when the
 * record verifies under a tpm.activation_keys key and names the quote's AK
 * and qualifying data (check "freshness"). ATL_E_UNSUPPORTED for other
 * evidence formats. *out malloc'd. */
ATL_NODISCARD enum atl_err atl_tpm_countersign(const char *wrapper, size_t len,
					       const struct atl_privkey *key, int64_t now,
					       char **out);

/* ---- evidence generation on a TPM (tpm_esys.c, needs tpm2-tss) ----
 *
 * cfg: {"tpm":"swtpm:host=127.0.0.1,port=2321" | "device:/dev/tpmrm0" | any
 *       tctildr config,
 *       "pcr":23, "pcrs":[0,...,23] (quoted selection, SHA-256 bank; default
 *       the measurement PCR only),
 *       "measurement":"<hex SHA-384>" (extended into "pcr" unless
 *       "extend":false), "reset_pcr":true (PCR 23 only; test setups),
 *       "event_log":"<file>" (optional, e.g. /sys/kernel/security/tpm0/binary_bios_measurements),
 *       "activation":{record} (attached verbatim)}. */
ATL_NODISCARD enum atl_err atl_tpm_evidence(const json_t *cfg,
					    const uint8_t report_data[ATL_REPORT_DATA_LEN],
					    uint8_t **ev_out, size_t *ev_len_out);

/* Island registration helpers on the TPM. atl_tpm_ak_info reads the EK
 * certificate (NV index 0x01c00002), the EK public area and creates/loads the
 * AK, returning {"ek_pub":b64, "ek_cert":b64, "ak_pub":b64, "ak_name":hex}.
 * atl_tpm_activate answers a challenge with TPM2_ActivateCredential.
 * Both use cfg as atl_tpm_evidence. The AK is a primary key derived from the
 * endorsement seed, so it is the same key in every call (tpm_esys.c). */
ATL_NODISCARD enum atl_err atl_tpm_ak_info(const json_t *cfg, json_t **info_out);
ATL_NODISCARD enum atl_err atl_tpm_activate(const json_t *cfg, const struct atl_tpm_challenge *ch,
					    uint8_t *cred_out, size_t cred_cap,
					    size_t *cred_len_out);

/* The process-wide TPM session: opens the connection of cfg "tpm" once
 * (before a sandbox that forbids socket()/connect() and opening the device),
 * and every later atl_tpm_evidence / ak_info / activate with the same "tpm"
 * reuses it (another "tpm" is ATL_E_ARG while it is open). Not thread-safe:
 * one caller at a time (the enclave's message loop). ATL_E_EXISTS when one
 * is open already. */
ATL_NODISCARD enum atl_err atl_tpm_session_open(const json_t *cfg);
void atl_tpm_session_close(void);

/* Expected value of a PCR after extending SHA-256 digests d[0..n) from zero:
 * for `atoll policy init --tee tpm`. The enclave measurement (SHA-384) is
 * extended as SHA-256("atoll-measurement-v1" || measurement). */
ATL_NODISCARD enum atl_err atl_tpm_measurement_event(const uint8_t *meas, size_t meas_len,
						     uint8_t digest_out[32]);
ATL_NODISCARD enum atl_err atl_tpm_expected_pcr(const uint8_t *meas, size_t meas_len,
						uint8_t pcr_out[32]);
/* A "tpm" policy section expecting the measurement in `pcr` (new reference). */
ATL_NODISCARD enum atl_err atl_tpm_policy_init(const uint8_t *meas, size_t meas_len, int pcr,
					       json_t **section_out);

/* ---- sealing a small secret to a TPM (tpm_seal.c; the key broker's master
 * key, docs/internals/kbs.md "Master key on a TPM") ----
 *
 * uri: a TCTI config as cfg "tpm" above ("swtpm:host=..,port=..",
 * "device:/dev/tpmrm0"). The secret becomes a keyedHash data object under the
 * owner hierarchy's ECC P-256 storage primary key (recreated from the owner
 * seed on each call, nothing persisted in the TPM), empty authValue, no PCR
 * policy; the commands use a salted, parameter-encrypting session. */
struct atl_tpm_sealed {
	char uri[ATL_TPM_SEAL_URI_MAX + 1]; /* the TPM it was sealed on ("" if unrecorded) */
	const uint8_t *pub;                 /* TPMT_PUBLIC of the sealed object (view) */
	size_t pub_len;
	const uint8_t *priv;                /* TPM2B_PRIVATE contents (view) */
	size_t priv_len;
};
/* Parses a blob of atl_tpm_seal (bounded reader; needs no TPM). ATL_E_FORMAT,
 * ATL_E_TRUNCATED, ATL_E_LIMIT, ATL_E_TRAILING; *out zeroed on failure. */
ATL_NODISCARD enum atl_err atl_tpm_sealed_parse(const uint8_t *buf, size_t len,
						struct atl_tpm_sealed *out);
/* Seals secret[0..len) (1..ATL_TPM_SEAL_SECRET_MAX bytes) on the TPM at uri;
 * *blob_out (malloc'd, not secret) records uri. ATL_E_IO (TPM unreachable or
 * refusing), ATL_E_ARG, ATL_E_UNSUPPORTED (built without tpm2-tss). */
ATL_NODISCARD enum atl_err atl_tpm_seal(const char *uri, const uint8_t *secret, size_t len,
					uint8_t **blob_out, size_t *blob_len_out);
/* Unseals a blob on the TPM at uri (NULL or "": the one recorded in the
 * blob) into out[0..cap) (the caller's secret memory). Parse errors as
 * atl_tpm_sealed_parse; ATL_E_AUTH when the TPM refuses to load the object
 * (another TPM, a cleared owner hierarchy, an altered blob); ATL_E_IO (TPM
 * unreachable); ATL_E_LIMIT (secret larger than cap). */
ATL_NODISCARD enum atl_err atl_tpm_unseal(const char *uri, const uint8_t *blob, size_t blob_len,
					  uint8_t *out, size_t cap, size_t *len_out);

#endif
