/* hb_utf8_valid(): a strict UTF-8 checker. The byte ranges are those of the
 * Unicode Standard's table of well-formed byte sequences (Table 3-7), which
 * rule out overlong forms, surrogates and code points past U+10FFFF by the
 * second byte alone. */
#include "core/utf8.h"

#include <string.h>

int hb_utf8_valid(const uint8_t *s, size_t len) {
    size_t i = 0;

    while (i < len) {
        uint8_t c = s[i];
        uint8_t lo = 0x80, hi = 0xBF; /* range of the second byte */
        size_t n;                     /* continuation bytes after the lead */

        if (c < 0x80) {
            /* Socket.IO traffic is mostly JSON, i.e. mostly ASCII: skip it
             * a word at a time. memcpy keeps the load alignment-safe. */
            while (len - i >= 8) {
                uint64_t w;
                memcpy(&w, s + i, 8);
                if (w & 0x8080808080808080ull)
                    break;
                i += 8;
            }
            while (i < len && s[i] < 0x80)
                i++;
            continue;
        }
        if (c < 0xC2) {
            return 0; /* a stray continuation byte, or an overlong C0/C1 lead */
        } else if (c < 0xE0) {
            n = 1;
        } else if (c < 0xF0) {
            n = 2;
            if (c == 0xE0)
                lo = 0xA0; /* below is an overlong 3-byte form */
            else if (c == 0xED)
                hi = 0x9F; /* above are the surrogates U+D800..U+DFFF */
        } else if (c < 0xF5) {
            n = 3;
            if (c == 0xF0)
                lo = 0x90; /* below is an overlong 4-byte form */
            else if (c == 0xF4)
                hi = 0x8F; /* above is past U+10FFFF */
        } else {
            return 0;
        }
        if (len - i <= n)
            return 0; /* truncated sequence */
        if (s[i + 1] < lo || s[i + 1] > hi)
            return 0;
        for (size_t k = 2; k <= n; k++)
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
        i += n + 1;
    }
    return 1;
}
