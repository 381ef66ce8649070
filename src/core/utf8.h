/* UTF-8 validation for WebSocket text messages and close reasons.
 *
 * The rules are RFC 3629's: shortest form only, no UTF-16 surrogates
 * (U+D800..U+DFFF), nothing above U+10FFFF. Pure function, no allocation. */
#ifndef HB_CORE_UTF8_H
#define HB_CORE_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* 1 if the len bytes at s are well-formed UTF-8, else 0. s may be NULL when
 * len is 0 (the empty string is valid). */
int hb_utf8_valid(const uint8_t *s, size_t len);

#endif
