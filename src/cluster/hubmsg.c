/* The hub messages' codec: "HBH1", kind, status (2 bytes), more, then the
 * fields from, call, method, path, query, ctype, body as length + bytes. */
#include "cluster/hubmsg.h"

#include <stdlib.h>
#include <string.h>

#include "hubbub/error.h"

static const uint8_t magic[4] = {'H', 'B', 'H', '1'};
#define HEAD_LEN 8 /* magic, kind, status, more */
#define NFIELDS 7

static void fields_of(const hb_hubmsg *m, const hb_slice **f) {
    f[0] = &m->from, f[1] = &m->call, f[2] = &m->method, f[3] = &m->path;
    f[4] = &m->query, f[5] = &m->ctype, f[6] = &m->body;
}

int hb_hubmsg_encode(const hb_hubmsg *m, uint8_t **out, size_t *len) {
    const hb_slice *f[NFIELDS];
    size_t n = HEAD_LEN;
    uint8_t *b, *p;
    fields_of(m, f);
    for (int i = 0; i < NFIELDS; i++) {
        if (f[i]->len > HB_HUBMSG_MAX)
            return HB_ETOOBIG;
        n += 4 + f[i]->len;
    }
    if (n > HB_HUBMSG_MAX)
        return HB_ETOOBIG;
    if ((b = malloc(n)) == NULL)
        return HB_ENOMEM;
    memcpy(b, magic, 4);
    b[4] = (uint8_t)m->kind;
    b[5] = (uint8_t)(m->status >> 8);
    b[6] = (uint8_t)m->status;
    b[7] = m->more ? 1 : 0;
    p = b + HEAD_LEN;
    for (int i = 0; i < NFIELDS; i++) {
        uint32_t l = (uint32_t)f[i]->len;
        p[0] = (uint8_t)(l >> 24), p[1] = (uint8_t)(l >> 16), p[2] = (uint8_t)(l >> 8);
        p[3] = (uint8_t)l;
        if (l > 0)
            memcpy(p + 4, f[i]->base, l);
        p += 4 + l;
    }
    *out = b;
    *len = n;
    return 0;
}

int hb_hubmsg_decode(const uint8_t *data, size_t len, hb_hubmsg *m) {
    hb_slice *f[NFIELDS];
    size_t off = HEAD_LEN;
    memset(m, 0, sizeof(*m));
    if (len < HEAD_LEN || memcmp(data, magic, 4) != 0)
        return HB_EINVAL;
    m->kind = data[4];
    if (m->kind != HB_HUBMSG_FIRE && m->kind != HB_HUBMSG_CALL && m->kind != HB_HUBMSG_ANSWER)
        return HB_EINVAL;
    m->status = (data[5] << 8) | data[6];
    if (m->status > 999 || data[7] > 1)
        return HB_EINVAL;
    m->more = data[7];
    fields_of(m, (const hb_slice **)f);
    for (int i = 0; i < NFIELDS; i++) {
        uint32_t l;
        if (len - off < 4)
            return HB_EINVAL;
        l = ((uint32_t)data[off] << 24) | ((uint32_t)data[off + 1] << 16) |
            ((uint32_t)data[off + 2] << 8) | data[off + 3];
        off += 4;
        if (l > len - off)
            return HB_EINVAL;
        f[i]->base = data + off;
        f[i]->len = l;
        off += l;
    }
    return off == len ? 0 : HB_EINVAL;
}
