/* libFuzzer target for the WebSocket frame reader (src/ws/frame.c). The
 * first input byte says where to split the rest into two feeds; the split
 * feed must give exactly the events and result of a whole feed, every event
 * must obey the reader's promises, and nothing may crash or leak. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"
#include "hubbub/error.h"
#include "ws/frame.h"

#define MAX_MESSAGE (64 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
    uint64_t hash; /* FNV-1a over every event */
    unsigned events;
    unsigned stop_at; /* 0 = never stop */
} digest;

static void mix(digest *d, const void *p, size_t n) {
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        d->hash = (d->hash ^ b[i]) * 0x100000001b3ull;
}

static int event(digest *d, int type, int arg, const uint8_t *p, size_t n) {
    if (p == NULL)
        abort(); /* payloads always get a real pointer */
    mix(d, &type, sizeof(type));
    mix(d, &arg, sizeof(arg));
    mix(d, &n, sizeof(n));
    mix(d, p, n); /* touches every byte, so ASan sees a bad pointer */
    return ++d->events == d->stop_at;
}

static int on_message(void *ud, int opcode, uint8_t *p, size_t n) {
    if (n > MAX_MESSAGE)
        abort();
    if (opcode == HB_WS_OP_TEXT) {
        if (!hb_utf8_valid(p, n))
            abort();
    } else if (opcode != HB_WS_OP_BINARY) {
        abort();
    }
    /* The writer must frame the same bytes back. */
    hb_buf *b = hb_ws_frame_new(opcode, NULL, 0, p, n);
    if (b == NULL || b->len - b->off != n || memcmp(b->data + b->off, p, n) != 0)
        abort();
    hb_buf_unref(b);
    return event(ud, 'M', opcode, p, n);
}

static int on_ping(void *ud, const uint8_t *p, size_t n) {
    if (n > 125)
        abort();
    return event(ud, 'I', 0, p, n);
}

static int on_pong(void *ud, const uint8_t *p, size_t n) {
    if (n > 125)
        abort();
    return event(ud, 'O', 0, p, n);
}

static int on_close(void *ud, int code, const uint8_t *p, size_t n) {
    if (n > 123 || (code == 1005 && n != 0) || !hb_utf8_valid(p, n))
        abort();
    if (code < 1000 || code > 4999 || code == 1004 || code == 1006 ||
        (code >= 1015 && code < 3000))
        abort();
    return event(ud, 'C', code, p, n);
}

static const hb_ws_reader_cb CB = {on_message, on_ping, on_pong, on_close};

/* Feeds one chunk from its own exact-size heap copy (so ASan catches any
 * read past it), then checks that an error sticks. */
static int feed(hb_ws_reader *r, const uint8_t *p, size_t n, digest *d) {
    uint8_t *copy = malloc(n > 0 ? n : 1);
    if (copy == NULL)
        abort();
    if (n > 0)
        memcpy(copy, p, n);
    uint8_t more[1] = {0x81};
    int rc = hb_ws_reader_feed(r, copy, n, &CB, d);
    free(copy);
    if (rc < 0 && hb_ws_reader_feed(r, more, 1, &CB, d) != rc)
        abort();
    if (rc < 0 && rc != HB_EWS_PROTOCOL && rc != HB_EWS_UTF8 && rc != HB_EWS_TOO_BIG &&
        rc != HB_ENOMEM)
        abort();
    return rc;
}

static int run(const uint8_t *s, size_t size, size_t split, unsigned stop_at, digest *d) {
    hb_ws_reader r;
    int rc;

    memset(d, 0, sizeof(*d));
    d->hash = 0xcbf29ce484222325ull;
    d->stop_at = stop_at;
    hb_ws_reader_init(&r, MAX_MESSAGE);
    rc = feed(&r, s, split, d);
    /* After a stop the rest of a chunk is dropped; feeding on is allowed
     * and must stay safe, though the events then differ. */
    if (rc >= 0) {
        int rc2 = feed(&r, s + split, size - split, d);
        if (rc == 0)
            rc = rc2;
    }
    hb_ws_reader_free(&r);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    digest whole, split;
    int rc_whole, rc_split;

    if (size == 0)
        return 0;
    size_t at = data[0] < size - 1 ? data[0] : size - 1;
    data++;
    size--;

    rc_whole = run(data, size, size, 0, &whole);
    rc_split = run(data, size, at, 0, &split);
    if (rc_whole != rc_split || whole.events != split.events || whole.hash != split.hash)
        abort();

    /* Once more with a callback stopping partway. */
    if (whole.events > 0)
        run(data, size, at, 1 + data[size / 2] % whole.events, &split);
    return 0;
}
