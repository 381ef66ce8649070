/* Base64 encoding and strict decoding over caller-owned buffers. Decoding
 * validates the whole input before writing, so a failed in-place decode
 * leaves the caller's bytes as they were. */
#include "core/base64.h"

#include "hubbub/error.h"

static const char std_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* The 6-bit value of c in the standard alphabet, or -1. */
static int value_of(unsigned char c) {
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

static size_t encode(char *out, const uint8_t *in, size_t n, const char *alphabet, int pad) {
    char *p = out;
    size_t i = 0;

    for (; n - i >= 3; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        *p++ = alphabet[v >> 18];
        *p++ = alphabet[(v >> 12) & 63];
        *p++ = alphabet[(v >> 6) & 63];
        *p++ = alphabet[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        *p++ = alphabet[v >> 18];
        *p++ = alphabet[(v >> 12) & 63];
        if (pad) {
            *p++ = '=';
            *p++ = '=';
        }
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        *p++ = alphabet[v >> 18];
        *p++ = alphabet[(v >> 12) & 63];
        *p++ = alphabet[(v >> 6) & 63];
        if (pad)
            *p++ = '=';
    }
    return (size_t)(p - out);
}

size_t hb_base64_encoded_len(size_t n) {
    return (n / 3 + (n % 3 != 0)) * 4;
}

size_t hb_base64_encode(char *out, const uint8_t *in, size_t n) {
    return encode(out, in, n, std_alphabet, 1);
}

size_t hb_base64url_encode(char *out, const uint8_t *in, size_t n) {
    return encode(out, in, n, url_alphabet, 0);
}

/* Validates in[0..n) and sets *m to its length without padding. */
static int check(const char *in, size_t n, size_t *m) {
    size_t len = n, i;

    /* Padding only ever completes a 4-character group. */
    if (n % 4 == 0 && n > 0 && in[n - 1] == '=')
        len = in[n - 2] == '=' ? n - 2 : n - 1;
    if (len % 4 == 1)
        return HB_EBADBASE64;
    /* A '=' left in the body (a third '=', or one in the middle) fails
     * here as a character outside the alphabet. */
    for (i = 0; i < len; i++) {
        if (value_of((unsigned char)in[i]) < 0)
            return HB_EBADBASE64;
    }
    *m = len;
    return 0;
}

/* Decoded length of m unpadded characters: 3 bytes per 4, and 1 or 2 bytes
 * for a last group of 2 or 3 characters. */
static size_t decoded_len(size_t m) {
    return m / 4 * 3 + (m % 4 == 0 ? 0 : m % 4 - 1);
}

int hb_base64_decoded_len(const char *in, size_t n, size_t *out_len) {
    size_t m;

    if (check(in, n, &m) != 0)
        return HB_EBADBASE64;
    *out_len = decoded_len(m);
    return 0;
}

int hb_base64_decode(uint8_t *out, size_t *out_len, const char *in, size_t n) {
    size_t m, i, o = 0;
    const unsigned char *s = (const unsigned char *)in;

    if (check(in, n, &m) != 0)
        return HB_EBADBASE64;

    /* Each group is read whole before any of its bytes is written, and the
     * 3 bytes written for group i/4 end before group i/4 + 1 starts
     * (3i/4 + 3 <= i + 4), so out == in is safe. */
    for (i = 0; m - i >= 4; i += 4) {
        uint32_t v = (uint32_t)value_of(s[i]) << 18 | (uint32_t)value_of(s[i + 1]) << 12 |
                     (uint32_t)value_of(s[i + 2]) << 6 | (uint32_t)value_of(s[i + 3]);
        out[o++] = (uint8_t)(v >> 16);
        out[o++] = (uint8_t)(v >> 8);
        out[o++] = (uint8_t)v;
    }
    if (m - i == 2) {
        uint32_t v = (uint32_t)value_of(s[i]) << 18 | (uint32_t)value_of(s[i + 1]) << 12;
        out[o++] = (uint8_t)(v >> 16);
    } else if (m - i == 3) {
        uint32_t v = (uint32_t)value_of(s[i]) << 18 | (uint32_t)value_of(s[i + 1]) << 12 |
                     (uint32_t)value_of(s[i + 2]) << 6;
        out[o++] = (uint8_t)(v >> 16);
        out[o++] = (uint8_t)(v >> 8);
    }
    *out_len = o;
    return 0;
}
