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

/* sig */
#define ATL_SIG_KEY_INPUT_MAX    (64u * 1024u)          /* bytes of one PEM/DER key */
#define ATL_SIG_LEN_MAX          1024u                  /* bytes of one signature */
#define ATL_SIG_RSA_BITS_MIN     2048u                  /* smallest RSA modulus accepted */
#define ATL_SIG_RSA_BITS_MAX     8192u                  /* largest RSA modulus accepted */

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

/* platform */
#define ATL_STORE_NAME_MAX          64u                    /* bytes of a tenant/island/workload name or id */
#define ATL_STORE_PATH_MAX          4096u                  /* bytes of a database or model path */
#define ATL_STORE_EVIDENCE_MAX      (256u * 1024u)         /* bytes of one island's evidence */
#define ATL_STORE_TEE_LIST_MAX      256u                   /* bytes of a workload's allowed-TEE list */
#define ATL_STORE_REASON_MAX        512u                   /* bytes of a job's error reason */
#define ATL_STORE_AUDIT_DETAIL_MAX  1024u                  /* bytes of one audit row's detail */
#define ATL_STORE_LIST_MAX          1000u                  /* rows returned by one list call */
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

/* enclave: message protocol over the socketpair */
#define ATL_ENCLAVE_MSG_MAX         (64u * 1024u * 1024u)  /* bytes of one message (type + payload) */

#endif
