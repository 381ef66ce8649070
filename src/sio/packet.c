/* The Socket.IO packet encoder, the placeholder and argument-array writers,
 * and the array splitter that turns an event's JSON into name and arguments
 * without building a tree. Everything here works on text and allocates
 * only in hb_sio_packet_encode(). */
#include "sio/packet.h"

#include <string.h>

#include "hubbub/error.h"

/* Decimal digits of v into dst (room for 20); returns the count. */
static size_t put_u64(uint8_t *dst, uint64_t v) {
    uint8_t tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (uint8_t)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    for (size_t i = 0; i < n; i++)
        dst[i] = tmp[n - 1 - i];
    return n;
}

static size_t digits_u64(uint64_t v) {
    size_t n = 1;
    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

static int is_default_nsp(hb_slice nsp) {
    return nsp.len == 0 || (nsp.len == 1 && nsp.base[0] == '/');
}

/* The type actually written: attachments decide between the plain and the
 * binary form of EVENT and ACK. */
static int wire_type(const hb_sio_packet *p) {
    switch (p->type) {
    case HB_SIO_EVENT:
    case HB_SIO_BINARY_EVENT:
        return p->n_attachments > 0 ? HB_SIO_BINARY_EVENT : HB_SIO_EVENT;
    case HB_SIO_ACK:
    case HB_SIO_BINARY_ACK:
        return p->n_attachments > 0 ? HB_SIO_BINARY_ACK : HB_SIO_ACK;
    default:
        return p->type;
    }
}

/* Only the first byte is checked: enough to catch a payload given to the
 * wrong type, and to guarantee that the data cannot be misread as part of
 * the ack id (a digit) by the peer's decoder. */
static int data_fits(int type, hb_slice data) {
    int c = data.len > 0 ? data.base[0] : -1;
    switch (type) {
    case HB_SIO_CONNECT:
        return c == -1 || c == '{';
    case HB_SIO_DISCONNECT:
        return c == -1;
    case HB_SIO_EVENT:
    case HB_SIO_BINARY_EVENT:
        return c == '[';
    case HB_SIO_ACK:
    case HB_SIO_BINARY_ACK:
        return c == -1 || c == '[';
    case HB_SIO_CONNECT_ERROR:
        return c == -1 || c == '{' || c == '"';
    default:
        return 0;
    }
}

int hb_sio_packet_encoded_len(const hb_sio_packet *p, size_t *len) {
    size_t n = 1;
    int type;

    if (p->type < HB_SIO_CONNECT || p->type > HB_SIO_BINARY_ACK || p->id < -1)
        return HB_EINVAL;
    type = wire_type(p);
    if (p->n_attachments > 0 && type != HB_SIO_BINARY_EVENT && type != HB_SIO_BINARY_ACK)
        return HB_EINVAL;
    if (!data_fits(type, p->data))
        return HB_EINVAL;
    if (type == HB_SIO_BINARY_EVENT || type == HB_SIO_BINARY_ACK)
        n += digits_u64(p->n_attachments) + 1;
    if (!is_default_nsp(p->nsp)) {
        if (p->nsp.base[0] != '/' || memchr(p->nsp.base, ',', p->nsp.len) != NULL)
            return HB_EINVAL;
        n += p->nsp.len + 1;
    }
    if (p->id >= 0)
        n += digits_u64((uint64_t)p->id);
    *len = n + p->data.len;
    return 0;
}

size_t hb_sio_packet_write(const hb_sio_packet *p, uint8_t *dst) {
    int type = wire_type(p);
    size_t n = 0;

    dst[n++] = (uint8_t)('0' + type);
    if (type == HB_SIO_BINARY_EVENT || type == HB_SIO_BINARY_ACK) {
        n += put_u64(dst + n, p->n_attachments);
        dst[n++] = '-';
    }
    if (!is_default_nsp(p->nsp)) {
        memcpy(dst + n, p->nsp.base, p->nsp.len);
        n += p->nsp.len;
        dst[n++] = ',';
    }
    if (p->id >= 0)
        n += put_u64(dst + n, (uint64_t)p->id);
    if (p->data.len > 0) {
        memcpy(dst + n, p->data.base, p->data.len);
        n += p->data.len;
    }
    return n;
}

int hb_sio_packet_encode(const hb_sio_packet *p, hb_buf **out) {
    size_t len;
    hb_buf *b;
    int rc = hb_sio_packet_encoded_len(p, &len);

    if (rc != 0)
        return rc;
    b = hb_buf_new(len);
    if (b == NULL)
        return HB_ENOMEM;
    b->len = hb_sio_packet_write(p, b->data);
    *out = b;
    return 0;
}

size_t hb_sio_placeholder(char dst[HB_SIO_PLACEHOLDER_MAX], uint32_t num) {
    static const char head[] = "{\"_placeholder\":true,\"num\":";
    size_t n = sizeof(head) - 1;

    memcpy(dst, head, n);
    n += put_u64((uint8_t *)dst + n, num);
    dst[n++] = '}';
    dst[n] = '\0';
    return n;
}

size_t hb_sio_args_len(const hb_sio_arg *args, size_t n) {
    size_t len = 2, items = 0;
    uint32_t num = 0;

    for (size_t i = 0; i < n; i++) {
        if (args[i].binary) {
            char ph[HB_SIO_PLACEHOLDER_MAX];
            len += hb_sio_placeholder(ph, num++);
        } else if (args[i].json.len > 0) {
            len += args[i].json.len;
        } else {
            continue;
        }
        items++;
    }
    return len + (items > 0 ? items - 1 : 0);
}

size_t hb_sio_args_write(const hb_sio_arg *args, size_t n, uint8_t *dst, size_t *n_binary) {
    size_t len = 0, items = 0;
    uint32_t num = 0;

    dst[len++] = '[';
    for (size_t i = 0; i < n; i++) {
        if (!args[i].binary && args[i].json.len == 0)
            continue;
        if (items++ > 0)
            dst[len++] = ',';
        if (args[i].binary) {
            char ph[HB_SIO_PLACEHOLDER_MAX];
            size_t k = hb_sio_placeholder(ph, num++);
            memcpy(dst + len, ph, k);
            len += k;
        } else {
            memcpy(dst + len, args[i].json.base, args[i].json.len);
            len += args[i].json.len;
        }
    }
    dst[len++] = ']';
    if (n_binary != NULL)
        *n_binary = num;
    return len;
}

/* JSON's insignificant whitespace (RFC 8259), the set JSON.parse skips. */
static int is_ws(uint8_t c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The end of the JSON value starting at s[i] (i < end): one past a string's
 * closing quote, a container's matching bracket, or a scalar's last byte.
 * Returns CUT when a string or container is not closed before end. Strings
 * are skipped escape-aware so that brackets and commas inside them do not
 * count. */
#define CUT SIZE_MAX

static size_t value_end(const uint8_t *s, size_t i, size_t end) {
    size_t depth = 0;

    while (i < end) {
        uint8_t c = s[i];
        if (c == '"') {
            for (i++; i < end && s[i] != '"'; i++) {
                if (s[i] == '\\')
                    i++;
            }
            if (i >= end)
                return CUT;
            i++;
            if (depth == 0)
                return i;
        } else if (c == '[' || c == '{') {
            depth++;
            i++;
        } else if (c == ']' || c == '}') {
            if (depth == 0) /* a closer with no opener: the scalar ended */
                return i;
            i++;
            if (--depth == 0)
                return i;
        } else if (depth == 0 && (c == ',' || is_ws(c))) {
            return i;
        } else {
            i++;
        }
    }
    return depth > 0 ? CUT : end;
}

int hb_sio_list_split(hb_slice list, hb_slice *first, hb_slice *rest) {
    const uint8_t *s = list.base;
    size_t b = 0, e = list.len, i, j;

    while (b < e && is_ws(s[b]))
        b++;
    while (e > b && is_ws(s[e - 1]))
        e--;
    if (b == e) {
        first->base = rest->base = s + b;
        first->len = rest->len = 0;
        return 0;
    }
    i = value_end(s, b, e);
    if (i == b || i == CUT) /* starts with ',' or a stray closer, or is cut */
        return HB_EINVAL;
    j = i;
    while (j < e && is_ws(s[j]))
        j++;
    if (j < e) {
        if (s[j] != ',')
            return HB_EINVAL;
        j++;
        while (j < e && is_ws(s[j]))
            j++;
    }
    first->base = s + b;
    first->len = i - b;
    rest->base = s + j;
    rest->len = e - j;
    return 0;
}

int hb_sio_array_split(hb_slice arr, hb_slice *first, hb_slice *rest) {
    const uint8_t *s = arr.base;
    size_t b = 0, e = arr.len;
    hb_slice inner;

    while (b < e && is_ws(s[b]))
        b++;
    while (e > b && is_ws(s[e - 1]))
        e--;
    if (e - b < 2 || s[b] != '[' || s[e - 1] != ']')
        return HB_EINVAL;
    inner.base = s + b + 1;
    inner.len = e - b - 2;
    return hb_sio_list_split(inner, first, rest);
}
