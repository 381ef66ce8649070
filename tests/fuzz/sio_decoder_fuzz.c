/* libFuzzer target for the Socket.IO decoder. The input is a sequence of
 * Engine.IO messages, one per line: a line starting with 'b' is a binary
 * message (the bytes after the 'b'), any other line a text message. Each
 * packet the decoder yields is checked against jansson's reading of its
 * data, re-encoded, and must decode again to the same fields. Messages live
 * in exact-size allocations so ASan sees every overread. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "hubbub/error.h"
#include "sio/decoder.h"
#include "sio/packet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                                                 \
    do {                                                                                         \
        if (!(x))                                                                                \
            abort();                                                                             \
    } while (0)

static int slice_eq(hb_slice a, hb_slice b) {
    return a.len == b.len && (a.len == 0 || memcmp(a.base, b.base, a.len) == 0);
}

/* Parses "[" + s + "]"; NULL when it does not parse. */
static json_t *parse_list(hb_slice s) {
    uint8_t *t = malloc(s.len + 2);
    json_t *v;
    CHECK(t != NULL);
    t[0] = '[';
    if (s.len > 0)
        memcpy(t + 1, s.base, s.len);
    t[s.len + 1] = ']';
    v = json_loadb((const char *)t, s.len + 2, JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, NULL);
    free(t);
    return v;
}

/* event and args say the same as the data they were cut from. */
static void check_args(const hb_sio_packet *p) {
    int is_event = p->type == HB_SIO_EVENT || p->type == HB_SIO_BINARY_EVENT;
    int is_ack = p->type == HB_SIO_ACK || p->type == HB_SIO_BINARY_ACK;
    json_t *root, *args, *want;

    if (!is_event && !is_ack) {
        CHECK(p->event.len == 0 && p->args.len == 0 && !p->event_is_number);
        return;
    }
    args = parse_list(p->args);
    CHECK(args != NULL);
    if (p->data.len == 0) {
        CHECK(is_ack && json_array_size(args) == 0);
        json_decref(args);
        return;
    }
    root = json_loadb((const char *)p->data.base, p->data.len,
                      JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, NULL);
    CHECK(json_is_array(root));
    if (is_event) {
        json_t *name = json_array_get(root, 0);
        CHECK(json_array_size(root) >= 1);
        if (p->event_is_number) {
            json_t *num = parse_list(p->event);
            CHECK(json_is_number(name) && num != NULL && json_equal(json_array_get(num, 0), name));
            json_decref(num);
        } else {
            CHECK(json_is_string(name) && json_string_length(name) == p->event.len);
            CHECK(memcmp(json_string_value(name), p->event.base, p->event.len) == 0);
        }
        want = json_array();
        for (size_t i = 1; i < json_array_size(root); i++)
            json_array_append(want, json_array_get(root, i));
    } else {
        want = json_incref(root);
    }
    CHECK(json_equal(want, args));
    json_decref(want);
    json_decref(args);
    json_decref(root);
}

static void check_invariants(const hb_sio_packet *p) {
    CHECK(p->type >= HB_SIO_CONNECT && p->type <= HB_SIO_BINARY_ACK);
    CHECK(p->nsp.len >= 1 && p->nsp.base[0] == '/');
    CHECK(p->id >= -1);
    if (p->type == HB_SIO_BINARY_EVENT || p->type == HB_SIO_BINARY_ACK) {
        CHECK(p->n_attachments >= 1 && p->n_attachments <= HB_SIO_MAX_ATTACHMENTS_DEFAULT);
        CHECK(p->attachments != NULL);
        for (size_t i = 0; i < p->n_attachments; i++) {
            hb_slice a = hb_buf_payload(p->attachments[i]);
            volatile uint8_t sink = 0;
            for (size_t k = 0; k < a.len; k++)
                sink ^= a.base[k];
            (void)sink;
        }
    } else {
        CHECK(p->n_attachments == 0 && p->attachments == NULL);
    }
    check_args(p);
}

/* Encodes p (data without its leading whitespace, which the encoder
 * refuses) and decodes the result with its attachments. */
static void check_round_trip(const hb_sio_packet *p) {
    hb_sio_packet q = *p, r;
    hb_sio_decoder d;
    hb_buf *b;
    int rc;

    while (q.data.len > 0 && (q.data.base[0] == ' ' || q.data.base[0] == '\t' ||
                              q.data.base[0] == '\n' || q.data.base[0] == '\r')) {
        q.data.base++;
        q.data.len--;
    }
    rc = hb_sio_packet_encode(&q, &b);
    if (rc == HB_ENOMEM)
        return;
    CHECK(rc == 0);
    hb_sio_decoder_init(&d, HB_SIO_MAX_ATTACHMENTS_DEFAULT);
    rc = hb_sio_decoder_feed(&d, 0, b->data, b->len, &r);
    for (size_t i = 0; rc == 0 && i < p->n_attachments; i++) {
        hb_slice a = hb_buf_payload(p->attachments[i]);
        rc = hb_sio_decoder_feed(&d, 1, a.base, a.len, &r);
    }
    CHECK(rc == 1 || rc == HB_ENOMEM);
    if (rc == 1) {
        CHECK(r.type == p->type && r.id == p->id && r.event_is_number == p->event_is_number);
        CHECK(slice_eq(r.nsp, p->nsp) && slice_eq(r.data, q.data));
        CHECK(slice_eq(r.event, p->event) && slice_eq(r.args, p->args));
        CHECK(r.n_attachments == p->n_attachments);
        for (size_t i = 0; i < r.n_attachments; i++)
            CHECK(slice_eq(hb_buf_payload(r.attachments[i]), hb_buf_payload(p->attachments[i])));
    }
    hb_sio_decoder_free(&d);
    hb_buf_unref(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    hb_sio_decoder d;
    hb_slice first, rest;
    size_t pos = 0;

    /* The splitter must stay in bounds on anything. */
    if (hb_sio_array_split((hb_slice){data, size}, &first, &rest) == 0) {
        CHECK(first.base >= data && first.base + first.len <= data + size);
        CHECK(rest.base >= data && rest.base + rest.len <= data + size);
    }

    hb_sio_decoder_init(&d, HB_SIO_MAX_ATTACHMENTS_DEFAULT);
    while (pos <= size) {
        const uint8_t *nl = memchr(data + pos, '\n', size - pos);
        size_t end = nl != NULL ? (size_t)(nl - data) : size;
        int binary = end > pos && data[pos] == 'b';
        size_t off = pos + (size_t)binary, len = end - off;
        uint8_t *msg = malloc(len > 0 ? len : 1);
        hb_sio_packet p;
        int rc;

        CHECK(msg != NULL);
        if (len > 0)
            memcpy(msg, data + off, len);
        rc = hb_sio_decoder_feed(&d, binary, msg, len, &p);
        CHECK(rc == 0 || rc == 1 || rc == HB_ESIO_PACKET || rc == HB_ESIO_ATTACHMENTS ||
              rc == HB_ENOMEM);
        if (rc != 0)
            CHECK(hb_sio_decoder_expected(&d) == 0);
        if (rc == 1) {
            check_invariants(&p);
            check_round_trip(&p);
        }
        free(msg);
        pos = end + 1;
    }
    hb_sio_decoder_free(&d);
    return 0;
}
