/* Tests for src/sio/packet.c: the text form of every packet type, the
 * binary promotion of EVENT and ACK, the argument checks, the placeholder
 * and argument-array writers, and the array splitter on good and bad text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hubbub/error.h"
#include "sio/packet.h"

static hb_sio_packet pkt(int type, const char *nsp, int64_t id, const char *data, size_t n) {
    hb_sio_packet p;
    memset(&p, 0, sizeof(p));
    p.type = type;
    p.nsp = hb_sio_str(nsp);
    p.id = id;
    p.data = hb_sio_str(data);
    p.n_attachments = n;
    return p;
}

/* Encodes p both ways (caller buffer and hb_buf) and checks the text. */
static void expect_text(hb_sio_packet p, const char *want) {
    size_t len = 0, wlen = strlen(want);
    uint8_t dst[256];
    hb_buf *b = NULL;

    memset(dst, 0xAA, sizeof(dst));
    assert_int_equal(hb_sio_packet_encoded_len(&p, &len), 0);
    assert_int_equal(len, wlen);
    assert_int_equal(hb_sio_packet_write(&p, dst), wlen);
    assert_memory_equal(dst, want, wlen);
    assert_int_equal(dst[wlen], 0xAA); /* nothing past the length */

    assert_int_equal(hb_sio_packet_encode(&p, &b), 0);
    assert_non_null(b);
    assert_int_equal(b->len, wlen);
    assert_int_equal(b->off, 0);
    assert_int_equal(b->refs, 1);
    assert_memory_equal(b->data, want, wlen);
    hb_buf_unref(b);
}

static void expect_einval(hb_sio_packet p) {
    size_t len = 12345;
    hb_buf *b = (hb_buf *)(uintptr_t)1;
    assert_int_equal(hb_sio_packet_encoded_len(&p, &len), HB_EINVAL);
    assert_int_equal(len, 12345);
    assert_int_equal(hb_sio_packet_encode(&p, &b), HB_EINVAL);
    assert_ptr_equal(b, (hb_buf *)(uintptr_t)1);
}

static void test_every_type(void **state) {
    (void)state;
    expect_text(pkt(HB_SIO_CONNECT, "/", -1, "", 0), "0");
    expect_text(pkt(HB_SIO_CONNECT, "/", -1, "{\"sid\":\"abc\"}", 0), "0{\"sid\":\"abc\"}");
    expect_text(pkt(HB_SIO_DISCONNECT, "/", -1, "", 0), "1");
    expect_text(pkt(HB_SIO_EVENT, "/", -1, "[\"chat\",1]", 0), "2[\"chat\",1]");
    expect_text(pkt(HB_SIO_ACK, "/", 7, "[]", 0), "37[]");
    expect_text(pkt(HB_SIO_ACK, "/", 7, "", 0), "37");
    expect_text(pkt(HB_SIO_CONNECT_ERROR, "/", -1, "{\"message\":\"Invalid namespace\"}", 0),
                "4{\"message\":\"Invalid namespace\"}");
    expect_text(pkt(HB_SIO_CONNECT_ERROR, "/", -1, "\"nope\"", 0), "4\"nope\"");
    expect_text(pkt(HB_SIO_CONNECT_ERROR, "/", -1, "", 0), "4");
    expect_text(pkt(HB_SIO_BINARY_EVENT, "/", -1, "[\"a\",{\"_placeholder\":true,\"num\":0}]", 1),
                "51-[\"a\",{\"_placeholder\":true,\"num\":0}]");
    expect_text(pkt(HB_SIO_BINARY_ACK, "/", 3, "[{\"_placeholder\":true,\"num\":0}]", 1),
                "61-3[{\"_placeholder\":true,\"num\":0}]");
}

static void test_namespace_and_id(void **state) {
    (void)state;
    /* "/" and "" are the default namespace and are left out. */
    expect_text(pkt(HB_SIO_EVENT, "", -1, "[\"a\"]", 0), "2[\"a\"]");
    expect_text(pkt(HB_SIO_CONNECT, "/custom", -1, "", 0), "0/custom,");
    expect_text(pkt(HB_SIO_CONNECT, "/custom", -1, "{\"sid\":\"x\"}", 0),
                "0/custom,{\"sid\":\"x\"}");
    expect_text(pkt(HB_SIO_DISCONNECT, "/admin", -1, "", 0), "1/admin,");
    expect_text(pkt(HB_SIO_EVENT, "/custom", 12, "[\"a\"]", 0), "2/custom,12[\"a\"]");
    expect_text(pkt(HB_SIO_EVENT, "/", 0, "[\"a\"]", 0), "20[\"a\"]");
    expect_text(pkt(HB_SIO_ACK, "/x", INT64_MAX, "[]", 0), "3/x,9223372036854775807[]");
    expect_text(pkt(HB_SIO_CONNECT_ERROR, "/nsp", -1, "{\"message\":\"Invalid namespace\"}", 0),
                "4/nsp,{\"message\":\"Invalid namespace\"}");
    /* A namespace may hold any byte but ','. */
    expect_text(pkt(HB_SIO_EVENT, "/é ü", -1, "[1]", 0), "2/é ü,[1]");
}

static void test_binary_promotion(void **state) {
    (void)state;
    /* Attachments turn EVENT/ACK into their binary forms... */
    expect_text(pkt(HB_SIO_EVENT, "/", -1, "[\"a\",{}]", 2), "52-[\"a\",{}]");
    expect_text(pkt(HB_SIO_ACK, "/n", 5, "[{}]", 12), "612-/n,5[{}]");
    /* ...and no attachments turn the binary forms back. */
    expect_text(pkt(HB_SIO_BINARY_EVENT, "/", -1, "[\"a\"]", 0), "2[\"a\"]");
    expect_text(pkt(HB_SIO_BINARY_ACK, "/", 1, "[]", 0), "31[]");
    expect_text(pkt(HB_SIO_BINARY_EVENT, "/", -1, "[\"a\"]", 1234567), "51234567-[\"a\"]");
}

static void test_encode_einval(void **state) {
    (void)state;
    expect_einval(pkt(-1, "/", -1, "", 0));
    expect_einval(pkt(7, "/", -1, "", 0));
    expect_einval(pkt(HB_SIO_EVENT, "/", -2, "[\"a\"]", 0));
    expect_einval(pkt(HB_SIO_EVENT, "nsp", -1, "[\"a\"]", 0)); /* no leading '/' */
    expect_einval(pkt(HB_SIO_EVENT, "/a,b", -1, "[\"a\"]", 0));
    expect_einval(pkt(HB_SIO_CONNECT, "/", -1, "{}", 1)); /* attachments on CONNECT */
    expect_einval(pkt(HB_SIO_DISCONNECT, "/", -1, "", 1));
    expect_einval(pkt(HB_SIO_CONNECT_ERROR, "/", -1, "\"x\"", 1));
    /* data must fit the type */
    expect_einval(pkt(HB_SIO_CONNECT, "/", -1, "[]", 0));
    expect_einval(pkt(HB_SIO_CONNECT, "/", -1, "\"x\"", 0));
    expect_einval(pkt(HB_SIO_DISCONNECT, "/", -1, "{}", 0));
    expect_einval(pkt(HB_SIO_EVENT, "/", -1, "", 0));
    expect_einval(pkt(HB_SIO_EVENT, "/", -1, "{}", 0));
    expect_einval(pkt(HB_SIO_EVENT, "/", -1, " [1]", 0)); /* a peer would read " " as id 0 */
    expect_einval(pkt(HB_SIO_EVENT, "/", -1, "1", 0));
    expect_einval(pkt(HB_SIO_ACK, "/", 1, "{}", 0));
    expect_einval(pkt(HB_SIO_BINARY_EVENT, "/", -1, "", 1));
    expect_einval(pkt(HB_SIO_CONNECT_ERROR, "/", -1, "[]", 0));
    expect_einval(pkt(HB_SIO_CONNECT_ERROR, "/", -1, "42", 0));
}

static void test_placeholder(void **state) {
    char ph[HB_SIO_PLACEHOLDER_MAX];
    (void)state;
    assert_int_equal(hb_sio_placeholder(ph, 0), 29);
    assert_string_equal(ph, "{\"_placeholder\":true,\"num\":0}");
    assert_int_equal(hb_sio_placeholder(ph, 17), 30);
    assert_string_equal(ph, "{\"_placeholder\":true,\"num\":17}");
    assert_int_equal(hb_sio_placeholder(ph, UINT32_MAX), 38);
    assert_string_equal(ph, "{\"_placeholder\":true,\"num\":4294967295}");
    assert_true(strlen(ph) + 1 <= HB_SIO_PLACEHOLDER_MAX);
}

static void expect_args(const hb_sio_arg *args, size_t n, const char *want, size_t want_bin) {
    uint8_t dst[512];
    size_t nb = 999, len = hb_sio_args_len(args, n);
    memset(dst, 0xAA, sizeof(dst));
    assert_int_equal(len, strlen(want));
    assert_int_equal(hb_sio_args_write(args, n, dst, &nb), len);
    assert_memory_equal(dst, want, len);
    assert_int_equal(dst[len], 0xAA);
    assert_int_equal(nb, want_bin);
    assert_int_equal(hb_sio_args_write(args, n, dst, NULL), len); /* n_binary optional */
}

static void test_args_write(void **state) {
    hb_sio_arg a[5];
    (void)state;
    memset(a, 0, sizeof(a));
    expect_args(a, 0, "[]", 0);

    a[0].json = hb_sio_str("\"chat\"");
    expect_args(a, 1, "[\"chat\"]", 0);

    a[1].binary = 1;
    a[1].json = hb_sio_str("ignored");
    a[2].json = hb_sio_str("{\"x\":[1,2]}");
    a[3].binary = 1;
    expect_args(a, 4,
                "[\"chat\",{\"_placeholder\":true,\"num\":0},{\"x\":[1,2]},"
                "{\"_placeholder\":true,\"num\":1}]",
                2);

    /* Empty text arguments vanish, so a decoded packet's args can be
     * spliced in whether or not it had any. */
    memset(a, 0, sizeof(a));
    a[0].json = hb_sio_str("\"message-back\"");
    a[1].json = hb_sio_str("");
    expect_args(a, 2, "[\"message-back\"]", 0);
    a[1].json = hb_sio_str("1,{\"a\":2}");
    expect_args(a, 2, "[\"message-back\",1,{\"a\":2}]", 0);
    a[0].json = hb_sio_str("");
    a[2].binary = 1;
    expect_args(a, 3, "[1,{\"a\":2},{\"_placeholder\":true,\"num\":0}]", 1);
}

static void expect_split(const char *arr, const char *first, const char *rest) {
    hb_slice f = {NULL, 99}, r = {NULL, 99};
    hb_slice a = hb_sio_str(arr);
    assert_int_equal(hb_sio_array_split(a, &f, &r), 0);
    assert_int_equal(f.len, strlen(first));
    assert_memory_equal(f.base, first, f.len);
    assert_int_equal(r.len, strlen(rest));
    assert_memory_equal(r.base, rest, r.len);
    assert_true(f.base >= a.base && f.base + f.len <= a.base + a.len);
    assert_true(r.base >= a.base && r.base + r.len <= a.base + a.len);
}

static void expect_split_einval(const char *arr) {
    hb_slice f = {NULL, 99}, r = {NULL, 99};
    assert_int_equal(hb_sio_array_split(hb_sio_str(arr), &f, &r), HB_EINVAL);
    assert_null(f.base);
    assert_int_equal(f.len, 99);
    assert_null(r.base);
}

static void test_array_split(void **state) {
    (void)state;
    expect_split("[]", "", "");
    expect_split(" [ \t\r\n ] ", "", "");
    expect_split("[\"chat\"]", "\"chat\"", "");
    expect_split("[\"chat\",1]", "\"chat\"", "1");
    expect_split(" [ \"chat\" , 1 , [2] ] ", "\"chat\"", "1 , [2]");
    expect_split("[42,\"x\"]", "42", "\"x\"");
    expect_split("[-1.5e3 ,true]", "-1.5e3", "true");
    expect_split("[null]", "null", "");
    /* brackets, commas and escaped quotes inside strings do not count */
    expect_split("[\"a,]\\\"[\",2]", "\"a,]\\\"[\"", "2");
    expect_split("[\"\\\\\",2]", "\"\\\\\"", "2");
    expect_split("[{\"a\":[1,{\"b\":\"]}\"}]},2]", "{\"a\":[1,{\"b\":\"]}\"}]}", "2");
    expect_split("[[1,2],[3]]", "[1,2]", "[3]");

    expect_split_einval("");
    expect_split_einval("   ");
    expect_split_einval("[");
    expect_split_einval("]");
    expect_split_einval("{}");
    expect_split_einval("\"x\"");
    expect_split_einval("[1 2]");
    expect_split_einval("[,1]");
    expect_split_einval("[}]");
    expect_split_einval("[\"a\"x]");
    /* cut short inside a string or a container: never read past the end */
    expect_split_einval("[\"abc\\]");
    expect_split_einval("[\"abc]");
    expect_split_einval("[[1,2]");
}

/* The encoder's output splits back into the arguments it was built from. */
static void test_build_then_split(void **state) {
    hb_sio_arg a[3];
    uint8_t dst[256];
    size_t len, nb;
    hb_slice f, r;
    (void)state;
    memset(a, 0, sizeof(a));
    a[0].json = hb_sio_str("\"ev,]\"");
    a[1].binary = 1;
    a[2].json = hb_sio_str("[1,\"]\"]");
    len = hb_sio_args_write(a, 3, dst, &nb);
    assert_int_equal(nb, 1);
    assert_int_equal(hb_sio_array_split((hb_slice){dst, len}, &f, &r), 0);
    assert_int_equal(f.len, 6);
    assert_memory_equal(f.base, "\"ev,]\"", 6);
    assert_int_equal(r.len, strlen("{\"_placeholder\":true,\"num\":0},[1,\"]\"]"));
    assert_memory_equal(r.base, "{\"_placeholder\":true,\"num\":0},[1,\"]\"]", r.len);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_type),        cmocka_unit_test(test_namespace_and_id),
        cmocka_unit_test(test_binary_promotion),  cmocka_unit_test(test_encode_einval),
        cmocka_unit_test(test_placeholder),       cmocka_unit_test(test_args_write),
        cmocka_unit_test(test_array_split),       cmocka_unit_test(test_build_then_split),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
