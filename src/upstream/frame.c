/* Azure Web PubSub tunnel frames: the length prefix and the MessagePack
 * subset they use (nil, bool, int, str, bin, and the one array), read
 * without allocation through a bounds-checked cursor, and written with the
 * smallest encodings, as the Azure SDK's @msgpack/msgpack writes them. */
#include "upstream/frame.h"

#include <string.h>

#include "hubbub/error.h"

/* The unread part of the N-byte body. */
typedef struct {
    const uint8_t *p;
    const uint8_t *end;
} cursor;

/* What one MessagePack value turned out to be. */
enum { K_NIL, K_BOOL, K_UINT, K_NEG, K_STR, K_BIN };

typedef struct {
    int kind;
    uint64_t u;     /* K_UINT: the value (K_NEG only says "below zero") */
    hb_slice bytes; /* K_STR, K_BIN: the payload, inside the body */
} item;

static int take(cursor *c, size_t n, const uint8_t **at) {
    if ((size_t)(c->end - c->p) < n)
        return -1;
    *at = c->p;
    c->p += n;
    return 0;
}

static uint64_t get_be(const uint8_t *p, size_t n) {
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* Reads a big-endian length of w bytes (w is 1, 2 or 4). */
static int take_len(cursor *c, size_t w, size_t *len) {
    const uint8_t *at;
    if (take(c, w, &at))
        return -1;
    *len = (size_t)get_be(at, w);
    return 0;
}

/* Reads one nil, bool, integer, str or bin. Anything else (float, ext,
 * map, array, the unused 0xc1) or a value cut short is an error: no frame
 * needs them, and refusing them keeps the skipping of extra elements
 * simple and linear. */
static int read_item(cursor *c, item *it) {
    const uint8_t *at;
    size_t w, len;
    uint8_t t;

    if (take(c, 1, &at))
        return -1;
    t = *at;
    memset(it, 0, sizeof(*it));
    if (t <= 0x7f) { /* positive fixint */
        it->kind = K_UINT;
        it->u = t;
        return 0;
    }
    if (t >= 0xe0) { /* negative fixint */
        it->kind = K_NEG;
        return 0;
    }
    if (t >= 0xa0 && t <= 0xbf) { /* fixstr */
        it->kind = K_STR;
        len = t & 0x1f;
        goto payload;
    }
    switch (t) {
    case 0xc0: it->kind = K_NIL; return 0;
    case 0xc2:
    case 0xc3: it->kind = K_BOOL; return 0;
    case 0xcc: /* uint8..uint64 */
    case 0xcd:
    case 0xce:
    case 0xcf:
        w = (size_t)1 << (t - 0xcc);
        if (take(c, w, &at))
            return -1;
        it->kind = K_UINT;
        it->u = get_be(at, w);
        return 0;
    case 0xd0: /* int8..int64: two's complement, so the top bit is the sign */
    case 0xd1:
    case 0xd2:
    case 0xd3:
        w = (size_t)1 << (t - 0xd0);
        if (take(c, w, &at))
            return -1;
        if (at[0] & 0x80) {
            it->kind = K_NEG;
        } else {
            it->kind = K_UINT;
            it->u = get_be(at, w);
        }
        return 0;
    case 0xd9: /* str8, str16, str32 */
    case 0xda:
    case 0xdb:
        it->kind = K_STR;
        if (take_len(c, (size_t)1 << (t - 0xd9), &len))
            return -1;
        goto payload;
    case 0xc4: /* bin8, bin16, bin32 */
    case 0xc5:
    case 0xc6:
        it->kind = K_BIN;
        if (take_len(c, (size_t)1 << (t - 0xc4), &len))
            return -1;
        goto payload;
    default: return -1;
    }

payload:
    if (take(c, len, &at))
        return -1;
    it->bytes.base = at;
    it->bytes.len = len;
    return 0;
}

static int read_array_header(cursor *c, uint32_t *count) {
    const uint8_t *at;
    size_t n;

    if (take(c, 1, &at))
        return -1;
    if (*at >= 0x90 && *at <= 0x9f) {
        *count = *at & 0x0f;
        return 0;
    }
    if (*at != 0xdc && *at != 0xdd)
        return -1;
    if (take_len(c, *at == 0xdc ? 2 : 4, &n))
        return -1;
    *count = (uint32_t)n;
    return 0;
}

int hb_tunnel_frame_decode(const uint8_t *data, size_t len, hb_tunnel_frame *out) {
    hb_tunnel_frame f;
    cursor c;
    uint32_t n, count;
    item it;

    if (len < 4)
        return HB_ETUNNEL_FRAME;
    n = (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 |
        (uint32_t)data[3] << 24;
    if (n > HB_TUNNEL_MAX_FRAME || n > len - 4)
        return HB_ETUNNEL_FRAME;
    c.p = data + 4;
    c.end = data + 4 + n;

    if (read_array_header(&c, &count) || count < 2)
        return HB_ETUNNEL_FRAME;
    if (read_item(&c, &it) || it.kind != K_UINT || it.u > INT32_MAX)
        return HB_ETUNNEL_FRAME;
    memset(&f, 0, sizeof(f));
    f.type = (int)it.u;
    if (read_item(&c, &it) || it.kind != K_STR)
        return HB_ETUNNEL_FRAME;
    f.json = it.bytes;
    if (count >= 3) {
        if (read_item(&c, &it))
            return HB_ETUNNEL_FRAME;
        if (it.kind == K_STR || it.kind == K_BIN) {
            f.content = it.bytes;
            f.has_content = 1;
        } else if (it.kind != K_NIL) {
            return HB_ETUNNEL_FRAME;
        }
    }
    /* Each item takes at least one byte, so a huge count fails at the end
     * of the body after at most n rounds. */
    for (uint32_t i = 3; i < count; i++)
        if (read_item(&c, &it))
            return HB_ETUNNEL_FRAME;
    /* @msgpack/msgpack's decode() throws on bytes left over, so do we. */
    if (c.p != c.end)
        return HB_ETUNNEL_FRAME;
    *out = f;
    return 0;
}

static size_t uint_len(uint32_t v) { return v <= 0x7f ? 1 : v <= 0xff ? 2 : v <= 0xffff ? 3 : 5; }

static size_t str_header_len(size_t n) { return n <= 31 ? 1 : n <= 0xff ? 2 : n <= 0xffff ? 3 : 5; }

static size_t bin_header_len(size_t n) { return n <= 0xff ? 2 : n <= 0xffff ? 3 : 5; }

size_t hb_tunnel_frame_encoded_len(int type, size_t json_len, size_t content_len, int has_content) {
    uint64_t body;

    if (type < 0)
        return 0;
    if (!has_content)
        content_len = 0;
    if ((uint64_t)json_len > UINT32_MAX || (uint64_t)content_len > UINT32_MAX)
        return 0;
    body = 1 + uint_len((uint32_t)type) + str_header_len(json_len) + (uint64_t)json_len +
           (has_content ? bin_header_len(content_len) + (uint64_t)content_len : 1);
    if (body > UINT32_MAX || body > (uint64_t)SIZE_MAX - 4)
        return 0;
    return (size_t)body + 4;
}

static uint8_t *put_be(uint8_t *p, uint64_t v, size_t n) {
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    return p + n;
}

/* The 8-, 16- or 32-bit form of v, whose tags are tag8, tag8 + 1, tag8 + 2
 * (uint8/16/32, str8/16/32 and bin8/16/32 are all laid out so). */
static uint8_t *put_sized(uint8_t *p, uint8_t tag8, uint32_t v) {
    if (v <= 0xff) {
        *p++ = tag8;
        return put_be(p, v, 1);
    }
    if (v <= 0xffff) {
        *p++ = (uint8_t)(tag8 + 1);
        return put_be(p, v, 2);
    }
    *p++ = (uint8_t)(tag8 + 2);
    return put_be(p, v, 4);
}

size_t hb_tunnel_frame_write(uint8_t *dst, int type, const char *json, size_t json_len,
                             const uint8_t *content, size_t content_len, int has_content) {
    size_t total = hb_tunnel_frame_encoded_len(type, json_len, content_len, has_content);
    uint8_t *p = dst;

    if (total == 0)
        return 0;
    for (int i = 0; i < 4; i++) /* N, little-endian */
        *p++ = (uint8_t)((total - 4) >> (8 * i));
    *p++ = 0x93; /* fixarray of 3 */
    if (type <= 0x7f)
        *p++ = (uint8_t)type; /* positive fixint */
    else
        p = put_sized(p, 0xcc, (uint32_t)type);
    if (json_len <= 31)
        *p++ = (uint8_t)(0xa0 | json_len); /* fixstr */
    else
        p = put_sized(p, 0xd9, (uint32_t)json_len);
    if (json_len > 0)
        memcpy(p, json, json_len);
    p += json_len;
    if (has_content) {
        p = put_sized(p, 0xc4, (uint32_t)content_len);
        if (content_len > 0)
            memcpy(p, content, content_len);
        p += content_len;
    } else {
        *p++ = 0xc0; /* nil */
    }
    return (size_t)(p - dst);
}
