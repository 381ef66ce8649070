/* Tests for src/eio/payload.c: decoding POST bodies (text and base64 binary
 * items, in place, validation before delivery, stopping early, every
 * malformed form engine.io-parser rejects) and encoding GET bodies from
 * hb_bufs, including buffers whose payload starts after a frame header. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "eio/payload.h"
#include "hubbub/error.h"

typedef struct {
    int type;
    int binary;
    const uint8_t *data;
    size_t len;
    uint8_t copy[64];
} seen_packet;

typedef struct {
    size_t n;
    size_t stop_after; /* 0: never stop */
    seen_packet p[16];
} collector;

static int collect(void *ud, const hb_eio_packet *p) {
    collector *c = ud;
    assert_true(c->n < 16);
    assert_true(p->len <= sizeof(c->p[0].copy));
    seen_packet *s = &c->p[c->n++];
    s->type = p->type;
    s->binary = p->binary;
    s->data = p->data;
    s->len = p->len;
    if (p->len > 0)
        memcpy(s->copy, p->data, p->len);
    return c->stop_after != 0 && c->n == c->stop_after;
}

#define BODY(lit) memcpy(body, lit, sizeof(lit) - 1), n = sizeof(lit) - 1

static void assert_packet(const seen_packet *s, int type, int binary, const void *data,
                          size_t len) {
    assert_int_equal(s->type, type);
    assert_int_equal(s->binary, binary);
    assert_int_equal(s->len, len);
    if (len > 0)
        assert_memory_equal(s->copy, data, len);
}

static void test_single_text(void **state) {
    uint8_t body[64];
    size_t n;
    collector c = {0};
    (void)state;
    BODY("4hello");
    assert_int_equal(hb_eio_payload_decode(body, n, collect, &c), 0);
    assert_int_equal(c.n, 1);
    assert_packet(&c.p[0], HB_EIO_MESSAGE, 0, "hello", 5);
    assert_ptr_equal(c.p[0].data, body + 1);
}

static void test_many_in_order(void **state) {
    uint8_t body[64];
    size_t n;
    collector c = {0};
    (void)state;
    BODY("4hello\x1e" "2\x1e" "3probe\x1e" "1\x1e" "6\x1e" "5\x1e" "0x\x1e" "4");
    assert_int_equal(hb_eio_payload_decode(body, n, collect, &c), 0);
    assert_int_equal(c.n, 8);
    assert_packet(&c.p[0], HB_EIO_MESSAGE, 0, "hello", 5);
    assert_packet(&c.p[1], HB_EIO_PING, 0, NULL, 0);
    assert_packet(&c.p[2], HB_EIO_PONG, 0, "probe", 5);
    assert_packet(&c.p[3], HB_EIO_CLOSE, 0, NULL, 0);
    assert_packet(&c.p[4], HB_EIO_NOOP, 0, NULL, 0);
    assert_packet(&c.p[5], HB_EIO_UPGRADE, 0, NULL, 0);
    assert_packet(&c.p[6], HB_EIO_OPEN, 0, "x", 1);
    assert_packet(&c.p[7], HB_EIO_MESSAGE, 0, NULL, 0);
}

static void test_binary_in_place(void **state) {
    uint8_t body[64];
    size_t n;
    collector c = {0};
    (void)state;
    /* padded, unpadded, full group, empty */
    BODY("bAQIDBA==\x1e" "bAQIDBA\x1e" "bAQID\x1e" "b\x1e" "4a");
    assert_int_equal(hb_eio_payload_decode(body, n, collect, &c), 0);
    assert_int_equal(c.n, 5);
    assert_packet(&c.p[0], HB_EIO_MESSAGE, 1, "\x01\x02\x03\x04", 4);
    assert_packet(&c.p[1], HB_EIO_MESSAGE, 1, "\x01\x02\x03\x04", 4);
    assert_packet(&c.p[2], HB_EIO_MESSAGE, 1, "\x01\x02\x03", 3);
    assert_packet(&c.p[3], HB_EIO_MESSAGE, 1, NULL, 0);
    assert_packet(&c.p[4], HB_EIO_MESSAGE, 0, "a", 1);
    /* Decoded in place, right after each 'b'; the data stays readable in
     * body after decoding is over. */
    assert_ptr_equal(c.p[0].data, body + 1);
    assert_ptr_equal(c.p[1].data, body + 11);
    assert_ptr_equal(c.p[2].data, body + 19);
    assert_memory_equal(body + 1, "\x01\x02\x03\x04", 4);
    assert_memory_equal(body + 11, "\x01\x02\x03\x04", 4);
    assert_memory_equal(body + 19, "\x01\x02\x03", 3);
}

static void test_binary_holding_separators(void **state) {
    uint8_t body[64];
    size_t n;
    collector c = {0};
    (void)state;
    /* "Hh4e" decodes to three 0x1e bytes: item boundaries must come from
     * the encoded body, not from bytes already decoded. */
    BODY("bHh4e\x1e" "4x\x1e" "bHh4eHg==");
    assert_int_equal(hb_eio_payload_decode(body, n, collect, &c), 0);
    assert_int_equal(c.n, 3);
    assert_packet(&c.p[0], HB_EIO_MESSAGE, 1, "\x1e\x1e\x1e", 3);
    assert_packet(&c.p[1], HB_EIO_MESSAGE, 0, "x", 1);
    assert_packet(&c.p[2], HB_EIO_MESSAGE, 1, "\x1e\x1e\x1e\x1e", 4);
}

static void test_malformed(void **state) {
    static const struct {
        const char *s;
        size_t n;
    } bad[] = {
        {"", 0},                       /* empty body */
        {"\x1e", 1},                   /* two empty items */
        {"4a\x1e", 3},                 /* trailing separator */
        {"\x1e" "4a", 3},              /* leading separator */
        {"4a\x1e\x1e" "4b", 6},        /* empty item in the middle */
        {"7", 1},                      /* unknown type */
        {"4a\x1e" "7b", 5},
        {"4a\x1e" "x", 3},
        {"bAQID\x1e" "9", 7},          /* bad item after a binary one */
        {"4a\x1e" "bA", 5},            /* base64 n % 4 == 1 */
        {"b====", 5},
        {"bAQ=", 4},                   /* partial padding */
        {"bAQ===", 6},
        {"bAQ==AQ==", 9},              /* padding in the middle */
        {"bAQ!D", 5},                  /* bad character */
        {"bAQ D", 5},
        {"bAQ-_", 5},                  /* URL-safe alphabet */
        {"4a\x1e" "B", 3},             /* only lower-case 'b' is binary */
        {"\0", 1},
        {"4a\x1e\0", 4},
        {"\xef\xbb\xbf" "4a", 5},      /* UTF-8 BOM */
    };
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint8_t body[16];
        collector c = {0};
        memcpy(body, bad[i].s, bad[i].n);
        assert_int_equal(hb_eio_payload_decode(body, bad[i].n, collect, &c), HB_EEIO_PAYLOAD);
        /* Nothing delivered, nothing decoded in place. */
        assert_int_equal(c.n, 0);
        assert_memory_equal(body, bad[i].s, bad[i].n);
    }
}

static void test_empty_body_null(void **state) {
    collector c = {0};
    (void)state;
    assert_int_equal(hb_eio_payload_decode(NULL, 0, collect, &c), HB_EEIO_PAYLOAD);
    assert_int_equal(c.n, 0);
}

static void test_stop(void **state) {
    uint8_t body[64];
    size_t n;
    collector c = {0};
    (void)state;
    BODY("4a\x1e" "bAQID\x1e" "bAQID\x1e" "2");
    c.stop_after = 2;
    assert_int_equal(hb_eio_payload_decode(body, n, collect, &c), 1);
    assert_int_equal(c.n, 2);
    assert_packet(&c.p[0], HB_EIO_MESSAGE, 0, "a", 1);
    assert_packet(&c.p[1], HB_EIO_MESSAGE, 1, "\x01\x02\x03", 3);
    /* The third item was neither delivered nor decoded. */
    assert_memory_equal(body + 9, "bAQID\x1e" "2", 7);

    /* Stopping at the last packet still says "stopped". */
    collector c2 = {0};
    c2.stop_after = 1;
    BODY("6");
    assert_int_equal(hb_eio_payload_decode(body, n, collect, &c2), 1);
    assert_int_equal(c2.n, 1);
}

/* A buffer as the session layer queues it: `hdr` bytes of frame header
 * before the payload. */
static hb_buf *make_item(size_t hdr, const void *payload, size_t len, int binary) {
    hb_buf *b = hb_buf_new(hdr + len);
    assert_non_null(b);
    memset(b->data, 0x81, hdr);
    if (len > 0)
        memcpy(b->data + hdr, payload, len);
    b->off = (uint16_t)hdr;
    b->len = hdr + len;
    b->flags = binary ? HB_BUF_BINARY : 0;
    return b;
}

static size_t encode(uint8_t *out, size_t cap, hb_buf *const *items, size_t n) {
    size_t want = hb_eio_payload_encoded_len(items, n);
    assert_true(want < cap);
    memset(out, '#', cap);
    size_t w = hb_eio_payload_encode(out, items, n);
    assert_int_equal(w, want);
    assert_int_equal(out[w], '#'); /* writes exactly what it said */
    return w;
}

static void test_encode(void **state) {
    uint8_t out[128];
    hb_buf *items[5];
    (void)state;
    items[0] = make_item(0, "4hello", 6, 0);
    items[1] = make_item(2, "\x01\x02\x03\x04", 4, 1);
    items[2] = make_item(4, "2", 1, 0);
    items[3] = make_item(10, "", 0, 1);
    items[4] = make_item(2, "\x1e\x1e\x1e", 3, 1);

    size_t w = encode(out, sizeof(out), items, 5);
    static const char want[] = "4hello\x1e" "bAQIDBA==\x1e" "2\x1e" "b\x1e" "bHh4e";
    assert_int_equal(w, sizeof(want) - 1);
    assert_memory_equal(out, want, w);

    /* One item: no separator. */
    w = encode(out, sizeof(out), items + 2, 1);
    assert_int_equal(w, 1);
    assert_int_equal(out[0], '2');
    w = encode(out, sizeof(out), items + 1, 1);
    assert_int_equal(w, 9);
    assert_memory_equal(out, "bAQIDBA==", 9);

    /* Nothing queued. */
    assert_int_equal(encode(out, sizeof(out), items, 0), 0);

    /* The items are only read. */
    assert_int_equal(items[1]->refs, 1);
    assert_memory_equal(items[1]->data + 2, "\x01\x02\x03\x04", 4);
    for (int i = 0; i < 5; i++)
        hb_buf_unref(items[i]);
}

static void test_round_trip(void **state) {
    uint8_t out[512], raw[40];
    hb_buf *items[8];
    (void)state;
    for (size_t i = 0; i < sizeof(raw); i++)
        raw[i] = (uint8_t)(i * 37 + 11);
    items[0] = make_item(2, "0{\"sid\":\"x\"}", 12, 0);
    items[1] = make_item(0, raw, 1, 1);
    items[2] = make_item(0, raw, 2, 1);
    items[3] = make_item(0, raw, 3, 1);
    items[4] = make_item(14, raw, 40, 1);
    items[5] = make_item(0, "3", 1, 0);
    items[6] = make_item(0, "4\xe2\x82\xac", 4, 0);
    items[7] = make_item(0, raw, 0, 1);

    size_t w = encode(out, sizeof(out), items, 8);
    collector c = {0};
    assert_int_equal(hb_eio_payload_decode(out, w, collect, &c), 0);
    assert_int_equal(c.n, 8);
    assert_packet(&c.p[0], HB_EIO_OPEN, 0, "{\"sid\":\"x\"}", 11);
    assert_packet(&c.p[1], HB_EIO_MESSAGE, 1, raw, 1);
    assert_packet(&c.p[2], HB_EIO_MESSAGE, 1, raw, 2);
    assert_packet(&c.p[3], HB_EIO_MESSAGE, 1, raw, 3);
    assert_packet(&c.p[4], HB_EIO_MESSAGE, 1, raw, 40);
    assert_packet(&c.p[5], HB_EIO_PONG, 0, NULL, 0);
    assert_packet(&c.p[6], HB_EIO_MESSAGE, 0, "\xe2\x82\xac", 3);
    assert_packet(&c.p[7], HB_EIO_MESSAGE, 1, NULL, 0);
    for (int i = 0; i < 8; i++)
        hb_buf_unref(items[i]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_text),
        cmocka_unit_test(test_many_in_order),
        cmocka_unit_test(test_binary_in_place),
        cmocka_unit_test(test_binary_holding_separators),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_empty_body_null),
        cmocka_unit_test(test_stop),
        cmocka_unit_test(test_encode),
        cmocka_unit_test(test_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
