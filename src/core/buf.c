/* hb_buf: refcounted bytes. Single-threaded by design: a buffer belongs to one
 * loop; a broadcast that crosses workers gets one buffer per worker. */
#include "core/buf.h"

#include <stdlib.h>
#include <string.h>

hb_buf *hb_buf_new(size_t cap) {
    hb_buf *b = malloc(sizeof(*b) + cap);
    if (b == NULL)
        return NULL;
    b->refs = 1;
    b->off = 0;
    b->flags = 0;
    b->spare = 0;
    b->len = 0;
    return b;
}

hb_buf *hb_buf_from(const void *data, size_t len) {
    hb_buf *b = hb_buf_new(len);
    if (b == NULL)
        return NULL;
    if (len > 0)
        memcpy(b->data, data, len);
    b->len = len;
    return b;
}

hb_buf *hb_buf_ref(hb_buf *b) {
    b->refs++;
    return b;
}

void hb_buf_unref(hb_buf *b) {
    if (b != NULL && --b->refs == 0)
        free(b);
}
