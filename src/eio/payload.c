/* Polling payload codec. Decoding makes two passes: one that checks every
 * item, so a session never acts on the first half of a body it then rejects,
 * and one that decodes base64 in place and delivers. engine.io-parser 5 is
 * the reference for what is legal: an empty item (empty body, doubled or
 * trailing separator) is an error, and "b" with no base64 is an empty
 * binary message. */
#include "eio/payload.h"

#include <string.h>

#include "core/base64.h"
#include "hubbub/error.h"

/* Length of the item starting at p, up to the next separator or end. */
static size_t item_len(const uint8_t *p, const uint8_t *end) {
    const uint8_t *sep;

    if (p == end)
        return 0;
    sep = memchr(p, HB_EIO_SEPARATOR, (size_t)(end - p));
    return (size_t)((sep != NULL ? sep : end) - p);
}

static int check_item(uint8_t *s, size_t n) {
    hb_eio_packet p;
    size_t dlen;

    if (n > 0 && s[0] == 'b')
        return hb_base64_decoded_len((const char *)s + 1, n - 1, &dlen);
    return hb_eio_packet_decode_text(s, n, &p);
}

static void decode_item(uint8_t *s, size_t n, hb_eio_packet *p) {
    if (s[0] == 'b') {
        p->type = HB_EIO_MESSAGE;
        p->binary = 1;
        p->data = s + 1;
        /* Cannot fail: check_item() accepted this item. */
        (void)hb_base64_decode(s + 1, &p->len, (const char *)s + 1, n - 1);
    } else {
        (void)hb_eio_packet_decode_text(s, n, p);
    }
}

int hb_eio_payload_decode(uint8_t *body, size_t len, hb_eio_payload_cb cb, void *ud) {
    uint8_t *end, *p;
    size_t n;

    if (len == 0)
        return HB_EEIO_PAYLOAD;
    end = body + len;
    /* Item boundaries are found before an item is decoded: its decoded
     * bytes may contain 0x1e. The loop runs once more after a trailing
     * separator, to see the empty item after it. */
    for (p = body;; p += n + 1) {
        n = item_len(p, end);
        if (check_item(p, n) != 0)
            return HB_EEIO_PAYLOAD;
        if (p + n == end)
            break;
    }
    for (p = body;; p += n + 1) {
        hb_eio_packet pkt;

        n = item_len(p, end);
        decode_item(p, n, &pkt);
        if (cb(ud, &pkt) != 0)
            return 1;
        if (p + n == end)
            break;
    }
    return 0;
}

static size_t item_encoded_len(const hb_buf *b) {
    hb_slice s = hb_buf_payload(b);

    if (b->flags & HB_BUF_BINARY)
        return 1 + hb_base64_encoded_len(s.len);
    return s.len;
}

size_t hb_eio_payload_encoded_len(hb_buf *const *items, size_t n) {
    size_t total = 0, i;

    for (i = 0; i < n; i++)
        total += (i > 0) + item_encoded_len(items[i]);
    return total;
}

size_t hb_eio_payload_encode(uint8_t *out, hb_buf *const *items, size_t n) {
    uint8_t *o = out;
    size_t i;

    for (i = 0; i < n; i++) {
        hb_slice s = hb_buf_payload(items[i]);

        if (i > 0)
            *o++ = HB_EIO_SEPARATOR;
        if (items[i]->flags & HB_BUF_BINARY) {
            *o++ = 'b';
            o += hb_base64_encode((char *)o, s.base, s.len);
        } else if (s.len > 0) {
            memcpy(o, s.base, s.len);
            o += s.len;
        }
    }
    return (size_t)(o - out);
}
