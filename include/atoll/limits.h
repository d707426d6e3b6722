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

#endif
