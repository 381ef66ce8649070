/* Outgoing packets and argument text: building an EVENT or ACK from the
 * app's JSON (checked once with jansson, then spliced, never re-serialised),
 * the Engine.IO messages it becomes, CONNECT_ERROR answers, and the public
 * helpers that read and write arguments. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sio/internal.h"

int64_t hb_sio__next_ack_id(hb_nsp *nsp) {
    if (nsp->next_ack_id == INT64_MAX)
        nsp->next_ack_id = 0;
    return nsp->next_ack_id++;
}

void hb_sio__out_release(hb_sio_out *out) {
    for (size_t i = 0; i < out->n; i++)
        hb_buf_unref(out->msgs[i]);
    out->n = 0;
}

/* --- JSON strings --------------------------------------------------------------- */

/* Escapes like JSON.stringify: quote, backslash and control characters;
 * other bytes pass as they are. */
char *hb_sio__json_string_n(const char *s, size_t len) {
    static const char hex[] = "0123456789abcdef";
    size_t n = 2;
    char *out, *p;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = (uint8_t)s[i];
        n += c == '"' || c == '\\' ? 2 : c < 0x20 ? 6 : 1;
    }
    out = malloc(n + 1);
    if (out == NULL)
        return NULL;
    p = out;
    *p++ = '"';
    for (size_t i = 0; i < len; i++) {
        uint8_t c = (uint8_t)s[i];
        if (c == '"' || c == '\\') {
            *p++ = '\\';
            *p++ = (char)c;
        } else if (c < 0x20) {
            memcpy(p, "\\u00", 4);
            p[4] = hex[c >> 4];
            p[5] = hex[c & 15];
            p += 6;
        } else {
            *p++ = (char)c;
        }
    }
    *p++ = '"';
    *p = '\0';
    return out;
}

char *hb_json_string(const char *s) {
    return hb_sio__json_string_n(s, strlen(s));
}

/* --- encoding ------------------------------------------------------------------- */

static int is_ws(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The elements of a JSON array text without its brackets, trimmed; the
 * text must be an array (checked by the caller). */
static hb_slice array_inner(const char *json) {
    size_t a = 0, b = strlen(json);
    hb_slice s;
    while (a < b && is_ws(json[a]))
        a++;
    while (b > a && is_ws(json[b - 1]))
        b--;
    a++, b--; /* the brackets */
    while (a < b && is_ws(json[a]))
        a++;
    while (b > a && is_ws(json[b - 1]))
        b--;
    s.base = (const uint8_t *)json + a;
    s.len = b - a;
    return s;
}

static int is_json_array(const char *json) {
    json_t *v = json_loads(json, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    int ok = json_is_array(v);
    json_decref(v);
    return ok;
}

int hb_sio__event_data(const char *event, const char *args_json, char **data, size_t *len) {
    hb_slice inner = {(const uint8_t *)"", 0};
    char *name = NULL, *d;
    size_t cap, off = 0;
    if (args_json != NULL) {
        if (!is_json_array(args_json))
            return HB_EINVAL;
        inner = array_inner(args_json);
    }
    if (event != NULL) {
        if (hb_sio__reserved_event(event))
            return HB_EINVAL;
        if ((name = hb_sio__json_string_n(event, strlen(event))) == NULL)
            return HB_ENOMEM;
    }
    /* "[" name "," inner "]" */
    cap = 2 + (name ? strlen(name) + 1 : 0) + inner.len + 1;
    d = malloc(cap);
    if (d == NULL) {
        free(name);
        return HB_ENOMEM;
    }
    d[off++] = '[';
    if (name != NULL) {
        size_t n = strlen(name);
        memcpy(d + off, name, n);
        off += n;
        free(name);
    }
    if (inner.len > 0) {
        if (off > 1)
            d[off++] = ',';
        memcpy(d + off, inner.base, inner.len);
        off += inner.len;
    }
    d[off++] = ']';
    d[off] = '\0';
    *data = d;
    *len = off;
    return 0;
}

int hb_sio__encode_data(const hb_nsp *nsp, int type, const char *data, size_t len,
                        const hb_bin *bins, size_t nbins, int64_t id, const char *offset,
                        hb_sio_out *out) {
    hb_sio_packet p = {0};
    char *with_offset = NULL;
    hb_buf *text;
    int err;
    out->n = 0;
    if (nbins > HB_SIO_MAX_OUT_BINS)
        return HB_ETOOBIG;
    if (offset != NULL) {
        /* The offset goes in as a last argument, before the closing bracket. */
        size_t end = len, olen = strlen(offset), off;
        int empty;
        while (end > 0 && data[end - 1] != ']')
            end--;
        if (end == 0)
            return HB_EINVAL;
        end--;
        off = end;
        while (off > 0 && (data[off - 1] == ' ' || data[off - 1] == '\t' ||
                           data[off - 1] == '\n' || data[off - 1] == '\r'))
            off--;
        empty = off > 0 && data[off - 1] == '[';
        with_offset = malloc(off + olen + 5);
        if (with_offset == NULL)
            return HB_ENOMEM;
        memcpy(with_offset, data, off);
        len = off + (size_t)sprintf(with_offset + off, "%s\"%s\"]", empty ? "" : ",", offset);
        data = with_offset;
    }
    p.type = type;
    p.nsp = hb_sio_str(nsp->name);
    p.id = id;
    p.data.base = (const uint8_t *)data;
    p.data.len = len;
    p.n_attachments = nbins;
    err = hb_sio_packet_encode(&p, &text);
    free(with_offset);
    if (err != 0)
        return err;
    out->msgs[0] = hb_eio_message_new(0, text->data, text->len);
    hb_buf_unref(text);
    if (out->msgs[0] == NULL)
        return HB_ENOMEM;
    out->n = 1;
    for (size_t i = 0; i < nbins; i++) {
        out->msgs[out->n] = hb_eio_message_new(1, bins[i].data, bins[i].len);
        if (out->msgs[out->n] == NULL) {
            hb_sio__out_release(out);
            return HB_ENOMEM;
        }
        out->n++;
    }
    return 0;
}

int hb_sio__encode(const hb_nsp *nsp, int type, const char *event, const char *args_json,
                   const hb_bin *bins, size_t nbins, int64_t id, const char *offset,
                   hb_sio_out *out) {
    char *data;
    size_t len;
    int err;
    out->n = 0;
    if (nbins > HB_SIO_MAX_OUT_BINS)
        return HB_ETOOBIG;
    if (type == HB_SIO_EVENT && event == NULL)
        return HB_EINVAL;
    err = hb_sio__event_data(type == HB_SIO_EVENT ? event : NULL, args_json, &data, &len);
    if (err != 0)
        return err;
    err = hb_sio__encode_data(nsp, type, data, len, bins, nbins, id, offset, out);
    free(data);
    return err;
}

int hb_sio__send_connect_error(hb_sio_client *c, const char *nsp, const char *message,
                               const char *data_json) {
    hb_sio_packet p = {0};
    json_t *body = json_object(), *data = NULL;
    char *text_json;
    int err;
    if (body == NULL)
        return HB_ENOMEM;
    json_object_set_new(body, "message", json_string(message));
    if (data_json != NULL) {
        data = json_loads(data_json, JSON_DECODE_ANY, NULL);
        json_object_set_new(body, "data", data ? data : json_string(data_json));
    }
    text_json = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(body);
    if (text_json == NULL)
        return HB_ENOMEM;
    p.type = HB_SIO_CONNECT_ERROR;
    p.nsp = hb_sio_str(nsp);
    p.id = -1;
    p.data = hb_sio_str(text_json);
    err = hb_sio__send_packet(c, &p);
    free(text_json);
    return err;
}

int hb_sio__send_packet(hb_sio_client *c, const hb_sio_packet *p) {
    hb_sio_out out = {0};
    hb_buf *text;
    int err = hb_sio_packet_encode(p, &text);
    if (err != 0)
        return err;
    out.msgs[0] = hb_eio_message_new(0, text->data, text->len);
    hb_buf_unref(text);
    if (out.msgs[0] == NULL)
        return HB_ENOMEM;
    out.n = 1;
    err = hb_sio__client_send(c, &out);
    hb_sio__out_release(&out);
    return err;
}

/* --- arguments in ----------------------------------------------------------------- */

void hb_sio__args_make(hb_sio_server *srv, hb_slice args_text, hb_buf *const *att, size_t n,
                       hb_args *out, hb_bin *bins) {
    char *json = hb_sio__scratch(srv, args_text.len + 3);
    static char empty[] = "[]";
    if (json == NULL) {
        json = empty;
        args_text.len = 0;
    } else {
        json[0] = '[';
        if (args_text.len > 0)
            memcpy(json + 1, args_text.base, args_text.len);
        json[args_text.len + 1] = ']';
        json[args_text.len + 2] = '\0';
    }
    for (size_t i = 0; i < n; i++) {
        hb_slice b = hb_buf_payload(att[i]);
        bins[i].data = b.base;
        bins[i].len = b.len;
    }
    out->json = json;
    out->json_len = args_text.len + 2;
    out->bins = bins;
    out->nbins = n;
}

const char *hb_args_at(const hb_args *args, size_t i, size_t *len) {
    hb_slice arr = {(const uint8_t *)args->json, args->json_len}, first, rest;
    if (hb_sio_array_split(arr, &first, &rest) != 0)
        return NULL;
    while (i-- > 0 && first.len > 0)
        if (hb_sio_list_split(rest, &first, &rest) != 0)
            return NULL;
    if (first.len == 0)
        return NULL;
    *len = first.len;
    return (const char *)first.base;
}

size_t hb_args_count(const hb_args *args) {
    size_t n = 0, len;
    while (hb_args_at(args, n, &len) != NULL)
        n++;
    return n;
}

int hb_args_string(const hb_args *args, size_t i, char *out, size_t cap) {
    size_t len;
    const char *v = hb_args_at(args, i, &len);
    json_t *j;
    int n = -1;
    if (v == NULL || len == 0 || v[0] != '"')
        return -1;
    j = json_loadb(v, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (json_is_string(j) && json_string_length(j) < cap) {
        memcpy(out, json_string_value(j), json_string_length(j) + 1);
        n = (int)json_string_length(j);
    }
    json_decref(j);
    return n;
}
