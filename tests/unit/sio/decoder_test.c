/* Tests for src/sio/decoder.c: every packet type, namespaces, ack ids, event
 * names and arguments, binary packets with 1..N attachments and their
 * ownership, each malformed form socket.io-parser refuses (plus the few
 * Hubbub also refuses), the sequencing errors, and jansson running out of
 * memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "hubbub/error.h"
#include "sio/decoder.h"

static hb_sio_decoder g_dec;

static int setup(void **state) {
    (void)state;
    hb_sio_decoder_init(&g_dec, HB_SIO_MAX_ATTACHMENTS_DEFAULT);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    hb_sio_decoder_free(&g_dec);
    return 0;
}

static void assert_slice(hb_slice s, const char *want) {
    size_t n = strlen(want);
    if (s.len != n || (n > 0 && memcmp(s.base, want, n) != 0))
        fail_msg("slice \"%.*s\" != \"%s\"", (int)s.len, (const char *)s.base, want);
}

static int feed_text(const char *s, hb_sio_packet *p) {
    return hb_sio_decoder_feed(&g_dec, 0, (const uint8_t *)s, strlen(s), p);
}

static int feed_bin(const void *b, size_t n, hb_sio_packet *p) {
    return hb_sio_decoder_feed(&g_dec, 1, b, n, p);
}

/* s decodes to one packet with these fields. */
static hb_sio_packet expect_packet(const char *s, int type, const char *nsp, int64_t id,
                                   const char *data) {
    hb_sio_packet p;
    assert_int_equal(feed_text(s, &p), 1);
    assert_int_equal(p.type, type);
    assert_slice(p.nsp, nsp);
    assert_true(p.id == id);
    assert_slice(p.data, data);
    assert_int_equal(p.n_attachments, 0);
    assert_null(p.attachments);
    assert_int_equal(hb_sio_decoder_expected(&g_dec), 0);
    return p;
}

static void expect_error(const char *s, int err) {
    hb_sio_packet p;
    memset(&p, 0x5A, sizeof(p));
    int rc = feed_text(s, &p);
    if (rc != err)
        fail_msg("\"%s\": got %d, want %d", s, rc, err);
    assert_int_equal(hb_sio_decoder_expected(&g_dec), 0);
    /* the decoder recovered: a good packet decodes right after */
    assert_int_equal(feed_text("2[\"ok\"]", &p), 1);
    assert_slice(p.event, "ok");
}

static void test_connect(void **state) {
    (void)state;
    hb_sio_packet p = expect_packet("0", HB_SIO_CONNECT, "/", -1, "");
    assert_slice(p.event, "");
    assert_slice(p.args, "");
    expect_packet("0{}", HB_SIO_CONNECT, "/", -1, "{}");
    expect_packet("0{\"token\":\"abc\"}", HB_SIO_CONNECT, "/", -1, "{\"token\":\"abc\"}");
    expect_packet("0/custom,", HB_SIO_CONNECT, "/custom", -1, "");
    expect_packet("0/custom,{\"a\":[1]}", HB_SIO_CONNECT, "/custom", -1, "{\"a\":[1]}");
    /* clients may leave the comma out: the namespace runs to the end */
    expect_packet("0/custom", HB_SIO_CONNECT, "/custom", -1, "");
    /* whitespace is JSON's; the text is passed as it came */
    expect_packet("0 { } ", HB_SIO_CONNECT, "/", -1, " { } ");
}

static void test_disconnect(void **state) {
    (void)state;
    expect_packet("1", HB_SIO_DISCONNECT, "/", -1, "");
    expect_packet("1/admin,", HB_SIO_DISCONNECT, "/admin", -1, "");
    expect_packet("1/admin", HB_SIO_DISCONNECT, "/admin", -1, "");
}

static void test_event(void **state) {
    hb_sio_packet p;
    (void)state;
    p = expect_packet("2[\"chat\"]", HB_SIO_EVENT, "/", -1, "[\"chat\"]");
    assert_slice(p.event, "chat");
    assert_int_equal(p.event_is_number, 0);
    assert_slice(p.args, "");

    p = expect_packet("2[\"chat\",\"hi\",{\"a\":[1,2]}]", HB_SIO_EVENT, "/", -1,
                      "[\"chat\",\"hi\",{\"a\":[1,2]}]");
    assert_slice(p.event, "chat");
    assert_slice(p.args, "\"hi\",{\"a\":[1,2]}");

    p = expect_packet("2/custom,[ \"x\" , null ]", HB_SIO_EVENT, "/custom", -1, "[ \"x\" , null ]");
    assert_slice(p.event, "x");
    assert_slice(p.args, "null");

    /* a numeric event name is allowed; the name is its JSON text */
    p = expect_packet("2[42,true]", HB_SIO_EVENT, "/", -1, "[42,true]");
    assert_int_equal(p.event_is_number, 1);
    assert_slice(p.event, "42");
    assert_slice(p.args, "true");
    p = expect_packet("2[-1.5e3]", HB_SIO_EVENT, "/", -1, "[-1.5e3]");
    assert_int_equal(p.event_is_number, 1);
    assert_slice(p.event, "-1.5e3");

    /* only the exact reserved names are refused */
    p = expect_packet("2[\"Connect\"]", HB_SIO_EVENT, "/", -1, "[\"Connect\"]");
    assert_slice(p.event, "Connect");
    p = expect_packet("2[\"connects\"]", HB_SIO_EVENT, "/", -1, "[\"connects\"]");
    assert_slice(p.event, "connects");
    p = expect_packet("2[\"\"]", HB_SIO_EVENT, "/", -1, "[\"\"]");
    assert_slice(p.event, "");
}

static void test_event_borrows_from_input(void **state) {
    static const char s[] = "2/chat,5[\"msg\",1]";
    hb_sio_packet p;
    (void)state;
    assert_int_equal(feed_text(s, &p), 1);
    assert_ptr_equal(p.nsp.base, (const uint8_t *)s + 1);
    assert_ptr_equal(p.data.base, (const uint8_t *)s + 8);
    assert_ptr_equal(p.event.base, (const uint8_t *)s + 10);
    assert_ptr_equal(p.args.base, (const uint8_t *)s + 15);
}

static void test_event_name_escapes(void **state) {
    hb_sio_packet p;
    (void)state;
    p = expect_packet("2[\"m\\u0065ss\\\"age\",1]", HB_SIO_EVENT, "/", -1,
                      "[\"m\\u0065ss\\\"age\",1]");
    assert_slice(p.event, "mess\"age");
    assert_slice(p.args, "1");
    /* a NUL inside a name is kept, and is not a reserved name */
    p = expect_packet("2[\"connect\\u0000\"]", HB_SIO_EVENT, "/", -1, "[\"connect\\u0000\"]");
    assert_int_equal(p.event.len, 8);
    assert_memory_equal(p.event.base, "connect\0", 8);
    /* escapes of reserved names are still reserved names */
    expect_error("2[\"conn\\u0065ct\"]", HB_ESIO_PACKET);
    /* UTF-8 names pass through */
    p = expect_packet("2[\"h\xC3\xA9\\u00e9\"]", HB_SIO_EVENT, "/", -1, "[\"h\xC3\xA9\\u00e9\"]");
    assert_slice(p.event, "h\xC3\xA9\xC3\xA9");
}

static void test_ack(void **state) {
    hb_sio_packet p;
    (void)state;
    p = expect_packet("31[]", HB_SIO_ACK, "/", 1, "[]");
    assert_slice(p.args, "");
    assert_slice(p.event, "");
    p = expect_packet("312[\"a\",2]", HB_SIO_ACK, "/", 12, "[\"a\",2]");
    assert_slice(p.args, "\"a\",2");
    p = expect_packet("3/nsp,0[ {\"x\":1} ]", HB_SIO_ACK, "/nsp", 0, "[ {\"x\":1} ]");
    assert_slice(p.args, "{\"x\":1}");
    /* socket.io-parser takes an ACK without data: no arguments */
    p = expect_packet("37", HB_SIO_ACK, "/", 7, "");
    assert_slice(p.args, "");
}

static void test_connect_error(void **state) {
    (void)state;
    expect_packet("4{\"message\":\"Invalid namespace\"}", HB_SIO_CONNECT_ERROR, "/", -1,
                  "{\"message\":\"Invalid namespace\"}");
    expect_packet("4/nsp,\"nope\"", HB_SIO_CONNECT_ERROR, "/nsp", -1, "\"nope\"");
    expect_packet("4", HB_SIO_CONNECT_ERROR, "/", -1, "");
}

static void test_ack_ids(void **state) {
    hb_sio_packet p;
    (void)state;
    expect_packet("20[\"a\"]", HB_SIO_EVENT, "/", 0, "[\"a\"]");
    expect_packet("2007[\"a\"]", HB_SIO_EVENT, "/", 7, "[\"a\"]");
    expect_packet("2/a,99[\"a\"]", HB_SIO_EVENT, "/a", 99, "[\"a\"]");
    expect_packet("29223372036854775807[\"a\"]", HB_SIO_EVENT, "/", INT64_MAX, "[\"a\"]");
    expect_error("29223372036854775808[\"a\"]", HB_ESIO_PACKET);
    expect_error("2123456789012345678901234567890[\"a\"]", HB_ESIO_PACKET);
    /* a namespace without its comma swallows what follows */
    p = expect_packet("1/nsp12", HB_SIO_DISCONNECT, "/nsp12", -1, "");
    (void)p;
    /* socket.io-parser accepts ids on any type; so do we */
    expect_packet("0/x,5{}", HB_SIO_CONNECT, "/x", 5, "{}");
    expect_packet("13", HB_SIO_DISCONNECT, "/", 3, "");
}

static void test_namespaces(void **state) {
    (void)state;
    /* "/," is the default namespace written out */
    expect_packet("2/,[\"a\"]", HB_SIO_EVENT, "/", -1, "[\"a\"]");
    expect_packet("2/a/b c,[\"a\"]", HB_SIO_EVENT, "/a/b c", -1, "[\"a\"]");
    expect_packet("2/\xC3\xA9,[\"a\"]", HB_SIO_EVENT, "/\xC3\xA9", -1, "[\"a\"]");
    /* the namespace ends at the first comma */
    expect_error("2/a,b,[\"a\"]", HB_ESIO_PACKET);
    /* a namespace must be UTF-8 */
    expect_error("0/\xC3,{}", HB_ESIO_PACKET);
    expect_error("0/\xFF", HB_ESIO_PACKET);
    /* without the leading '/', there is no namespace */
    expect_error("2nsp,[\"a\"]", HB_ESIO_PACKET);
}

static void test_malformed(void **state) {
    static const char *const bad[] = {
        "", " ", "x", "7", "9[]", "-1", "\xC3\xA9",
        /* CONNECT: object or nothing */
        "0[]", "0\"x\"", "0null", "01[]", "0{", "0{}x", "0{}{}", "0/x,[]",
        /* DISCONNECT: nothing */
        "1{}", "1[]", "1/x,{}", "1 ",
        /* EVENT: a non-empty array, first a string or number, not reserved */
        "2", "2/nsp,", "2/nsp", "21", "2[]", "2{}", "2\"a\"", "2null", "2[null]", "2[true]",
        "2[{}]", "2[[]]", "2[\"connect\"]", "2[\"connect_error\"]", "2[\"disconnect\"]",
        "2[\"disconnecting\"]", "2[\"newListener\"]", "2[\"removeListener\"]", "2[\"a\"",
        "2[\"a\",]", "2['a']", "2[\"a\"]]", "2,[\"a\"]", "2-1[\"a\"]", "2[\"\xFF\"]",
        /* ACK: an array */
        "31{}", "31\"x\"", "31null", "3{}", "31[", "31[1,]",
        /* CONNECT_ERROR: object or string */
        "4[]", "4-1", "4null", "4true", "4\"x",
        /* binary packets: the count */
        "5[\"a\"]", "5-[\"a\"]", "50-[\"a\"]", "500-[\"a\"]", "51[\"a\"]", "5x-[\"a\"]",
        "5 1-[\"a\"]", "51", "6", "6-", "60-[]",
        /* binary packets: the data, checked before any attachment */
        "51-", "51-[]", "51-{}", "51-[\"disconnect\"]", "61-{}", "61-\"x\"",
    };
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_error(bad[i], HB_ESIO_PACKET);
}

/* Sends header and attachments; returns the packet of the last feed. */
static hb_sio_packet feed_binary_packet(const char *head, size_t n, const uint8_t *const *bins,
                                        const size_t *lens) {
    hb_sio_packet p;
    memset(&p, 0, sizeof(p));
    assert_int_equal(feed_text(head, &p), 0);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(hb_sio_decoder_expected(&g_dec), n - i);
        assert_int_equal(feed_bin(bins[i], lens[i], &p), i + 1 == n ? 1 : 0);
    }
    assert_int_equal(hb_sio_decoder_expected(&g_dec), 0);
    return p;
}

static void test_binary_event(void **state) {
    static const uint8_t b0[] = {1, 2, 3};
    const uint8_t *bins[] = {b0};
    size_t lens[] = {3};
    hb_sio_packet p;
    (void)state;
    p = feed_binary_packet("51-[\"upload\",{\"_placeholder\":true,\"num\":0}]", 1, bins, lens);
    assert_int_equal(p.type, HB_SIO_BINARY_EVENT);
    assert_slice(p.nsp, "/");
    assert_true(p.id == -1);
    assert_slice(p.data, "[\"upload\",{\"_placeholder\":true,\"num\":0}]");
    assert_slice(p.event, "upload");
    assert_slice(p.args, "{\"_placeholder\":true,\"num\":0}");
    assert_int_equal(p.n_attachments, 1);
    assert_non_null(p.attachments);
    hb_slice a = hb_buf_payload(p.attachments[0]);
    assert_int_equal(a.len, 3);
    assert_memory_equal(a.base, b0, 3);
    assert_int_equal(p.attachments[0]->flags, HB_BUF_BINARY);
    assert_ptr_not_equal(a.base, b0); /* a copy */
}

static void test_binary_ack_with_nsp_and_id(void **state) {
    static const uint8_t b0[] = {0xFF}, b1[] = {0};
    const uint8_t *bins[] = {b0, b1};
    size_t lens[] = {1, 0}; /* an empty attachment is an attachment */
    hb_sio_packet p;
    (void)state;
    p = feed_binary_packet(
        "62-/admin,42[{\"_placeholder\":true,\"num\":1},{\"_placeholder\":true,\"num\":0}]", 2,
        bins, lens);
    assert_int_equal(p.type, HB_SIO_BINARY_ACK);
    assert_slice(p.nsp, "/admin");
    assert_true(p.id == 42);
    assert_slice(p.args, "{\"_placeholder\":true,\"num\":1},{\"_placeholder\":true,\"num\":0}");
    assert_int_equal(p.n_attachments, 2);
    assert_int_equal(hb_buf_payload(p.attachments[0]).len, 1);
    assert_int_equal(hb_buf_payload(p.attachments[0]).base[0], 0xFF);
    assert_int_equal(hb_buf_payload(p.attachments[1]).len, 0);
}

static void test_binary_many_attachments(void **state) {
    uint8_t store[10][4];
    const uint8_t *bins[10];
    size_t lens[10];
    char head[512];
    size_t n = 0;
    (void)state;
    n += (size_t)snprintf(head, sizeof(head), "510-/x,3[\"many\"");
    for (int i = 9; i >= 0; i--) /* placeholders in any order, each counted once */
        n += (size_t)snprintf(head + n, sizeof(head) - n, ",{\"_placeholder\":true,\"num\":%d}", i);
    snprintf(head + n, sizeof(head) - n, "]");
    for (int i = 0; i < 10; i++) {
        memset(store[i], 'a' + i, sizeof(store[i]));
        bins[i] = store[i];
        lens[i] = (size_t)i % 5;
    }
    hb_sio_packet p = feed_binary_packet(head, 10, bins, lens);
    assert_int_equal(p.type, HB_SIO_BINARY_EVENT);
    assert_true(p.id == 3);
    assert_slice(p.nsp, "/x");
    assert_int_equal(p.n_attachments, 10);
    for (int i = 0; i < 10; i++) {
        hb_slice a = hb_buf_payload(p.attachments[i]);
        assert_int_equal(a.len, (size_t)i % 5);
        for (size_t k = 0; k < a.len; k++)
            assert_int_equal(a.base[k], 'a' + i);
    }
}

static void test_binary_placeholders_anywhere_or_nowhere(void **state) {
    static const uint8_t b0[] = {7};
    const uint8_t *bins[] = {b0, b0, b0};
    size_t lens[] = {1, 1, 1};
    hb_sio_packet p;
    (void)state;
    /* nested, extra keys, repeated, and unreferenced attachments are fine */
    p = feed_binary_packet("53-[\"a\",{\"deep\":[{\"num\":1,\"_placeholder\":true,\"x\":0}]},"
                           "{\"_placeholder\":true,\"num\":1}]",
                           3, bins, lens);
    assert_int_equal(p.n_attachments, 3);
    /* "_placeholder" other than true is an ordinary object */
    p = feed_binary_packet("51-[\"a\",{\"_placeholder\":false,\"num\":9},"
                           "{\"_placeholder\":\"true\"}]",
                           1, bins, lens);
    assert_int_equal(p.n_attachments, 1);
    /* a BINARY_ACK without data, as socket.io-parser allows */
    p = feed_binary_packet("61-", 1, bins, lens);
    assert_int_equal(p.type, HB_SIO_BINARY_ACK);
    assert_slice(p.data, "");
    assert_slice(p.args, "");
    /* numbers are doubles, as in JSON.parse: 1.0 and 1e0 are 1 */
    p = feed_binary_packet("52-[\"a\",{\"_placeholder\":true,\"num\":1.0},"
                           "{\"_placeholder\":true,\"num\":1e0}]",
                           2, bins, lens);
    assert_int_equal(p.n_attachments, 2);
    /* placeholders in a plain EVENT are plain objects */
    p = expect_packet("2[\"a\",{\"_placeholder\":true,\"num\":5}]", HB_SIO_EVENT, "/", -1,
                      "[\"a\",{\"_placeholder\":true,\"num\":5}]");
}

static void test_binary_bad_placeholders(void **state) {
    static const char *const bad[] = {
        "51-[\"a\",{\"_placeholder\":true,\"num\":1}]",
        "51-[\"a\",{\"_placeholder\":true,\"num\":-1}]",
        "51-[\"a\",{\"_placeholder\":true,\"num\":0.5}]",
        "51-[\"a\",{\"_placeholder\":true,\"num\":\"0\"}]",
        "51-[\"a\",{\"_placeholder\":true,\"num\":null}]",
        "51-[\"a\",{\"_placeholder\":true}]",
        "51-[\"a\",[[{\"_placeholder\":true,\"num\":1e300}]]]",
        "61-[{\"x\":{\"_placeholder\":true,\"num\":2}}]",
    };
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_error(bad[i], HB_ESIO_ATTACHMENTS);
}

static void test_attachment_limit(void **state) {
    hb_sio_packet p;
    (void)state;
    expect_error("511-[\"a\"]", HB_ESIO_ATTACHMENTS);
    expect_error("5100-[\"a\"]", HB_ESIO_ATTACHMENTS);
    expect_error("699999999999999999999999-[]", HB_ESIO_ATTACHMENTS);
    assert_int_equal(feed_text("510-[\"a\"]", &p), 0); /* the limit itself is fine */
    assert_int_equal(hb_sio_decoder_expected(&g_dec), 10);
    hb_sio_decoder_reset(&g_dec);
    assert_int_equal(hb_sio_decoder_expected(&g_dec), 0);

    /* a configured limit */
    hb_sio_decoder_free(&g_dec);
    hb_sio_decoder_init(&g_dec, 2);
    assert_int_equal(feed_text("52-[\"a\"]", &p), 0);
    hb_sio_decoder_reset(&g_dec);
    expect_error("53-[\"a\"]", HB_ESIO_ATTACHMENTS);
    hb_sio_decoder_free(&g_dec);
    hb_sio_decoder_init(&g_dec, 0);
    expect_error("51-[\"a\"]", HB_ESIO_ATTACHMENTS);
}

static void test_sequencing_errors(void **state) {
    static const uint8_t b[] = {1};
    hb_sio_packet p;
    (void)state;
    /* binary with nothing expected */
    assert_int_equal(feed_bin(b, 1, &p), HB_ESIO_ATTACHMENTS);
    assert_int_equal(feed_text("2[\"a\"]", &p), 1);
    assert_int_equal(feed_bin(b, 1, &p), HB_ESIO_ATTACHMENTS);

    /* text while attachments are expected: the held packet is dropped */
    assert_int_equal(feed_text("52-[\"a\"]", &p), 0);
    assert_int_equal(feed_bin(b, 1, &p), 0);
    assert_int_equal(hb_sio_decoder_expected(&g_dec), 1);
    assert_int_equal(feed_text("2[\"b\"]", &p), HB_ESIO_ATTACHMENTS);
    assert_int_equal(hb_sio_decoder_expected(&g_dec), 0);
    assert_int_equal(feed_bin(b, 1, &p), HB_ESIO_ATTACHMENTS);

    /* an extra attachment after a complete packet */
    assert_int_equal(feed_text("51-[\"a\"]", &p), 0);
    assert_int_equal(feed_bin(b, 1, &p), 1);
    assert_int_equal(feed_bin(b, 1, &p), HB_ESIO_ATTACHMENTS);

    /* after all that, normal service */
    assert_int_equal(feed_text("51-[\"z\"]", &p), 0);
    assert_int_equal(feed_bin(b, 1, &p), 1);
    assert_slice(p.event, "z");
}

/* The header is copied: the caller may reuse its buffer before the
 * attachments come, and an attachment kept by reference outlives the
 * decoder's next packet. */
static void test_binary_ownership(void **state) {
    char head[] = "51-/room,9[\"m\\u0065\",{\"_placeholder\":true,\"num\":0}]";
    uint8_t bin[] = {'x', 'y'};
    hb_sio_packet p;
    hb_buf *kept;
    (void)state;
    assert_int_equal(feed_text(head, &p), 0);
    memset(head, '#', sizeof(head) - 1);
    assert_int_equal(feed_bin(bin, 2, &p), 1);
    memset(bin, 0, sizeof(bin));
    assert_slice(p.nsp, "/room");
    assert_true(p.id == 9);
    assert_slice(p.event, "me"); /* the unescaped name survived too */
    assert_slice(p.data, "[\"m\\u0065\",{\"_placeholder\":true,\"num\":0}]");
    kept = hb_buf_ref(p.attachments[0]);
    assert_int_equal(kept->refs, 2);

    assert_int_equal(feed_text("2[\"next\"]", &p), 1);
    assert_int_equal(kept->refs, 1); /* the decoder let go of its reference */
    assert_slice(hb_buf_payload(kept), "xy");
    hb_buf_unref(kept);
}

/* A decoder freed while holding a partial or delivered packet leaks
 * nothing (checked by ASan/LeakSanitizer). */
static void test_free_while_holding(void **state) {
    static const uint8_t b[] = {1};
    hb_sio_packet p;
    (void)state;
    assert_int_equal(feed_text("52-[\"\\u0061\"]", &p), 0);
    assert_int_equal(feed_bin(b, 1, &p), 0);
    hb_sio_decoder_free(&g_dec);
    assert_int_equal(hb_sio_decoder_expected(&g_dec), 0);
    hb_sio_decoder_init(&g_dec, 10);
    assert_int_equal(feed_text("51-[\"\\u0061\"]", &p), 0);
    assert_int_equal(feed_bin(b, 1, &p), 1);
    assert_slice(p.event, "a");
}

static int g_fail_after = -1;

static void *failing_malloc(size_t n) {
    if (g_fail_after == 0)
        return NULL;
    if (g_fail_after > 0)
        g_fail_after--;
    return malloc(n);
}

/* jansson running out of memory at any of its allocations fails the
 * packet without a crash or a leak, and the decoder works again once memory
 * is back. jansson reports most of its allocation failures as syntax
 * errors, so HB_ESIO_PACKET is as good an answer as HB_ENOMEM here. */
static void test_jansson_out_of_memory(void **state) {
    const char *s = "2[\"chat\",{\"a\":[1,2,{\"b\":\"c\"}]},\"x\"]";
    hb_sio_packet p;
    int failures = 0;
    (void)state;
    json_set_alloc_funcs(failing_malloc, free);
    for (int k = 0; k < 100; k++) {
        g_fail_after = k;
        int rc = feed_text(s, &p);
        if (rc == 1)
            break;
        assert_true(rc == HB_ENOMEM || rc == HB_ESIO_PACKET);
        assert_int_equal(hb_sio_decoder_expected(&g_dec), 0);
        failures++;
    }
    g_fail_after = -1;
    json_set_alloc_funcs(malloc, free);
    assert_true(failures > 5); /* the failing allocator was really used */
    assert_int_equal(feed_text(s, &p), 1);
    assert_slice(p.event, "chat");
    assert_slice(p.args, "{\"a\":[1,2,{\"b\":\"c\"}]},\"x\"");
}

/* Encoder output decodes to the same fields. */
static void test_round_trip(void **state) {
    static const uint8_t bin[] = {9, 8};
    hb_sio_packet in, out;
    hb_sio_arg args[3];
    uint8_t json[256];
    hb_buf *b;
    size_t nb;
    (void)state;
    memset(args, 0, sizeof(args));
    args[0].json = hb_sio_str("\"ev\"");
    args[1].binary = 1;
    args[2].json = hb_sio_str("{\"k\":\"v\"}");
    memset(&in, 0, sizeof(in));
    in.type = HB_SIO_EVENT;
    in.nsp = hb_sio_str("/r");
    in.id = 77;
    in.data.base = json;
    in.data.len = hb_sio_args_write(args, 3, json, &nb);
    in.n_attachments = nb;
    assert_int_equal(hb_sio_packet_encode(&in, &b), 0);
    assert_int_equal(hb_sio_decoder_feed(&g_dec, 0, b->data, b->len, &out), 0);
    hb_buf_unref(b);
    assert_int_equal(feed_bin(bin, 2, &out), 1);
    assert_int_equal(out.type, HB_SIO_BINARY_EVENT);
    assert_slice(out.nsp, "/r");
    assert_true(out.id == 77);
    assert_slice(out.event, "ev");
    assert_slice(out.args, "{\"_placeholder\":true,\"num\":0},{\"k\":\"v\"}");
    assert_int_equal(out.n_attachments, 1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_connect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disconnect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_event, setup, teardown),
        cmocka_unit_test_setup_teardown(test_event_borrows_from_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_event_name_escapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ack, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connect_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ack_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_namespaces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_binary_event, setup, teardown),
        cmocka_unit_test_setup_teardown(test_binary_ack_with_nsp_and_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_binary_many_attachments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_binary_placeholders_anywhere_or_nowhere, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_binary_bad_placeholders, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attachment_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sequencing_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_binary_ownership, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_while_holding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jansson_out_of_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
