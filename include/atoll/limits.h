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

#endif
