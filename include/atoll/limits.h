/* Named limits for everything Atoll reads from outside (STYLE.md "Names").
 * Every parser checks counts and sizes against one of these before use. */
#ifndef ATOLL_LIMITS_H
#define ATOLL_LIMITS_H

/* core */
#define ATL_JSON_SIZE_MAX        (16u * 1024u * 1024u)  /* bytes of one JSON document */
#define ATL_JSON_DEPTH_MAX       32u                    /* nesting of arrays/objects */
#define ATL_B64_INPUT_MAX        (64u * 1024u * 1024u)  /* characters of base64 text */
#define ATL_HEX_INPUT_MAX        (64u * 1024u * 1024u)  /* characters of hex text */
#define ATL_FILE_SIZE_MAX        (256u * 1024u * 1024u) /* default cap for atl_file_read */
#define ATL_WR_SIZE_MAX          (1024u * 1024u * 1024u) /* hard cap for any writer */
#define ATL_LOG_LINE_MAX         2048u                  /* bytes of one log line */
/* core: cache of freed secret regions (src/core/secmem.c) */
#define ATL_SECRET_CACHE_BYTES_MAX (16u * 1024u * 1024u) /* all cached regions (also <= RLIMIT_MEMLOCK/2) */
#define ATL_SECRET_CACHE_CLASS_MAX (4u * 1024u * 1024u)  /* largest cached body; larger bypass the cache */
#define ATL_SECRET_CACHE_PER_CLASS_MAX 4u                /* cached regions per power-of-two size class */

/* sig */
#define ATL_SIG_KEY_INPUT_MAX    (64u * 1024u)          /* bytes of one PEM/DER key */
#define ATL_SIG_LEN_MAX          1024u                  /* bytes of one signature */
#define ATL_SIG_RSA_BITS_MIN     2048u                  /* smallest RSA modulus accepted */
#define ATL_SIG_RSA_BITS_MAX     8192u                  /* largest RSA modulus accepted */

/* x509 (src/crypto/x509.c) */
#define ATL_X509_INPUT_MAX       (1024u * 1024u)        /* bytes of one PEM bundle / DER cert / CRL file */
#define ATL_X509_LIST_MAX        16u                    /* certificates in one list (chains are short) */
#define ATL_X509_CRL_LIST_MAX    16u                    /* CRLs in one list */
#define ATL_X509_NAME_MAX        1024u                  /* bytes of a subject/issuer text */

/* attest */
#define ATL_ATTEST_EVIDENCE_MAX  (4u * 1024u * 1024u)   /* bytes of evidence (wrapper or native) */
#define ATL_ATTEST_POLICY_MAX    (1024u * 1024u)        /* bytes of one policy document */
#define ATL_ATTEST_NONCE_MAX     64u                    /* bytes of a verifier nonce */
#define ATL_ATTEST_LIST_MAX      256u                   /* entries of a policy list (tees, measurements, anchors) */
#define ATL_ATTEST_MEAS_MAX      64u                    /* bytes of one measurement */
#define ATL_ATTEST_ANCHOR_MAX    (64u * 1024u)          /* bytes of one pinned PEM anchor */
#define ATL_ATTEST_AGE_MAX       (366 * 86400)          /* largest max_age_s a policy may set */
#define ATL_ATTEST_SKEW_MAX      60                     /* seconds evidence may come from the future */
#define ATL_ATTEST_ARGS_MAX      16u                    /* --anchor/--collateral options of one verify */

/* hardware attestation verifiers (src/attest/{snp,dcap,tdx,sgx}.c) */
#define ATL_HW_COLLATERAL_MAX    (1024u * 1024u)        /* bytes of one collateral file */
#define ATL_SNP_CERTS_MAX        8u                     /* entries of an SNP certificate table */
#define ATL_DCAP_QUOTE_MAX       (64u * 1024u)          /* bytes of one DCAP quote (signed part) */
#define ATL_DCAP_CERT_DATA_MAX   (32u * 1024u)          /* bytes of the PCK certification data */
#define ATL_DCAP_AUTH_DATA_MAX   4096u                  /* bytes of QE authentication data */
#define ATL_DCAP_TCB_LEVELS_MAX  256u                   /* tcbLevels in one tcbInfo */
#define ATL_DCAP_ADVISORIES_MAX  64u                    /* advisory ids kept per result */
#define ATL_DCAP_MODULES_MAX     16u                    /* tdxModuleIdentities entries */

/* attest: CBOR/COSE, AWS Nitro, Arm PSA/CCA, NVIDIA GPU (src/attest/{cbor,cose,nitro,psa,cca,spdm,nvgpu}.c) */
#define ATL_CBOR_DEPTH_MAX          16u                    /* nesting of CBOR arrays/maps/tags */
#define ATL_CBOR_ITEMS_MAX          4096u                  /* data items in one CBOR document */
#define ATL_COSE_PAYLOAD_MAX        (64u * 1024u)          /* bytes of a COSE_Sign1 payload */
#define ATL_NITRO_DOC_MAX           (32u * 1024u)          /* bytes of a Nitro attestation document */
#define ATL_NITRO_PCRS_MAX          32u                    /* PCR entries (index 0..31) */
#define ATL_NITRO_CABUNDLE_MAX      8u                     /* certificates in the cabundle */
#define ATL_NITRO_CERT_MAX          1024u                  /* bytes of one DER certificate (AWS spec) */
#define ATL_NITRO_USER_DATA_MAX     512u                   /* bytes of user_data */
#define ATL_NITRO_NONCE_MAX         512u                   /* bytes of nonce */
#define ATL_NITRO_PUBKEY_MAX        1024u                  /* bytes of public_key */
#define ATL_NITRO_MODULE_ID_MAX     128u                   /* bytes of module_id */
#define ATL_NITRO_FUTURE_SKEW_MAX   300                    /* seconds a document may come from the future */
#define ATL_PSA_SWCOMP_MAX          32u                    /* software components of a PSA/CCA token */
#define ATL_PSA_STR_MAX             256u                   /* bytes of a PSA/CCA text claim */
#define ATL_PSA_KEYS_MAX            64u                    /* IAK/CPAK entries in a policy */
#define ATL_SPDM_BLOCKS_MAX         255u                   /* measurement blocks of one SPDM response */
#define ATL_SPDM_OPAQUE_MAX         1024u                  /* bytes of SPDM opaque data (SPDM 1.1) */
#define ATL_NVGPU_CHAIN_MAX         5u                     /* certificates of a GPU device chain */
#define ATL_NVGPU_EVIDENCE_MAX      (64u * 1024u)          /* bytes of GPU evidence (report + chain) */
#define ATL_COMPOSITE_GPUS_MAX      8u                     /* GPUs in one composite evidence set */

/* platform */
#define ATL_STORE_NAME_MAX          64u                    /* bytes of a tenant/island/workload name or id */
#define ATL_STORE_PATH_MAX          4096u                  /* bytes of a database or model path */
#define ATL_STORE_EVIDENCE_MAX      (256u * 1024u)         /* bytes of one island's evidence */
#define ATL_STORE_TEE_LIST_MAX      256u                   /* bytes of a workload's allowed-TEE list */
#define ATL_STORE_MODEL_KEY_MAX     1024u                  /* bytes of a workload's encrypted-model key source */
#define ATL_STORE_REASON_MAX        512u                   /* bytes of a job's error reason */
#define ATL_STORE_AUDIT_DETAIL_MAX  1024u                  /* bytes of one audit row's detail */
#define ATL_STORE_LIST_MAX          1000u                  /* rows returned by one list call */
#define ATL_STORE_CHALLENGES_MAX    8u                     /* outstanding attestation nonces per island */
#define ATL_JOB_INPUT_MAX           (8u * 1024u * 1024u)   /* bytes of one sealed job input */
#define ATL_JOB_OUTPUT_MAX          (8u * 1024u * 1024u)   /* bytes of one sealed job output */
#define ATL_JOB_RECIPIENTS_MAX      16u                    /* recipient key ids of one job */
#define ATL_JOB_ATTEMPTS_MAX        3u                     /* failed attempts before a job fails */
#define ATL_LEASE_KIDS_MAX          8u                     /* enclave key ids one lease call offers */
#define ATL_HTTP_BODY_MAX           (9u * 1024u * 1024u)   /* default request body cap (sealed input + JSON) */
#define ATL_HTTP_RESPONSE_MAX       (16u * 1024u * 1024u)  /* default client response cap */
#define ATL_HTTP_HEADER_MAX         8192u                  /* bytes of one header value kept */
#define ATL_HTTP_CONN_MAX           512u                   /* simultaneous server connections */
#define ATL_HTTP_PER_IP_CONN_MAX    256u                   /* simultaneous connections per client address */
#define ATL_CLASSIFIER_FEATURES_MAX 1024u                  /* features of one classifier model */
#define ATL_CLASSIFIER_ROWS_MAX     4096u                  /* instances in one prediction request */
#define ATL_CLASSIFIER_INPUT_MAX    (4u * 1024u * 1024u)   /* bytes of one prediction request */
#define ATL_CLASSIFIER_MODEL_MAX    (1024u * 1024u)        /* bytes of a model file */
#define ATL_DATASET_ROWS_MAX        1000000u               /* rows of a training CSV */
#define ATL_DATASET_SIZE_MAX        (64u * 1024u * 1024u)  /* bytes of a training CSV */
#define ATL_CLASSIFIER_LABEL_MAX    64u                    /* bytes of a class label name */
#define ATL_CSV_FIELD_MAX           64u                    /* bytes of one CSV field */

/* infer: GGUF files and tokenizers */
#define ATL_GGUF_TENSORS_MAX        65536u                 /* tensor infos in one GGUF file */
#define ATL_GGUF_KV_MAX             65536u                 /* metadata pairs in one GGUF file */
#define ATL_GGUF_KEY_MAX            256u                   /* bytes of a metadata key */
#define ATL_GGUF_NAME_MAX           64u                    /* bytes of a tensor name (GGML_MAX_NAME) */
#define ATL_GGUF_STRING_MAX         (1024u * 1024u)        /* bytes of one metadata string */
#define ATL_GGUF_ARRAY_MAX          (1u << 24)             /* elements of one metadata array */
#define ATL_GGUF_DEPTH_MAX          3u                     /* nesting of metadata arrays */
#define ATL_GGUF_DIMS_MAX           4u                     /* dimensions of a tensor */
#define ATL_GGUF_ALIGN_MAX          (1u << 20)             /* general.alignment */
#define ATL_TOK_VOCAB_MAX           (1u << 20)             /* tokens in a vocabulary */
#define ATL_TOK_PIECE_MAX           1024u                  /* bytes of one token's text */
#define ATL_TOK_TEXT_MAX            (16u * 1024u * 1024u)  /* bytes of text given to one tokenize call */
#define ATL_CHAT_MSGS_MAX           4096u                  /* messages of one chat given to a template */
#define ATL_CHAT_ROLE_MAX           32u                    /* bytes of a message role */

/* tpm: TPM 2.0 quotes, event logs, go-tpm-tools protobuf (src/attest/tpm*.c) */
#define ATL_TPM_BANKS_MAX           8u                     /* TPML_PCR_SELECTION / TPML_DIGEST_VALUES entries */
#define ATL_TPM_ATTEST_MAX          2048u                  /* bytes of one TPMS_ATTEST */
#define ATL_TPM_PUBLIC_MAX          1024u                  /* bytes of one TPMT_PUBLIC */
#define ATL_TPM_QUOTES_MAX          8u                     /* quotes in one evidence */
#define ATL_TPM_EVLOG_MAX           (2u * 1024u * 1024u)   /* bytes of a TCG event log */
#define ATL_TPM_EVLOG_EVENTS_MAX    8192u                  /* events in a TCG event log */
#define ATL_TPM_EVENT_DATA_MAX      (256u * 1024u)         /* bytes of one event's data */
#define ATL_TPM_CERTS_MAX           8u                     /* certificates carried in one evidence */
#define ATL_TPM_PB_DEPTH_MAX        3u                     /* protobuf message nesting read */
/* tpm: secrets sealed to a TPM (src/attest/tpm_seal.c; the kbs master key) */
#define ATL_TPM_SEAL_FILE_MAX       4096u                  /* bytes of a sealed blob file (master.tpm) */
#define ATL_TPM_SEAL_URI_MAX        256u                   /* bytes of the TPM URI recorded in it */
#define ATL_TPM_SEAL_PRIV_MAX       1024u                  /* bytes of its TPM2B_PRIVATE */
#define ATL_TPM_SEAL_SECRET_MAX     128u                   /* bytes of a sealed secret */

/* crypto: HPKE inputs and sealed envelopes/results (DESIGN §3) */
#define ATL_HPKE_INFO_MAX           1024u                  /* bytes of HPKE info */
#define ATL_HPKE_PSK_MAX            256u                   /* bytes of an HPKE PSK */
#define ATL_HPKE_PSK_ID_MAX         256u                   /* bytes of an HPKE PSK id */
#define ATL_HPKE_IKM_MAX            256u                   /* bytes of DeriveKeyPair input */
#define ATL_HPKE_EXPORT_CONTEXT_MAX 512u                   /* bytes of an exporter context (OpenSSL 3.0 HKDF info <= 1024) */
#define ATL_ENV_SIZE_MAX            (8u * 1024u * 1024u)   /* bytes of one envelope or result JSON text */
#define ATL_ENV_PAYLOAD_MAX         (6u * 1024u * 1024u - 16384u) /* plaintext bytes: base64 + header fit ATL_ENV_SIZE_MAX */
#define ATL_ENV_RECIPIENTS_MAX      16u                    /* recipients of one envelope */
#define ATL_ENV_ID_MAX              64u                    /* bytes of a workload/key/job id in an envelope */
#define ATL_ENV_REPLAY_MAX          65536u                 /* digests one replay cache may hold */
#define ATL_ENV_SKEW_MAX            86400                  /* largest freshness window (seconds) */

/* infer: model engine (llmeng) */
#define ATL_POOL_THREADS_MAX        256u                   /* threads of one worker pool */
#define ATL_MODEL_LAYERS_MAX        512u                   /* transformer blocks */
#define ATL_MODEL_EMBD_MAX          65536u                 /* embedding width */
#define ATL_MODEL_FF_MAX            (1u << 20)             /* feed-forward width */
#define ATL_MODEL_HEADS_MAX         1024u                  /* attention heads */
#define ATL_MODEL_HEAD_DIM_MAX      1024u                  /* width of one head */
#define ATL_MODEL_VOCAB_MAX         (1u << 20)             /* rows of the embedding matrix */
#define ATL_MODEL_CTX_MAX           (1u << 17)             /* positions of one KV cache */
#define ATL_MODEL_BATCH_MAX         256u                   /* tokens evaluated per forward step */
#define ATL_SAMPLER_HISTORY_MAX     8192u                  /* tokens a repetition penalty looks back */

/* enclave: message protocol over the socketpair */
#define ATL_ENCLAVE_MSG_MAX         (64u * 1024u * 1024u)  /* bytes of one message (type + payload) */
#define ATL_ENCLAVE_IOCTLS_MAX      4u                     /* ioctl allowances of the sandbox (nitro NSM) */
/* enclave: encrypted models handed over with MODEL_KEY (src/enclave/modelkey.c) */
#define ATL_ENCLAVE_MODELS_MAX      8u                     /* decrypted models one enclave keeps */
#define ATL_ENCLAVE_ATM_MAX         (256u * 1024u * 1024u) /* bytes of one .atm file the enclave reads */
#define ATL_ENCLAVE_SEALED_KEY_MAX  4096u                  /* bytes of one sealed model key */
/* enclave: the llm workload (src/enclave/llmwork.c) */
#define ATL_ENCLAVE_LLM_FILE_MAX    (1024u * 1024u * 1024u) /* bytes of a plaintext GGUF read */
#define ATL_ENCLAVE_LLM_CACHE_MAX   2u                     /* parsed LLMs one enclave keeps */
#define ATL_ENCLAVE_LLM_PROMPT_MAX  16384u                 /* bytes of one prompt */
#define ATL_ENCLAVE_LLM_GEN_MAX     256u                   /* tokens one job may generate */
#define ATL_ENCLAVE_LLM_CTX_MAX     4096u                  /* positions: prompt + generated */

/* coordinator (src/coordinator/) */
#define ATL_COORD_WAIT_MAX_S        30                     /* seconds one lease long-poll may wait */
#define ATL_COORD_TARGETS_MAX       16u                    /* targets one request may ask for */
#define ATL_COORD_MODEL_MAX         (256u * 1024u * 1024u) /* bytes of a model file served to islands */
#define ATL_COORD_FAIL_MSG_MAX      256u                   /* bytes of an island's failure message kept */

/* kbs: encrypted models (.atm) and the audit log (src/kbs/) */
#define ATL_ATM_CHUNK_MIN           16u                    /* smallest chunk size (bytes of plaintext) */
#define ATL_ATM_CHUNK_MAX           (16u * 1024u * 1024u)  /* largest chunk size */
#define ATL_ATM_PLAINTEXT_MAX       (1ull << 40)           /* bytes of one model's plaintext (1 TiB) */
#define ATL_ATM_KEK_ID_MAX          64u                    /* bytes of a KEK id (fixed header field) */
#define ATL_AUDIT_FIELD_MAX         256u                   /* bytes of an audit actor/action/subject */
#define ATL_AUDIT_DETAIL_MAX        1024u                  /* bytes of an audit record's detail */
#define ATL_AUDIT_LINE_MAX          8192u                  /* bytes of one audit log line */

/* kbs: the key broker (src/kbs/broker.c) */
#define ATL_KBS_TENANT_MAX          32u                    /* bytes of a tenant id ([A-Za-z0-9._-]) */
#define ATL_KBS_TENANTS_MAX         1024u                  /* tenants of one broker */
#define ATL_KBS_MODELS_MAX          4096u                  /* models registered with one broker */
#define ATL_KBS_REVOKED_MAX         1024u                  /* revoked measurements */
#define ATL_KBS_PATH_MAX            1024u                  /* bytes of a registered model's path */
#define ATL_KBS_STATE_MAX           (8u * 1024u * 1024u)   /* bytes of the broker's state file */
#define ATL_KBS_NONCES_MAX          4096u                  /* outstanding release nonces */
#define ATL_KBS_NONCE_TTL_S         300                    /* seconds a release nonce stays valid */
#define ATL_KBS_NONCE_LEN           32u                    /* bytes of a release nonce */
#define ATL_KBS_QUOTA_WINDOW_MAX_S  (366 * 86400)          /* longest per-tenant quota window */

/* kbsd: the key broker's HTTP service (src/kbsd/) */
#define ATL_KBSD_SESSIONS_MAX       256u                   /* open /kbs/v0 sessions (auth..resource) */
#define ATL_KBSD_SESSIONS_PER_IP_MAX 64u                   /* open sessions of one client address */
#define ATL_KBSD_EVIDENCE_MAX       (256u * 1024u)         /* bytes of evidence kept in one session */
#define ATL_KBSD_AUTH_BODY_MAX      4096u                  /* bytes of a /auth request body */
#define ATL_KBSD_ATTEST_BODY_MAX    (2u * ATL_KBSD_EVIDENCE_MAX + 4096u) /* /attest body (escaped JSON) */
#define ATL_KBSD_TEE_MAX            32u                    /* bytes of a "tee" name */
#define ATL_KBSD_SEALED_MAX         4096u                  /* bytes of a sealed key response (client) */
#define ATL_KBSD_ADMIN_TOKEN_MAX    256u                   /* bytes of an admin bearer token */
#define ATL_KBSD_ADMIN_BODY_MAX     1024u                  /* bytes of an admin request body */

#endif
