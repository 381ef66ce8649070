/* RFC 6455 frames: the server-side reader (header parsing, unmasking,
 * reassembly of fragments, validation of control frames) and the writers
 * of server frames. The reader keeps the partial header inline and
 * allocates only while a frame or a fragmented message is partial. */
#include "ws/frame.h"

#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"
#include "hubbub/error.h"

enum {
    FIN = 0x80,
    IN_PAYLOAD = 0xFF, /* hdr_len while reading a payload */
    MAX_CONTROL = 125,
};

void hb_ws_reader_init(hb_ws_reader *r, size_t max_message) {
    memset(r, 0, sizeof(*r));
    r->max = max_message > UINT32_MAX ? UINT32_MAX : (uint32_t)max_message;
}

void hb_ws_reader_free(hb_ws_reader *r) {
    free(r->buf);
    r->buf = NULL;
    r->msg_len = 0;
    r->msg_op = 0;
}

int hb_ws_close_code_for(int err) {
    switch (err) {
    case HB_EWS_PROTOCOL: return 1002;
    case HB_EWS_UTF8: return 1007;
    case HB_EWS_TOO_BIG: return 1009;
    default: return 1011;
    }
}

static int fail(hb_ws_reader *r, int err) {
    /* Nothing more will be read, so partial state is garbage now. */
    hb_ws_reader_free(r);
    r->err = err;
    return err;
}

/* XORs n bytes at p with the mask key, starting at key byte phase. */
static void unmask(uint8_t *p, size_t n, const uint8_t mask[4], size_t phase) {
    uint8_t k[8];
    uint64_t k64, w;
    size_t i = 0;

    for (size_t j = 0; j < 8; j++)
        k[j] = mask[(phase + j) & 3];
    memcpy(&k64, k, 8);
    /* Eight bytes at a time; memcpy makes the loads alignment-safe and
     * compiles to plain moves. */
    for (; n - i >= 8; i += 8) {
        memcpy(&w, p + i, 8);
        w ^= k64;
        memcpy(p + i, &w, 8);
    }
    for (; i < n; i++)
        p[i] ^= k[i & 7];
}

static int valid_close_code(unsigned code) {
    /* 1004-1006 and 1015 are reserved and never sent on the wire; 1016-2999
     * belong to future RFCs; 3000-4999 are for libraries and apps. */
    if (code >= 1000 && code <= 1003)
        return 1;
    if (code >= 1007 && code <= 1014)
        return 1;
    return code >= 3000 && code <= 4999;
}

static int deliver_control(int op, uint8_t *p, size_t n, const hb_ws_reader_cb *cb, void *ud) {
    if (op == HB_WS_OP_PING)
        return cb->on_ping != NULL && cb->on_ping(ud, p, n) ? 1 : 0;
    if (op == HB_WS_OP_PONG)
        return cb->on_pong != NULL && cb->on_pong(ud, p, n) ? 1 : 0;
    /* CLOSE */
    if (n == 0)
        return cb->on_close != NULL && cb->on_close(ud, 1005, p, 0) ? 1 : 0;
    if (n == 1)
        return HB_EWS_PROTOCOL;
    unsigned code = (unsigned)p[0] << 8 | p[1];
    if (!valid_close_code(code) || !hb_utf8_valid(p + 2, n - 2))
        return HB_EWS_PROTOCOL;
    return cb->on_close != NULL && cb->on_close(ud, (int)code, p + 2, n - 2) ? 1 : 0;
}

static int deliver_message(int op, uint8_t *p, size_t n, const hb_ws_reader_cb *cb, void *ud) {
    if (op == HB_WS_OP_TEXT && !hb_utf8_valid(p, n))
        return HB_EWS_UTF8;
    return cb->on_message != NULL && cb->on_message(ud, op, p, n) ? 1 : 0;
}

/* Checks the first two header bytes: everything that can be refused before
 * the length and mask arrive. */
static int check_start(const hb_ws_reader *r, uint8_t b0, uint8_t b1) {
    int op = b0 & 0x0F;

    if (b0 & 0x70)
        return HB_EWS_PROTOCOL; /* RSV bits, and we negotiate no extension */
    if (!(b1 & 0x80))
        return HB_EWS_PROTOCOL; /* clients must mask (RFC 6455 5.1) */
    switch (op) {
    case HB_WS_OP_CLOSE:
    case HB_WS_OP_PING:
    case HB_WS_OP_PONG:
        if (!(b0 & FIN) || (b1 & 0x7F) > MAX_CONTROL)
            return HB_EWS_PROTOCOL;
        return 0;
    case HB_WS_OP_CONT:
        return r->msg_op != 0 ? 0 : HB_EWS_PROTOCOL;
    case HB_WS_OP_TEXT:
    case HB_WS_OP_BINARY:
        return r->msg_op == 0 ? 0 : HB_EWS_PROTOCOL;
    default:
        return HB_EWS_PROTOCOL;
    }
}

/* Header bytes needed once the first two are known: the extended length,
 * then the mask key (presence checked by check_start). */
static size_t header_size(uint8_t b1) {
    uint8_t len7 = b1 & 0x7F;
    return 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + 4;
}

/* Gathers header bytes from data[*pos..len). Returns 1 with the frame set
 * up once the header is whole, 0 when it needs more input, or an error. */
static int read_header(hb_ws_reader *r, const uint8_t *data, size_t len, size_t *pos) {
    size_t need = r->hdr_len < 2 ? 2 : header_size(r->hdr[1]);
    size_t n;
    int rc;

    for (;;) {
        n = need - r->hdr_len;
        if (n > len - *pos)
            n = len - *pos;
        memcpy(r->hdr + r->hdr_len, data + *pos, n);
        r->hdr_len += (uint8_t)n;
        *pos += n;
        if (r->hdr_len < need)
            return 0;
        if (need > 2)
            break;
        if ((rc = check_start(r, r->hdr[0], r->hdr[1])) < 0)
            return rc;
        need = header_size(r->hdr[1]);
    }

    uint64_t plen = r->hdr[1] & 0x7F;
    const uint8_t *ext = r->hdr + 2;
    size_t ext_len = need - 6;
    if (ext_len > 0) {
        plen = 0;
        for (size_t i = 0; i < ext_len; i++)
            plen = plen << 8 | ext[i];
        if (plen >> 63)
            return HB_EWS_PROTOCOL; /* RFC 6455 5.2: the top bit must be 0 */
    }
    /* Data frames count toward the message as soon as their header is
     * whole, so an oversized one is refused before any of it is buffered.
     * Control lengths are already <= 125. */
    if (!(r->hdr[0] & 0x08) && plen > (uint64_t)(r->max - r->msg_len))
        return HB_EWS_TOO_BIG;

    r->op = r->hdr[0] & (FIN | 0x0F);
    r->frame_len = (uint32_t)plen;
    r->frame_got = 0;
    memmove(r->hdr, r->hdr + need - 4, 4); /* keep only the mask key */
    r->hdr_len = IN_PAYLOAD;
    return 1;
}

/* How much to allocate for need bytes of buffered payload. A lone frame
 * gets exactly its size. A fragmented message grows by doubling (up to
 * max), so a flood of tiny fragments costs amortized O(1) copying per byte
 * rather than a copy of the whole message each time; asking realloc for
 * the size a block already has is free. */
static size_t room(const hb_ws_reader *r, size_t need) {
    uint64_t c = 256;

    if (r->msg_op == 0 && (r->op & FIN))
        return need;
    while (c < need && c < r->max)
        c <<= 1;
    if (c > r->max)
        c = r->max;
    return c > need ? (size_t)c : need;
}

/* Completes a frame whose payload is now in reader memory at
 * buf + msg_len. */
static int finish_buffered(hb_ws_reader *r, uint8_t *empty, const hb_ws_reader_cb *cb, void *ud) {
    int op = r->op & 0x0F;
    uint8_t *buf = r->buf;
    size_t n;
    int rc;

    if (op & 0x08) {
        uint8_t *p = r->frame_len > 0 ? buf + r->msg_len : empty;
        if (r->msg_op != 0) /* buf still holds the open message */
            return deliver_control(op, p, r->frame_len, cb, ud);
        r->buf = NULL;
        rc = deliver_control(op, p, r->frame_len, cb, ud);
        free(buf);
        return rc;
    }
    if (!(r->op & FIN)) {
        if (op != HB_WS_OP_CONT)
            r->msg_op = (uint8_t)op;
        r->msg_len += r->frame_len;
        return 0;
    }
    /* The last frame of a message: hand the whole of it over. Detach it
     * first so the reader is clean whatever the callback does. */
    if (op == HB_WS_OP_CONT)
        op = r->msg_op;
    n = (size_t)r->msg_len + r->frame_len;
    r->buf = NULL;
    r->msg_len = 0;
    r->msg_op = 0;
    rc = deliver_message(op, n > 0 ? buf : empty, n, cb, ud);
    free(buf);
    return rc;
}

int hb_ws_reader_feed(hb_ws_reader *r, uint8_t *data, size_t len, const hb_ws_reader_cb *cb,
                      void *ud) {
    size_t pos = 0;
    int rc;

    if (r->err != 0)
        return r->err;
    if (len == 0)
        return 0;

    for (;;) {
        if (r->hdr_len != IN_PAYLOAD) {
            if (pos == len)
                return 0;
            rc = read_header(r, data, len, &pos);
            if (rc < 0)
                return fail(r, rc);
            if (rc == 0)
                return 0;
        }

        size_t left = r->frame_len - r->frame_got;
        size_t avail = len - pos;
        uint8_t *p = data + pos;
        int op = r->op & 0x0F;
        int alone = (op & 0x08) || ((r->op & FIN) && op != HB_WS_OP_CONT);

        if (left > 0 && avail == 0)
            return 0;
        if (alone && r->frame_got == 0 && avail >= left) {
            /* A whole control frame or unfragmented message in data:
             * unmask it where it lies and hand out a pointer into data. */
            unmask(p, left, r->hdr, 0);
            pos += left;
            r->hdr_len = 0;
            if (op & 0x08)
                rc = deliver_control(op, p, left, cb, ud);
            else
                rc = deliver_message(op, p, left, cb, ud);
        } else {
            /* Make room for the whole announced payload, after the open
             * message if any; its size was checked against max already. */
            if (r->frame_got == 0 && r->frame_len > 0) {
                uint8_t *nb = realloc(r->buf, room(r, (size_t)r->msg_len + r->frame_len));
                if (nb == NULL)
                    return fail(r, HB_ENOMEM);
                r->buf = nb;
            }
            size_t n = avail < left ? avail : left;
            if (n > 0) {
                unmask(p, n, r->hdr, r->frame_got);
                memcpy(r->buf + r->msg_len + r->frame_got, p, n);
                pos += n;
                r->frame_got += (uint32_t)n;
            }
            if (r->frame_got < r->frame_len)
                return 0;
            r->hdr_len = 0;
            rc = finish_buffered(r, data + pos, cb, ud);
        }
        if (rc < 0)
            return fail(r, rc);
        if (rc > 0)
            return 1;
    }
}

size_t hb_ws_frame_header(uint8_t out[10], int opcode, uint64_t payload_len) {
    out[0] = (uint8_t)(FIN | (opcode & 0x0F));
    if (payload_len < 126) {
        out[1] = (uint8_t)payload_len;
        return 2;
    }
    if (payload_len <= 0xFFFF) {
        out[1] = 126;
        out[2] = (uint8_t)(payload_len >> 8);
        out[3] = (uint8_t)payload_len;
        return 4;
    }
    out[1] = 127;
    for (int i = 0; i < 8; i++)
        out[2 + i] = (uint8_t)(payload_len >> (56 - 8 * i));
    return 10;
}

hb_buf *hb_ws_frame_new(int opcode, const void *prefix, size_t prefix_len, const void *payload,
                        size_t len) {
    uint8_t hdr[10];
    size_t hlen;
    hb_buf *b;

    /* Keep the sums below (and hb_buf_new's own) from wrapping. */
    if (prefix_len > SIZE_MAX / 4 || len > SIZE_MAX / 4)
        return NULL;
    hlen = hb_ws_frame_header(hdr, opcode, (uint64_t)prefix_len + len);
    b = hb_buf_new(hlen + prefix_len + len);
    if (b == NULL)
        return NULL;
    memcpy(b->data, hdr, hlen);
    if (prefix_len > 0)
        memcpy(b->data + hlen, prefix, prefix_len);
    if (len > 0)
        memcpy(b->data + hlen + prefix_len, payload, len);
    b->off = (uint16_t)hlen;
    b->len = hlen + prefix_len + len;
    b->flags = opcode == HB_WS_OP_BINARY ? HB_BUF_BINARY : 0;
    return b;
}

hb_buf *hb_ws_close_frame_new(int code, const char *reason) {
    uint8_t payload[MAX_CONTROL];
    size_t n = 0;

    if (code != 0) {
        size_t rlen = reason != NULL ? strlen(reason) : 0;
        if (rlen > MAX_CONTROL - 2) {
            /* Cut before a continuation byte never splits a character,
             * so the peer still gets valid UTF-8. */
            rlen = MAX_CONTROL - 2;
            while (rlen > 0 && ((uint8_t)reason[rlen] & 0xC0) == 0x80)
                rlen--;
        }
        payload[0] = (uint8_t)((unsigned)code >> 8);
        payload[1] = (uint8_t)code;
        if (rlen > 0)
            memcpy(payload + 2, reason, rlen);
        n = 2 + rlen;
    }
    return hb_ws_frame_new(HB_WS_OP_CLOSE, NULL, 0, payload, n);
}
