/* Refcounted byte buffers and borrowed slices.
 *
 * hb_buf is the unit of "encode once, write many": a frame is built once into
 * one hb_buf and every recipient's write queue holds a reference. `off` marks
 * where the payload starts inside `data` when the first bytes are a framing
 * header (a WebSocket frame header), so the polling transport can send the
 * same packet without the header. One allocation holds header and bytes. */
#ifndef HB_CORE_BUF_H
#define HB_CORE_BUF_H

#include <stddef.h>
#include <stdint.h>

/* A borrowed view; never owns its bytes. */
typedef struct {
    const uint8_t *base;
    size_t len;
} hb_slice;

typedef struct hb_buf {
    uint32_t refs;
    uint16_t off;   /* payload start within data (after a frame header) */
    uint8_t flags;  /* free for the producer's use, e.g. HB_BUF_BINARY */
    uint8_t spare;
    size_t len;     /* bytes used in data */
    uint8_t data[]; /* the bytes themselves */
} hb_buf;

enum { HB_BUF_BINARY = 1 }; /* the payload is binary (not text) */

/* A new buffer with room for cap bytes, len 0, one reference. NULL when
 * out of memory. */
hb_buf *hb_buf_new(size_t cap);
/* A new buffer holding a copy of len bytes. NULL when out of memory. */
hb_buf *hb_buf_from(const void *data, size_t len);
/* Takes one more reference; returns b for chaining. */
hb_buf *hb_buf_ref(hb_buf *b);
/* Drops one reference; frees on the last. NULL is accepted. */
void hb_buf_unref(hb_buf *b);

static inline hb_slice hb_buf_payload(const hb_buf *b) {
    hb_slice s = {b->data + b->off, b->len - b->off};
    return s;
}

#endif
