/* libFuzzer target for the polling payload codec and base64. Any body is
 * decoded twice (to the end, and stopped early); a body that decodes is
 * re-encoded from hb_bufs and must decode to the same packets. Base64 must
 * round-trip both ways. Inputs live in exact-size allocations so ASan sees
 * every overread. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/base64.h"
#include "core/buf.h"
#include "eio/payload.h"
#include "hubbub/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
    hb_buf **items;
    size_t n, cap;
    size_t stop_after; /* 0: never */
    int oom;
} collected;

#define CHECK(x)                                                                                 \
    do {                                                                                         \
        if (!(x))                                                                                \
            abort();                                                                             \
    } while (0)

/* Stores each packet as the session layer would queue it: the text form, or
 * the raw bytes flagged binary. */
static int collect(void *ud, const hb_eio_packet *p) {
    collected *c = ud;
    hb_buf *b;

    CHECK(p->type >= HB_EIO_OPEN && p->type <= HB_EIO_NOOP);
    CHECK(!p->binary || p->type == HB_EIO_MESSAGE);
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 8;
        hb_buf **items = realloc(c->items, cap * sizeof(*items));
        if (items == NULL) {
            c->oom = 1;
            return 1;
        }
        c->items = items;
        c->cap = cap;
    }
    b = hb_buf_new(p->len + 1);
    if (b == NULL) {
        c->oom = 1;
        return 1;
    }
    if (p->binary) {
        b->flags = HB_BUF_BINARY;
    } else {
        b->data[b->len++] = (uint8_t)('0' + p->type);
    }
    if (p->len > 0)
        memcpy(b->data + b->len, p->data, p->len);
    b->len += p->len;
    c->items[c->n++] = b;
    return c->stop_after != 0 && c->n == c->stop_after;
}

static void release(collected *c) {
    for (size_t i = 0; i < c->n; i++)
        hb_buf_unref(c->items[i]);
    free(c->items);
}

static uint8_t *copy_of(const uint8_t *data, size_t size) {
    uint8_t *s = malloc(size > 0 ? size : 1);
    if (s != NULL && size > 0)
        memcpy(s, data, size);
    return s;
}

static void fuzz_payload(const uint8_t *data, size_t size) {
    collected all = {0}, again = {0}, some = {0};
    uint8_t *body = copy_of(data, size), *body2 = copy_of(data, size), *enc = NULL;
    int rc, rc2;

    if (body == NULL || body2 == NULL)
        goto done;
    rc = hb_eio_payload_decode(body, size, collect, &all);
    if (all.oom)
        goto done;
    CHECK(rc == 0 || rc == HB_EEIO_PAYLOAD);
    CHECK(rc == 0 || all.n == 0);

    /* Stopping early delivers a prefix of the same packets. */
    some.stop_after = size % 4 + 1;
    rc2 = hb_eio_payload_decode(body2, size, collect, &some);
    if (some.oom)
        goto done;
    if (rc != 0) {
        CHECK(rc2 == HB_EEIO_PAYLOAD && some.n == 0);
        goto done;
    }
    CHECK(rc2 == (all.n >= some.stop_after ? 1 : 0));
    CHECK(some.n == (all.n < some.stop_after ? all.n : some.stop_after));
    for (size_t i = 0; i < some.n; i++) {
        CHECK(some.items[i]->len == all.items[i]->len);
        CHECK(some.items[i]->flags == all.items[i]->flags);
        CHECK(memcmp(some.items[i]->data, all.items[i]->data, all.items[i]->len) == 0);
    }

    /* Encode what was decoded; it must decode to the same packets. */
    size_t len = hb_eio_payload_encoded_len(all.items, all.n);
    enc = malloc(len > 0 ? len : 1);
    if (enc == NULL)
        goto done;
    CHECK(hb_eio_payload_encode(enc, all.items, all.n) == len);
    CHECK(hb_eio_payload_decode(enc, len, collect, &again) == 0);
    if (again.oom)
        goto done;
    CHECK(again.n == all.n);
    for (size_t i = 0; i < all.n; i++) {
        CHECK(again.items[i]->len == all.items[i]->len);
        CHECK(again.items[i]->flags == all.items[i]->flags);
        CHECK(memcmp(again.items[i]->data, all.items[i]->data, all.items[i]->len) == 0);
    }
done:
    release(&all);
    release(&again);
    release(&some);
    free(body);
    free(body2);
    free(enc);
}

static void fuzz_base64(const uint8_t *data, size_t size) {
    size_t elen = hb_base64_encoded_len(size), dlen, dlen2;
    char *enc = malloc(elen > 0 ? elen : 1);
    uint8_t *dec = malloc(size > 0 ? size : 1);
    uint8_t *in = copy_of(data, size);
    char *re = NULL;

    if (enc == NULL || dec == NULL || in == NULL)
        goto done;
    /* bytes -> base64 -> bytes */
    CHECK(hb_base64_encode(enc, data, size) == elen);
    CHECK(hb_base64_decode(dec, &dlen, enc, elen) == 0);
    CHECK(dlen == size && (size == 0 || memcmp(dec, data, size) == 0));
    CHECK(hb_base64url_encode(enc, data, size) <= elen);

    /* text -> bytes (in place) -> base64 -> the same bytes */
    if (hb_base64_decode(in, &dlen, (const char *)in, size) != 0) {
        CHECK(hb_base64_decoded_len((const char *)data, size, &dlen2) == HB_EBADBASE64);
        CHECK(size == 0 || memcmp(in, data, size) == 0);
        goto done;
    }
    CHECK(hb_base64_decoded_len((const char *)data, size, &dlen2) == 0 && dlen2 == dlen);
    CHECK(dlen <= size * 3 / 4);
    re = malloc(hb_base64_encoded_len(dlen) + 1);
    if (re == NULL)
        goto done;
    size_t rlen = hb_base64_encode(re, in, dlen);
    CHECK(hb_base64_decode(dec, &dlen2, re, rlen) == 0);
    CHECK(dlen2 == dlen && (dlen == 0 || memcmp(dec, in, dlen) == 0));
done:
    free(enc);
    free(dec);
    free(in);
    free(re);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_payload(data, size);
    fuzz_base64(data, size);
    return 0;
}
