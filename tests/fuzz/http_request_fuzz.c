/* libFuzzer target for the HTTP request reader (src/http/request.c), with the
 * query helpers on what it yields. The first byte picks the limits, the
 * second seeds random split points; the rest is a connection's bytes, fed
 * whole and then in random pieces, resetting after each complete request.
 * Both runs must see exactly the same requests at the same offsets and end
 * the same way, every request must keep the reader's promises, and nothing
 * may crash or leak. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/query.h"
#include "http/request.h"
#include "hubbub/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
    uint64_t hash; /* FNV-1a over every event */
    unsigned requests;
} digest;

static void mix(digest *d, const void *p, size_t n) {
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        d->hash = (d->hash ^ b[i]) * 0x100000001b3ull;
}

static void mix_int(digest *d, long long v) {
    mix(d, &v, sizeof(v));
}

static int is_tchar(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int lower(int c) {
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int same_name(const hb_http_header *a, const hb_http_header *b) {
    if (a->name_len != b->name_len)
        return 0;
    for (size_t i = 0; i < a->name_len; i++)
        if (lower((unsigned char)a->name[i]) != lower((unsigned char)b->name[i]))
            return 0;
    return 1;
}

/* The query helpers on real query strings: results stay in bounds. */
static void exercise_query(const hb_http_request *r, digest *d) {
    static const char *const keys[] = {"EIO", "transport", "sid", "t", "b64", ""};
    char out[16];
    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
        int n = hb_http_query_get(r->query, r->query_len, keys[k], out, sizeof(out));
        if (n < -2 || n >= (int)sizeof(out))
            abort();
        if (n >= 0 && out[n] != '\0')
            abort();
        mix_int(d, n);
        if (n > 0)
            mix(d, out, (size_t)n);
    }
    {
        char *copy = malloc(r->path_len + 1);
        int n;
        if (copy == NULL)
            abort();
        memcpy(copy, r->path, r->path_len);
        n = hb_http_pct_decode(copy, r->path_len, 0);
        if (n < -1 || n > (int)r->path_len)
            abort();
        mix_int(d, n);
        if (n > 0)
            mix(d, copy, (size_t)n);
        free(copy);
    }
}

static void check_request(hb_http_parser *p, size_t max_body, digest *d) {
    hb_http_request *r = hb_http_parser_request(p);
    size_t consumed = 7;
    uint8_t more[1] = {'G'};

    if (r == NULL || !hb_http_parser_busy(p))
        abort();
    if (r->path == NULL || r->path[r->path_len] != '\0' || r->query == NULL ||
        r->query[r->query_len] != '\0')
        abort();
    if (r->nheaders > HB_HTTP_MAX_HEADERS || (r->nheaders > 0 && r->headers == NULL))
        abort();
    if (r->body == NULL || r->body_len > max_body || r->body[r->body_len] != '\0')
        abort();
    if ((r->keep_alive != 0 && r->keep_alive != 1) || (r->upgrade != 0 && r->upgrade != 1))
        abort();
    mix_int(d, r->method);
    mix(d, r->path, r->path_len + 1);
    mix(d, r->query, r->query_len + 1);
    mix_int(d, (long long)r->nheaders);
    for (size_t i = 0; i < r->nheaders; i++) {
        const hb_http_header *h = &r->headers[i];
        const char *found;
        if (h->name_len == 0 || h->name[h->name_len] != '\0' || h->value[h->value_len] != '\0')
            abort();
        for (size_t j = 0; j < h->name_len; j++)
            if (!is_tchar((unsigned char)h->name[j]))
                abort();
        if (h->value_len > 0 && (h->value[0] == ' ' || h->value[0] == '\t' ||
                                 h->value[h->value_len - 1] == ' ' ||
                                 h->value[h->value_len - 1] == '\t'))
            abort();
        /* Lookup by name finds the first header of that name. */
        found = hb_http_request_header(r, h->name);
        for (size_t j = 0; j <= i; j++) {
            if (same_name(&r->headers[j], h)) {
                if (found != r->headers[j].value)
                    abort();
                break;
            }
        }
        mix(d, h->name, h->name_len + 1);
        mix(d, h->value, h->value_len + 1);
    }
    /* The body is writable. */
    if (r->body_len > 0)
        r->body[0] ^= 0x20;
    mix(d, r->body, r->body_len);
    mix_int(d, r->keep_alive);
    mix_int(d, r->upgrade);
    exercise_query(r, d);

    /* A complete request takes no more bytes until reset. */
    if (hb_http_parser_feed(p, more, 1, &consumed) != 1 || consumed != 0)
        abort();
    d->requests++;
}

/* Feeds one piece from an exact-size heap copy, freed at once, so ASan sees
 * any read past it and any request pointer left into it. Returns what the
 * reader said; on 1, *used is how much of the piece the request took. */
static int feed_piece(hb_http_parser *p, const uint8_t *s, size_t n, size_t *used) {
    uint8_t *copy = malloc(n > 0 ? n : 1);
    int rc;
    if (copy == NULL)
        abort();
    if (n > 0)
        memcpy(copy, s, n);
    rc = hb_http_parser_feed(p, copy, n, used);
    memset(copy, 0xee, n);
    free(copy);
    if (rc == 0 && *used != n)
        abort();
    /* A request that needs none of these bytes was complete before them
     * and should have been reported by the previous feed. */
    if (rc == 1 && (*used == 0 || *used > n))
        abort();
    if (rc == 2 && (*used == 0 || *used > n))
        abort();
    if (rc < 0 && *used != 0)
        abort();
    return rc;
}

/* Splits with a small xorshift; seed 0 means one piece. */
static size_t next_piece(uint32_t *seed, size_t left) {
    uint32_t x = *seed;
    if (x == 0)
        return left;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *seed = x;
    /* Mostly tiny pieces, sometimes large ones. */
    size_t n = (x & 0x100) ? 1 + (x >> 24) : 1 + (x >> 28);
    return n < left ? n : left;
}

static int run(const uint8_t *s, size_t size, size_t max_head, size_t max_body, uint32_t seed,
               int notify_head, digest *d) {
    hb_http_parser *p = hb_http_parser_new(max_head, max_body);
    size_t pos = 0;
    int rc = 0, head_seen = 0;

    if (p == NULL)
        abort();
    hb_http_parser_notify_head(p, notify_head);
    memset(d, 0, sizeof(*d));
    d->hash = 0xcbf29ce484222325ull;
    while (pos < size) {
        size_t n = next_piece(&seed, size - pos), used = 0;
        rc = feed_piece(p, s + pos, n, &used);
        if (rc < 0) {
            uint8_t more[1] = {'\n'};
            if (rc != HB_EHTTP_PARSE && rc != HB_EHTTP_HEADERS_TOO_BIG &&
                rc != HB_EHTTP_BODY_TOO_BIG && rc != HB_ENOMEM)
                abort();
            if (hb_http_parser_feed(p, more, 1, &used) != rc || hb_http_parser_request(p) != NULL)
                abort();
            break; /* the caller compares the codes */
        }
        if (rc == 2) {
            /* Only with notify_head, once per request, and only for a
             * request with a body still to come. */
            const hb_http_request *h = hb_http_parser_head(p);
            if (!notify_head || head_seen || h == NULL || hb_http_parser_request(p) != NULL ||
                h->path[h->path_len] != '\0')
                abort();
            head_seen = 1;
            pos += used;
            continue;
        }
        if (rc == 1) {
            const hb_http_request *h = hb_http_parser_head(p);
            if (h == NULL || h != hb_http_parser_request(p) ||
                (notify_head && h->body_len > 0 && !head_seen))
                abort();
            head_seen = 0;
            check_request(p, max_body, d);
            mix_int(d, (long long)(pos + used)); /* where the request ended */
            hb_http_parser_reset(p);
            if (hb_http_parser_busy(p) || hb_http_parser_request(p) != NULL)
                abort();
            pos += used;
            continue;
        }
        pos += n;
    }
    mix_int(d, rc < 0 ? -1 : hb_http_parser_busy(p));
    hb_http_parser_free(p);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    digest whole, split;
    size_t max_head, max_body;
    uint32_t seed;
    int rc_whole, rc_split, notify_head;

    if (size < 2)
        return 0;
    /* Small limits so that 431 and 413 are reached by short inputs. */
    max_head = 32 + (size_t)(data[0] & 0x0f) * 64;
    max_body = (size_t)(data[0] >> 4) * 16;
    seed = 0x9e3779b9u * (uint32_t)(data[1] + 1);
    notify_head = data[1] >> 7;
    data += 2;
    size -= 2;

    /* The split run sometimes asks to hear of heads: that must change
     * nothing else. */
    rc_whole = run(data, size, max_head, max_body, 0, 0, &whole);
    rc_split = run(data, size, max_head, max_body, seed, notify_head, &split);
    if ((rc_whole < 0 || rc_split < 0) && rc_whole != rc_split) {
        /* llhttp reports a span (URL, name, value, body, chunk extension)
         * when a piece ends, but drops it when it meets a bad byte. A
         * span over a limit and then a bad byte is thus 431/413 when split
         * before the bad byte, 400 when not. Any other difference is a bug. */
        if ((rc_whole != HB_EHTTP_PARSE && rc_split != HB_EHTTP_PARSE) ||
            (rc_whole != HB_EHTTP_HEADERS_TOO_BIG && rc_split != HB_EHTTP_HEADERS_TOO_BIG &&
             rc_whole != HB_EHTTP_BODY_TOO_BIG && rc_split != HB_EHTTP_BODY_TOO_BIG))
            abort();
    }
    if (whole.requests != split.requests || whole.hash != split.hash)
        abort();
    return 0;
}
