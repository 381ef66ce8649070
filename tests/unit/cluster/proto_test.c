/* Tests for src/cluster/proto.c: broadcasts byte for byte as notepack.io
 * (the encoder of @socket.io/redis-adapter and @socket.io/redis-emitter)
 * writes them, in both directions; JSON text conversions (numbers, strings,
 * invalid UTF-8, binary placeholders); malformed and unsupported input; the
 * channel names; requests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cluster/proto.h"
#include "hubbub/error.h"

/* notepack.io encode(["abcdefghijkl", {type: 2, data: ["ev", 1,
 * Buffer.from([9, 8]), 2.5, -7, "x".repeat(40), {k: null}], nsp: "/"},
 * {rooms: ["r"], except: ["e1", "e2"], flags: {}}]) */
static const uint8_t js_bcast[] = {
    0x93, 0xac, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x83, 0xa4,
    0x74, 0x79, 0x70, 0x65, 0x02, 0xa4, 0x64, 0x61, 0x74, 0x61, 0x97, 0xa2, 0x65, 0x76, 0x01, 0xc4,
    0x02, 0x09, 0x08, 0xcb, 0x40, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf9, 0xd9, 0x28, 0x78,
    0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78,
    0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78,
    0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x81, 0xa1, 0x6b, 0xc0, 0xa3, 0x6e, 0x73, 0x70, 0xa1,
    0x2f, 0x83, 0xa5, 0x72, 0x6f, 0x6f, 0x6d, 0x73, 0x91, 0xa1, 0x72, 0xa6, 0x65, 0x78, 0x63, 0x65,
    0x70, 0x74, 0x92, 0xa2, 0x65, 0x31, 0xa2, 0x65, 0x32, 0xa5, 0x66, 0x6c, 0x61, 0x67, 0x73, 0x80,
};
#define XS40 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
#define JS_BCAST_JSON                                                                              \
    "[\"ev\",1,{\"_placeholder\":true,\"num\":0},2.5,-7,\"" XS40 "\",{\"k\":null}]"

/* @socket.io/redis-emitter's emit on .of("/chat").volatile: notepack.io
 * encode(["emitter", {type: 2, data: ["vol"], nsp: "/chat"}, {rooms: [],
 * flags: {volatile: true}, except: []}]) */
static const uint8_t js_volatile[] = {
    0x93, 0xa7, 0x65, 0x6d, 0x69, 0x74, 0x74, 0x65, 0x72, 0x83, 0xa4, 0x74, 0x79, 0x70, 0x65, 0x02,
    0xa4, 0x64, 0x61, 0x74, 0x61, 0x91, 0xa3, 0x76, 0x6f, 0x6c, 0xa3, 0x6e, 0x73, 0x70, 0xa5, 0x2f,
    0x63, 0x68, 0x61, 0x74, 0x83, 0xa5, 0x72, 0x6f, 0x6f, 0x6d, 0x73, 0x90, 0xa5, 0x66, 0x6c, 0x61,
    0x67, 0x73, 0x81, 0xa8, 0x76, 0x6f, 0x6c, 0x61, 0x74, 0x69, 0x6c, 0x65, 0xc3, 0xa6, 0x65, 0x78,
    0x63, 0x65, 0x70, 0x74, 0x90,
};

static hb_slice sl(const char *s) {
    hb_slice x = {(const uint8_t *)s, strlen(s)};
    return x;
}

static void assert_slice(hb_slice s, const char *want) {
    assert_int_equal(s.len, strlen(want));
    assert_memory_equal(s.base, want, s.len);
}

static void test_decode_notepack(void **state) {
    hb_cluster_bcast b;
    (void)state;
    assert_int_equal(hb_cluster_proto_decode_bcast(js_bcast, sizeof(js_bcast), &b), 0);
    assert_slice(b.uid, "abcdefghijkl");
    assert_string_equal(b.msg.nsp, "/");
    assert_int_equal(b.msg.nrooms, 1);
    assert_slice(b.msg.rooms[0], "r");
    assert_int_equal(b.msg.nexcept, 2);
    assert_slice(b.msg.except[0], "e1");
    assert_slice(b.msg.except[1], "e2");
    assert_int_equal(b.msg.is_volatile, 0);
    assert_slice(b.msg.data, JS_BCAST_JSON);
    assert_int_equal(b.msg.nbins, 1);
    assert_int_equal(b.msg.bins[0].len, 2);
    assert_memory_equal(b.msg.bins[0].data, "\x09\x08", 2);
    hb_cluster_proto_bcast_release(&b);

    assert_int_equal(hb_cluster_proto_decode_bcast(js_volatile, sizeof(js_volatile), &b), 0);
    assert_slice(b.uid, "emitter");
    assert_string_equal(b.msg.nsp, "/chat");
    assert_int_equal(b.msg.nrooms, 0);
    assert_int_equal(b.msg.nexcept, 0);
    assert_int_equal(b.msg.is_volatile, 1);
    assert_slice(b.msg.data, "[\"vol\"]");
    assert_int_equal(b.msg.nbins, 0);
    hb_cluster_proto_bcast_release(&b);
}

/* What Hubbub publishes is what notepack.io writes for the same message. */
static void test_encode_like_notepack(void **state) {
    hb_slice rooms[] = {sl("r")}, except[] = {sl("e1"), sl("e2")};
    hb_bin bin = {(const uint8_t *)"\x09\x08", 2};
    hb_sio_bus_msg m = {0};
    uint8_t *out;
    size_t len;
    (void)state;
    m.nsp = "/";
    m.rooms = rooms;
    m.nrooms = 1;
    m.except = except;
    m.nexcept = 2;
    m.data = sl(JS_BCAST_JSON);
    m.bins = &bin;
    m.nbins = 1;
    assert_int_equal(hb_cluster_proto_encode_bcast("abcdefghijkl", &m, &out, &len), 0);
    assert_int_equal(len, sizeof(js_bcast));
    assert_memory_equal(out, js_bcast, len);
    free(out);
}

static void test_round_trip_values(void **state) {
    static const char *const texts[] = {
        "[\"e\"]",
        "[\"e\",\"\\\"quoted\\\\ and \\u0001 control\\n\",\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"]",
        "[\"e\",0,-1,4294967296,-9007199254740993,0.1,1.5e-07,1e+300,-2.5]",
        "[\"e\",{\"a\":{\"b\":[[],{},null,true,false]}},[1,[2,[3]]]]",
        "[\"e\",{\"_placeholder\":true,\"num\":1},{\"x\":{\"_placeholder\":true,\"num\":0}}]",
    };
    static const char *const want[] = {
        "[\"e\"]",
        "[\"e\",\"\\\"quoted\\\\ and \\u0001 control\\u000a\",\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"]",
        "[\"e\",0,-1,4294967296,-9007199254740993,0.1,1.5e-7,1e+300,-2.5]",
        "[\"e\",{\"a\":{\"b\":[[],{},null,true,false]}},[1,[2,[3]]]]",
        /* bins are renumbered in the order they appear */
        "[\"e\",{\"_placeholder\":true,\"num\":0},{\"x\":{\"_placeholder\":true,\"num\":1}}]",
    };
    hb_bin bins[2] = {{(const uint8_t *)"zero", 4}, {(const uint8_t *)"", 0}};
    (void)state;
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        hb_sio_bus_msg m = {0};
        hb_cluster_bcast b;
        uint8_t *out;
        size_t len;
        m.nsp = "/n";
        m.data = sl(texts[i]);
        m.bins = bins;
        m.nbins = 2;
        m.is_volatile = 1;
        assert_int_equal(hb_cluster_proto_encode_bcast("u", &m, &out, &len), 0);
        assert_int_equal(hb_cluster_proto_decode_bcast(out, len, &b), 0);
        assert_string_equal(b.msg.data.base, want[i]);
        assert_string_equal(b.msg.nsp, "/n");
        assert_int_equal(b.msg.is_volatile, 1);
        if (i == 4) {
            assert_int_equal(b.msg.nbins, 2);
            assert_int_equal(b.msg.bins[0].len, 0); /* placeholder 1 came first */
            assert_int_equal(b.msg.bins[1].len, 4);
            assert_memory_equal(b.msg.bins[1].data, "zero", 4);
        }
        hb_cluster_proto_bcast_release(&b);
        free(out);
    }
}

/* notepack writes what JavaScript strings hold; a lone surrogate is not
 * UTF-8, and clients must get valid text. */
static void test_invalid_utf8_replaced(void **state) {
    const uint8_t msg[] = {0x93, 0xa1, 'u', 0x82, 0xa4, 't', 'y', 'p', 'e', 0x02,
                           0xa4, 'd', 'a', 't', 'a', 0x92, 0xa1, 'e', 0xa5, 'a',
                           0xed, 0xa0, 0x80, 0x80, 0x80 /* opts: {} */};
    hb_cluster_bcast b;
    (void)state;
    assert_int_equal(hb_cluster_proto_decode_bcast(msg, sizeof(msg), &b), 0);
    assert_string_equal(b.msg.nsp, "/"); /* nsp absent: "/" as the adapter does */
    assert_string_equal(b.msg.data.base, "[\"e\",\"a\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"]");
    hb_cluster_proto_bcast_release(&b);
}

static void test_decode_refuses(void **state) {
    /* an ACK packet, a CONNECT, data not an array, a numeric room */
    const uint8_t ack[] = {0x93, 0xa1, 'u', 0x82, 0xa4, 't', 'y', 'p', 'e', 0x03,
                           0xa4, 'd', 'a', 't', 'a', 0x91, 0x01};
    const uint8_t no_array[] = {0x93, 0xa1, 'u', 0x82, 0xa4, 't', 'y', 'p', 'e', 0x02,
                                0xa4, 'd', 'a', 't', 'a', 0xa1, 'x'};
    const uint8_t num_room[] = {0x93, 0xa1, 'u', 0x82, 0xa4, 't', 'y', 'p', 'e', 0x02,
                                0xa4, 'd', 'a', 't', 'a', 0x91, 0xa1, 'e', 0x81, 0xa5,
                                'r', 'o', 'o', 'm', 's', 0x91, 0x05};
    hb_cluster_bcast b;
    (void)state;
    assert_int_equal(hb_cluster_proto_decode_bcast(ack, sizeof(ack), &b), HB_EINVAL);
    assert_int_equal(hb_cluster_proto_decode_bcast(no_array, sizeof(no_array), &b), HB_EINVAL);
    assert_int_equal(hb_cluster_proto_decode_bcast(num_room, sizeof(num_room), &b), HB_EINVAL);
    assert_int_equal(hb_cluster_proto_decode_bcast((const uint8_t *)"", 0, &b), HB_EINVAL);
    /* every truncation of a valid message */
    for (size_t n = 0; n < sizeof(js_bcast); n++)
        assert_int_equal(hb_cluster_proto_decode_bcast(js_bcast, n, &b), HB_EINVAL);
}

static void test_too_many_bins(void **state) {
    /* [u, {type: 2, data: ["e", bin x 65]}] */
    uint8_t msg[64 + 65 * 2];
    size_t n = 0;
    hb_cluster_bcast b;
    (void)state;
    const uint8_t head[] = {0x92, 0xa1, 'u', 0x82, 0xa4, 't', 'y', 'p', 'e', 0x02,
                            0xa4, 'd', 'a', 't', 'a', 0xdc, 0x00, 66, 0xa1, 'e'};
    memcpy(msg, head, sizeof(head));
    n = sizeof(head);
    for (int i = 0; i < 65; i++) {
        msg[n++] = 0xc4;
        msg[n++] = 0x00;
    }
    assert_int_equal(hb_cluster_proto_decode_bcast(msg, n, &b), HB_EINVAL);
    /* 64 are fine */
    msg[17] = 65;
    assert_int_equal(hb_cluster_proto_decode_bcast(msg, n - 2, &b), 0);
    assert_int_equal(b.msg.nbins, 64);
    hb_cluster_proto_bcast_release(&b);
}

static void test_channels(void **state) {
    hb_slice one[] = {sl("room-1")}, two[] = {sl("a"), sl("b")};
    size_t len;
    char *c;
    (void)state;
    c = hb_cluster_proto_bcast_channel("/", NULL, 0, &len);
    assert_string_equal(c, "socket.io#/#");
    assert_int_equal(len, 12);
    free(c);
    c = hb_cluster_proto_bcast_channel("/chat", one, 1, &len);
    assert_string_equal(c, "socket.io#/chat#room-1#");
    free(c);
    c = hb_cluster_proto_bcast_channel("/chat", two, 2, &len);
    assert_string_equal(c, "socket.io#/chat#");
    free(c);
    c = hb_cluster_proto_req_channel("/x", &len);
    assert_string_equal(c, "socket.io-request#/x#");
    free(c);
    c = hb_cluster_proto_req_channel_nsp("socket.io-request#/x#y#", 23);
    assert_string_equal(c, "/x#y");
    free(c);
    assert_null(hb_cluster_proto_req_channel_nsp("socket.io-response#/#", 21));
    assert_null(hb_cluster_proto_req_channel_nsp("socket.io-request#", 18));
}

static void test_requests(void **state) {
    hb_slice rooms[] = {sl("r")}, targets[] = {sl("t1")};
    hb_sio_bus_req r = {0};
    hb_cluster_req q;
    const char *emitter =
        "{\"type\":4,\"opts\":{\"rooms\":[\"a\",\"b\"],\"except\":[\"c\"]},\"close\":true}";
    char *json;
    size_t len;
    (void)state;
    r.type = HB_SIO_BUS_JOIN;
    r.nsp = "/";
    r.rooms = rooms;
    r.nrooms = 1;
    r.targets = targets;
    r.ntargets = 1;
    assert_int_equal(hb_cluster_proto_encode_req("me", &r, &json, &len), 0);
    assert_string_equal(json, "{\"uid\":\"me\",\"type\":2,\"opts\":{\"rooms\":[\"r\"],\"except\":[]},"
                              "\"rooms\":[\"t1\"]}");
    assert_int_equal(hb_cluster_proto_decode_req((const uint8_t *)json, len, "/", &q), 0);
    assert_string_equal(q.uid, "me");
    assert_int_equal(q.req.type, HB_SIO_BUS_JOIN);
    assert_int_equal(q.req.nrooms, 1);
    assert_slice(q.req.rooms[0], "r");
    assert_int_equal(q.req.nexcept, 0);
    assert_int_equal(q.req.ntargets, 1);
    assert_slice(q.req.targets[0], "t1");
    hb_cluster_proto_req_release(&q);
    free(json);

    assert_int_equal(hb_cluster_proto_decode_req((const uint8_t *)emitter, strlen(emitter), "/c",
                                                 &q), 0);
    assert_string_equal(q.uid, "");
    assert_string_equal(q.req.nsp, "/c");
    assert_int_equal(q.req.type, HB_SIO_BUS_DISCONNECT);
    assert_int_equal(q.req.close, 1);
    assert_int_equal(q.req.nrooms, 2);
    assert_int_equal(q.req.nexcept, 1);
    assert_slice(q.req.except[0], "c");
    hb_cluster_proto_req_release(&q);

    /* not a join, leave or disconnect by opts: fetchSockets (5),
     * serverSideEmit (6), a join of a single socket by id
     * (hb_cluster_proto_decode_ask's) */
    assert_int_equal(hb_cluster_proto_decode_req((const uint8_t *)"{\"type\":5}", 10, "/", &q),
                     HB_EINVAL);
    assert_int_equal(hb_cluster_proto_decode_req(
                         (const uint8_t *)"{\"type\":2,\"sid\":\"x\",\"room\":\"r\"}", 31, "/", &q),
                     HB_EINVAL);
    assert_int_equal(hb_cluster_proto_decode_req((const uint8_t *)"\x85", 1, "/", &q), HB_EINVAL);
}

/* notepack.io encode({uid: "abcdefghijkl", requestId: "r1", type: 7,
 * packet: {type: 2, data: ["poll", "vote?", Buffer.from([1, 2])], nsp: "/"},
 * opts: {rooms: ["room"], except: ["x"], flags: {timeout: 1500}}}): the
 * adapter's broadcastWithAck request */
static const uint8_t js_bcast_req[] = {
    0x85, 0xa3, 0x75, 0x69, 0x64, 0xac, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a,
    0x6b, 0x6c, 0xa9, 0x72, 0x65, 0x71, 0x75, 0x65, 0x73, 0x74, 0x49, 0x64, 0xa2, 0x72, 0x31, 0xa4,
    0x74, 0x79, 0x70, 0x65, 0x07, 0xa6, 0x70, 0x61, 0x63, 0x6b, 0x65, 0x74, 0x83, 0xa4, 0x74, 0x79,
    0x70, 0x65, 0x02, 0xa4, 0x64, 0x61, 0x74, 0x61, 0x93, 0xa4, 0x70, 0x6f, 0x6c, 0x6c, 0xa5, 0x76,
    0x6f, 0x74, 0x65, 0x3f, 0xc4, 0x02, 0x01, 0x02, 0xa3, 0x6e, 0x73, 0x70, 0xa1, 0x2f, 0xa4, 0x6f,
    0x70, 0x74, 0x73, 0x83, 0xa5, 0x72, 0x6f, 0x6f, 0x6d, 0x73, 0x91, 0xa4, 0x72, 0x6f, 0x6f, 0x6d,
    0xa6, 0x65, 0x78, 0x63, 0x65, 0x70, 0x74, 0x91, 0xa1, 0x78, 0xa5, 0x66, 0x6c, 0x61, 0x67, 0x73,
    0x81, 0xa7, 0x74, 0x69, 0x6d, 0x65, 0x6f, 0x75, 0x74, 0xcd, 0x05, 0xdc,
};

/* notepack.io encode({type: 9, requestId: "r1", packet: {a: [1, "b"]}}) */
static const uint8_t js_ack[] = {
    0x83, 0xa4, 0x74, 0x79, 0x70, 0x65, 0x09, 0xa9, 0x72, 0x65, 0x71, 0x75, 0x65, 0x73, 0x74,
    0x49, 0x64, 0xa2, 0x72, 0x31, 0xa6, 0x70, 0x61, 0x63, 0x6b, 0x65, 0x74, 0x81, 0xa1, 0x61,
    0x92, 0x01, 0xa1, 0x62,
};

static void test_broadcast_with_acks(void **state) {
    hb_slice rooms[] = {sl("room")}, except[] = {sl("x")};
    hb_bin bins[] = {{(const uint8_t *)"\x01\x02", 2}};
    hb_sio_bus_msg m = {0};
    hb_cluster_bcast b;
    hb_cluster_resp r;
    uint8_t *out;
    size_t len;
    char *text;
    (void)state;
    /* both ways, byte for byte as the adapter's */
    assert_int_equal(hb_cluster_proto_decode_bcast_req(js_bcast_req, sizeof(js_bcast_req), &b), 0);
    assert_slice(b.uid, "abcdefghijkl");
    assert_slice(b.req_id, "r1");
    assert_int_equal(b.timeout_ms, 1500);
    assert_string_equal(b.msg.nsp, "/");
    assert_int_equal(b.msg.nrooms, 1);
    assert_slice(b.msg.rooms[0], "room");
    assert_int_equal(b.msg.nexcept, 1);
    assert_slice(b.msg.except[0], "x");
    assert_slice(b.msg.data, "[\"poll\",\"vote?\",{\"_placeholder\":true,\"num\":0}]");
    assert_int_equal(b.msg.nbins, 1);
    assert_int_equal(b.msg.bins[0].len, 2);
    hb_cluster_proto_bcast_release(&b);

    m.nsp = "/";
    m.rooms = rooms;
    m.nrooms = 1;
    m.except = except;
    m.nexcept = 1;
    m.data = sl("[\"poll\",\"vote?\",{\"_placeholder\":true,\"num\":0}]");
    m.bins = bins;
    m.nbins = 1;
    assert_int_equal(hb_cluster_proto_encode_bcast_req("abcdefghijkl", "r1", &m, 1500, &out, &len),
                     0);
    assert_int_equal(len, sizeof(js_bcast_req));
    assert_memory_equal(out, js_bcast_req, len);
    free(out);

    /* a plain broadcast is not a request, nor the other way round */
    assert_int_equal(hb_cluster_proto_decode_bcast_req(js_bcast, sizeof(js_bcast), &b), HB_EINVAL);
    assert_int_equal(hb_cluster_proto_decode_bcast(js_bcast_req, sizeof(js_bcast_req), &b),
                     HB_EINVAL);

    /* the answers: one recipient's ack, and a node's count */
    assert_int_equal(hb_cluster_proto_encode_ack("r1", "{\"a\":[1,\"b\"]}", 13, NULL, 0, &out,
                                                 &len), 0);
    assert_int_equal(len, sizeof(js_ack));
    assert_memory_equal(out, js_ack, len);
    free(out);
    assert_int_equal(hb_cluster_proto_decode_resp(js_ack, sizeof(js_ack), &r), 0);
    assert_int_equal(r.type, HB_CLUSTER_REQ_BROADCAST_ACK);
    assert_slice(r.req_id, "r1");
    assert_string_equal(r.ack_json, "{\"a\":[1,\"b\"]}");
    hb_cluster_proto_resp_release(&r);
    text = hb_cluster_proto_encode_count("r\"1", 3, &len);
    assert_string_equal(text, "{\"type\":8,\"requestId\":\"r\\\"1\",\"clientCount\":3}");
    assert_int_equal(hb_cluster_proto_decode_resp((const uint8_t *)text, len, &r), 0);
    assert_int_equal(r.type, HB_CLUSTER_REQ_BROADCAST_CLIENT_COUNT);
    assert_slice(r.req_id, "r\"1");
    assert_int_equal(r.client_count, 3);
    hb_cluster_proto_resp_release(&r);
    free(text);
    assert_int_equal(hb_cluster_proto_decode_resp((const uint8_t *)"{\"type\":8}", 10, &r),
                     HB_EINVAL);
}

static void test_asks_and_answers(void **state) {
    const char *fetch = "{\"uid\":\"u\",\"requestId\":\"q\",\"type\":5,"
                        "\"opts\":{\"rooms\":[\"a\"],\"except\":[\"b\",\"c\"]}}";
    const char *one = "{\"uid\":\"u\",\"requestId\":\"q\",\"type\":2,\"sid\":\"S\",\"room\":\"r\"}";
    hb_slice rooms[] = {sl("a")};
    hb_sio_bus_req sel = {0};
    hb_cluster_ask a;
    hb_cluster_resp r;
    char *text;
    size_t len;
    (void)state;
    assert_int_equal(hb_cluster_proto_decode_ask((const uint8_t *)fetch, strlen(fetch), "/", &a),
                     0);
    assert_int_equal(a.type, HB_CLUSTER_REQ_REMOTE_FETCH);
    assert_string_equal(a.uid, "u");
    assert_string_equal(a.req_id, "q");
    assert_string_equal(a.sel.nsp, "/");
    assert_int_equal(a.sel.nrooms, 1);
    assert_slice(a.sel.rooms[0], "a");
    assert_int_equal(a.sel.nexcept, 2);
    assert_slice(a.sel.except[1], "c");
    hb_cluster_proto_ask_release(&a);
    assert_int_equal(hb_cluster_proto_decode_ask((const uint8_t *)one, strlen(one), "/", &a), 0);
    assert_int_equal(a.type, HB_CLUSTER_REQ_REMOTE_JOIN);
    assert_string_equal(a.sid, "S");
    assert_string_equal(a.room, "r");
    hb_cluster_proto_ask_release(&a);
    /* the join with opts is hb_cluster_proto_decode_req's; junk is refused */
    assert_int_equal(hb_cluster_proto_decode_ask(
                         (const uint8_t *)"{\"type\":2,\"opts\":{},\"rooms\":[\"x\"]}", 33, "/", &a),
                     HB_EINVAL);
    assert_int_equal(hb_cluster_proto_decode_ask((const uint8_t *)"{\"type\":77}", 11, "/", &a),
                     HB_EINVAL);
    assert_int_equal(hb_cluster_proto_decode_ask((const uint8_t *)"[5]", 3, "/", &a), HB_EINVAL);

    sel.rooms = rooms;
    sel.nrooms = 1;
    text = hb_cluster_proto_encode_fetch_req("u", "q", &sel, &len);
    assert_string_equal(text, "{\"uid\":\"u\",\"requestId\":\"q\",\"type\":5,"
                              "\"opts\":{\"rooms\":[\"a\"],\"except\":[]}}");
    free(text);
    text = hb_cluster_proto_encode_answer("q", "sockets", "[{\"id\":\"x\"}]", 12, &len);
    assert_string_equal(text, "{\"requestId\":\"q\",\"sockets\":[{\"id\":\"x\"}]}");
    assert_int_equal(len, strlen(text));
    assert_int_equal(hb_cluster_proto_decode_resp((const uint8_t *)text, len, &r), 0);
    assert_slice(r.req_id, "q");
    assert_non_null(r.sockets);
    hb_cluster_proto_resp_release(&r);
    free(text);
    text = hb_cluster_proto_encode_answer("q", NULL, NULL, 0, &len);
    assert_string_equal(text, "{\"requestId\":\"q\"}");
    free(text);

    text = hb_cluster_proto_resp_channel("/chat", NULL, &len);
    assert_string_equal(text, "socket.io-response#/chat#");
    free(text);
    text = hb_cluster_proto_resp_channel("/chat", "abc", &len);
    assert_string_equal(text, "socket.io-response#/chat#abc#");
    assert_int_equal(len, strlen(text));
    free(text);
}

/* serverSideEmit (type 6): JSON both ways, byte for byte as the adapter's
 * JSON.stringify writes it (the expected texts are Node's output). */
static void test_server_side_emit(void **state) {
    const char *with_ack = "{\"uid\":\"u1\",\"requestId\":\"r1\",\"type\":6,\"data\":[\"ev\",1,0.1,"
                           "\"\xc3\xa9\\u0001\\\"\",{\"a\":[null,true]},100,1e+21,-0.5]}";
    const char *args = "[1,0.1,\"\xc3\xa9\\u0001\\\"\",{\"a\":[null,true]},100,1e+21,-0.5]";
    const char *big = "{\"uid\":\"u1\",\"type\":6,\"data\":[\"big\",18446744073709552000,"
                      "123456789012345680000,9007199254740993]}";
    hb_cluster_sse e;
    char *text;
    size_t len;
    (void)state;
    /* Node's request, read: event, arguments, requestId */
    assert_int_equal(hb_cluster_proto_decode_sse((const uint8_t *)with_ack, strlen(with_ack), &e),
                     0);
    assert_string_equal(e.uid, "u1");
    assert_string_equal(e.req_id, "r1");
    assert_string_equal(e.event, "ev");
    assert_string_equal(e.args, args);
    assert_int_equal(e.args_len, strlen(args));
    hb_cluster_proto_sse_release(&e);
    /* and written back the same */
    assert_int_equal(hb_cluster_proto_encode_sse("u1", "r1", "ev", args, strlen(args), &text, &len),
                     0);
    assert_string_equal(text, with_ack);
    assert_int_equal(len, strlen(with_ack));
    free(text);
    /* without an ack there is no requestId */
    assert_int_equal(hb_cluster_proto_encode_sse("u1", NULL, "ev", "[]", 2, &text, &len), 0);
    assert_string_equal(text, "{\"uid\":\"u1\",\"type\":6,\"data\":[\"ev\"]}");
    assert_int_equal(hb_cluster_proto_decode_sse((const uint8_t *)text, len, &e), 0);
    assert_null(e.req_id);
    assert_string_equal(e.args, "[]");
    hb_cluster_proto_sse_release(&e);
    free(text);
    /* integers beyond 64 bits (and 2^53) do not make it unreadable, and
     * come out as JavaScript writes them */
    assert_int_equal(hb_cluster_proto_decode_sse((const uint8_t *)big, strlen(big), &e), 0);
    assert_string_equal(e.uid, "u1");
    assert_string_equal(e.args, "[18446744073709552000,123456789012345680000,9007199254740992]");
    hb_cluster_proto_sse_release(&e);
    assert_int_equal(hb_cluster_proto_encode_sse("u", NULL, "e", "[1,", 3, &text, &len),
                     HB_EINVAL);
    assert_int_equal(hb_cluster_proto_encode_sse("u", NULL, "e", "{}", 2, &text, &len),
                     HB_EINVAL);

    /* not serverSideEmit requests */
    static const char *const bad[] = {
        "{\"uid\":\"u\",\"type\":5,\"data\":[\"ev\"]}", /* another type */
        "{\"uid\":\"u\",\"type\":6,\"data\":[]}",       /* no event name */
        "{\"uid\":\"u\",\"type\":6,\"data\":[7]}",
        "{\"uid\":\"u\",\"type\":6,\"data\":\"ev\"}",
        "{\"uid\":\"u\",\"type\":6}",
        "{\"uid\":\"u\",\"type\":6,\"data\":[\"a\\u0000b\"]}", /* a name C cannot hold */
        "{\"uid\":\"u\",\"type\":6,\"data\":[\"ev\"]",
        "[6]",
        "",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(hb_cluster_proto_decode_sse((const uint8_t *)bad[i], strlen(bad[i]), &e),
                         HB_EINVAL);
}

static void test_server_side_emit_answers(void **state) {
    const char *big = "{\"type\":6,\"requestId\":\"r1\",\"data\":[18446744073709552000]}";
    hb_cluster_resp r;
    char *text;
    size_t len;
    (void)state;
    assert_int_equal(hb_cluster_proto_encode_sse_answer("r1", "{\"n\": [1, 2.5]}", 15, &text, &len),
                     0);
    assert_string_equal(text, "{\"type\":6,\"requestId\":\"r1\",\"data\":{\"n\":[1,2.5]}}");
    assert_int_equal(hb_cluster_proto_decode_resp((const uint8_t *)text, len, &r), 0);
    assert_int_equal(r.type, HB_CLUSTER_REQ_SERVER_SIDE_EMIT);
    assert_slice(r.req_id, "r1");
    assert_string_equal(r.ack_json, "{\"n\":[1,2.5]}");
    assert_int_equal(r.ack_len, strlen(r.ack_json));
    hb_cluster_proto_resp_release(&r);
    free(text);
    /* an ack called without an argument: no "data" (undefined), null here */
    assert_int_equal(hb_cluster_proto_encode_sse_answer("r1", NULL, 0, &text, &len), 0);
    assert_string_equal(text, "{\"type\":6,\"requestId\":\"r1\"}");
    assert_int_equal(hb_cluster_proto_decode_resp((const uint8_t *)text, len, &r), 0);
    assert_string_equal(r.ack_json, "null");
    hb_cluster_proto_resp_release(&r);
    free(text);
    assert_int_equal(hb_cluster_proto_encode_sse_answer("r1", "nope", 4, &text, &len), HB_EINVAL);
    /* a value jansson cannot hold as an integer is read as JavaScript does;
     * other answers with one stay refused */
    assert_int_equal(hb_cluster_proto_decode_resp((const uint8_t *)big, strlen(big), &r), 0);
    assert_string_equal(r.ack_json, "[18446744073709552000]");
    hb_cluster_proto_resp_release(&r);
    big = "{\"type\":8,\"requestId\":\"r\",\"clientCount\":18446744073709552000}";
    assert_int_equal(hb_cluster_proto_decode_resp((const uint8_t *)big, strlen(big), &r),
                     HB_EINVAL);
}

/* A container announcing more elements than bytes remain is refused
 * before msgpack-c allocates for it; an integer beyond int64 becomes a
 * double, which JSON readers take. */
static void test_implausible_and_huge(void **state) {
    static const uint8_t huge_array[] = {0xdd, 0xff, 0xff, 0xff, 0xff, 0x01};
    static const uint8_t huge_map[] = {0x93, 0xa1, 0x75, 0xdf, 0x7f, 0xff, 0xff, 0xff};
    static const uint8_t short_str[] = {0x93, 0xdb, 0x00, 0x00, 0x10, 0x00, 0x61};
    /* ["u", {type: 2, data: ["e", 2^64 - 1], nsp: "/"}] */
    static const uint8_t big_uint[] = {0x92, 0xa1, 0x75, 0x83, 0xa4, 0x74, 0x79, 0x70, 0x65, 0x02,
                                       0xa4, 0x64, 0x61, 0x74, 0x61, 0x92, 0xa1, 0x65, 0xcf, 0xff,
                                       0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xa3, 0x6e, 0x73,
                                       0x70, 0xa1, 0x2f};
    hb_cluster_bcast b;
    hb_cluster_resp r;
    (void)state;
    assert_int_equal(hb_cluster_proto_decode_bcast(huge_array, sizeof(huge_array), &b), HB_EINVAL);
    assert_int_equal(hb_cluster_proto_decode_bcast(huge_map, sizeof(huge_map), &b), HB_EINVAL);
    assert_int_equal(hb_cluster_proto_decode_bcast(short_str, sizeof(short_str), &b), HB_EINVAL);
    assert_int_equal(hb_cluster_proto_decode_resp(huge_array, sizeof(huge_array), &r), HB_EINVAL);
    assert_int_equal(hb_cluster_proto_decode_bcast(big_uint, sizeof(big_uint), &b), 0);
    assert_slice(b.msg.data, "[\"e\",1.8446744073709552e+19]");
    hb_cluster_proto_bcast_release(&b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_notepack),
        cmocka_unit_test(test_encode_like_notepack),
        cmocka_unit_test(test_round_trip_values),
        cmocka_unit_test(test_invalid_utf8_replaced),
        cmocka_unit_test(test_decode_refuses),
        cmocka_unit_test(test_too_many_bins),
        cmocka_unit_test(test_channels),
        cmocka_unit_test(test_requests),
        cmocka_unit_test(test_broadcast_with_acks),
        cmocka_unit_test(test_asks_and_answers),
        cmocka_unit_test(test_implausible_and_huge),
        cmocka_unit_test(test_server_side_emit),
        cmocka_unit_test(test_server_side_emit_answers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
