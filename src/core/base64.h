/* Base64 (RFC 4648): the standard alphabet with padding, which Engine.IO
 * polling uses for binary packets, and the URL-safe alphabet without
 * padding, for ids and tokens. Pure functions over caller-owned memory: no
 * allocation, no state. */
#ifndef HB_CORE_BASE64_H
#define HB_CORE_BASE64_H

#include <stddef.h>
#include <stdint.h>

/* Length of hb_base64_encode()'s output for n input bytes (with padding).
 * Also an upper bound for hb_base64url_encode(). */
size_t hb_base64_encoded_len(size_t n);

/* Writes the standard, padded base64 of in[0..n) to out, which must hold
 * hb_base64_encoded_len(n) bytes. Writes no NUL. Returns the bytes written. */
size_t hb_base64_encode(char *out, const uint8_t *in, size_t n);

/* Validates in[0..n) as standard base64 without writing anything, and sets
 * *out_len to its decoded length. Input is accepted padded (n a multiple of
 * 4, one or two '=' at the end) or unpadded (n % 4 is 0, 2 or 3, no '=').
 * Unused low bits of the last character are ignored, as Node's decoder does.
 * Returns 0, or HB_EBADBASE64 for a character outside the alphabet
 * (whitespace included), n % 4 == 1, or a misplaced or partial padding. */
int hb_base64_decoded_len(const char *in, size_t n, size_t *out_len);

/* Decodes standard base64 in[0..n), padded or not (same rules as
 * hb_base64_decoded_len()), into out, which must hold the decoded length
 * (n * 3 / 4 is always enough). out may equal in: decoding in place is
 * supported since output never overtakes input. *out_len gets the decoded
 * length. Returns 0 or HB_EBADBASE64; on error nothing has been written
 * to out and *out_len is untouched. */
int hb_base64_decode(uint8_t *out, size_t *out_len, const char *in, size_t n);

/* Writes the URL-safe base64 ('-' and '_', no padding) of in[0..n) to out,
 * which must hold hb_base64_encoded_len(n) bytes. Writes no NUL. Returns the
 * bytes written: n / 3 * 4, plus 2 or 3 for a remainder of 1 or 2. */
size_t hb_base64url_encode(char *out, const uint8_t *in, size_t n);

#endif
