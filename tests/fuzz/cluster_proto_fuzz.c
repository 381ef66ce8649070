/* libFuzzer target for the decoders of src/cluster/proto.c: what another
 * node or a socket.io server on Redis may publish. The first byte picks the
 * decoder (a broadcast, a broadcast with acks, a join/leave/disconnect, a
 * request that wants an answer, an answer, a serverSideEmit); the rest is
 * the message, in an
 * exact-size allocation so ASan sees every overread. What decodes must be
 * consistent: a broadcast's arguments are a JSON array whose placeholders
 * have their bins, and encoding it again succeeds; a serverSideEmit's
 * arguments are a JSON array that encodes again to a request that decodes
 * to the same. */
#define _GNU_SOURCE /* memmem */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/proto.h"
#include "hubbub/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                                                 \
    do {                                                                                         \
        if (!(x))                                                                                \
            abort();                                                                             \
    } while (0)

/* text is JSON (of an array, with want_array): jansson reads it, unless
 * an object key holds a NUL (valid JSON that jansson does not take).
 * Integers beyond 64 bits are valid JSON too (a serverSideEmit's). */
static void check_json(const char *text, size_t len, int want_array) {
    json_t *v = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL,
                           NULL);
    if (v == NULL) {
        CHECK(memmem(text, len, "\\u0000", 6) != NULL);
        return;
    }
    CHECK(!want_array || json_is_array(v));
    json_decref(v);
}

static void check_bcast(const hb_cluster_bcast *b) {
    uint8_t *out;
    size_t len;
    check_json((const char *)b->msg.data.base, b->msg.data.len, 1);
    CHECK(b->msg.nbins <= 64);
    CHECK(b->msg.nsp != NULL && b->msg.nsp[0] != '\0');
    if (hb_cluster_proto_encode_bcast("fuzzfuzzfuzz", &b->msg, &out, &len) == 0)
        free(out);
    if (b->req_id.len > 0 &&
        hb_cluster_proto_encode_bcast_req("fuzzfuzzfuzz", "id", &b->msg, b->timeout_ms, &out,
                                          &len) == 0)
        free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *msg;
    size_t len;
    if (size == 0)
        return 0;
    len = size - 1;
    msg = malloc(len ? len : 1);
    if (msg == NULL)
        return 0;
    memcpy(msg, data + 1, len);
    switch (data[0] % 6) {
    case 0: {
        hb_cluster_bcast b;
        if (hb_cluster_proto_decode_bcast(msg, len, &b) == 0) {
            check_bcast(&b);
            hb_cluster_proto_bcast_release(&b);
        }
        break;
    }
    case 1: {
        hb_cluster_bcast b;
        if (hb_cluster_proto_decode_bcast_req(msg, len, &b) == 0) {
            CHECK(b.req_id.len > 0);
            check_bcast(&b);
            hb_cluster_proto_bcast_release(&b);
        }
        break;
    }
    case 2: {
        hb_cluster_req q;
        if (hb_cluster_proto_decode_req(msg, len, "/", &q) == 0) {
            char *json;
            size_t n;
            CHECK(q.uid != NULL);
            if (hb_cluster_proto_encode_req("me", &q.req, &json, &n) == 0)
                free(json);
            hb_cluster_proto_req_release(&q);
        }
        break;
    }
    case 3: {
        hb_cluster_ask a;
        if (hb_cluster_proto_decode_ask(msg, len, "/", &a) == 0) {
            char *text;
            size_t n;
            CHECK(a.uid != NULL && a.req_id != NULL);
            text = hb_cluster_proto_encode_answer(a.req_id, "sockets", "[]", 2, &n);
            if (text != NULL) {
                json_t *v = json_loadb(text, n, 0, NULL);
                CHECK(json_is_object(v));
                json_decref(v);
                free(text);
            }
            hb_cluster_proto_ask_release(&a);
        }
        break;
    }
    case 5: {
        hb_cluster_sse e, again;
        if (hb_cluster_proto_decode_sse(msg, len, &e) == 0) {
            char *json;
            size_t n;
            check_json(e.args, e.args_len, 1);
            CHECK(e.uid != NULL && e.event != NULL);
            if (hb_cluster_proto_encode_sse("fuzzfuzzfuzz", e.req_id, e.event, e.args, e.args_len,
                                            &json, &n) == 0) {
                CHECK(hb_cluster_proto_decode_sse((const uint8_t *)json, n, &again) == 0);
                CHECK(strcmp(again.event, e.event) == 0);
                CHECK(strcmp(again.args, e.args) == 0);
                CHECK((again.req_id == NULL) == (e.req_id == NULL));
                hb_cluster_proto_sse_release(&again);
                free(json);
            }
            hb_cluster_proto_sse_release(&e);
        }
        break;
    }
    default: {
        hb_cluster_resp r;
        if (hb_cluster_proto_decode_resp(msg, len, &r) == 0) {
            if (r.ack_json != NULL)
                check_json(r.ack_json, r.ack_len, 0);
            hb_cluster_proto_resp_release(&r);
        }
        break;
    }
    }
    free(msg);
    return 0;
}
