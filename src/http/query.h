/* URL query helpers: finding one key in an application/x-www-form-urlencoded
 * query string and percent-decoding. Pure functions over caller memory; the
 * raw query comes from hb_http_request.query. */
#ifndef HB_HTTP_QUERY_H
#define HB_HTTP_QUERY_H

#include <stddef.h>

/* Finds the first pair whose decoded key equals key in query (len bytes,
 * "a=1&b=x%20y"; need not be NUL-terminated) and percent-decodes its value,
 * '+' being a space, into out. A key without '=' has the empty value; pairs
 * whose key has a bad escape never match. Returns the decoded length (out
 * then holds the value and a NUL; a %00 escape yields a NUL inside), -1 when
 * the key is absent (out is ""), or -2 when the value has a bad %-escape
 * (out is "") or needs cap bytes or more with its NUL (out holds the first
 * cap-1 bytes; nothing is written when cap is 0). */
int hb_http_query_get(const char *query, size_t len, const char *key, char *out, size_t cap);

/* Percent-decodes s[0..len) in place ("%41" → 'A', either hex case); with
 * plus_is_space, '+' becomes ' ' (query strings; not paths). Writes no NUL.
 * Returns the new length (<= len), or -1 on a '%' not followed by two hex
 * digits (s is then partly decoded) or when len is over INT_MAX. */
int hb_http_pct_decode(char *s, size_t len, int plus_is_space);

#endif
