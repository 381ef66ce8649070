/* Decoding of Socket.IO text packets and reassembly of binary ones. The
 * header is parsed by hand; jansson only validates the JSON and answers
 * the per-type questions (is it an object, is the first element a reserved
 * name, do the placeholders point at real attachments), then the tree is
 * dropped and the packet carries the original text.
 *
 * Where this is stricter than socket.io-parser 4.2 (each of these makes
 * Node's parser yield something the server then mishandles or that no
 * client sends): the type and digits are ASCII digits only (Node's Number()
 * also takes "", whitespace, "+1", "0x1"; its "" and " " decode as CONNECT
 * to "/", and "2 [..]" as ack id 0); the ack id must fit in int64; an EVENT
 * needs its array (Node dispatches "2" as an event with no name); a
 * placeholder's num must be an integer (Node puts undefined for 0.5); the
 * namespace must be UTF-8 (Node sees only strings). jansson refuses a few
 * texts JSON.parse takes: numbers beyond double range, lone surrogate
 * escapes, NUL in object keys, nesting deeper than 2048. */
#include "sio/decoder.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"
#include "hubbub/error.h"

/* A binary packet: its text, copied once, and its attachments as they
 * come. One allocation: this, then want hb_buf pointers, then the text. */
struct hb_sio__held {
    hb_sio_packet pkt; /* slices point into the text below (or d->name) */
    uint32_t want;
    uint32_t got;
    int done; /* delivered; freed by the next feed */
    hb_buf *bufs[];
};

static const uint8_t default_nsp[] = "/";

/* socket.io-parser's RESERVED_EVENTS. */
static const char *const reserved[] = {"connect",       "connect_error", "disconnect",
                                       "disconnecting", "newListener",   "removeListener"};

void hb_sio_decoder_init(hb_sio_decoder *d, uint32_t max_attachments) {
    d->held = NULL;
    d->name = NULL;
    d->max_attachments = max_attachments;
    d->spare = 0;
}

static void free_held(struct hb_sio__held *h) {
    if (h == NULL)
        return;
    for (uint32_t i = 0; i < h->got; i++)
        hb_buf_unref(h->bufs[i]);
    free(h);
}

void hb_sio_decoder_reset(hb_sio_decoder *d) {
    free_held(d->held);
    d->held = NULL;
    free(d->name);
    d->name = NULL;
}

void hb_sio_decoder_free(hb_sio_decoder *d) {
    hb_sio_decoder_reset(d);
}

size_t hb_sio_decoder_expected(const hb_sio_decoder *d) {
    return d->held != NULL && !d->held->done ? d->held->want - d->held->got : 0;
}

static int is_digit(uint8_t c) {
    return c >= '0' && c <= '9';
}

/* `<n>-` from s[*i]; on success *i is past the '-'. Node's order of checks
 * is kept: the shape, then n >= 1, then the limit. */
static int parse_count(const uint8_t *s, size_t len, uint32_t max, uint32_t *n, size_t *i) {
    size_t j = *i;
    uint64_t v = 0;

    while (j < len && is_digit(s[j])) {
        if (v <= max) /* stop growing once over: any more is just as refused */
            v = v * 10 + (uint64_t)(s[j] - '0');
        j++;
    }
    if (j == *i || j == len || s[j] != '-' || v == 0)
        return HB_ESIO_PACKET;
    if (v > max)
        return HB_ESIO_ATTACHMENTS;
    *n = (uint32_t)v;
    *i = j + 1;
    return 0;
}

static int placeholders_ok(json_t *v, size_t n) {
    if (json_is_object(v)) {
        json_t *ph = json_object_get(v, "_placeholder"), *num;

        if (json_is_true(ph)) {
            double x;
            num = json_object_get(v, "num");
            if (!json_is_number(num))
                return 0;
            x = json_number_value(num);
            /* x < n <= UINT32_MAX, so the cast is defined */
            return x >= 0 && x < (double)n && x == (double)(uint32_t)x;
        }
        for (void *it = json_object_iter(v); it != NULL; it = json_object_iter_next(v, it)) {
            if (!placeholders_ok(json_object_iter_value(it), n))
                return 0;
        }
    } else if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (!placeholders_ok(json_array_get(v, i), n))
                return 0;
        }
    }
    return 1;
}

static int is_valid_event(json_t *root) {
    json_t *first = json_array_get(root, 0);

    if (json_is_number(first))
        return 1;
    if (!json_is_string(first))
        return 0; /* also an empty array: first is NULL */
    for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
        size_t n = strlen(reserved[i]);
        if (json_string_length(first) == n && memcmp(json_string_value(first), reserved[i], n) == 0)
            return 0;
    }
    return 1;
}

static int fits_type(int type, json_t *root) {
    switch (type) {
    case HB_SIO_CONNECT:
        return json_is_object(root);
    case HB_SIO_CONNECT_ERROR:
        return json_is_object(root) || json_is_string(root);
    case HB_SIO_EVENT:
    case HB_SIO_BINARY_EVENT:
        return json_is_array(root) && is_valid_event(root);
    case HB_SIO_ACK:
    case HB_SIO_BINARY_ACK:
        return json_is_array(root);
    default: /* DISCONNECT never gets here with data */
        return 0;
    }
}

/* Fills p->event and p->args from the data of a valid EVENT or ACK. The
 * name is taken from the text when it has no escape, so the common case
 * copies nothing. */
static int take_args(hb_sio_decoder *d, hb_sio_packet *p, json_t *root) {
    hb_slice first, rest;

    if (hb_sio_array_split(p->data, &first, &rest) != 0)
        return HB_ESIO_PACKET; /* cannot happen for JSON jansson accepted */
    if (p->type == HB_SIO_ACK || p->type == HB_SIO_BINARY_ACK) {
        p->args.base = first.base;
        p->args.len = first.len == 0 ? 0 : (size_t)(rest.base + rest.len - first.base);
        return 0;
    }
    p->args = rest;
    if (first.base[0] != '"') {
        p->event = first;
        p->event_is_number = 1;
    } else if (memchr(first.base, '\\', first.len) == NULL) {
        p->event.base = first.base + 1;
        p->event.len = first.len - 2;
    } else {
        json_t *name = json_array_get(root, 0);
        size_t n = json_string_length(name);
        d->name = malloc(n + 1);
        if (d->name == NULL)
            return HB_ENOMEM;
        memcpy(d->name, json_string_value(name), n + 1);
        p->event.base = (const uint8_t *)d->name;
        p->event.len = n;
    }
    return 0;
}

static int check_data(hb_sio_decoder *d, hb_sio_packet *p) {
    json_error_t err;
    json_t *root;
    int rc = 0;

    if (p->data.len == 0)
        return p->type == HB_SIO_EVENT || p->type == HB_SIO_BINARY_EVENT ? HB_ESIO_PACKET : 0;
    if (p->type == HB_SIO_DISCONNECT)
        return HB_ESIO_PACKET;
    /* JSON.parse's number model (every number a double, no integer overflow)
     * and its NUL-in-string acceptance. */
    root = json_loadb((const char *)p->data.base, p->data.len,
                      JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, &err);
    if (root == NULL)
        return json_error_code(&err) == json_error_out_of_memory ? HB_ENOMEM : HB_ESIO_PACKET;
    if (!fits_type(p->type, root))
        rc = HB_ESIO_PACKET;
    else if (p->n_attachments > 0 && !placeholders_ok(root, p->n_attachments))
        rc = HB_ESIO_ATTACHMENTS;
    else if (p->type != HB_SIO_CONNECT && p->type != HB_SIO_CONNECT_ERROR)
        rc = take_args(d, p, root);
    json_decref(root);
    return rc;
}

/* Decodes the text s[0..len) into p, whose slices then point into s (or
 * into d->name). */
static int parse(hb_sio_decoder *d, const uint8_t *s, size_t len, hb_sio_packet *p) {
    size_t i = 1;
    uint32_t n = 0;
    int rc;

    memset(p, 0, sizeof(*p));
    p->id = -1;
    if (len == 0 || s[0] < '0' + HB_SIO_CONNECT || s[0] > '0' + HB_SIO_BINARY_ACK)
        return HB_ESIO_PACKET;
    p->type = s[0] - '0';
    if (p->type == HB_SIO_BINARY_EVENT || p->type == HB_SIO_BINARY_ACK) {
        rc = parse_count(s, len, d->max_attachments, &n, &i);
        if (rc != 0)
            return rc;
    }
    p->n_attachments = n;

    if (i < len && s[i] == '/') {
        size_t start = i;
        while (i < len && s[i] != ',')
            i++;
        p->nsp.base = s + start;
        p->nsp.len = i - start;
        if (!hb_utf8_valid(p->nsp.base, p->nsp.len))
            return HB_ESIO_PACKET;
        if (i < len)
            i++; /* the comma */
    } else {
        p->nsp.base = default_nsp;
        p->nsp.len = 1;
    }

    if (i < len && is_digit(s[i])) {
        int64_t id = 0;
        for (; i < len && is_digit(s[i]); i++) {
            int digit = s[i] - '0';
            if (id > (INT64_MAX - digit) / 10)
                return HB_ESIO_PACKET;
            id = id * 10 + digit;
        }
        p->id = id;
    }

    p->data.base = s + i;
    p->data.len = len - i;
    p->event.base = p->args.base = s + len;
    return check_data(d, p);
}

/* Moves a slice that points into from[0..len] to the same place in to[]. */
static hb_slice rebase(hb_slice sl, const uint8_t *from, const uint8_t *to) {
    sl.base = to + (sl.base - from);
    return sl;
}

static int feed_binary_header(hb_sio_decoder *d, const uint8_t *data, size_t len) {
    struct hb_sio__held *h;
    hb_sio_packet p;
    uint8_t *text;
    size_t i = 1, size;
    uint32_t n = 0;
    int rc;

    /* Check the count before sizing an allocation by it. */
    rc = parse_count(data, len, d->max_attachments, &n, &i);
    if (rc != 0)
        return rc;
    rc = parse(d, data, len, &p);
    if (rc != 0)
        return rc;
    size = sizeof(*h) + (size_t)n * sizeof(h->bufs[0]);
    if (len > SIZE_MAX - size)
        return HB_ENOMEM;
    h = malloc(size + len);
    if (h == NULL)
        return HB_ENOMEM;
    text = (uint8_t *)(h->bufs + n);
    memcpy(text, data, len);
    /* Everything points into data but the default namespace and an
     * unescaped event name. */
    if (p.nsp.base != default_nsp)
        p.nsp = rebase(p.nsp, data, text);
    p.data = rebase(p.data, data, text);
    p.args = rebase(p.args, data, text);
    if (d->name == NULL || p.event.base != (const uint8_t *)d->name)
        p.event = rebase(p.event, data, text);
    h->pkt = p;
    h->want = n;
    h->got = 0;
    h->done = 0;
    d->held = h;
    return 0;
}

int hb_sio_decoder_feed(hb_sio_decoder *d, int binary, const uint8_t *data, size_t len,
                        hb_sio_packet *out) {
    struct hb_sio__held *h = d->held;
    int rc;

    /* Whatever the last delivered packet held is released here. */
    if (h == NULL || h->done) {
        hb_sio_decoder_reset(d);
        h = NULL;
    }
    if (binary) {
        hb_buf *b;
        if (h == NULL)
            return HB_ESIO_ATTACHMENTS;
        b = hb_buf_from(data, len);
        if (b == NULL) {
            hb_sio_decoder_reset(d);
            return HB_ENOMEM;
        }
        b->flags = HB_BUF_BINARY;
        h->bufs[h->got++] = b;
        if (h->got < h->want)
            return 0;
        h->done = 1;
        *out = h->pkt;
        out->attachments = h->bufs;
        return 1;
    }

    if (h != NULL) {
        hb_sio_decoder_reset(d);
        return HB_ESIO_ATTACHMENTS;
    }
    if (len > 0 && (data[0] == '0' + HB_SIO_BINARY_EVENT || data[0] == '0' + HB_SIO_BINARY_ACK)) {
        rc = feed_binary_header(d, data, len);
        if (rc != 0)
            hb_sio_decoder_reset(d);
        return rc;
    }
    rc = parse(d, data, len, out);
    if (rc != 0) {
        hb_sio_decoder_reset(d);
        return rc;
    }
    return 1;
}
