/* Query-string scanning and percent-decoding. Keys are compared decoded, so
 * "E%49O=4" finds key "EIO" as a browser-built URL would mean it. */
#include "http/query.h"

#include <limits.h>
#include <string.h>

static int hex(int c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes the character at s[*i] (i < len), advancing *i past it. Returns
 * the byte, or -1 on a bad escape. */
static int decode_one(const char *s, size_t len, size_t *i, int plus_is_space) {
    unsigned char c = (unsigned char)s[*i];
    if (c == '%') {
        int hi, lo;
        if (len - *i < 3)
            return -1;
        hi = hex((unsigned char)s[*i + 1]);
        lo = hex((unsigned char)s[*i + 2]);
        if (hi < 0 || lo < 0)
            return -1;
        *i += 3;
        return hi * 16 + lo;
    }
    (*i)++;
    return c == '+' && plus_is_space ? ' ' : c;
}

int hb_http_pct_decode(char *s, size_t len, int plus_is_space) {
    size_t i = 0, o = 0;
    if (len > INT_MAX)
        return -1;
    while (i < len) {
        int c = decode_one(s, len, &i, plus_is_space);
        if (c < 0)
            return -1;
        s[o++] = (char)c;
    }
    return (int)o;
}

/* 1 if the raw (encoded) key s[0..len) decodes to exactly key. */
static int key_matches(const char *s, size_t len, const char *key) {
    size_t i = 0, k = 0;
    while (i < len) {
        int c = decode_one(s, len, &i, 1);
        if (c < 0 || key[k] == '\0' || (unsigned char)key[k] != c)
            return 0;
        k++;
    }
    return key[k] == '\0';
}

int hb_http_query_get(const char *query, size_t len, const char *key, char *out, size_t cap) {
    size_t pos = 0;

    if (cap > 0)
        out[0] = '\0';
    while (pos < len) {
        const char *pair = query + pos;
        const char *amp = memchr(pair, '&', len - pos);
        size_t plen = amp ? (size_t)(amp - pair) : len - pos;
        const char *eq = memchr(pair, '=', plen);
        size_t klen = eq ? (size_t)(eq - pair) : plen;

        pos += plen + 1;
        if (plen == 0 || !key_matches(pair, klen, key))
            continue;
        {
            const char *v = eq ? eq + 1 : pair + plen;
            size_t vlen = (size_t)(pair + plen - v), i = 0, o = 0;
            while (i < vlen) {
                int c = decode_one(v, vlen, &i, 1);
                if (c < 0) {
                    if (cap > 0)
                        out[0] = '\0';
                    return -2;
                }
                if (o + 1 >= cap) {
                    if (cap > 0)
                        out[cap - 1] = '\0';
                    return -2;
                }
                out[o++] = (char)c;
            }
            if (cap == 0)
                return -2;
            out[o] = '\0';
            return (int)o;
        }
    }
    return -1;
}
