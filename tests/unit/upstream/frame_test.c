/* Tests for src/upstream/frame.c: frames byte for byte as the Azure SDK's
 * @msgpack/msgpack writes them, round trips across every size class of str,
 * bin and integer, every encoding a conforming writer may choose, and every
 * malformed input: cut short at each byte, wrong types, out-of-range type,
 * bad lengths, short arrays, unsupported extra elements. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hubbub/error.h"
#include "upstream/frame.h"

/* The three arrays below were produced by TunnelMessageProtocol.getBytes()
 * of @azure/web-pubsub-socket.io (with @msgpack/msgpack 3.1.3). */
/* [10, "{\"Type\":10,\"ConnectionId\":\"c\"}", nil] */
static const uint8_t js_connected[] = {
    0x22, 0x00, 0x00, 0x00, 0x93, 0x0a, 0xbe, 0x7b, 0x22, 0x54, 0x79, 0x70, 0x65,
    0x22, 0x3a, 0x31, 0x30, 0x2c, 0x22, 0x43, 0x6f, 0x6e, 0x6e, 0x65, 0x63, 0x74,
    0x69, 0x6f, 0x6e, 0x49, 0x64, 0x22, 0x3a, 0x22, 0x63, 0x22, 0x7d, 0xc0,
};
/* A REST call with the body "hello" (bin8). */
static const uint8_t js_request[] = {
    0xbf, 0x00, 0x00, 0x00, 0x93, 0x01, 0xd9, 0xb4, 0x7b, 0x22, 0x41, 0x63, 0x6b, 0x49, 0x64,
    0x22, 0x3a, 0x31, 0x2c, 0x22, 0x4c, 0x6f, 0x63, 0x61, 0x6c, 0x52, 0x6f, 0x75, 0x74, 0x69,
    0x6e, 0x67, 0x22, 0x3a, 0x74, 0x72, 0x75, 0x65, 0x2c, 0x22, 0x43, 0x68, 0x61, 0x6e, 0x6e,
    0x65, 0x6c, 0x4e, 0x61, 0x6d, 0x65, 0x22, 0x3a, 0x22, 0x22, 0x2c, 0x22, 0x48, 0x74, 0x74,
    0x70, 0x4d, 0x65, 0x74, 0x68, 0x6f, 0x64, 0x22, 0x3a, 0x22, 0x50, 0x4f, 0x53, 0x54, 0x22,
    0x2c, 0x22, 0x55, 0x72, 0x6c, 0x22, 0x3a, 0x22, 0x68, 0x74, 0x74, 0x70, 0x73, 0x3a, 0x2f,
    0x2f, 0x68, 0x6f, 0x73, 0x74, 0x2f, 0x61, 0x70, 0x69, 0x2f, 0x68, 0x75, 0x62, 0x73, 0x2f,
    0x68, 0x2f, 0x3a, 0x73, 0x65, 0x6e, 0x64, 0x3f, 0x61, 0x70, 0x69, 0x2d, 0x76, 0x65, 0x72,
    0x73, 0x69, 0x6f, 0x6e, 0x3d, 0x32, 0x30, 0x32, 0x34, 0x2d, 0x30, 0x31, 0x2d, 0x30, 0x31,
    0x22, 0x2c, 0x22, 0x48, 0x65, 0x61, 0x64, 0x65, 0x72, 0x73, 0x22, 0x3a, 0x7b, 0x22, 0x43,
    0x6f, 0x6e, 0x74, 0x65, 0x6e, 0x74, 0x2d, 0x54, 0x79, 0x70, 0x65, 0x22, 0x3a, 0x5b, 0x22,
    0x74, 0x65, 0x78, 0x74, 0x2f, 0x70, 0x6c, 0x61, 0x69, 0x6e, 0x22, 0x5d, 0x7d, 0x2c, 0x22,
    0x54, 0x79, 0x70, 0x65, 0x22, 0x3a, 0x31, 0x7d, 0xc4, 0x05, 0x68, 0x65, 0x6c, 0x6c, 0x6f,
};
/* A webhook answer with an empty body: bin8 of length 0, not nil. */
static const uint8_t js_response[] = {
    0xa4, 0x00, 0x00, 0x00, 0x93, 0x02, 0xd9, 0x9e, 0x7b, 0x22, 0x41, 0x63, 0x6b, 0x49, 0x64, 0x22,
    0x3a, 0x37, 0x2c, 0x22, 0x4c, 0x6f, 0x63, 0x61, 0x6c, 0x52, 0x6f, 0x75, 0x74, 0x69, 0x6e, 0x67,
    0x22, 0x3a, 0x74, 0x72, 0x75, 0x65, 0x2c, 0x22, 0x53, 0x74, 0x61, 0x74, 0x75, 0x73, 0x43, 0x6f,
    0x64, 0x65, 0x22, 0x3a, 0x32, 0x30, 0x30, 0x2c, 0x22, 0x43, 0x68, 0x61, 0x6e, 0x6e, 0x65, 0x6c,
    0x4e, 0x61, 0x6d, 0x65, 0x22, 0x3a, 0x22, 0x22, 0x2c, 0x22, 0x4e, 0x6f, 0x74, 0x43, 0x6f, 0x6d,
    0x70, 0x6c, 0x65, 0x74, 0x65, 0x64, 0x22, 0x3a, 0x66, 0x61, 0x6c, 0x73, 0x65, 0x2c, 0x22, 0x48,
    0x65, 0x61, 0x64, 0x65, 0x72, 0x73, 0x22, 0x3a, 0x7b, 0x22, 0x63, 0x6f, 0x6e, 0x74, 0x65, 0x6e,
    0x74, 0x2d, 0x74, 0x79, 0x70, 0x65, 0x22, 0x3a, 0x5b, 0x22, 0x61, 0x70, 0x70, 0x6c, 0x69, 0x63,
    0x61, 0x74, 0x69, 0x6f, 0x6e, 0x2f, 0x6a, 0x73, 0x6f, 0x6e, 0x3b, 0x20, 0x63, 0x68, 0x61, 0x72,
    0x73, 0x65, 0x74, 0x3d, 0x75, 0x74, 0x66, 0x2d, 0x38, 0x22, 0x5d, 0x7d, 0x2c, 0x22, 0x54, 0x79,
    0x70, 0x65, 0x22, 0x3a, 0x32, 0x7d, 0xc4, 0x00,
};

#define CONNECTED_JSON "{\"Type\":10,\"ConnectionId\":\"c\"}"
#define REQUEST_JSON                                                                               \
    "{\"AckId\":1,\"LocalRouting\":true,\"ChannelName\":\"\",\"HttpMethod\":\"POST\",\"Url\":"     \
    "\"https://host/api/hubs/h/:send?api-version=2024-01-01\",\"Headers\":{\"Content-Type\":"      \
    "[\"text/plain\"]},\"Type\":1}"
#define RESPONSE_JSON                                                                              \
    "{\"AckId\":7,\"LocalRouting\":true,\"StatusCode\":200,\"ChannelName\":\"\",\"NotCompleted\":" \
    "false,\"Headers\":{\"content-type\":[\"application/json; charset=utf-8\"]},\"Type\":2}"

/* A copy in an exact-size allocation, so ASan catches any overread. */
static uint8_t *dup_exact(const uint8_t *p, size_t n) {
    uint8_t *d = malloc(n > 0 ? n : 1);
    assert_non_null(d);
    if (n > 0)
        memcpy(d, p, n);
    return d;
}

static int decode_exact(const uint8_t *p, size_t n, hb_tunnel_frame *f) {
    uint8_t *d = dup_exact(p, n);
    int rc = hb_tunnel_frame_decode(d, n, f);
    /* the slices must point into the input; rebase them onto p */
    if (rc == 0) {
        if (f->json.len > 0)
            f->json.base = p + (f->json.base - d);
        if (f->has_content)
            f->content.base = p + (f->content.base - d);
        else
            assert_null(f->content.base);
    }
    free(d);
    return rc;
}

/* data decodes to error and leaves *out alone. */
static void expect_bad(const uint8_t *data, size_t len) {
    hb_tunnel_frame f;
    memset(&f, 0x5A, sizeof(f));
    assert_int_equal(decode_exact(data, len, &f), HB_ETUNNEL_FRAME);
    for (size_t i = 0; i < sizeof(f); i++)
        assert_int_equal(((uint8_t *)&f)[i], 0x5A);
}

static void expect_frame(const uint8_t *data, size_t len, int type, const char *json, size_t jlen,
                         int has_content, const void *content, size_t clen) {
    hb_tunnel_frame f;
    assert_int_equal(decode_exact(data, len, &f), 0);
    assert_int_equal(f.type, type);
    assert_int_equal(f.json.len, jlen);
    if (jlen > 0)
        assert_memory_equal(f.json.base, json, jlen);
    assert_int_equal(f.has_content, has_content);
    assert_int_equal(f.content.len, clen);
    if (clen > 0)
        assert_memory_equal(f.content.base, content, clen);
    if (jlen > 0) /* borrowed from the input, past the prefix */
        assert_true(f.json.base >= data + 4 && f.json.base + jlen <= data + len);
    if (clen > 0)
        assert_true(f.content.base >= data + 4 && f.content.base + clen <= data + len);
}

/* Puts the little-endian N of n body bytes in front of them; returns 4 + n. */
static size_t with_prefix(uint8_t *dst, const uint8_t *body, size_t n) {
    dst[0] = (uint8_t)n;
    dst[1] = (uint8_t)(n >> 8);
    dst[2] = (uint8_t)(n >> 16);
    dst[3] = (uint8_t)(n >> 24);
    if (n > 0)
        memcpy(dst + 4, body, n);
    return 4 + n;
}

static void expect_bad_body(const uint8_t *body, size_t n) {
    uint8_t buf[256];
    assert_true(n <= sizeof(buf) - 4);
    expect_bad(buf, with_prefix(buf, body, n));
}

static void expect_body(const uint8_t *body, size_t n, int type, const char *json, int has_content,
                        const char *content, size_t clen) {
    uint8_t buf[256];
    assert_true(n <= sizeof(buf) - 4);
    expect_frame(buf, with_prefix(buf, body, n), type, json, strlen(json), has_content, content,
                 clen);
}

#define BAD_BODY(...)                                                                              \
    do {                                                                                           \
        const uint8_t b_[] = {__VA_ARGS__};                                                        \
        expect_bad_body(b_, sizeof(b_));                                                           \
    } while (0)
#define BODY(type, json, has, content, clen, ...)                                                  \
    do {                                                                                           \
        const uint8_t b_[] = {__VA_ARGS__};                                                        \
        expect_body(b_, sizeof(b_), type, json, has, content, clen);                               \
    } while (0)

/* Encodes into an exact-size buffer; checks the length and returns it. */
static uint8_t *write_exact(int type, const char *json, size_t jlen, const uint8_t *content,
                            size_t clen, int has, size_t *len) {
    size_t n = hb_tunnel_frame_encoded_len(type, jlen, clen, has);
    uint8_t *d;
    assert_true(n > 0);
    d = malloc(n);
    assert_non_null(d);
    assert_int_equal(hb_tunnel_frame_write(d, type, json, jlen, content, clen, has), n);
    *len = n;
    return d;
}

static void test_js_frames_decode(void **state) {
    (void)state;
    expect_frame(js_connected, sizeof(js_connected), HB_TUNNEL_CONNECTION_CONNECTED, CONNECTED_JSON,
                 strlen(CONNECTED_JSON), 0, NULL, 0);
    expect_frame(js_request, sizeof(js_request), HB_TUNNEL_HTTP_REQUEST, REQUEST_JSON,
                 strlen(REQUEST_JSON), 1, "hello", 5);
    expect_frame(js_response, sizeof(js_response), HB_TUNNEL_HTTP_RESPONSE, RESPONSE_JSON,
                 strlen(RESPONSE_JSON), 1, NULL, 0);
}

/* What we write is what the Azure SDK writes, byte for byte. */
static void test_write_matches_js(void **state) {
    uint8_t *d;
    size_t n;
    (void)state;
    d = write_exact(10, CONNECTED_JSON, strlen(CONNECTED_JSON), NULL, 0, 0, &n);
    assert_int_equal(n, sizeof(js_connected));
    assert_memory_equal(d, js_connected, n);
    free(d);
    d = write_exact(1, REQUEST_JSON, strlen(REQUEST_JSON), (const uint8_t *)"hello", 5, 1, &n);
    assert_int_equal(n, sizeof(js_request));
    assert_memory_equal(d, js_request, n);
    free(d);
    d = write_exact(2, RESPONSE_JSON, strlen(RESPONSE_JSON), NULL, 0, 1, &n);
    assert_int_equal(n, sizeof(js_response));
    assert_memory_equal(d, js_response, n);
    free(d);
}

/* The str header for a json of n bytes, as the smallest encoding has it. */
static void check_str_header(const uint8_t *h, size_t n, size_t *hlen) {
    if (n <= 31) {
        assert_int_equal(h[0], 0xa0 | n);
        *hlen = 1;
    } else if (n <= 0xff) {
        assert_int_equal(h[0], 0xd9);
        assert_int_equal(h[1], n);
        *hlen = 2;
    } else if (n <= 0xffff) {
        assert_int_equal(h[0], 0xda);
        assert_int_equal(h[1] << 8 | h[2], n);
        *hlen = 3;
    } else {
        assert_int_equal(h[0], 0xdb);
        assert_int_equal((size_t)h[1] << 24 | (size_t)h[2] << 16 | (size_t)h[3] << 8 | h[4], n);
        *hlen = 5;
    }
}

static void check_bin_header(const uint8_t *h, size_t n) {
    if (n <= 0xff) {
        assert_int_equal(h[0], 0xc4);
        assert_int_equal(h[1], n);
    } else if (n <= 0xffff) {
        assert_int_equal(h[0], 0xc5);
        assert_int_equal(h[1] << 8 | h[2], n);
    } else {
        assert_int_equal(h[0], 0xc6);
        assert_int_equal((size_t)h[1] << 24 | (size_t)h[2] << 16 | (size_t)h[3] << 8 | h[4], n);
    }
}

/* Every str and bin size class at its edges, nil and empty content. */
static void test_round_trip_sizes(void **state) {
    static const size_t jsizes[] = {0, 1, 31, 32, 255, 256, 65535, 65536, 70000};
    static const size_t csizes[] = {0, 1, 255, 256, 65535, 65536, 70001};
    size_t big = 70001;
    char *json = malloc(big);
    uint8_t *content = malloc(big);
    (void)state;
    assert_non_null(json);
    assert_non_null(content);
    for (size_t i = 0; i < big; i++) {
        json[i] = (char)('a' + i % 26);
        content[i] = (uint8_t)(i * 7 + 3);
    }
    for (size_t i = 0; i < sizeof(jsizes) / sizeof(jsizes[0]); i++) {
        for (size_t k = 0; k <= sizeof(csizes) / sizeof(csizes[0]); k++) {
            int has = k < sizeof(csizes) / sizeof(csizes[0]);
            size_t jl = jsizes[i], cl = has ? csizes[k] : 0, n, hl;
            uint8_t *d = write_exact(HB_TUNNEL_HTTP_RESPONSE, json, jl, content, cl, has, &n);
            size_t want_n = 1 + 1 +
                            (jl <= 31       ? 1
                             : jl <= 0xff   ? 2
                             : jl <= 0xffff ? 3
                                            : 5) +
                            jl +
                            (has ? (cl <= 0xff     ? 2
                                    : cl <= 0xffff ? 3
                                                   : 5) +
                                       cl
                                 : 1);
            assert_int_equal(n, 4 + want_n);
            assert_int_equal(
                (size_t)d[0] | (size_t)d[1] << 8 | (size_t)d[2] << 16 | (size_t)d[3] << 24, want_n);
            assert_int_equal(d[4], 0x93);
            assert_int_equal(d[5], 0x02);
            check_str_header(d + 6, jl, &hl);
            if (has)
                check_bin_header(d + 6 + hl + jl, cl);
            else
                assert_int_equal(d[6 + hl + jl], 0xc0);
            expect_frame(d, n, HB_TUNNEL_HTTP_RESPONSE, json, jl, has, content, cl);
            free(d);
        }
    }
    free(json);
    free(content);
}

static int decode_type_bytes(const uint8_t *tb, size_t tn, int *type) {
    uint8_t body[16], buf[32];
    hb_tunnel_frame f;
    int rc;
    body[0] = 0x92;
    memcpy(body + 1, tb, tn);
    body[1 + tn] = 0xa0;
    rc = decode_exact(buf, with_prefix(buf, body, tn + 2), &f);
    if (rc == 0) {
        assert_int_equal(f.json.len, 0);
        assert_int_equal(f.has_content, 0);
        *type = f.type;
    }
    return rc;
}

#define TYPE_OK(want, ...)                                                                         \
    do {                                                                                           \
        const uint8_t t_[] = {__VA_ARGS__};                                                        \
        int got_ = -1;                                                                             \
        assert_int_equal(decode_type_bytes(t_, sizeof(t_), &got_), 0);                             \
        assert_int_equal(got_, want);                                                              \
    } while (0)
#define TYPE_BAD(...)                                                                              \
    do {                                                                                           \
        const uint8_t t_[] = {__VA_ARGS__};                                                        \
        int got_ = -1;                                                                             \
        assert_int_equal(decode_type_bytes(t_, sizeof(t_), &got_), HB_ETUNNEL_FRAME);              \
    } while (0)

/* type in every integer encoding: the value decides, not the width. */
static void test_type_widths_decode(void **state) {
    (void)state;
    TYPE_OK(0, 0x00);
    TYPE_OK(10, 0x0a);
    TYPE_OK(127, 0x7f);
    TYPE_OK(10, 0xcc, 0x0a);
    TYPE_OK(255, 0xcc, 0xff);
    TYPE_OK(10, 0xcd, 0x00, 0x0a);
    TYPE_OK(65535, 0xcd, 0xff, 0xff);
    TYPE_OK(10, 0xce, 0x00, 0x00, 0x00, 0x0a);
    TYPE_OK(INT32_MAX, 0xce, 0x7f, 0xff, 0xff, 0xff);
    TYPE_OK(10, 0xcf, 0, 0, 0, 0, 0, 0, 0, 0x0a);
    TYPE_OK(INT32_MAX, 0xcf, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff);
    TYPE_OK(10, 0xd0, 0x0a);
    TYPE_OK(127, 0xd0, 0x7f);
    TYPE_OK(10, 0xd1, 0x00, 0x0a);
    TYPE_OK(32767, 0xd1, 0x7f, 0xff);
    TYPE_OK(10, 0xd2, 0x00, 0x00, 0x00, 0x0a);
    TYPE_OK(INT32_MAX, 0xd2, 0x7f, 0xff, 0xff, 0xff);
    TYPE_OK(10, 0xd3, 0, 0, 0, 0, 0, 0, 0, 0x0a);
    TYPE_OK(INT32_MAX, 0xd3, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff);
    /* above INT32_MAX */
    TYPE_BAD(0xce, 0x80, 0x00, 0x00, 0x00);
    TYPE_BAD(0xce, 0xff, 0xff, 0xff, 0xff);
    TYPE_BAD(0xcf, 0, 0, 0, 0, 0x80, 0, 0, 0);
    TYPE_BAD(0xcf, 0, 0, 0, 1, 0, 0, 0, 0x0a); /* 2^32 + 10: no truncation */
    TYPE_BAD(0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0);
    TYPE_BAD(0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
    TYPE_BAD(0xd3, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
    /* negative */
    TYPE_BAD(0xff);
    TYPE_BAD(0xe0);
    TYPE_BAD(0xd0, 0xff);
    TYPE_BAD(0xd0, 0x80);
    TYPE_BAD(0xd1, 0xff, 0xf6);
    TYPE_BAD(0xd2, 0x80, 0x00, 0x00, 0x00);
    TYPE_BAD(0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xf6);
    TYPE_BAD(0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0);
    /* not an integer */
    TYPE_BAD(0xc0);
    TYPE_BAD(0xc2);
    TYPE_BAD(0xc3);
    TYPE_BAD(0xa1, '1');
    TYPE_BAD(0xc4, 0x01, 0x01);
    TYPE_BAD(0xca, 0x41, 0x20, 0x00, 0x00);       /* float32 10.0 */
    TYPE_BAD(0xcb, 0x40, 0x24, 0, 0, 0, 0, 0, 0); /* float64 10.0 */
    TYPE_BAD(0x90);                               /* [] */
    TYPE_BAD(0x80);                               /* {} */
    TYPE_BAD(0xd4, 0x01, 0x0a);                   /* fixext1 */
    TYPE_BAD(0xc1);                               /* never used */
    /* cut short inside the integer (the json that follows is eaten) */
    TYPE_BAD(0xcd, 0x00);
    TYPE_BAD(0xcf, 0, 0, 0);
}

/* The writer picks the smallest integer form, and it reads back. */
static void test_type_widths_write(void **state) {
    static const struct {
        int type;
        uint8_t bytes[5];
        size_t n;
    } cases[] = {
        {0, {0x00}, 1},
        {1, {0x01}, 1},
        {127, {0x7f}, 1},
        {128, {0xcc, 0x80}, 2},
        {255, {0xcc, 0xff}, 2},
        {256, {0xcd, 0x01, 0x00}, 3},
        {65535, {0xcd, 0xff, 0xff}, 3},
        {65536, {0xce, 0x00, 0x01, 0x00, 0x00}, 5},
        {70000, {0xce, 0x00, 0x01, 0x11, 0x70}, 5},
        {INT32_MAX, {0xce, 0x7f, 0xff, 0xff, 0xff}, 5},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n;
        uint8_t *d = write_exact(cases[i].type, "{}", 2, NULL, 0, 0, &n);
        assert_int_equal(n, 4 + 1 + cases[i].n + 3 + 1);
        assert_int_equal(d[0], n - 4);
        assert_int_equal(d[4], 0x93);
        assert_memory_equal(d + 5, cases[i].bytes, cases[i].n);
        expect_frame(d, n, cases[i].type, "{}", 2, 0, NULL, 0);
        free(d);
    }
}

/* Encodings a conforming writer may choose that ours does not. */
static void test_other_encodings(void **state) {
    (void)state;
    /* array16 and array32 */
    BODY(7, "{}", 0, NULL, 0, 0xdc, 0x00, 0x03, 0x07, 0xa2, '{', '}', 0xc0);
    BODY(7, "{}", 1, "x", 1, 0xdd, 0x00, 0x00, 0x00, 0x03, 0x07, 0xa2, '{', '}', 0xc4, 1, 'x');
    /* two elements: no content, in each array form */
    BODY(5, "{}", 0, NULL, 0, 0x92, 0x05, 0xa2, '{', '}');
    BODY(5, "{}", 0, NULL, 0, 0xdc, 0x00, 0x02, 0x05, 0xa2, '{', '}');
    BODY(5, "{}", 0, NULL, 0, 0xdd, 0x00, 0x00, 0x00, 0x02, 0x05, 0xa2, '{', '}');
    /* json as str8/16/32 below their thresholds */
    BODY(1, "{}", 0, NULL, 0, 0x93, 0x01, 0xd9, 0x02, '{', '}', 0xc0);
    BODY(1, "{}", 0, NULL, 0, 0x93, 0x01, 0xda, 0x00, 0x02, '{', '}', 0xc0);
    BODY(1, "{}", 0, NULL, 0, 0x93, 0x01, 0xdb, 0x00, 0x00, 0x00, 0x02, '{', '}', 0xc0);
    BODY(1, "", 0, NULL, 0, 0x93, 0x01, 0xd9, 0x00, 0xc0);
    /* content as bin16/32 below their thresholds, empty bin, and str */
    BODY(1, "", 1, "ab", 2, 0x93, 0x01, 0xa0, 0xc5, 0x00, 0x02, 'a', 'b');
    BODY(1, "", 1, "ab", 2, 0x93, 0x01, 0xa0, 0xc6, 0x00, 0x00, 0x00, 0x02, 'a', 'b');
    BODY(1, "", 1, "", 0, 0x93, 0x01, 0xa0, 0xc4, 0x00);
    BODY(1, "", 1, "", 0, 0x93, 0x01, 0xa0, 0xc6, 0x00, 0x00, 0x00, 0x00);
    BODY(1, "", 1, "ab", 2, 0x93, 0x01, 0xa0, 0xa2, 'a', 'b');
    BODY(1, "", 1, "ab", 2, 0x93, 0x01, 0xa0, 0xd9, 0x02, 'a', 'b');
    BODY(1, "", 1, "ab", 2, 0x93, 0x01, 0xa0, 0xda, 0x00, 0x02, 'a', 'b');
    BODY(1, "", 1, "ab", 2, 0x93, 0x01, 0xa0, 0xdb, 0x00, 0x00, 0x00, 0x02, 'a', 'b');
    BODY(1, "", 1, "", 0, 0x93, 0x01, 0xa0, 0xa0);
}

/* Elements past the third are skipped when they are plain values. */
static void test_extra_elements(void **state) {
    (void)state;
    BODY(2, "{}", 1, "z", 1, 0x94, 0x02, 0xa2, '{', '}', 0xc4, 1, 'z', 0xc0);
    BODY(2, "{}", 0, NULL, 0, 0x9f, 0x02, 0xa2, '{', '}', 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0,
         0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0);
    BODY(2, "{}", 0, NULL, 0, 0xdc, 0x00, 0x12, 0x02, 0xa2, '{', '}', 0xc0, /* 15 extras: */
         0xc0, 0xc2, 0xc3, 0x00, 0x7f, 0xe0, 0xff, 0xcc, 1, 0xcd, 1, 2, 0xce, 1, 2, 3, 4, 0xcf, 1,
         2, 3, 4, 5, 6, 7, 8, 0xd0, 0x80, 0xd1, 1, 2, 0xd2, 0xff, 0xff, 0xff, 0xff, 0xd3, 1, 2, 3,
         4, 5, 6, 7, 8);
    BODY(2, "{}", 0, NULL, 0, 0xdc, 0x00, 0x0a, 0x02, 0xa2, '{', '}', 0xc0, /* 7 extras: */
         0xa1, 'x', 0xd9, 1, 'x', 0xda, 0, 1, 'x', 0xdb, 0, 0, 0, 1, 'x', 0xc4, 1, 'x', 0xc5, 0, 1,
         'x', 0xc6, 0, 0, 0, 1, 'x');
    /* anything else in that place is refused */
    BAD_BODY(0x94, 0x02, 0xa0, 0xc0, 0xca, 0, 0, 0, 0);             /* float32 */
    BAD_BODY(0x94, 0x02, 0xa0, 0xc0, 0xcb, 0, 0, 0, 0, 0, 0, 0, 0); /* float64 */
    BAD_BODY(0x94, 0x02, 0xa0, 0xc0, 0x90);                         /* [] */
    BAD_BODY(0x94, 0x02, 0xa0, 0xc0, 0x80);                         /* {} */
    BAD_BODY(0x94, 0x02, 0xa0, 0xc0, 0xdc, 0, 0);                   /* array16 [] */
    BAD_BODY(0x94, 0x02, 0xa0, 0xc0, 0xde, 0, 0);                   /* map16 {} */
    BAD_BODY(0x94, 0x02, 0xa0, 0xc0, 0xd4, 0x01, 0x00);             /* fixext1 */
    BAD_BODY(0x94, 0x02, 0xa0, 0xc0, 0xc7, 0x00, 0x01);             /* ext8 */
    BAD_BODY(0x94, 0x02, 0xa0, 0xc0, 0xc1);                         /* never used */
    /* fewer elements than the array says */
    BAD_BODY(0x94, 0x02, 0xa0, 0xc0);
    BAD_BODY(0xdc, 0xff, 0xff, 0x02, 0xa0, 0xc0, 0xc0);
    BAD_BODY(0xdd, 0xff, 0xff, 0xff, 0xff, 0x02, 0xa0, 0xc0, 0xc0, 0xc0);
    /* an extra cut short */
    BAD_BODY(0x94, 0x02, 0xa0, 0xc0, 0xa2, 'x');
    BAD_BODY(0x94, 0x02, 0xa0, 0xc0, 0xcd, 0x01);
}

/* Array counts past 8 and 16 bits: every element is read, none left over. */
static void check_long_array(int array32, uint32_t count) {
    size_t hl = array32 ? 5 : 3, n = hl + 3 + (count - 3);
    uint8_t *body = malloc(n + 1), *frame = malloc(4 + n + 1);
    assert_non_null(body);
    assert_non_null(frame);
    body[0] = array32 ? 0xdd : 0xdc;
    for (size_t i = 1; i < hl; i++)
        body[i] = (uint8_t)(count >> (8 * (hl - 1 - i)));
    memcpy(body + hl, "\x08\xa0\xc0", 3);
    memset(body + hl + 3, 0xc3, count - 3);
    expect_frame(frame, with_prefix(frame, body, n), 8, "", 0, 0, NULL, 0);
    expect_bad(frame, with_prefix(frame, body, n - 1)); /* one element short */
    body[n] = 0xc3;
    expect_bad(frame, with_prefix(frame, body, n + 1)); /* one element too many */
    free(body);
    free(frame);
}

static void test_long_arrays(void **state) {
    (void)state;
    check_long_array(0, 259);
    check_long_array(0, 65535);
    check_long_array(1, 259);
    check_long_array(1, 65536 + 3);
    check_long_array(1, HB_TUNNEL_MAX_FRAME - 8); /* body just under the limit */
}

static void test_wrong_shapes(void **state) {
    (void)state;
    /* not an array, or too short */
    BAD_BODY(0x81, 0x01, 0xa0);
    BAD_BODY(0xa3, 0x01, 0xa0, 0xc0);
    BAD_BODY(0x01);
    BAD_BODY(0xc0);
    BAD_BODY(0x90);
    BAD_BODY(0x91, 0x01);
    BAD_BODY(0x91, 0x01, 0xa0); /* as if it had the json: 1 element is too few */
    BAD_BODY(0x91, 0x01, 0xa0, 0xc0);
    BAD_BODY(0x90, 0x01, 0xa0, 0xc0);
    BAD_BODY(0xdc, 0x00, 0x01, 0x01);
    BAD_BODY(0xdd, 0x00, 0x00, 0x00, 0x00);
    BAD_BODY(0xdc, 0x00);             /* array16 header cut */
    BAD_BODY(0xdd, 0x00, 0x00, 0x00); /* array32 header cut */
    /* json not a str */
    BAD_BODY(0x93, 0x01, 0xc0, 0xc0);
    BAD_BODY(0x93, 0x01, 0xc4, 0x02, '{', '}', 0xc0);
    BAD_BODY(0x93, 0x01, 0x01, 0xc0);
    BAD_BODY(0x93, 0x01, 0xc3, 0xc0);
    BAD_BODY(0x93, 0x01, 0x80, 0xc0);
    BAD_BODY(0x93, 0x01, 0x90, 0xc0);
    /* content neither bin, str nor nil */
    BAD_BODY(0x93, 0x01, 0xa0, 0x00);
    BAD_BODY(0x93, 0x01, 0xa0, 0xc2);
    BAD_BODY(0x93, 0x01, 0xa0, 0xc3);
    BAD_BODY(0x93, 0x01, 0xa0, 0xff);
    BAD_BODY(0x93, 0x01, 0xa0, 0xcc, 0x01);
    BAD_BODY(0x93, 0x01, 0xa0, 0x90);
    BAD_BODY(0x93, 0x01, 0xa0, 0x80);
    BAD_BODY(0x93, 0x01, 0xa0, 0xca, 0, 0, 0, 0);
    BAD_BODY(0x93, 0x01, 0xa0, 0xd5, 0x01, 0x00, 0x00);
    /* lengths past the body */
    BAD_BODY(0x93, 0x01, 0xa5, '{', '}', 0xc0);
    BAD_BODY(0x93, 0x01, 0xd9, 0x03, '{', '}');
    BAD_BODY(0x93, 0x01, 0xdb, 0xff, 0xff, 0xff, 0xff, '{', '}');
    BAD_BODY(0x93, 0x01, 0xa0, 0xc4, 0x02, 'x');
    BAD_BODY(0x93, 0x01, 0xa0, 0xc6, 0xff, 0xff, 0xff, 0xff, 'x');
    /* bytes left inside the body after the array */
    BAD_BODY(0x93, 0x01, 0xa0, 0xc0, 0x00);
    BAD_BODY(0x92, 0x01, 0xa0, 0xc0);
    BAD_BODY(0x93, 0x01, 0xa0, 0xc0, 0x93, 0x01, 0xa0, 0xc0);
    /* an empty body */
    BAD_BODY(0x00);
    expect_bad_body(NULL, 0);
}

/* Cut at every byte, two ways: the message ends early (N says more than
 * there is), and N itself says the shorter length. */
static void check_every_cut(const uint8_t *frame, size_t len) {
    uint8_t *buf = malloc(len);
    assert_non_null(buf);
    for (size_t k = 0; k < len; k++)
        expect_bad(frame, k);
    for (size_t k = 0; k + 4 < len; k++)
        expect_bad(buf, with_prefix(buf, frame + 4, k));
    free(buf);
}

static void test_truncated(void **state) {
    uint8_t *d;
    size_t n;
    (void)state;
    check_every_cut(js_connected, sizeof(js_connected));
    check_every_cut(js_request, sizeof(js_request));
    check_every_cut(js_response, sizeof(js_response));
    {
        static const uint8_t content[300] = {1, 2, 3};
        char json[300];
        memset(json, 'j', sizeof(json));
        d = write_exact(70000, json, sizeof(json), content, sizeof(content), 1, &n);
        check_every_cut(d, n);
        free(d);
    }
}

static void test_length_prefix(void **state) {
    uint8_t buf[64];
    size_t n;
    uint8_t *d;
    (void)state;
    expect_bad(NULL, 0);
    expect_bad(js_connected, 3);
    /* N one more than there is */
    memcpy(buf, js_connected, sizeof(js_connected));
    buf[0]++;
    expect_bad(buf, sizeof(js_connected));
    /* bytes after the N-byte body are ignored */
    memcpy(buf, js_connected, sizeof(js_connected));
    memcpy(buf + sizeof(js_connected), "junk\x93\x01\xa0\xc0", 8);
    expect_frame(buf, sizeof(js_connected) + 8, 10, CONNECTED_JSON, strlen(CONNECTED_JSON), 0, NULL,
                 0);
    expect_frame(buf, sizeof(js_connected) + 1, 10, CONNECTED_JSON, strlen(CONNECTED_JSON), 0, NULL,
                 0);
    /* N far over the limit, with or without the bytes */
    memcpy(buf, "\xff\xff\xff\xff\x93\x01\xa0\xc0", 8);
    expect_bad(buf, 8);
    memcpy(buf, "\x00\x00\x00\x80\x93\x01\xa0\xc0", 8);
    expect_bad(buf, 8);
    /* N exactly at the limit decodes; one past it does not, even if whole.
     * body = fixarray + fixint + fixstr "" + bin32 header + content */
    {
        size_t clen = HB_TUNNEL_MAX_FRAME - 8;
        uint8_t *content = calloc(1, clen + 1);
        assert_non_null(content);
        content[0] = 0x11;
        content[clen] = 0x22;
        d = write_exact(2, "", 0, content, clen, 1, &n);
        assert_int_equal(n, 4 + (size_t)HB_TUNNEL_MAX_FRAME);
        expect_frame(d, n, 2, "", 0, 1, content, clen);
        free(d);
        d = write_exact(2, "", 0, content, clen + 1, 1, &n);
        assert_int_equal(n, 4 + (size_t)HB_TUNNEL_MAX_FRAME + 1);
        expect_bad(d, n);
        free(d);
        free(content);
    }
}

static void test_encoder_limits(void **state) {
    uint8_t dst[16];
    (void)state;
    /* what cannot be encoded gives 0, and write() then touches nothing */
    assert_int_equal(hb_tunnel_frame_encoded_len(-1, 2, 0, 0), 0);
    assert_int_equal(hb_tunnel_frame_encoded_len(-2147483647 - 1, 2, 0, 0), 0);
    assert_int_equal(hb_tunnel_frame_encoded_len(1, (size_t)UINT32_MAX + 1, 0, 0), 0);
    assert_int_equal(hb_tunnel_frame_encoded_len(1, 0, (size_t)UINT32_MAX + 1, 1), 0);
    assert_int_equal(hb_tunnel_frame_encoded_len(1, UINT32_MAX / 2, UINT32_MAX / 2, 1), 0);
    /* the largest body N can say: 1 + 1 + 5 + json + 1 = UINT32_MAX */
    assert_int_equal(hb_tunnel_frame_encoded_len(1, UINT32_MAX - 8, 0, 0), 4 + (size_t)UINT32_MAX);
    assert_int_equal(hb_tunnel_frame_encoded_len(1, UINT32_MAX - 7, 0, 0), 0);
    assert_int_equal(hb_tunnel_frame_encoded_len(1, 0, UINT32_MAX - 8, 1), 4 + (size_t)UINT32_MAX);
    assert_int_equal(hb_tunnel_frame_encoded_len(1, 0, UINT32_MAX - 7, 1), 0);
    memset(dst, 0xAA, sizeof(dst));
    assert_int_equal(hb_tunnel_frame_write(dst, -1, "{}", 2, NULL, 0, 0), 0);
    for (size_t i = 0; i < sizeof(dst); i++)
        assert_int_equal(dst[i], 0xAA);
    /* content_len is ignored when there is no content */
    assert_int_equal(hb_tunnel_frame_encoded_len(1, 2, 99, 0),
                     hb_tunnel_frame_encoded_len(1, 2, 0, 0));
    assert_int_equal(hb_tunnel_frame_write(dst, 1, "{}", 2, (const uint8_t *)"zz", 99, 0), 10);
    assert_memory_equal(dst, "\x06\x00\x00\x00\x93\x01\xa2{}\xc0", 10);
    assert_int_equal(dst[10], 0xAA);
    /* empty content is bin8 of 0, not nil */
    assert_int_equal(hb_tunnel_frame_write(dst, 1, "", 0, NULL, 0, 1), 9);
    assert_memory_equal(dst, "\x05\x00\x00\x00\x93\x01\xa0\xc4\x00", 9);
}

static void test_strerror(void **state) {
    (void)state;
    assert_string_equal(hb_strerror(HB_ETUNNEL_FRAME), "malformed Azure Web PubSub tunnel frame");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_js_frames_decode),  cmocka_unit_test(test_write_matches_js),
        cmocka_unit_test(test_round_trip_sizes),  cmocka_unit_test(test_type_widths_decode),
        cmocka_unit_test(test_type_widths_write), cmocka_unit_test(test_other_encodings),
        cmocka_unit_test(test_extra_elements),    cmocka_unit_test(test_long_arrays),
        cmocka_unit_test(test_wrong_shapes),      cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_length_prefix),     cmocka_unit_test(test_encoder_limits),
        cmocka_unit_test(test_strerror),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
