#!/usr/bin/env python3
"""Writes the seed corpus of fuzz/gguf_fuzz.c: small GGUF files, valid and
hostile, with and without tokenizer metadata (SPM and byte-level BPE with the
qwen2, llama3 and gpt-2 pre-tokenizers).

Usage: python3 scripts/gen_gguf_corpus.py   (from the repository root)"""
import os
import struct

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fuzz', 'corpus', 'gguf') + '/'
def gs(b): 
    if isinstance(b,str): b=b.encode()
    return struct.pack('<Q',len(b))+b
def kv(k,t,v): return gs(k)+struct.pack('<I',t)+v
def ti(name,dims,typ,off): return gs(name)+struct.pack('<I',len(dims))+b''.join(struct.pack('<Q',d) for d in dims)+struct.pack('<IQ',typ,off)
def build(kvs,tis,data=b'',ver=3,align=32):
    h=b'GGUF'+struct.pack('<IQQ',ver,len(tis),len(kvs))+b''.join(kvs)+b''.join(tis)
    h+=b'\0'*((-len(h))%align)
    return h+data
def w(name,b): open(out+name,'wb').write(b)
tokens=[b'<unk>',b'<s>',b'</s>',b'a',b'b',b'ab',b'\xe2\x96\x81']
kvs=[kv('general.architecture',8,gs('llama')),
     kv('tokenizer.ggml.model',8,gs('llama')),
     kv('tokenizer.ggml.tokens',9,struct.pack('<IQ',8,len(tokens))+b''.join(gs(t) for t in tokens)),
     kv('tokenizer.ggml.scores',9,struct.pack('<IQ',6,len(tokens))+b''.join(struct.pack('<f',-i) for i in range(len(tokens)))),
     kv('tokenizer.ggml.token_type',9,struct.pack('<IQ',5,len(tokens))+struct.pack('<7i',2,3,3,1,1,1,1)),
     kv('tokenizer.ggml.bos_token_id',4,struct.pack('<I',1)),
     kv('tokenizer.ggml.add_bos_token',7,b'\x01'),
     kv('k.f64',12,struct.pack('<d',1.5)),kv('k.i64',11,struct.pack('<q',-3)),kv('k.u16',2,struct.pack('<H',7)),
     kv('k.nested',9,struct.pack('<IQ',9,1)+struct.pack('<IQ',0,2)+b'\x01\x02')]
w('vocab_spm.gguf',build(kvs,[]))
f32=b''.join(struct.pack('<f',i) for i in range(8))
q8=bytes(range(68))
d=f32+b'\0'*24+q8+b'\0'*28
w('tensors.gguf',build(kvs[:1],[ti('w0',[8],0,0),ti('q8',[32,2],8,32)],d))
w('v2.gguf',build(kvs[:1],[ti('w0',[8],0,0)],f32+b'\0'*24,ver=2))
w('align64.gguf',build([kv('general.alignment',4,struct.pack('<I',64))],[ti('w0',[8],0,0),ti('w1',[8],0,64)],f32+b'\0'*56+f32+b'\0'*24,align=64))
w('overlap.gguf',build(kvs[:1],[ti('a',[32],0,0),ti('b',[16],0,64)],b'\0'*128))
w('past_end.gguf',build(kvs[:1],[ti('a',[32],0,0)],b'\0'*32))
w('bad_type.gguf',build(kvs[:1],[ti('a',[32],4,0)],b'\0'*128))
w('empty.gguf',build([],[]))
w('v1.gguf',b'GGUF'+struct.pack('<III',1,0,0))
# byte-level BPE vocabularies
G=chr(0x120).encode()  # 'Ġ' = space
btoks=[b'<|endoftext|>',b'<|im_start|>',b'<|im_end|>',b'a',b'b',G,G+b'a',b'ab',G+b'ab',b'1',b'13',b'<think>']
btypes=[3,3,3,1,1,1,1,1,1,1,1,4]
merges=[G+b' a',b'a b',G+b'a b',b'1 3',b'bad']
def bpe(pre):
    return [kv('tokenizer.ggml.model',8,gs('gpt2')),kv('tokenizer.ggml.pre',8,gs(pre)),
        kv('tokenizer.ggml.tokens',9,struct.pack('<IQ',8,len(btoks))+b''.join(gs(t) for t in btoks)),
        kv('tokenizer.ggml.token_type',9,struct.pack('<IQ',5,len(btoks))+b''.join(struct.pack('<i',t) for t in btypes)),
        kv('tokenizer.ggml.merges',9,struct.pack('<IQ',8,len(merges))+b''.join(gs(m) for m in merges)),
        kv('tokenizer.ggml.eos_token_id',4,struct.pack('<I',2))]
w('vocab_qwen2.gguf',build(bpe('qwen2'),[]))
w('vocab_llama3.gguf',build(bpe('llama-bpe'),[]))
w('vocab_gpt2.gguf',build(bpe('gpt-2'),[]))
