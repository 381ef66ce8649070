/* hb_id_new: 15 bytes from RAND_bytes, base64url-encoded. 15 is a multiple of
 * 3, so the encoding has no padding and no partial group to special-case. */
#include "core/id.h"

#include <openssl/rand.h>

#include "hubbub/error.h"

enum { RAW_LEN = 15 };

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int hb_id_new(char out[21]) {
    unsigned char raw[RAW_LEN];

    if (RAND_bytes(raw, RAW_LEN) != 1) {
        out[0] = '\0';
        return HB_EINVAL;
    }
    char *o = out;
    for (int i = 0; i < RAW_LEN; i += 3) {
        unsigned v = (unsigned)raw[i] << 16 | (unsigned)raw[i + 1] << 8 | raw[i + 2];
        *o++ = alphabet[v >> 18];
        *o++ = alphabet[(v >> 12) & 63];
        *o++ = alphabet[(v >> 6) & 63];
        *o++ = alphabet[v & 63];
    }
    *o = '\0';
    return 0;
}
