/* libFuzzer target for the Azure Web PubSub tunnel frame codec. The input is
 * decoded as one tunnel message; a frame that decodes must borrow only from
 * the body, re-encode, and decode again to the same values, and its
 * re-encoding must be a fixed point. The input is also cut into a type, a
 * json and a content that are written and read back. Every buffer is an
 * exact-size allocation so ASan sees every overread. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hubbub/error.h"
#include "upstream/frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x))                                                                                  \
            abort();                                                                               \
    } while (0)

static int slice_eq(hb_slice a, hb_slice b) {
    return a.len == b.len && (a.len == 0 || memcmp(a.base, b.base, a.len) == 0);
}

static uint8_t *dup_exact(const uint8_t *p, size_t n) {
    uint8_t *d = malloc(n > 0 ? n : 1);
    CHECK(d != NULL);
    if (n > 0)
        memcpy(d, p, n);
    return d;
}

/* s lies inside the body of the message at m (after the 4-byte prefix). */
static void check_inside(hb_slice s, const uint8_t *m, size_t len) {
    uint32_t n = (uint32_t)m[0] | (uint32_t)m[1] << 8 | (uint32_t)m[2] << 16 |
                 (uint32_t)m[3] << 24;
    if (s.len == 0)
        return;
    CHECK(len >= 4 && n <= len - 4);
    CHECK(s.base >= m + 4 && s.len <= n && s.base - (m + 4) <= (ptrdiff_t)(n - s.len));
}

/* Writes f; returns the bytes (exact size) and their count in *len. */
static uint8_t *encode(const hb_tunnel_frame *f, size_t *len) {
    size_t n = hb_tunnel_frame_encoded_len(f->type, f->json.len, f->content.len, f->has_content);
    uint8_t *d;
    CHECK(n > 0); /* anything decoded fits the format */
    d = malloc(n);
    CHECK(d != NULL);
    CHECK(hb_tunnel_frame_write(d, f->type, (const char *)f->json.base, f->json.len,
                                f->content.base, f->content.len, f->has_content) == n);
    *len = n;
    return d;
}

static void check_same(const hb_tunnel_frame *a, const hb_tunnel_frame *b) {
    CHECK(a->type == b->type && a->has_content == b->has_content);
    CHECK(slice_eq(a->json, b->json) && slice_eq(a->content, b->content));
}

static void check_decoded(const hb_tunnel_frame *f, const uint8_t *m, size_t len) {
    hb_tunnel_frame g, h;
    uint8_t *e, *e2;
    size_t elen, e2len;

    CHECK(f->type >= 0);
    check_inside(f->json, m, len);
    check_inside(f->content, m, len);
    if (!f->has_content)
        CHECK(f->content.base == NULL && f->content.len == 0);

    /* encode(decode(x)) decodes to the same values ... */
    e = encode(f, &elen);
    CHECK(hb_tunnel_frame_decode(e, elen, &g) == 0);
    check_same(f, &g);
    /* ... and is canonical: encoding it again gives the same bytes. */
    e2 = encode(&g, &e2len);
    CHECK(e2len == elen && memcmp(e, e2, elen) == 0);
    /* The canonical form is 3 elements with the smallest headers, so it is
     * never longer than the input but for one byte: the nil a 2-element
     * array lacks, or the header byte a fixstr content gains as bin8. */
    CHECK(elen <= len + 1);
    /* Trailing bytes after the body are ignored. */
    {
        uint8_t *t = malloc(elen + 3);
        CHECK(t != NULL);
        memcpy(t, e, elen);
        memcpy(t + elen, "\x93\x01\xa0", 3);
        CHECK(hb_tunnel_frame_decode(t, elen + 3, &h) == 0);
        check_same(f, &h);
        free(t);
    }
    free(e2);
    free(e);
}

/* Cuts data into a type (4 bytes), has_content (1 byte), a json length
 * (2 bytes) and the rest as json then content; writes and reads back. */
static void check_write(const uint8_t *data, size_t size) {
    hb_tunnel_frame f, g;
    uint8_t *e;
    size_t elen, jl;

    if (size < 7)
        return;
    memset(&f, 0, sizeof(f));
    f.type = (int)(((uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 | (uint32_t)data[2] << 8 |
                    data[3]) &
                   0x7fffffffu);
    f.has_content = data[4] & 1;
    jl = (size_t)data[5] << 8 | data[6];
    data += 7;
    size -= 7;
    if (jl > size)
        jl = size;
    f.json = (hb_slice){data, jl};
    if (f.has_content)
        f.content = (hb_slice){data + jl, size - jl};
    e = encode(&f, &elen);
    CHECK(hb_tunnel_frame_decode(e, elen, &g) == 0);
    check_same(&f, &g);
    /* every proper prefix of a frame fails */
    CHECK(hb_tunnel_frame_decode(e, elen - 1, &g) == HB_ETUNNEL_FRAME);
    free(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *m = dup_exact(data, size);
    hb_tunnel_frame f;
    int rc;

    memset(&f, 0x5A, sizeof(f));
    rc = hb_tunnel_frame_decode(m, size, &f);
    CHECK(rc == 0 || rc == HB_ETUNNEL_FRAME);
    if (rc == 0) {
        check_decoded(&f, m, size);
    } else {
        /* a failed decode leaves *out untouched */
        for (size_t i = 0; i < sizeof(f); i++)
            CHECK(((const uint8_t *)&f)[i] == 0x5A);
    }
    free(m);
    check_write(data, size);
    return 0;
}
