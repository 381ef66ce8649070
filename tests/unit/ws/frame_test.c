/* Tests of src/ws/frame.c: the reader against well-formed and malformed
 * client streams fed whole, in chunks and byte by byte, and the writers of
 * server frames (checked byte for byte and by reading them back). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hubbub/error.h"
#include "ws/frame.h"

/* ---- building client frames ---- */

enum { LEN_MIN = 0, LEN_16 = 16, LEN_64 = 64 };

static const uint8_t MASK[4] = {0x37, 0xFA, 0x21, 0x3D};

/* Appends one frame to out: b0 is FIN|RSV|opcode, lenform forces the
 * length encoding (LEN_MIN picks the shortest), masked=0 sends it bare. */
static size_t put_frame(uint8_t *out, uint8_t b0, const void *payload, size_t n, int masked,
                        int lenform) {
    size_t o = 0;
    uint8_t mbit = masked ? 0x80 : 0;

    out[o++] = b0;
    if (lenform == LEN_64 || (lenform == LEN_MIN && n > 0xFFFF)) {
        out[o++] = mbit | 127;
        for (int i = 0; i < 8; i++)
            out[o++] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
    } else if (lenform == LEN_16 || (lenform == LEN_MIN && n >= 126)) {
        out[o++] = mbit | 126;
        out[o++] = (uint8_t)(n >> 8);
        out[o++] = (uint8_t)n;
    } else {
        out[o++] = mbit | (uint8_t)n;
    }
    if (masked) {
        memcpy(out + o, MASK, 4);
        o += 4;
    }
    for (size_t i = 0; i < n; i++)
        out[o + i] = ((const uint8_t *)payload)[i] ^ (masked ? MASK[i & 3] : 0);
    return o + n;
}

static size_t frame(uint8_t *out, uint8_t b0, const void *payload, size_t n) {
    return put_frame(out, b0, payload, n, 1, LEN_MIN);
}

static size_t frame_str(uint8_t *out, uint8_t b0, const char *s) {
    return frame(out, b0, s, strlen(s));
}

static size_t close_frame(uint8_t *out, int code, const char *reason) {
    uint8_t p[130];
    size_t rl = strlen(reason);
    p[0] = (uint8_t)(code >> 8);
    p[1] = (uint8_t)code;
    memcpy(p + 2, reason, rl);
    return frame(out, 0x88, p, 2 + rl);
}

/* ---- recording events ---- */

typedef struct {
    char type; /* 'M'essage, p'I'ng, p'O'ng, 'C'lose */
    int arg;   /* opcode or close code */
    uint8_t *data;
    size_t len;
    int in_input; /* data pointed into the caller's buffer */
} event;

typedef struct {
    event ev[64];
    int n;
    int stop_at; /* callback number (1-based) that returns nonzero, 0 = never */
    const uint8_t *in;
    size_t in_len;
} log_t;

static int record(log_t *lg, char type, int arg, const uint8_t *data, size_t len) {
    assert_true(lg->n < 64);
    assert_non_null(data); /* even an empty payload gets a real pointer */
    event *e = &lg->ev[lg->n++];
    e->type = type;
    e->arg = arg;
    e->len = len;
    e->data = malloc(len + 1);
    assert_non_null(e->data);
    memcpy(e->data, data, len);
    e->in_input = lg->in != NULL && data >= lg->in && data + len <= lg->in + lg->in_len;
    return lg->stop_at == lg->n;
}

static int on_message(void *ud, int opcode, uint8_t *data, size_t len) {
    return record(ud, 'M', opcode, data, len);
}
static int on_ping(void *ud, const uint8_t *data, size_t len) {
    return record(ud, 'I', 0, data, len);
}
static int on_pong(void *ud, const uint8_t *data, size_t len) {
    return record(ud, 'O', 0, data, len);
}
static int on_close(void *ud, int code, const uint8_t *reason, size_t len) {
    return record(ud, 'C', code, reason, len);
}

static const hb_ws_reader_cb CB = {on_message, on_ping, on_pong, on_close};

static void log_clear(log_t *lg) {
    for (int i = 0; i < lg->n; i++)
        free(lg->ev[i].data);
    memset(lg, 0, sizeof(*lg));
}

static void expect_event(const log_t *lg, int i, char type, int arg, const void *data, size_t len) {
    assert_true(i < lg->n);
    assert_int_equal(lg->ev[i].type, type);
    assert_int_equal(lg->ev[i].arg, arg);
    assert_int_equal(lg->ev[i].len, len);
    assert_memory_equal(lg->ev[i].data, data, len);
}

/* Feeds stream in chunks of `chunk` bytes, each in its own heap copy that
 * is scribbled over and freed after the call, so a reader that kept a
 * pointer into caller memory trips ASan or reads garbage. Returns the first
 * nonzero result, or 0. */
static int feed_chunks(hb_ws_reader *r, const uint8_t *stream, size_t len, size_t chunk,
                       log_t *lg) {
    for (size_t off = 0; off < len; off += chunk) {
        size_t n = len - off < chunk ? len - off : chunk;
        uint8_t *copy = malloc(n);
        assert_non_null(copy);
        memcpy(copy, stream + off, n);
        lg->in = copy;
        lg->in_len = n;
        int rc = hb_ws_reader_feed(r, copy, n, &CB, lg);
        memset(copy, 0xAA, n);
        free(copy);
        lg->in = NULL;
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int feed_once(size_t max, const uint8_t *stream, size_t len, log_t *lg) {
    hb_ws_reader r;
    hb_ws_reader_init(&r, max);
    int rc = feed_chunks(&r, stream, len, len > 0 ? len : 1, lg);
    hb_ws_reader_free(&r);
    return rc;
}

/* Expects stream, fed whole, to fail with err after `events` events, and
 * the error to stick. */
static void expect_error(size_t max, const uint8_t *stream, size_t len, int err, int events) {
    hb_ws_reader r;
    log_t lg = {0};
    uint8_t ok[16];
    size_t okn = frame_str(ok, 0x81, "ok");

    hb_ws_reader_init(&r, max);
    assert_int_equal(feed_chunks(&r, stream, len, len, &lg), err);
    assert_int_equal(lg.n, events);
    assert_int_equal(feed_chunks(&r, ok, okn, okn, &lg), err);
    assert_int_equal(lg.n, events);
    hb_ws_reader_free(&r);
    log_clear(&lg);
}

/* ---- reader: basics ---- */

static void test_masked_text_zero_copy(void **state) {
    (void)state;
    uint8_t s[64];
    size_t n = frame_str(s, 0x81, "Hello");
    log_t lg = {0};

    assert_int_equal(feed_once(1024, s, n, &lg), 0);
    assert_int_equal(lg.n, 1);
    expect_event(&lg, 0, 'M', HB_WS_OP_TEXT, "Hello", 5);
    assert_true(lg.ev[0].in_input);
    log_clear(&lg);

    /* Two frames in one buffer: both delivered in place. */
    n = frame_str(s, 0x82, "ab");
    n += frame_str(s + n, 0x89, "pi");
    assert_int_equal(feed_once(1024, s, n, &lg), 0);
    assert_int_equal(lg.n, 2);
    expect_event(&lg, 0, 'M', HB_WS_OP_BINARY, "ab", 2);
    expect_event(&lg, 1, 'I', 0, "pi", 2);
    assert_true(lg.ev[0].in_input && lg.ev[1].in_input);
    log_clear(&lg);
}

static void test_unmasks_in_place(void **state) {
    (void)state;
    uint8_t s[64];
    size_t n = frame_str(s, 0x82, "in place");
    hb_ws_reader r;
    log_t lg = {0};

    hb_ws_reader_init(&r, 1024);
    lg.in = s;
    lg.in_len = n;
    assert_int_equal(hb_ws_reader_feed(&r, s, n, &CB, &lg), 0);
    assert_memory_equal(s + 6, "in place", 8);
    assert_true(lg.ev[0].in_input);
    hb_ws_reader_free(&r);
    log_clear(&lg);
}

static void test_unmasked_frame_is_protocol_error(void **state) {
    (void)state;
    uint8_t s[64];
    size_t n = put_frame(s, 0x81, "hi", 2, 0, LEN_MIN);
    expect_error(1024, s, n, HB_EWS_PROTOCOL, 0);
    /* Refused from the first two bytes, before any payload. */
    expect_error(1024, s, 2, HB_EWS_PROTOCOL, 0);
}

static void test_rsv_bits_are_protocol_errors(void **state) {
    (void)state;
    uint8_t s[64];
    for (int bit = 0x10; bit <= 0x40; bit <<= 1) {
        size_t n = frame_str(s, (uint8_t)(0x81 | bit), "x");
        expect_error(1024, s, n, HB_EWS_PROTOCOL, 0);
    }
}

static void test_unknown_opcodes(void **state) {
    (void)state;
    uint8_t s[64];
    static const int bad[] = {3, 4, 5, 6, 7, 11, 12, 13, 14, 15};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t n = frame_str(s, (uint8_t)(0x80 | bad[i]), "x");
        expect_error(1024, s, n, HB_EWS_PROTOCOL, 0);
    }
}

static void test_length_encodings(void **state) {
    (void)state;
    size_t big = 70000;
    uint8_t *payload = malloc(big);
    uint8_t *s = malloc(big + 64);
    log_t lg = {0};
    assert_non_null(payload);
    assert_non_null(s);
    for (size_t i = 0; i < big; i++)
        payload[i] = (uint8_t)(i * 7 + 3);

    /* 7-bit, 16-bit and 64-bit lengths at their edges. */
    static const size_t sizes[] = {0, 1, 125, 126, 127, 65535, 65536, 70000};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        size_t n = frame(s, 0x82, payload, sizes[i]);
        assert_int_equal(n, sizes[i] + (sizes[i] < 126 ? 6 : sizes[i] < 65536 ? 8 : 14));
        assert_int_equal(feed_once(1 << 20, s, n, &lg), 0);
        assert_int_equal(lg.n, 1);
        expect_event(&lg, 0, 'M', HB_WS_OP_BINARY, payload, sizes[i]);
        log_clear(&lg);
    }

    /* Longer encodings than needed are accepted. */
    size_t n = put_frame(s, 0x82, payload, 5, 1, LEN_16);
    n += put_frame(s + n, 0x82, payload, 7, 1, LEN_64);
    assert_int_equal(feed_once(1024, s, n, &lg), 0);
    assert_int_equal(lg.n, 2);
    expect_event(&lg, 0, 'M', HB_WS_OP_BINARY, payload, 5);
    expect_event(&lg, 1, 'M', HB_WS_OP_BINARY, payload, 7);
    log_clear(&lg);
    free(payload);
    free(s);
}

static void test_64bit_length_top_bit(void **state) {
    (void)state;
    uint8_t s[] = {0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4};
    expect_error(SIZE_MAX, s, sizeof(s), HB_EWS_PROTOCOL, 0);
    /* Without the top bit, it is merely too big. */
    s[2] = 0x7F;
    expect_error(SIZE_MAX, s, sizeof(s), HB_EWS_TOO_BIG, 0);
}

static void test_control_frame_rules(void **state) {
    (void)state;
    uint8_t p[130], s[300];
    memset(p, 'p', sizeof(p));
    log_t lg = {0};

    /* 125 bytes is the most a control frame may carry. */
    size_t n = frame(s, 0x89, p, 125);
    n += frame(s + n, 0x8A, p, 125);
    assert_int_equal(feed_once(16, s, n, &lg), 0); /* max_message is for data only */
    assert_int_equal(lg.n, 2);
    expect_event(&lg, 0, 'I', 0, p, 125);
    expect_event(&lg, 1, 'O', 0, p, 125);
    log_clear(&lg);

    for (int op = 8; op <= 10; op++) {
        n = frame(s, (uint8_t)(0x80 | op), p, 126); /* 16-bit length form */
        expect_error(1024, s, n, HB_EWS_PROTOCOL, 0);
        n = frame(s, (uint8_t)op, "", 0); /* FIN clear: fragmented */
        expect_error(1024, s, n, HB_EWS_PROTOCOL, 0);
    }
    /* A control frame with a 126 length is refused from its header. */
    expect_error(1024, (const uint8_t *)"\x89\xFE", 2, HB_EWS_PROTOCOL, 0);
}

static void test_empty_frames(void **state) {
    (void)state;
    uint8_t s[64];
    log_t lg = {0};
    size_t n = frame(s, 0x81, "", 0);
    n += frame(s + n, 0x89, "", 0);
    n += frame(s + n, 0x8A, "", 0);
    n += frame(s + n, 0x02, "", 0); /* an empty message in two empty fragments */
    n += frame(s + n, 0x80, "", 0);
    n += frame(s + n, 0x88, "", 0);

    for (size_t chunk = 1; chunk <= n; chunk++) {
        hb_ws_reader r;
        hb_ws_reader_init(&r, 0); /* a limit of 0 still admits empty messages */
        assert_int_equal(feed_chunks(&r, s, n, chunk, &lg), 0);
        assert_int_equal(lg.n, 5);
        expect_event(&lg, 0, 'M', HB_WS_OP_TEXT, "", 0);
        expect_event(&lg, 1, 'I', 0, "", 0);
        expect_event(&lg, 2, 'O', 0, "", 0);
        expect_event(&lg, 3, 'M', HB_WS_OP_BINARY, "", 0);
        expect_event(&lg, 4, 'C', 1005, "", 0);
        hb_ws_reader_free(&r);
        log_clear(&lg);
    }
}

/* ---- reader: fragmentation ---- */

static void test_fragments_with_ping_between(void **state) {
    (void)state;
    uint8_t s[128];
    log_t lg = {0};
    size_t n = frame_str(s, 0x01, "Hel");
    n += frame_str(s + n, 0x89, "ping!");
    n += frame_str(s + n, 0x00, "lo, ");
    n += frame_str(s + n, 0x8A, "pong");
    n += frame_str(s + n, 0x80, "world");

    assert_int_equal(feed_once(1024, s, n, &lg), 0);
    assert_int_equal(lg.n, 3);
    expect_event(&lg, 0, 'I', 0, "ping!", 5);
    expect_event(&lg, 1, 'O', 0, "pong", 4);
    expect_event(&lg, 2, 'M', HB_WS_OP_TEXT, "Hello, world", 12);
    assert_false(lg.ev[2].in_input); /* reassembled in reader memory */
    log_clear(&lg);
}

static void test_fragment_sequence_errors(void **state) {
    (void)state;
    uint8_t s[128];
    size_t n;

    n = frame_str(s, 0x80, "orphan"); /* continuation without a start */
    expect_error(1024, s, n, HB_EWS_PROTOCOL, 0);
    n = frame_str(s, 0x00, "orphan");
    expect_error(1024, s, n, HB_EWS_PROTOCOL, 0);

    n = frame_str(s, 0x01, "start"); /* a new data frame inside a message */
    n += frame_str(s + n, 0x81, "again");
    expect_error(1024, s, n, HB_EWS_PROTOCOL, 0);
    n = frame_str(s, 0x02, "start");
    n += frame_str(s + n, 0x01, "again");
    expect_error(1024, s, n, HB_EWS_PROTOCOL, 0);

    /* After a message completes, a continuation is an orphan again. */
    n = frame_str(s, 0x01, "a");
    n += frame_str(s + n, 0x80, "b");
    n += frame_str(s + n, 0x80, "c");
    expect_error(1024, s, n, HB_EWS_PROTOCOL, 1);
}

/* A stream that exercises every path; every chunking of it must produce
 * the same events as feeding it whole. */
static size_t build_mixed(uint8_t *s, uint8_t *big, size_t big_len) {
    size_t n = 0;
    n += frame_str(s + n, 0x81, "first");
    n += frame(s + n, 0x82, big, 300);
    n += frame_str(s + n, 0x02, "frag-");
    n += frame_str(s + n, 0x89, "");
    n += frame(s + n, 0x00, big, 200);
    n += frame_str(s + n, 0x8A, "p");
    n += put_frame(s + n, 0x80, "-end", 4, 1, LEN_64);
    n += frame(s + n, 0x82, big, big_len);
    n += frame(s + n, 0x01, "\xE2\x82", 2); /* a euro sign cut in two */
    n += frame(s + n, 0x80, "\xAC", 1);
    n += close_frame(s + n, 1000, "bye");
    return n;
}

static void test_every_chunking_gives_same_events(void **state) {
    (void)state;
    size_t big_len = 66000;
    uint8_t *big = malloc(big_len);
    uint8_t *s = malloc(big_len + 2048);
    log_t whole = {0}, lg = {0};
    assert_non_null(big);
    assert_non_null(s);
    for (size_t i = 0; i < big_len; i++)
        big[i] = (uint8_t)(i ^ (i >> 8));
    size_t n = build_mixed(s, big, big_len);

    assert_int_equal(feed_once(1 << 20, s, n, &whole), 0);
    assert_int_equal(whole.n, 8);
    expect_event(&whole, 0, 'M', HB_WS_OP_TEXT, "first", 5);
    expect_event(&whole, 1, 'M', HB_WS_OP_BINARY, big, 300);
    expect_event(&whole, 2, 'I', 0, "", 0);
    expect_event(&whole, 3, 'O', 0, "p", 1);
    assert_int_equal(whole.ev[4].arg, HB_WS_OP_BINARY);
    assert_int_equal(whole.ev[4].len, 5 + 200 + 4);
    assert_memory_equal(whole.ev[4].data, "frag-", 5);
    assert_memory_equal(whole.ev[4].data + 5, big, 200);
    assert_memory_equal(whole.ev[4].data + 205, "-end", 4);
    expect_event(&whole, 5, 'M', HB_WS_OP_BINARY, big, big_len);
    expect_event(&whole, 6, 'M', HB_WS_OP_TEXT, "\xE2\x82\xAC", 3);
    expect_event(&whole, 7, 'C', 1000, "bye", 3);

    static const size_t chunks[] = {1, 2, 3, 5, 7, 13, 64, 1000, 4096, 65537};
    for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
        hb_ws_reader r;
        hb_ws_reader_init(&r, 1 << 20);
        assert_int_equal(feed_chunks(&r, s, n, chunks[c], &lg), 0);
        assert_int_equal(lg.n, whole.n);
        for (int i = 0; i < lg.n; i++)
            expect_event(&lg, i, whole.ev[i].type, whole.ev[i].arg, whole.ev[i].data,
                         whole.ev[i].len);
        hb_ws_reader_free(&r);
        log_clear(&lg);
    }
    log_clear(&whole);
    free(big);
    free(s);
}

/* ---- reader: callbacks stopping ---- */

static void test_callback_stop(void **state) {
    (void)state;
    uint8_t s[128];
    size_t first = frame_str(s, 0x81, "one");
    size_t n = first + frame_str(s + first, 0x81, "two");
    hb_ws_reader r;
    log_t lg = {0};

    hb_ws_reader_init(&r, 1024);
    lg.stop_at = 1;
    assert_int_equal(feed_chunks(&r, s, n, n, &lg), 1);
    assert_int_equal(lg.n, 1); /* "two" was dropped */
    expect_event(&lg, 0, 'M', HB_WS_OP_TEXT, "one", 3);
    /* The reader is at a frame boundary and goes on. */
    lg.stop_at = 0;
    assert_int_equal(feed_chunks(&r, s + first, n - first, n, &lg), 0);
    assert_int_equal(lg.n, 2);
    expect_event(&lg, 1, 'M', HB_WS_OP_TEXT, "two", 3);
    hb_ws_reader_free(&r);
    log_clear(&lg);

    /* Each kind of callback can stop, including mid-message pings and a
     * message reassembled from fragments. */
    n = frame_str(s, 0x01, "a");
    n += frame_str(s + n, 0x89, "1");
    n += frame_str(s + n, 0x8A, "2");
    n += frame_str(s + n, 0x80, "b");
    n += close_frame(s + n, 1001, "");
    n += frame_str(s + n, 0x81, "after");
    for (int stop = 1; stop <= 4; stop++) {
        for (size_t chunk = 1; chunk <= n; chunk += n - 1) {
            hb_ws_reader_init(&r, 1024);
            lg.stop_at = stop;
            assert_int_equal(feed_chunks(&r, s, n, chunk, &lg), 1);
            assert_int_equal(lg.n, stop);
            hb_ws_reader_free(&r);
            log_clear(&lg);
        }
    }
}

/* ---- reader: limits ---- */

static void test_too_big_from_header(void **state) {
    (void)state;
    uint8_t s[64];
    uint8_t payload[11] = "0123456789";

    /* Only the header of an 11-byte message against a 10-byte limit. */
    size_t n = frame(s, 0x82, payload, 11);
    expect_error(10, s, 6, HB_EWS_TOO_BIG, 0);
    expect_error(10, s, n, HB_EWS_TOO_BIG, 0);

    /* A 16-bit and a 64-bit header announcing more than the limit. */
    hb_ws_reader r;
    uint8_t part[] = {0x82, 0xFE, 0x03, 0xE9, 0x01, 0x02, 0x03};
    hb_ws_reader_init(&r, 1000);
    assert_int_equal(hb_ws_reader_feed(&r, part, sizeof(part), &CB, NULL), 0); /* not whole yet */
    assert_int_equal(hb_ws_reader_feed(&r, part + 6, 1, &CB, NULL), HB_EWS_TOO_BIG);
    hb_ws_reader_free(&r);
    expect_error(1000, (const uint8_t *)"\x82\xFE\x03\xE9\x01\x02\x03\x04", 8, HB_EWS_TOO_BIG, 0);
    expect_error(1000, (const uint8_t *)"\x82\xFF\0\0\0\x01\0\0\0\0\1\2\3\4", 14, HB_EWS_TOO_BIG,
                 0);

    /* Exactly the limit is fine. */
    log_t lg = {0};
    n = frame(s, 0x82, payload, 10);
    assert_int_equal(feed_once(10, s, n, &lg), 0);
    expect_event(&lg, 0, 'M', HB_WS_OP_BINARY, payload, 10);
    log_clear(&lg);
}

static void test_too_big_summed_over_fragments(void **state) {
    (void)state;
    uint8_t s[128];
    size_t n = frame_str(s, 0x01, "123456");
    size_t first = n;
    n += frame_str(s + n, 0x89, "control frames do not count");
    n += frame_str(s + n, 0x80, "7890");
    log_t lg = {0};

    assert_int_equal(feed_once(10, s, n, &lg), 0);
    expect_event(&lg, 1, 'M', HB_WS_OP_TEXT, "1234567890", 10);
    log_clear(&lg);

    n = first + frame_str(s + first, 0x00, "7890");
    size_t hdr = n + 6; /* header of the third fragment */
    n += frame_str(s + n, 0x80, "x");
    expect_error(10, s, hdr, HB_EWS_TOO_BIG, 0);
    expect_error(10, s, n, HB_EWS_TOO_BIG, 0);
}

/* ---- reader: UTF-8 ---- */

static void test_utf8_text(void **state) {
    (void)state;
    uint8_t s[128];
    log_t lg = {0};
    size_t n;

    /* A 4-byte character split over three fragments. */
    n = frame(s, 0x01, "\xF0\x9F", 2);
    n += frame(s + n, 0x00, "\x98", 1);
    n += frame(s + n, 0x80, "\x80!", 2);
    assert_int_equal(feed_once(1024, s, n, &lg), 0);
    expect_event(&lg, 0, 'M', HB_WS_OP_TEXT, "\xF0\x9F\x98\x80!", 5);
    log_clear(&lg);

    n = frame(s, 0x81, "ok\xC3\x28", 4); /* bad continuation byte */
    expect_error(1024, s, n, HB_EWS_UTF8, 0);
    n = frame(s, 0x81, "\xED\xA0\x80", 3); /* a surrogate */
    expect_error(1024, s, n, HB_EWS_UTF8, 0);
    n = frame(s, 0x01, "abc", 3); /* a message that ends mid-character */
    n += frame(s + n, 0x80, "\xE2\x82", 2);
    expect_error(1024, s, n, HB_EWS_UTF8, 0);

    /* Binary messages are not checked. */
    n = frame(s, 0x82, "\xFF\xFE", 2);
    n += frame(s + n, 0x02, "\xC0", 1);
    n += frame(s + n, 0x80, "\x80", 1);
    assert_int_equal(feed_once(1024, s, n, &lg), 0);
    assert_int_equal(lg.n, 2);
    expect_event(&lg, 1, 'M', HB_WS_OP_BINARY, "\xC0\x80", 2);
    log_clear(&lg);

    /* Nor are pings. */
    n = frame(s, 0x89, "\xFF", 1);
    assert_int_equal(feed_once(1024, s, n, &lg), 0);
    assert_int_equal(lg.n, 1);
    log_clear(&lg);
}

/* ---- reader: close frames ---- */

static void test_close_codes(void **state) {
    (void)state;
    uint8_t s[160];
    log_t lg = {0};
    static const int good[] = {1000, 1001, 1002, 1003, 1007, 1008, 1009,
                               1010, 1011, 1012, 1013, 1014, 3000, 4999};
    static const int bad[] = {0,    999,  1004, 1005, 1006, 1015,  1016,
                              1100, 2000, 2999, 5000, 9999, 65535};

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        size_t n = close_frame(s, good[i], "reason \xC3\xA9");
        assert_int_equal(feed_once(1024, s, n, &lg), 0);
        assert_int_equal(lg.n, 1);
        expect_event(&lg, 0, 'C', good[i], "reason \xC3\xA9", 9);
        log_clear(&lg);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t n = close_frame(s, bad[i], "");
        expect_error(1024, s, n, HB_EWS_PROTOCOL, 0);
    }

    size_t n = frame(s, 0x88, "\x03", 1); /* a one-byte payload */
    expect_error(1024, s, n, HB_EWS_PROTOCOL, 0);
    n = close_frame(s, 1000, "bad \xC0\xAF"); /* an overlong '/' in the reason */
    expect_error(1024, s, n, HB_EWS_PROTOCOL, 0);

    /* A close between fragments is still a close. */
    n = frame_str(s, 0x01, "part");
    n += close_frame(s + n, 1001, "going");
    assert_int_equal(feed_once(1024, s, n, &lg), 0);
    expect_event(&lg, 0, 'C', 1001, "going", 5);
    log_clear(&lg);

    /* The longest reason, 123 bytes, byte by byte. */
    char reason[124];
    memset(reason, 'r', 123);
    reason[123] = '\0';
    n = close_frame(s, 4000, reason);
    hb_ws_reader r;
    hb_ws_reader_init(&r, 1024);
    assert_int_equal(feed_chunks(&r, s, n, 1, &lg), 0);
    expect_event(&lg, 0, 'C', 4000, reason, 123);
    hb_ws_reader_free(&r);
    log_clear(&lg);
}

static void test_close_code_for(void **state) {
    (void)state;
    assert_int_equal(hb_ws_close_code_for(HB_EWS_PROTOCOL), 1002);
    assert_int_equal(hb_ws_close_code_for(HB_EWS_UTF8), 1007);
    assert_int_equal(hb_ws_close_code_for(HB_EWS_TOO_BIG), 1009);
    assert_int_equal(hb_ws_close_code_for(HB_ENOMEM), 1011);
    assert_int_equal(hb_ws_close_code_for(0), 1011);
}

/* ---- reader: lifetime ---- */

static void test_free_mid_message_and_reinit(void **state) {
    (void)state;
    uint8_t s[1024];
    uint8_t p[500];
    memset(p, 'z', sizeof(p));
    size_t n = frame(s, 0x02, p, 300);
    n += frame(s + n, 0x00, p, 500);
    hb_ws_reader r;
    log_t lg = {0};

    /* A whole first fragment and half of the second are held; free must
     * release them (LeakSanitizer checks). */
    hb_ws_reader_init(&r, 4096);
    assert_int_equal(feed_chunks(&r, s, n - 250, 100, &lg), 0);
    assert_int_equal(lg.n, 0);
    hb_ws_reader_free(&r);
    hb_ws_reader_free(&r); /* twice is harmless */

    hb_ws_reader_init(&r, 4096);
    n = frame_str(s, 0x81, "fresh");
    assert_int_equal(feed_chunks(&r, s, n, 2, &lg), 0);
    expect_event(&lg, 0, 'M', HB_WS_OP_TEXT, "fresh", 5);
    hb_ws_reader_free(&r);
    log_clear(&lg);
}

static void test_error_midway_keeps_earlier_events(void **state) {
    (void)state;
    uint8_t s[128];
    size_t n = frame_str(s, 0x81, "good");
    n += frame_str(s + n, 0x01, "held");
    n += frame_str(s + n, 0xC1, "rsv1");
    for (size_t chunk = 1; chunk <= n; chunk++) {
        hb_ws_reader r;
        log_t lg = {0};
        hb_ws_reader_init(&r, 1024);
        assert_int_equal(feed_chunks(&r, s, n, chunk, &lg), HB_EWS_PROTOCOL);
        assert_int_equal(lg.n, 1);
        expect_event(&lg, 0, 'M', HB_WS_OP_TEXT, "good", 4);
        assert_int_equal(hb_ws_reader_feed(&r, s, 0, &CB, &lg), HB_EWS_PROTOCOL);
        hb_ws_reader_free(&r);
        log_clear(&lg);
    }
}

static void test_null_callbacks_ignore_events(void **state) {
    (void)state;
    uint8_t s[128];
    static const hb_ws_reader_cb none = {0};
    hb_ws_reader r;
    size_t n = frame_str(s, 0x81, "a");
    n += frame_str(s + n, 0x89, "b");
    n += frame_str(s + n, 0x8A, "c");
    n += close_frame(s + n, 1000, "d");
    hb_ws_reader_init(&r, 1024);
    assert_int_equal(hb_ws_reader_feed(&r, s, n, &none, NULL), 0);
    assert_int_equal(hb_ws_reader_feed(&r, NULL, 0, &none, NULL), 0);
    hb_ws_reader_free(&r);
}

/* ---- writers ---- */

static void test_frame_header(void **state) {
    (void)state;
    uint8_t h[10];

    assert_int_equal(hb_ws_frame_header(h, HB_WS_OP_TEXT, 0), 2);
    assert_memory_equal(h, "\x81\x00", 2);
    assert_int_equal(hb_ws_frame_header(h, HB_WS_OP_BINARY, 125), 2);
    assert_memory_equal(h, "\x82\x7D", 2);
    assert_int_equal(hb_ws_frame_header(h, HB_WS_OP_TEXT, 126), 4);
    assert_memory_equal(h, "\x81\x7E\x00\x7E", 4);
    assert_int_equal(hb_ws_frame_header(h, HB_WS_OP_PING, 65535), 4);
    assert_memory_equal(h, "\x89\x7E\xFF\xFF", 4);
    assert_int_equal(hb_ws_frame_header(h, HB_WS_OP_BINARY, 65536), 10);
    assert_memory_equal(h, "\x82\x7F\x00\x00\x00\x00\x00\x01\x00\x00", 10);
    assert_int_equal(hb_ws_frame_header(h, HB_WS_OP_CLOSE, 0x0102030405060708ull), 10);
    assert_memory_equal(h, "\x88\x7F\x01\x02\x03\x04\x05\x06\x07\x08", 10);
}

/* Masks a server frame as a client would and reads it back. */
static void read_back(const hb_buf *b, log_t *lg) {
    uint8_t *s = malloc(b->len + 4);
    assert_non_null(s);
    size_t h = b->off;
    memcpy(s, b->data, h);
    s[1] |= 0x80;
    memcpy(s + h, MASK, 4);
    for (size_t i = h; i < b->len; i++)
        s[i + 4] = b->data[i] ^ MASK[(i - h) & 3];
    assert_int_equal(feed_once(1 << 20, s, b->len + 4, lg), 0);
    free(s);
}

static void test_frame_new(void **state) {
    (void)state;
    log_t lg = {0};
    hb_buf *b = hb_ws_frame_new(HB_WS_OP_TEXT, "4", 1, "hello", 5);
    assert_non_null(b);
    assert_int_equal(b->off, 2);
    assert_int_equal(b->len, 8);
    assert_int_equal(b->flags, 0);
    assert_memory_equal(b->data, "\x81\x06" "4hello", 8);
    assert_int_equal(hb_buf_payload(b).len, 6);
    hb_buf_unref(b);

    b = hb_ws_frame_new(HB_WS_OP_BINARY, NULL, 0, "\x00\x01", 2);
    assert_non_null(b);
    assert_int_equal(b->flags, HB_BUF_BINARY);
    assert_memory_equal(b->data, "\x82\x02\x00\x01", 4);
    hb_buf_unref(b);

    b = hb_ws_frame_new(HB_WS_OP_PONG, NULL, 0, NULL, 0);
    assert_non_null(b);
    assert_int_equal(b->len, 2);
    assert_int_equal(b->off, 2);
    assert_memory_equal(b->data, "\x8A\x00", 2);
    hb_buf_unref(b);

    /* Prefix only, and a size that needs the 16-bit then 64-bit form. */
    static uint8_t big[70000];
    memset(big, 'q', sizeof(big));
    b = hb_ws_frame_new(HB_WS_OP_TEXT, big, 200, NULL, 0);
    assert_non_null(b);
    assert_int_equal(b->off, 4);
    assert_int_equal(b->len, 204);
    read_back(b, &lg);
    expect_event(&lg, 0, 'M', HB_WS_OP_TEXT, big, 200);
    hb_buf_unref(b);
    log_clear(&lg);

    b = hb_ws_frame_new(HB_WS_OP_BINARY, "\x04", 1, big, sizeof(big));
    assert_non_null(b);
    assert_int_equal(b->off, 10);
    assert_int_equal(b->len, 10 + 1 + sizeof(big));
    read_back(b, &lg);
    assert_int_equal(lg.ev[0].len, 1 + sizeof(big));
    assert_int_equal(lg.ev[0].data[0], 4);
    assert_memory_equal(lg.ev[0].data + 1, big, sizeof(big));
    hb_buf_unref(b);
    log_clear(&lg);
}

static void test_close_frame_new(void **state) {
    (void)state;
    log_t lg = {0};
    hb_buf *b = hb_ws_close_frame_new(1000, "bye");
    assert_non_null(b);
    assert_int_equal(b->len, 7);
    assert_memory_equal(b->data, "\x88\x05\x03\xE8" "bye", 7);
    hb_buf_unref(b);

    b = hb_ws_close_frame_new(1009, NULL);
    assert_non_null(b);
    assert_memory_equal(b->data, "\x88\x02\x03\xF1", 4);
    hb_buf_unref(b);

    b = hb_ws_close_frame_new(0, "ignored");
    assert_non_null(b);
    assert_int_equal(b->len, 2);
    assert_memory_equal(b->data, "\x88\x00", 2);
    hb_buf_unref(b);

    /* A long ASCII reason is cut to 123 bytes. */
    char reason[300];
    memset(reason, 'a', 299);
    reason[299] = '\0';
    b = hb_ws_close_frame_new(4001, reason);
    assert_non_null(b);
    assert_int_equal(b->len, 2 + 125);
    read_back(b, &lg);
    expect_event(&lg, 0, 'C', 4001, reason, 123);
    hb_buf_unref(b);
    log_clear(&lg);

    /* A euro sign straddling byte 123 is dropped whole, never split. */
    memcpy(reason + 122, "\xE2\x82\xAC", 3);
    b = hb_ws_close_frame_new(1011, reason);
    assert_non_null(b);
    assert_int_equal(b->len, 2 + 2 + 122);
    read_back(b, &lg);
    expect_event(&lg, 0, 'C', 1011, reason, 122);
    hb_buf_unref(b);
    log_clear(&lg);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_masked_text_zero_copy),
        cmocka_unit_test(test_unmasks_in_place),
        cmocka_unit_test(test_unmasked_frame_is_protocol_error),
        cmocka_unit_test(test_rsv_bits_are_protocol_errors),
        cmocka_unit_test(test_unknown_opcodes),
        cmocka_unit_test(test_length_encodings),
        cmocka_unit_test(test_64bit_length_top_bit),
        cmocka_unit_test(test_control_frame_rules),
        cmocka_unit_test(test_empty_frames),
        cmocka_unit_test(test_fragments_with_ping_between),
        cmocka_unit_test(test_fragment_sequence_errors),
        cmocka_unit_test(test_every_chunking_gives_same_events),
        cmocka_unit_test(test_callback_stop),
        cmocka_unit_test(test_too_big_from_header),
        cmocka_unit_test(test_too_big_summed_over_fragments),
        cmocka_unit_test(test_utf8_text),
        cmocka_unit_test(test_close_codes),
        cmocka_unit_test(test_close_code_for),
        cmocka_unit_test(test_free_mid_message_and_reinit),
        cmocka_unit_test(test_error_midway_keeps_earlier_events),
        cmocka_unit_test(test_null_callbacks_ignore_events),
        cmocka_unit_test(test_frame_header),
        cmocka_unit_test(test_frame_new),
        cmocka_unit_test(test_close_frame_new),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
