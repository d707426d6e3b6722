/* Private to src/infer: the Unicode pieces the tokenizers need (UTF-8
 * decoding as llama.cpp does it, general-category classes for the
 * pre-tokenizer regexes, White_Space, and GPT-2's byte <-> code point map). */
#ifndef ATOLL_INFER_UNICODE_H
#define ATOLL_INFER_UNICODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum atl_ucls { ATL_UCLS_OTHER = 0, ATL_UCLS_LETTER = 1, ATL_UCLS_NUMBER = 2 };

/* Generated table (unicode_data.c). */
extern const char atl_ucd_version[];
extern const uint32_t atl_ucd_ranges[];
extern const size_t atl_ucd_n_ranges;

/* Class of a code point (OTHER beyond U+10FFFF). */
enum atl_ucls atl_ucls_of(uint32_t cp);
/* Unicode White_Space (PropList.txt). */
bool atl_uc_is_space(uint32_t cp);

/* Length of the UTF-8 sequence a lead byte announces, by its top 4 bits, as
 * llama.cpp's unicode_len_utf8 (1 for continuation bytes): 1..4. */
size_t atl_utf8_len(uint8_t lead);
/* Decodes one code point at s[*pos] (pos < len) and advances *pos. A bad or
 * truncated sequence consumes one byte and yields U+FFFD (llama.cpp's
 * unicode_cpts_from_utf8). Overlongs and surrogates are accepted as
 * llama.cpp does (it checks only the continuation bytes). */
uint32_t atl_utf8_next(const uint8_t *s, size_t len, size_t *pos);
/* Encodes cp (<= 0x10FFFF) into out[4]; returns the length 1..4. */
size_t atl_utf8_put(uint32_t cp, uint8_t *out);
/* Length of the longest prefix of s that is complete valid UTF-8 plus, if
 * the rest is the start of a valid sequence cut short, nothing more: i.e.
 * the number of bytes safe to emit now. *bad_out is set when s holds an
 * invalid sequence at that point (caller replaces one byte by U+FFFD). */
size_t atl_utf8_valid_prefix(const uint8_t *s, size_t len, bool *bad_out);

/* GPT-2 byte-level BPE: the code point that stands for byte b, and back
 * (-1 if cp stands for no byte). */
uint32_t atl_bpe_byte_to_cp(uint8_t b);
int atl_bpe_cp_to_byte(uint32_t cp);

#endif
