/* socket.io's Redis adapter format (cluster/proto.h): MessagePack
 * broadcasts built from and read into Hubbub's JSON-text arguments, JSON
 * requests, and the channel names. JSON is parsed with jansson; MessagePack
 * is read and written with msgpack-c. */
#include "cluster/proto.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <msgpack.h>

#include "core/utf8.h"
#include "hubbub/error.h"

#define MAX_BINS 64

/* --- channels --------------------------------------------------------------------- */

static char *join3(const char *a, size_t alen, const char *b, size_t blen, const char *c,
                   size_t clen, size_t *len) {
    char *s = malloc(alen + blen + clen + 1);
    if (s == NULL)
        return NULL;
    memcpy(s, a, alen);
    memcpy(s + alen, b, blen);
    memcpy(s + alen + blen, c, clen);
    s[alen + blen + clen] = '\0';
    *len = alen + blen + clen;
    return s;
}

char *hb_cluster_proto_bcast_channel(const char *nsp, const hb_slice *rooms, size_t nrooms,
                                     size_t *len) {
    static const char prefix[] = HB_CLUSTER_KEY "#";
    size_t nlen = strlen(nsp);
    char *head, *s;
    size_t hlen;
    if (nrooms != 1)
        return join3(prefix, sizeof(prefix) - 1, nsp, nlen, "#", 1, len);
    head = join3(prefix, sizeof(prefix) - 1, nsp, nlen, "#", 1, &hlen);
    if (head == NULL)
        return NULL;
    s = join3(head, hlen, (const char *)rooms[0].base, rooms[0].len, "#", 1, len);
    free(head);
    return s;
}

char *hb_cluster_proto_req_channel(const char *nsp, size_t *len) {
    static const char prefix[] = HB_CLUSTER_KEY "-request#";
    return join3(prefix, sizeof(prefix) - 1, nsp, strlen(nsp), "#", 1, len);
}

char *hb_cluster_proto_req_channel_nsp(const char *channel, size_t len) {
    static const char prefix[] = HB_CLUSTER_KEY "-request#";
    size_t plen = sizeof(prefix) - 1, n;
    char *nsp;
    if (len < plen + 2 || memcmp(channel, prefix, plen) != 0 || channel[len - 1] != '#' ||
        channel[plen] != '/')
        return NULL;
    n = len - plen - 1;
    if (memchr(channel + plen, '\0', n) != NULL || (nsp = malloc(n + 1)) == NULL)
        return NULL;
    memcpy(nsp, channel + plen, n);
    nsp[n] = '\0';
    return nsp;
}

/* --- JSON text to MessagePack --------------------------------------------------------- */

/* The placeholder index of o, or -1 when o is not {"_placeholder":true,"num":i}. */
static int placeholder_num(json_t *o) {
    json_t *num;
    json_int_t n;
    if (json_object_size(o) != 2 || !json_is_true(json_object_get(o, "_placeholder")))
        return -1;
    num = json_object_get(o, "num");
    if (!json_is_integer(num))
        return -1;
    n = json_integer_value(num);
    return n >= 0 && n < MAX_BINS ? (int)n : -1;
}

static int pack_json(msgpack_packer *pk, json_t *v, const hb_bin *bins, size_t nbins) {
    int err = 0;
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *key;
        json_t *x;
        int num = placeholder_num(v);
        if (num >= 0 && (size_t)num < nbins) {
            err = msgpack_pack_bin(pk, bins[num].len);
            if (err == 0 && bins[num].len > 0)
                err = msgpack_pack_bin_body(pk, bins[num].data, bins[num].len);
            return err;
        }
        err = msgpack_pack_map(pk, json_object_size(v));
        json_object_foreach(v, key, x) {
            size_t klen = strlen(key);
            if (err == 0)
                err = msgpack_pack_str_with_body(pk, key, klen);
            if (err == 0)
                err = pack_json(pk, x, bins, nbins);
        }
        return err;
    }
    case JSON_ARRAY: {
        size_t i;
        json_t *x;
        err = msgpack_pack_array(pk, json_array_size(v));
        json_array_foreach(v, i, x) {
            if (err == 0)
                err = pack_json(pk, x, bins, nbins);
        }
        return err;
    }
    case JSON_STRING:
        return msgpack_pack_str_with_body(pk, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        return msgpack_pack_int64(pk, (int64_t)json_integer_value(v));
    case JSON_REAL:
        return msgpack_pack_double(pk, json_real_value(v));
    case JSON_TRUE:
        return msgpack_pack_true(pk);
    case JSON_FALSE:
        return msgpack_pack_false(pk);
    case JSON_NULL:
        return msgpack_pack_nil(pk);
    }
    return -1;
}

static int pack_cstr(msgpack_packer *pk, const char *s) {
    return msgpack_pack_str_with_body(pk, s, strlen(s));
}

/* A map entry "key": value (string), and "key": value (integer). */
static int pack_str_field(msgpack_packer *pk, const char *key, const char *value) {
    int err = pack_cstr(pk, key);
    return err != 0 ? err : pack_cstr(pk, value);
}

static int pack_int_field(msgpack_packer *pk, const char *key, int value) {
    int err = pack_cstr(pk, key);
    return err != 0 ? err : msgpack_pack_int(pk, value);
}

static int pack_rooms(msgpack_packer *pk, const hb_slice *rooms, size_t n) {
    int err = msgpack_pack_array(pk, n);
    for (size_t i = 0; i < n && err == 0; i++)
        err = msgpack_pack_str_with_body(pk, rooms[i].base, rooms[i].len);
    return err;
}

/* The packet {type: 2, data, nsp}, as socket.io's BroadcastOperator
 * builds it. */
static int pack_packet(msgpack_packer *pk, const hb_sio_bus_msg *m, json_t *data) {
    int err = msgpack_pack_map(pk, 3);
    if (err == 0)
        err = pack_int_field(pk, "type", 2);
    if (err == 0)
        err = pack_cstr(pk, "data");
    if (err == 0)
        err = pack_json(pk, data, m->bins, m->nbins);
    if (err == 0)
        err = pack_str_field(pk, "nsp", m->nsp);
    return err;
}

/* The options {rooms, except, flags: {volatile?, timeout?}}. */
static int pack_opts(msgpack_packer *pk, const hb_sio_bus_msg *m, unsigned timeout_ms) {
    int err = msgpack_pack_map(pk, 3);
    if (err == 0)
        err = pack_cstr(pk, "rooms");
    if (err == 0)
        err = pack_rooms(pk, m->rooms, m->nrooms);
    if (err == 0)
        err = pack_cstr(pk, "except");
    if (err == 0)
        err = pack_rooms(pk, m->except, m->nexcept);
    if (err == 0)
        err = pack_cstr(pk, "flags");
    if (err == 0)
        err = msgpack_pack_map(pk, (m->is_volatile ? 1 : 0) + (timeout_ms > 0 ? 1 : 0));
    if (err == 0 && m->is_volatile) {
        err = pack_cstr(pk, "volatile");
        if (err == 0)
            err = msgpack_pack_true(pk);
    }
    if (err == 0 && timeout_ms > 0) {
        err = pack_cstr(pk, "timeout");
        if (err == 0)
            err = msgpack_pack_unsigned_int(pk, timeout_ms);
    }
    return err;
}

static int finish_sbuf(msgpack_sbuffer *sb, int err, uint8_t **out, size_t *len) {
    if (err != 0) {
        msgpack_sbuffer_destroy(sb);
        return HB_ENOMEM;
    }
    *len = sb->size;
    *out = (uint8_t *)msgpack_sbuffer_release(sb);
    if (*out == NULL) /* an empty buffer is never released: cannot happen here */
        return HB_ENOMEM;
    return 0;
}

static json_t *load_array(const hb_slice *text) {
    json_t *data = json_loadb((const char *)text->base, text->len,
                              JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (!json_is_array(data)) {
        json_decref(data);
        return NULL;
    }
    return data;
}

int hb_cluster_proto_encode_bcast(const char *uid, const hb_sio_bus_msg *m, uint8_t **out,
                                  size_t *len) {
    msgpack_sbuffer sb;
    msgpack_packer pk;
    json_t *data = load_array(&m->data);
    int err;
    if (data == NULL)
        return HB_EINVAL;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    err = msgpack_pack_array(&pk, 3);
    if (err == 0)
        err = pack_cstr(&pk, uid);
    if (err == 0)
        err = pack_packet(&pk, m, data);
    if (err == 0)
        err = pack_opts(&pk, m, 0);
    json_decref(data);
    return finish_sbuf(&sb, err, out, len);
}

int hb_cluster_proto_encode_bcast_req(const char *uid, const char *req_id,
                                      const hb_sio_bus_msg *m, unsigned timeout_ms, uint8_t **out,
                                      size_t *len) {
    msgpack_sbuffer sb;
    msgpack_packer pk;
    json_t *data = load_array(&m->data);
    int err;
    if (data == NULL)
        return HB_EINVAL;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    /* {uid, requestId, type: 7, packet, opts}, as RedisAdapter.broadcastWithAck */
    err = msgpack_pack_map(&pk, 5);
    if (err == 0)
        err = pack_str_field(&pk, "uid", uid);
    if (err == 0)
        err = pack_str_field(&pk, "requestId", req_id);
    if (err == 0)
        err = pack_int_field(&pk, "type", HB_CLUSTER_REQ_BROADCAST);
    if (err == 0)
        err = pack_cstr(&pk, "packet");
    if (err == 0)
        err = pack_packet(&pk, m, data);
    if (err == 0)
        err = pack_cstr(&pk, "opts");
    if (err == 0)
        err = pack_opts(&pk, m, timeout_ms);
    json_decref(data);
    return finish_sbuf(&sb, err, out, len);
}

int hb_cluster_proto_encode_ack(const char *req_id, const char *json, size_t jlen,
                                const hb_bin *bins, size_t nbins, uint8_t **out, size_t *len) {
    msgpack_sbuffer sb;
    msgpack_packer pk;
    json_t *v = json_loadb(json, jlen, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    int err;
    if (v == NULL)
        return HB_EINVAL;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    /* {type: 9, requestId, packet}, as the adapter's ack relay */
    err = msgpack_pack_map(&pk, 3);
    if (err == 0)
        err = pack_int_field(&pk, "type", HB_CLUSTER_REQ_BROADCAST_ACK);
    if (err == 0)
        err = pack_str_field(&pk, "requestId", req_id);
    if (err == 0)
        err = pack_cstr(&pk, "packet");
    if (err == 0)
        err = pack_json(&pk, v, bins, nbins);
    json_decref(v);
    return finish_sbuf(&sb, err, out, len);
}

/* --- MessagePack to JSON text ------------------------------------------------------------- */

typedef struct sbuf {
    char *s;
    size_t len, cap;
    int oom;
} sbuf;

static void put(sbuf *b, const void *p, size_t n) {
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->len + n + 1) * 2;
        char *s = realloc(b->s, cap);
        if (s == NULL) {
            b->oom = 1;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
    memcpy(b->s + b->len, p, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void puts_(sbuf *b, const char *s) {
    put(b, s, strlen(s));
}

/* The length of the well-formed UTF-8 sequence at s, or 0. */
static size_t utf8_seq(const uint8_t *s, size_t n) {
    size_t want = s[0] < 0x80 ? 1 : (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3
                : (s[0] & 0xF8) == 0xF0 ? 4 : 0;
    if (want == 0 || want > n || !hb_utf8_valid(s, want))
        return 0;
    return want;
}

/* A JSON string as JSON.stringify writes it, invalid UTF-8 as U+FFFD. */
static void put_string(sbuf *b, const uint8_t *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    int valid = hb_utf8_valid(s, n);
    size_t i = 0, run = 0;
    put(b, "\"", 1);
    while (i < n) {
        uint8_t c = s[i];
        size_t seq = 1;
        if (c == '"' || c == '\\' || c < 0x20) {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            put(b, s + run, i - run);
            if (c == '"' || c == '\\') {
                char two[2] = {'\\', (char)c};
                put(b, two, 2);
            } else {
                put(b, esc, 6);
            }
            run = ++i;
            continue;
        }
        if (!valid && c >= 0x80 && (seq = utf8_seq(s + i, n - i)) == 0) {
            put(b, s + run, i - run);
            put(b, "\xEF\xBF\xBD", 3);
            run = ++i;
            continue;
        }
        i += seq;
    }
    put(b, s + run, n - run);
    put(b, "\"", 1);
}

/* A number in its shortest form that reads back the same. */
static void put_double(sbuf *b, double d) {
    char tmp[40], out[40];
    size_t o = 0;
    if (!isfinite(d)) {
        puts_(b, "null"); /* as JSON.stringify */
        return;
    }
    if (d == 0) {
        puts_(b, "0");
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    /* "1e-07" -> "1e-7", as JavaScript writes exponents */
    for (size_t i = 0; tmp[i] != '\0'; i++) {
        out[o++] = tmp[i];
        if (tmp[i] == 'e') {
            i++;
            out[o++] = tmp[i]; /* the sign */
            while (tmp[i + 1] == '0' && tmp[i + 2] != '\0')
                i++;
        }
    }
    out[o] = '\0';
    puts_(b, out);
}

typedef struct to_json {
    sbuf out;
    hb_bin *bins;
    size_t nbins;
    int too_many;
} to_json;

static void put_value(to_json *tj, const msgpack_object *o);

static void put_key(to_json *tj, const msgpack_object *k) {
    char tmp[32];
    switch (k->type) {
    case MSGPACK_OBJECT_STR:
        put_string(&tj->out, (const uint8_t *)k->via.str.ptr, k->via.str.size);
        return;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        snprintf(tmp, sizeof(tmp), "\"%llu\"", (unsigned long long)k->via.u64);
        break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        snprintf(tmp, sizeof(tmp), "\"%lld\"", (long long)k->via.i64);
        break;
    case MSGPACK_OBJECT_BOOLEAN:
        snprintf(tmp, sizeof(tmp), "\"%s\"", k->via.boolean ? "true" : "false");
        break;
    default:
        snprintf(tmp, sizeof(tmp), "\"\"");
        break;
    }
    puts_(&tj->out, tmp);
}

static void put_value(to_json *tj, const msgpack_object *o) {
    char tmp[32];
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
    case MSGPACK_OBJECT_EXT: /* undefined, Date...: no JSON form worth guessing */
        puts_(&tj->out, "null");
        return;
    case MSGPACK_OBJECT_BOOLEAN:
        puts_(&tj->out, o->via.boolean ? "true" : "false");
        return;
    /* An integer beyond int64 is written as a double, as JavaScript reads
     * it anyway: JSON readers that keep integers in 64 bits (jansson) can
     * take it then. The int64 range stays exact between Hubbub nodes. */
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        if (o->via.u64 > (uint64_t)INT64_MAX) {
            put_double(&tj->out, (double)o->via.u64);
            return;
        }
        snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)o->via.u64);
        puts_(&tj->out, tmp);
        return;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        snprintf(tmp, sizeof(tmp), "%lld", (long long)o->via.i64);
        puts_(&tj->out, tmp);
        return;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        put_double(&tj->out, o->via.f64);
        return;
    case MSGPACK_OBJECT_STR:
        put_string(&tj->out, (const uint8_t *)o->via.str.ptr, o->via.str.size);
        return;
    case MSGPACK_OBJECT_BIN:
        if (tj->nbins == MAX_BINS) {
            tj->too_many = 1;
            puts_(&tj->out, "null");
            return;
        }
        tj->bins[tj->nbins].data = (const uint8_t *)o->via.bin.ptr;
        tj->bins[tj->nbins].len = o->via.bin.size;
        snprintf(tmp, sizeof(tmp), "{\"_placeholder\":true,\"num\":%zu}", tj->nbins);
        tj->nbins++;
        puts_(&tj->out, tmp);
        return;
    case MSGPACK_OBJECT_ARRAY:
        put(&tj->out, "[", 1);
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            if (i > 0)
                put(&tj->out, ",", 1);
            put_value(tj, &o->via.array.ptr[i]);
        }
        put(&tj->out, "]", 1);
        return;
    case MSGPACK_OBJECT_MAP:
        put(&tj->out, "{", 1);
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            if (i > 0)
                put(&tj->out, ",", 1);
            put_key(tj, &o->via.map.ptr[i].key);
            put(&tj->out, ":", 1);
            put_value(tj, &o->via.map.ptr[i].val);
        }
        put(&tj->out, "}", 1);
        return;
    }
    puts_(&tj->out, "null");
}

/* --- jansson values to JSON text ------------------------------------------------------------ */

/* A number as JavaScript writes it: an integral value below 1e21 in full
 * (jansson reads every integer of the adapter's JSON as a double here, and
 * 100 must stay "100", not "1e+2"), the others in their shortest form.
 * Beyond 2^53 JavaScript writes the shortest digits that read back, then
 * zeros: 2^64 is 18446744073709552000. */
static void put_number(sbuf *b, double d) {
    char tmp[48], out[48];
    int prec, exp, zeros;
    size_t o = 0;
    if (d == 0 || !isfinite(d) || fabs(d) >= 1e21 || d != trunc(d)) {
        put_double(b, d);
        return;
    }
    if (fabs(d) < 9007199254740992.0) {
        snprintf(tmp, sizeof(tmp), "%.0f", d);
        puts_(b, tmp);
        return;
    }
    for (prec = 1; prec < 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, d); /* "-1.8446744073709552e+19" */
    exp = atoi(strchr(tmp, 'e') + 1);
    zeros = exp - (prec - 1);
    for (const char *p = tmp; *p != 'e'; p++)
        if (*p != '.')
            out[o++] = *p;
    while (zeros-- > 0)
        out[o++] = '0';
    out[o] = '\0';
    puts_(b, out);
}

/* v as JSON.stringify would write it: numbers in their shortest form
 * (jansson's own dump writes 0.1 as 0.10000000000000001), keys in their
 * order. For values read from JSON, so nothing here can be invalid. */
static void put_json(sbuf *b, json_t *v) {
    char tmp[32];
    const char *key;
    json_t *x;
    size_t i;
    int first = 1;
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        put(b, "{", 1);
        json_object_foreach(v, key, x) {
            if (!first)
                put(b, ",", 1);
            first = 0;
            put_string(b, (const uint8_t *)key, strlen(key));
            put(b, ":", 1);
            put_json(b, x);
        }
        put(b, "}", 1);
        return;
    case JSON_ARRAY:
        put(b, "[", 1);
        json_array_foreach(v, i, x) {
            if (i > 0)
                put(b, ",", 1);
            put_json(b, x);
        }
        put(b, "]", 1);
        return;
    case JSON_STRING:
        put_string(b, (const uint8_t *)json_string_value(v), json_string_length(v));
        return;
    case JSON_INTEGER:
        snprintf(tmp, sizeof(tmp), "%lld", (long long)json_integer_value(v));
        puts_(b, tmp);
        return;
    case JSON_REAL:
        put_number(b, json_real_value(v));
        return;
    case JSON_TRUE:
        puts_(b, "true");
        return;
    case JSON_FALSE:
        puts_(b, "false");
        return;
    case JSON_NULL:
        break;
    }
    puts_(b, "null");
}

/* --- decoding a broadcast ----------------------------------------------------------------- */

static int str_is(const msgpack_object *o, const char *s) {
    size_t n = strlen(s);
    return o->type == MSGPACK_OBJECT_STR && o->via.str.size == n && memcmp(o->via.str.ptr, s, n) == 0;
}

static const msgpack_object *map_get(const msgpack_object *m, const char *key) {
    if (m->type != MSGPACK_OBJECT_MAP)
        return NULL;
    for (uint32_t i = 0; i < m->via.map.size; i++)
        if (str_is(&m->via.map.ptr[i].key, key))
            return &m->via.map.ptr[i].val;
    return NULL;
}

/* Room names from an array of strings into out. Returns the count, or -1
 * when one is not a string: skipping it would widen "to" or narrow
 * "except", so such a message is refused instead. */
static long read_rooms(const msgpack_object *arr, hb_slice *out) {
    long n = 0;
    if (arr == NULL || arr->type != MSGPACK_OBJECT_ARRAY)
        return 0;
    for (uint32_t i = 0; i < arr->via.array.size; i++) {
        const msgpack_object *r = &arr->via.array.ptr[i];
        if (r->type != MSGPACK_OBJECT_STR)
            return -1;
        out[n].base = (const uint8_t *)r->via.str.ptr;
        out[n].len = r->via.str.size;
        n++;
    }
    return n;
}

static size_t array_len(const msgpack_object *o) {
    return o != NULL && o->type == MSGPACK_OBJECT_ARRAY ? o->via.array.size : 0;
}

static uint64_t be(const uint8_t *p, size_t n) {
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* Whether data could hold the MessagePack value it starts with: every
 * array and map announces no more elements than bytes remain. msgpack-c
 * allocates what a container announces before reading it, so five bytes
 * could otherwise ask for gigabytes. */
static int plausible(const uint8_t *data, size_t len) {
    uint64_t need = 1; /* values still to read */
    size_t pos = 0;
    while (need > 0) {
        uint8_t t;
        uint64_t skip = 0, n = 0;
        if (pos >= len)
            return 0;
        t = data[pos++];
        need--;
        if (t <= 0x7f || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3)
            continue;
        if ((t & 0xf0) == 0x80 || (t & 0xf0) == 0x90) {
            n = (t & 0x0f) * ((t & 0xf0) == 0x80 ? 2u : 1u);
        } else if ((t & 0xe0) == 0xa0) {
            skip = t & 0x1f;
        } else {
            static const uint8_t width[] = {
                /* c4 bin8..c6 bin32 */ 1, 2, 4,
                /* c7 ext8..c9 ext32 */ 1, 2, 4,
                /* ca float32, cb float64 */ 4, 8,
                /* cc..cf uint, d0..d3 int */ 1, 2, 4, 8, 1, 2, 4, 8,
                /* d4..d8 fixext */ 2, 3, 5, 9, 17,
                /* d9..db str */ 1, 2, 4,
                /* dc, dd array; de, df map */ 2, 4, 2, 4};
            size_t w;
            if (t < 0xc4)
                return 0; /* 0xc1: never used */
            w = width[t - 0xc4];
            if (len - pos < w)
                return 0;
            if (t <= 0xc6 || (t >= 0xd9 && t <= 0xdb))
                skip = be(data + pos, w); /* bin, str: length */
            else if (t <= 0xc9)
                skip = be(data + pos, w) + 1; /* ext: length, then its type */
            else if (t >= 0xdc)
                n = be(data + pos, w) * (t >= 0xde ? 2u : 1u);
            pos += t <= 0xc9 || t >= 0xd9 ? w : 0;
            if (t > 0xc9 && t < 0xd9)
                skip = w; /* a number or a fixext: its bytes */
        }
        if (skip > len - pos)
            return 0;
        pos += (size_t)skip;
        need += n;
        if (need > len - pos)
            return 0; /* each value takes a byte at least */
    }
    return 1;
}

static int unpack(const uint8_t *data, size_t len, hb_cluster_bcast *b) {
    msgpack_unpacked *up;
    size_t off = 0;
    if (!plausible(data, len))
        return HB_EINVAL;
    if ((up = malloc(sizeof(*up))) == NULL)
        return HB_ENOMEM;
    msgpack_unpacked_init(up);
    b->unpacked = up;
    switch (msgpack_unpack_next(up, (const char *)data, len, &off)) {
    case MSGPACK_UNPACK_SUCCESS:
        return 0;
    case MSGPACK_UNPACK_NOMEM_ERROR:
        return HB_ENOMEM;
    default:
        return HB_EINVAL;
    }
}

/* Fills b from an EVENT packet {type, data, nsp} and its options {rooms,
 * except, flags}. */
static int decode_event(const msgpack_object *packet, const msgpack_object *opts,
                        hb_cluster_bcast *b) {
    const msgpack_object *type, *pdata, *nsp, *rooms, *except, *flags, *vol;
    to_json tj;
    size_t nslices;
    long nr, ne;
    type = map_get(packet, "type");
    pdata = map_get(packet, "data");
    nsp = map_get(packet, "nsp");
    /* An EVENT (socket.io sends binary events as 2 and lets its encoder
     * decide; an older sender may say 5). */
    if (type == NULL || type->type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
        (type->via.u64 != 2 && type->via.u64 != 5) || pdata == NULL ||
        pdata->type != MSGPACK_OBJECT_ARRAY || pdata->via.array.size == 0)
        return HB_EINVAL;
    if (nsp != NULL && nsp->type == MSGPACK_OBJECT_STR) {
        if (nsp->via.str.size == 0 || memchr(nsp->via.str.ptr, '\0', nsp->via.str.size) != NULL)
            return HB_EINVAL;
        b->nsp = malloc(nsp->via.str.size + 1);
        if (b->nsp == NULL)
            return HB_ENOMEM;
        memcpy(b->nsp, nsp->via.str.ptr, nsp->via.str.size);
        b->nsp[nsp->via.str.size] = '\0';
    } else if ((b->nsp = strdup("/")) == NULL) {
        return HB_ENOMEM;
    }
    memset(&tj, 0, sizeof(tj));
    tj.bins = b->bins;
    put_value(&tj, pdata);
    if (tj.out.oom) {
        free(tj.out.s);
        return HB_ENOMEM;
    }
    if (tj.too_many) {
        free(tj.out.s);
        return HB_EINVAL;
    }
    b->json = tj.out.s;
    rooms = opts ? map_get(opts, "rooms") : NULL;
    except = opts ? map_get(opts, "except") : NULL;
    flags = opts ? map_get(opts, "flags") : NULL;
    vol = flags ? map_get(flags, "volatile") : NULL;
    nslices = array_len(rooms) + array_len(except);
    /* Never NULL, even for none: rooms + 0 must be a valid pointer. */
    if ((b->rooms = malloc((nslices ? nslices : 1) * sizeof(*b->rooms))) == NULL)
        return HB_ENOMEM;
    b->msg.nsp = b->nsp;
    b->msg.rooms = b->rooms;
    if ((nr = read_rooms(rooms, b->rooms)) < 0 ||
        (ne = read_rooms(except, b->rooms + nr)) < 0)
        return HB_EINVAL;
    b->msg.nrooms = (size_t)nr;
    b->msg.except = b->rooms + nr;
    b->msg.nexcept = (size_t)ne;
    b->msg.is_volatile = vol != NULL && vol->type == MSGPACK_OBJECT_BOOLEAN && vol->via.boolean;
    b->msg.data.base = (const uint8_t *)b->json;
    b->msg.data.len = tj.out.len;
    b->msg.bins = b->bins;
    b->msg.nbins = tj.nbins;
    if (flags != NULL) {
        const msgpack_object *t = map_get(flags, "timeout");
        if (t != NULL && t->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
            b->timeout_ms = t->via.u64 > 0x7fffffff ? 0x7fffffff : (unsigned)t->via.u64;
        else if (t != NULL && t->type == MSGPACK_OBJECT_FLOAT64 && t->via.f64 >= 1 &&
                 t->via.f64 <= 0x7fffffff)
            b->timeout_ms = (unsigned)t->via.f64;
    }
    return 0;
}

static hb_slice str_slice(const msgpack_object *o) {
    hb_slice s = {NULL, 0};
    if (o != NULL && o->type == MSGPACK_OBJECT_STR) {
        s.base = (const uint8_t *)o->via.str.ptr;
        s.len = o->via.str.size;
    }
    return s;
}

int hb_cluster_proto_decode_bcast(const uint8_t *data, size_t len, hb_cluster_bcast *b) {
    const msgpack_object *root;
    int err;
    memset(b, 0, sizeof(*b));
    if ((err = unpack(data, len, b)) != 0)
        goto fail;
    root = &((msgpack_unpacked *)b->unpacked)->data;
    err = HB_EINVAL;
    if (root->type != MSGPACK_OBJECT_ARRAY || root->via.array.size < 2)
        goto fail;
    b->uid = str_slice(&root->via.array.ptr[0]);
    err = decode_event(&root->via.array.ptr[1],
                       root->via.array.size > 2 ? &root->via.array.ptr[2] : NULL, b);
    if (err == 0)
        return 0;
fail:
    hb_cluster_proto_bcast_release(b);
    return err;
}

int hb_cluster_proto_decode_bcast_req(const uint8_t *data, size_t len, hb_cluster_bcast *b) {
    const msgpack_object *root, *type, *packet;
    int err;
    memset(b, 0, sizeof(*b));
    if ((err = unpack(data, len, b)) != 0)
        goto fail;
    root = &((msgpack_unpacked *)b->unpacked)->data;
    err = HB_EINVAL;
    type = map_get(root, "type");
    packet = map_get(root, "packet");
    if (type == NULL || type->type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
        type->via.u64 != HB_CLUSTER_REQ_BROADCAST || packet == NULL)
        goto fail;
    b->uid = str_slice(map_get(root, "uid"));
    b->req_id = str_slice(map_get(root, "requestId"));
    if (b->req_id.len == 0)
        goto fail;
    err = decode_event(packet, map_get(root, "opts"), b);
    if (err == 0)
        return 0;
fail:
    hb_cluster_proto_bcast_release(b);
    return err;
}

void hb_cluster_proto_bcast_release(hb_cluster_bcast *b) {
    if (b->unpacked != NULL) {
        msgpack_unpacked_destroy(b->unpacked);
        free(b->unpacked);
    }
    free(b->nsp);
    free(b->rooms);
    free(b->json);
    memset(b, 0, sizeof(*b));
}

/* --- requests ------------------------------------------------------------------------- */

static json_t *rooms_json(const hb_slice *rooms, size_t n) {
    json_t *a = json_array();
    for (size_t i = 0; i < n && a != NULL; i++)
        if (json_array_append_new(a, json_stringn((const char *)rooms[i].base, rooms[i].len)) != 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

int hb_cluster_proto_encode_req(const char *uid, const hb_sio_bus_req *r, char **out,
                                size_t *len) {
    json_t *o, *opts;
    int type;
    switch (r->type) {
    case HB_SIO_BUS_JOIN:
        type = HB_CLUSTER_REQ_REMOTE_JOIN;
        break;
    case HB_SIO_BUS_LEAVE:
        type = HB_CLUSTER_REQ_REMOTE_LEAVE;
        break;
    case HB_SIO_BUS_DISCONNECT:
        type = HB_CLUSTER_REQ_REMOTE_DISCONNECT;
        break;
    default:
        return HB_EINVAL;
    }
    opts = json_object();
    o = json_object();
    if (opts == NULL || o == NULL ||
        json_object_set_new(opts, "rooms", rooms_json(r->rooms, r->nrooms)) != 0 ||
        json_object_set_new(opts, "except", rooms_json(r->except, r->nexcept)) != 0 ||
        json_object_set_new(o, "uid", json_string(uid)) != 0 ||
        json_object_set_new(o, "type", json_integer(type)) != 0 ||
        json_object_set(o, "opts", opts) != 0 ||
        (type == HB_CLUSTER_REQ_REMOTE_DISCONNECT
             ? json_object_set_new(o, "close", json_boolean(r->close))
             : json_object_set_new(o, "rooms", rooms_json(r->targets, r->ntargets))) != 0) {
        json_decref(opts);
        json_decref(o);
        return HB_ENOMEM;
    }
    json_decref(opts);
    *out = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (*out == NULL)
        return HB_ENOMEM;
    *len = strlen(*out);
    return 0;
}

/* The strings of a JSON array into out (borrowing the JSON's storage). */
static size_t json_rooms(json_t *a, hb_slice *out) {
    size_t n = 0, i;
    json_t *x;
    json_array_foreach(a, i, x) {
        if (!json_is_string(x))
            continue;
        out[n].base = (const uint8_t *)json_string_value(x);
        out[n].len = json_string_length(x);
        n++;
    }
    return n;
}

int hb_cluster_proto_decode_req(const uint8_t *data, size_t len, const char *nsp,
                                hb_cluster_req *q) {
    json_t *root, *opts, *rooms, *except, *targets, *uid;
    json_int_t type;
    size_t n;
    memset(q, 0, sizeof(*q));
    if (len == 0 || data[0] != '{')
        return HB_EINVAL; /* MessagePack requests (broadcasts with acks) are not served yet */
    root = json_loadb((const char *)data, len, JSON_ALLOW_NUL, NULL);
    if (!json_is_object(root)) {
        json_decref(root);
        return HB_EINVAL;
    }
    q->json = root;
    type = json_integer_value(json_object_get(root, "type"));
    opts = json_object_get(root, "opts");
    if (!json_is_object(opts) || (type != HB_CLUSTER_REQ_REMOTE_JOIN &&
                                  type != HB_CLUSTER_REQ_REMOTE_LEAVE &&
                                  type != HB_CLUSTER_REQ_REMOTE_DISCONNECT))
        goto invalid;
    uid = json_object_get(root, "uid");
    q->uid = (char *)(json_is_string(uid) ? json_string_value(uid) : "");
    rooms = json_object_get(opts, "rooms");
    except = json_object_get(opts, "except");
    targets = type == HB_CLUSTER_REQ_REMOTE_DISCONNECT ? NULL : json_object_get(root, "rooms");
    n = json_array_size(rooms) + json_array_size(except) + json_array_size(targets);
    if ((q->slices = malloc((n ? n : 1) * sizeof(*q->slices))) == NULL) {
        hb_cluster_proto_req_release(q);
        return HB_ENOMEM;
    }
    q->req.type = type == HB_CLUSTER_REQ_REMOTE_JOIN    ? HB_SIO_BUS_JOIN
                  : type == HB_CLUSTER_REQ_REMOTE_LEAVE ? HB_SIO_BUS_LEAVE
                                                        : HB_SIO_BUS_DISCONNECT;
    q->req.nsp = nsp;
    q->req.rooms = q->slices;
    q->req.nrooms = json_rooms(rooms, q->slices);
    q->req.except = q->slices + q->req.nrooms;
    q->req.nexcept = json_rooms(except, q->slices + q->req.nrooms);
    q->req.targets = q->slices + q->req.nrooms + q->req.nexcept;
    q->req.ntargets = targets ? json_rooms(targets, q->slices + q->req.nrooms + q->req.nexcept)
                              : 0;
    q->req.close = json_is_true(json_object_get(root, "close"));
    if ((q->req.type == HB_SIO_BUS_JOIN || q->req.type == HB_SIO_BUS_LEAVE) &&
        q->req.ntargets == 0)
        goto invalid;
    return 0;
invalid:
    hb_cluster_proto_req_release(q);
    return HB_EINVAL;
}

void hb_cluster_proto_req_release(hb_cluster_req *q) {
    json_decref(q->json);
    free(q->slices);
    memset(q, 0, sizeof(*q));
}

/* --- requests this node answers, and the answers ----------------------------------------- */

char *hb_cluster_proto_resp_channel(const char *nsp, const char *uid, size_t *len) {
    static const char prefix[] = HB_CLUSTER_KEY "-response#";
    char *head, *s;
    size_t hlen;
    head = join3(prefix, sizeof(prefix) - 1, nsp, strlen(nsp), "#", 1, &hlen);
    if (head == NULL || uid == NULL) {
        if (head != NULL)
            *len = hlen;
        return head;
    }
    s = join3(head, hlen, uid, strlen(uid), "#", 1, len);
    free(head);
    return s;
}

static const char *json_str(json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

int hb_cluster_proto_decode_ask(const uint8_t *data, size_t len, const char *nsp,
                                hb_cluster_ask *a) {
    json_t *root, *opts, *rooms = NULL, *except = NULL;
    json_int_t type;
    size_t n;
    memset(a, 0, sizeof(*a));
    if (len == 0 || data[0] != '{')
        return HB_EINVAL;
    root = json_loadb((const char *)data, len, JSON_ALLOW_NUL, NULL);
    if (!json_is_object(root) || !json_is_integer(json_object_get(root, "type"))) {
        json_decref(root);
        return HB_EINVAL;
    }
    a->json = root;
    type = json_integer_value(json_object_get(root, "type"));
    opts = json_object_get(root, "opts");
    a->type = (int)type;
    a->uid = json_str(root, "uid") ? json_str(root, "uid") : "";
    a->req_id = json_str(root, "requestId") ? json_str(root, "requestId") : "";
    a->sel.nsp = nsp;
    switch (type) {
    case HB_CLUSTER_REQ_SOCKETS:
        rooms = json_object_get(root, "rooms");
        break;
    case HB_CLUSTER_REQ_ALL_ROOMS:
    case HB_CLUSTER_REQ_SERVER_SIDE_EMIT:
        break;
    case HB_CLUSTER_REQ_REMOTE_JOIN:
    case HB_CLUSTER_REQ_REMOTE_LEAVE:
    case HB_CLUSTER_REQ_REMOTE_DISCONNECT:
        /* one socket, by id (the form with opts is hb_cluster_proto_decode_req's) */
        a->sid = json_str(root, "sid");
        a->room = json_str(root, "room");
        a->close = json_is_true(json_object_get(root, "close"));
        if (json_is_object(opts) || a->sid == NULL ||
            (type != HB_CLUSTER_REQ_REMOTE_DISCONNECT && a->room == NULL))
            goto invalid;
        break;
    case HB_CLUSTER_REQ_REMOTE_FETCH:
        if (!json_is_object(opts))
            goto invalid;
        rooms = json_object_get(opts, "rooms");
        except = json_object_get(opts, "except");
        break;
    default:
        goto invalid;
    }
    n = json_array_size(rooms) + json_array_size(except);
    if ((a->slices = malloc((n ? n : 1) * sizeof(*a->slices))) == NULL) {
        hb_cluster_proto_ask_release(a);
        return HB_ENOMEM;
    }
    a->sel.rooms = a->slices;
    a->sel.nrooms = json_rooms(rooms, a->slices);
    a->sel.except = a->slices + a->sel.nrooms;
    a->sel.nexcept = json_rooms(except, a->slices + a->sel.nrooms);
    return 0;
invalid:
    hb_cluster_proto_ask_release(a);
    return HB_EINVAL;
}

void hb_cluster_proto_ask_release(hb_cluster_ask *a) {
    json_decref(a->json);
    free(a->slices);
    memset(a, 0, sizeof(*a));
}

char *hb_cluster_proto_encode_answer(const char *req_id, const char *key, const char *value,
                                     size_t vlen, size_t *len) {
    char *id = hb_cluster__json_quote(req_id);
    size_t klen = key ? strlen(key) : 0, n;
    char *out;
    if (id == NULL)
        return NULL;
    /* {"requestId":ID} or {"requestId":ID,"KEY":VALUE} */
    n = 14 + strlen(id) + (key ? 4 + klen + vlen : 0) + 1;
    out = malloc(n + 1);
    if (out != NULL) {
        size_t o = (size_t)sprintf(out, "{\"requestId\":%s", id);
        if (key != NULL) {
            o += (size_t)sprintf(out + o, ",\"%s\":", key);
            memcpy(out + o, value, vlen);
            o += vlen;
        }
        out[o++] = '}';
        out[o] = '\0';
        *len = o;
    }
    free(id);
    return out;
}

char *hb_cluster_proto_encode_count(const char *req_id, size_t count, size_t *len) {
    char *id = hb_cluster__json_quote(req_id), *out;
    int n;
    if (id == NULL)
        return NULL;
    out = malloc(strlen(id) + 64);
    if (out != NULL) {
        n = sprintf(out, "{\"type\":%d,\"requestId\":%s,\"clientCount\":%zu}",
                    HB_CLUSTER_REQ_BROADCAST_CLIENT_COUNT, id, count);
        *len = (size_t)n;
    }
    free(id);
    return out;
}

char *hb_cluster__json_quote(const char *s) {
    json_t *v = json_string(s);
    char *out = v ? json_dumps(v, JSON_ENCODE_ANY) : NULL;
    json_decref(v);
    return out;
}

int hb_cluster_proto_decode_resp(const uint8_t *data, size_t len, hb_cluster_resp *r) {
    memset(r, 0, sizeof(*r));
    if (len == 0)
        return HB_EINVAL;
    if (data[0] == '{') {
        json_t *root = json_loadb((const char *)data, len, JSON_ALLOW_NUL, NULL), *count;
        int as_real = 0;
        if (root == NULL) {
            /* An answer to serverSideEmit is any value of the app's: an
             * integer beyond 64 bits is read as JavaScript reads it. */
            root = json_loadb((const char *)data, len, JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL,
                              NULL);
            as_real = 1;
        }
        if (!json_is_object(root) || json_str(root, "requestId") == NULL) {
            json_decref(root);
            return HB_EINVAL;
        }
        r->json = root;
        r->req_id.base = (const uint8_t *)json_str(root, "requestId");
        r->req_id.len = strlen(json_str(root, "requestId"));
        r->type = (int)json_number_value(json_object_get(root, "type"));
        if (r->type == HB_CLUSTER_REQ_SERVER_SIDE_EMIT) {
            /* {"type":6,"requestId","data"}: no "data" is an ack called
             * without an argument (undefined), null to Hubbub. */
            sbuf b = {0};
            json_t *value = json_object_get(root, "data");
            if (value != NULL)
                put_json(&b, value);
            else
                puts_(&b, "null");
            if (b.oom) {
                free(b.s);
                hb_cluster_proto_resp_release(r);
                return HB_ENOMEM;
            }
            r->ack_json = b.s;
            r->ack_len = b.len;
            return 0;
        }
        if (as_real)
            goto invalid;
        count = json_object_get(root, "clientCount");
        if (json_is_integer(count) && json_integer_value(count) >= 0)
            r->client_count = (size_t)json_integer_value(count);
        else if (r->type == HB_CLUSTER_REQ_BROADCAST_CLIENT_COUNT)
            goto invalid;
        r->sockets = json_object_get(root, "sockets");
        if (r->sockets != NULL && !json_is_array(r->sockets))
            r->sockets = NULL;
        return 0;
    }
    {
        /* MessagePack: an ack {type: 9, requestId, packet} */
        hb_cluster_bcast b;
        const msgpack_object *root, *type, *packet;
        to_json tj;
        int err;
        memset(&b, 0, sizeof(b));
        if ((err = unpack(data, len, &b)) != 0) {
            hb_cluster_proto_bcast_release(&b);
            return err;
        }
        r->unpacked = b.unpacked;
        root = &((msgpack_unpacked *)b.unpacked)->data;
        type = map_get(root, "type");
        packet = map_get(root, "packet");
        r->req_id = str_slice(map_get(root, "requestId"));
        if (type == NULL || type->type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
            r->req_id.len == 0)
            goto invalid;
        r->type = (int)type->via.u64;
        if (r->type == HB_CLUSTER_REQ_BROADCAST_ACK) {
            hb_bin bins[MAX_BINS];
            memset(&tj, 0, sizeof(tj));
            tj.bins = bins;
            if (packet == NULL)
                puts_(&tj.out, "null");
            else
                put_value(&tj, packet);
            if (tj.out.oom) {
                free(tj.out.s);
                hb_cluster_proto_resp_release(r);
                return HB_ENOMEM;
            }
            r->ack_json = tj.out.s;
            r->ack_len = tj.out.len;
        }
        return 0;
    }
invalid:
    hb_cluster_proto_resp_release(r);
    return HB_EINVAL;
}

void hb_cluster_proto_resp_release(hb_cluster_resp *r) {
    json_decref(r->json);
    if (r->unpacked != NULL) {
        msgpack_unpacked_destroy(r->unpacked);
        free(r->unpacked);
    }
    free(r->ack_json);
    memset(r, 0, sizeof(*r));
}

char *hb_cluster_proto_encode_fetch_req(const char *uid, const char *req_id,
                                        const hb_sio_bus_req *sel, size_t *len) {
    json_t *o = json_object(), *opts = json_object();
    char *out = NULL;
    if (o != NULL && opts != NULL &&
        json_object_set_new(opts, "rooms", rooms_json(sel->rooms, sel->nrooms)) == 0 &&
        json_object_set_new(opts, "except", rooms_json(sel->except, sel->nexcept)) == 0 &&
        json_object_set_new(o, "uid", json_string(uid)) == 0 &&
        json_object_set_new(o, "requestId", json_string(req_id)) == 0 &&
        json_object_set_new(o, "type", json_integer(HB_CLUSTER_REQ_REMOTE_FETCH)) == 0 &&
        json_object_set(o, "opts", opts) == 0)
        out = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(opts);
    json_decref(o);
    if (out != NULL)
        *len = strlen(out);
    return out;
}

/* --- serverSideEmit (type 6) ---------------------------------------------------------- */

/* JSON.stringify'd by the adapter, numbers and all: read any integer as a
 * double, as JavaScript does, so that a value beyond 64 bits does not make
 * the whole request unreadable. */
static json_t *load_js(const char *text, size_t len) {
    return json_loadb(text, len, JSON_ALLOW_NUL | JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL,
                      NULL);
}

static int sbuf_take(sbuf *b, char **out, size_t *len) {
    if (b->oom) {
        free(b->s);
        return HB_ENOMEM;
    }
    *out = b->s;
    *len = b->len;
    return 0;
}

int hb_cluster_proto_encode_sse(const char *uid, const char *req_id, const char *event,
                                const char *args_json, size_t args_len, char **out,
                                size_t *len) {
    json_t *args = load_js(args_json, args_len), *x;
    sbuf b = {0};
    size_t i;
    if (!json_is_array(args)) {
        json_decref(args);
        return HB_EINVAL;
    }
    /* the adapter's key order: uid, requestId (with an ack only), type, data */
    puts_(&b, "{\"uid\":");
    put_string(&b, (const uint8_t *)uid, strlen(uid));
    if (req_id != NULL) {
        puts_(&b, ",\"requestId\":");
        put_string(&b, (const uint8_t *)req_id, strlen(req_id));
    }
    puts_(&b, ",\"type\":6,\"data\":[");
    put_string(&b, (const uint8_t *)event, strlen(event));
    json_array_foreach(args, i, x) {
        put(&b, ",", 1);
        put_json(&b, x);
    }
    puts_(&b, "]}");
    json_decref(args);
    return sbuf_take(&b, out, len);
}

int hb_cluster_proto_decode_sse(const uint8_t *data, size_t len, hb_cluster_sse *e) {
    json_t *root, *arr, *ev, *x;
    sbuf b = {0};
    size_t i;
    memset(e, 0, sizeof(*e));
    if (len == 0 || data[0] != '{')
        return HB_EINVAL;
    root = load_js((const char *)data, len);
    arr = json_object_get(root, "data");
    ev = json_array_get(arr, 0);
    /* socket.io emits data[0] as the event name: anything else (or a name
     * with a NUL, which C cannot name) is not an event. */
    if (!json_is_object(root) || json_number_value(json_object_get(root, "type")) != 6 ||
        !json_is_string(ev) || strlen(json_string_value(ev)) != json_string_length(ev)) {
        json_decref(root);
        return HB_EINVAL;
    }
    e->json = root;
    e->uid = json_str(root, "uid") ? json_str(root, "uid") : "";
    e->req_id = json_str(root, "requestId");
    e->event = json_string_value(ev);
    put(&b, "[", 1);
    json_array_foreach(arr, i, x) {
        if (i == 0)
            continue;
        if (i > 1)
            put(&b, ",", 1);
        put_json(&b, x);
    }
    put(&b, "]", 1);
    if (sbuf_take(&b, &e->args, &e->args_len) != 0) {
        hb_cluster_proto_sse_release(e);
        return HB_ENOMEM;
    }
    return 0;
}

void hb_cluster_proto_sse_release(hb_cluster_sse *e) {
    json_decref(e->json);
    free(e->args);
    memset(e, 0, sizeof(*e));
}

int hb_cluster_proto_encode_sse_answer(const char *req_id, const char *value, size_t vlen,
                                       char **out, size_t *len) {
    json_t *v = NULL;
    sbuf b = {0};
    if (value != NULL && (v = load_js(value, vlen)) == NULL)
        return HB_EINVAL;
    /* JSON.stringify({type, requestId, data}); data undefined is left out */
    puts_(&b, "{\"type\":6,\"requestId\":");
    put_string(&b, (const uint8_t *)req_id, strlen(req_id));
    if (v != NULL) {
        puts_(&b, ",\"data\":");
        put_json(&b, v);
    }
    put(&b, "}", 1);
    json_decref(v);
    return sbuf_take(&b, out, len);
}
