/* hb_http_parser: llhttp callbacks that copy one request into parser-owned
 * storage and enforce the head and body limits as bytes arrive. The head
 * (URL, then each name and value, each NUL-terminated) lives in one growable
 * arena; pointers into it are made only once the headers end, because the
 * arena may move while it grows. */
#include "http/request.h"

#include <llhttp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hubbub/error.h"

/* Per header line: ": " and CRLF, so the limit tracks the bytes on the wire. */
enum { HEADER_OVERHEAD = 4 };

struct hb_http_parser {
    llhttp_t ll;
    size_t max_head;
    size_t max_body;
    hb_http_request req;

    char *head;          /* arena: URL\0 name\0 value\0 ... */
    size_t head_len, head_cap;
    size_t head_bytes;   /* counted against max_head */
    size_t raw_head;     /* bytes of the head fed so far, whitespace included */
    size_t ext_len;      /* chunk-extension bytes, counted with the body */
    size_t url_len;
    size_t lines;        /* header lines so far, trailers included */
    size_t field_len;    /* bytes of the header name being read */
    size_t headers_cap;
    size_t body_cap;

    int err;             /* sticky result once negative */
    uint8_t busy;
    uint8_t in_field;    /* between a header name's first byte and its end */
    uint8_t headers_done;
    uint8_t head_paused; /* llhttp stopped at the end of the head */
    uint8_t complete;
    uint8_t notify_head; /* feed() returns 2 once the head is read */
    uint8_t has_body;    /* the head announced a body (chunked or length > 0) */
    uint8_t empty_body[1]; /* body of a request without one: "" */
};

static hb_http_parser *parser_of(llhttp_t *ll) {
    return ll->data;
}

/* Callbacks report our own error through p->err and stop llhttp with -1. */
static int fail(hb_http_parser *p, int err) {
    p->err = err;
    return -1;
}

static int count_head(hb_http_parser *p, size_t n) {
    if (n > p->max_head - p->head_bytes)
        return fail(p, HB_EHTTP_HEADERS_TOO_BIG);
    p->head_bytes += n;
    return 0;
}

static int head_put(hb_http_parser *p, const char *at, size_t n) {
    if (n > p->head_cap - p->head_len) {
        size_t cap = p->head_cap ? p->head_cap * 2 : 1024;
        char *h;
        while (cap - p->head_len < n)
            cap *= 2;
        h = realloc(p->head, cap);
        if (h == NULL)
            return fail(p, HB_ENOMEM);
        p->head = h;
        p->head_cap = cap;
    }
    memcpy(p->head + p->head_len, at, n);
    p->head_len += n;
    return 0;
}

static int on_url(llhttp_t *ll, const char *at, size_t n) {
    hb_http_parser *p = parser_of(ll);
    if (count_head(p, n) != 0 || head_put(p, at, n) != 0)
        return -1;
    return 0;
}

static int on_url_complete(llhttp_t *ll) {
    hb_http_parser *p = parser_of(ll);
    p->url_len = p->head_len;
    return head_put(p, "", 1);
}

/* RFC 9110 tchar. llhttp's lenient build lets spaces into names, which
 * would let "Transfer Encoding" mean different things to us and to a proxy. */
static int is_tchar(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* A new header line. Trailers count against the limits too (a peer could
 * otherwise stream them forever) but are not stored. */
static int start_line(hb_http_parser *p) {
    p->in_field = 1;
    p->field_len = 0;
    if (p->lines >= HB_HTTP_MAX_HEADERS)
        return fail(p, HB_EHTTP_HEADERS_TOO_BIG);
    p->lines++;
    if (count_head(p, HEADER_OVERHEAD) != 0)
        return -1;
    if (p->headers_done)
        return 0;
    if (p->req.nheaders == p->headers_cap) {
        size_t cap = p->headers_cap ? p->headers_cap * 2 : 16;
        hb_http_header *h = realloc(p->req.headers, cap * sizeof(*h));
        if (h == NULL)
            return fail(p, HB_ENOMEM);
        p->req.headers = h;
        p->headers_cap = cap;
    }
    memset(&p->req.headers[p->req.nheaders++], 0, sizeof(hb_http_header));
    return 0;
}

static int on_header_field(llhttp_t *ll, const char *at, size_t n) {
    hb_http_parser *p = parser_of(ll);
    for (size_t i = 0; i < n; i++)
        if (!is_tchar((unsigned char)at[i]))
            return fail(p, HB_EHTTP_PARSE);
    if (!p->in_field && start_line(p) != 0)
        return -1;
    if (count_head(p, n) != 0)
        return -1;
    p->field_len += n;
    if (p->headers_done)
        return 0;
    p->req.headers[p->req.nheaders - 1].name_len += n;
    return head_put(p, at, n);
}

static int on_header_field_complete(llhttp_t *ll) {
    hb_http_parser *p = parser_of(ll);
    if (p->field_len == 0)
        return fail(p, HB_EHTTP_PARSE);
    p->field_len = 0;
    p->in_field = 0;
    if (p->headers_done)
        return 0;
    return head_put(p, "", 1);
}

static int on_header_value(llhttp_t *ll, const char *at, size_t n) {
    hb_http_parser *p = parser_of(ll);
    hb_http_header *h;
    if (p->in_field)
        return fail(p, HB_EHTTP_PARSE); /* llhttp ends a name before its value */
    if (count_head(p, n) != 0)
        return -1;
    if (p->headers_done)
        return 0;
    h = &p->req.headers[p->req.nheaders - 1];
    if (h->value_len == 0) {
        while (n > 0 && (*at == ' ' || *at == '\t')) {
            at++;
            n--;
        }
    }
    h->value_len += n;
    return head_put(p, at, n);
}

static int on_header_value_complete(llhttp_t *ll) {
    hb_http_parser *p = parser_of(ll);
    hb_http_header *h;
    if (p->headers_done)
        return 0;
    /* The value is the arena's tail, so trimming it is shortening the arena. */
    h = &p->req.headers[p->req.nheaders - 1];
    while (h->value_len > 0 &&
           (p->head[p->head_len - 1] == ' ' || p->head[p->head_len - 1] == '\t')) {
        h->value_len--;
        p->head_len--;
    }
    return head_put(p, "", 1);
}

/* Turns the arena's layout into pointers, now that it stops moving. Returns
 * -1 if the layout is not what the callbacks should have built. */
static int point_into_head(hb_http_parser *p) {
    hb_http_request *r = &p->req;
    char *url = p->head;
    size_t path_len = 0, qend, pos;

    while (path_len < p->url_len && url[path_len] != '?' && url[path_len] != '#')
        path_len++;
    r->path = url;
    r->path_len = path_len;
    r->query = "";
    r->query_len = 0;
    qend = path_len;
    if (path_len < p->url_len && url[path_len] == '?') {
        qend = path_len + 1;
        while (qend < p->url_len && url[qend] != '#')
            qend++;
        r->query = url + path_len + 1;
        r->query_len = qend - path_len - 1;
    }
    /* Cutting at '?' and '#' NUL-terminates path and query. */
    url[path_len] = '\0';
    url[qend] = '\0';

    pos = p->url_len + 1;
    for (size_t i = 0; i < r->nheaders; i++) {
        r->headers[i].name = p->head + pos;
        pos += r->headers[i].name_len + 1;
        r->headers[i].value = p->head + pos;
        pos += r->headers[i].value_len + 1;
    }
    return pos == p->head_len ? 0 : -1;
}

static int on_headers_complete(llhttp_t *ll) {
    hb_http_parser *p = parser_of(ll);
    /* llhttp always reports a URL and ends every name and value; these
     * checks only keep a surprise from becoming a bad pointer. */
    if (p->head == NULL || p->in_field || point_into_head(p) != 0)
        return fail(p, HB_EHTTP_PARSE);
    p->headers_done = 1;
    p->req.method = ll->method;
    p->has_body = (ll->flags & F_CHUNKED) ||
                  ((ll->flags & F_CONTENT_LENGTH) && ll->content_length > 0);
    if ((ll->flags & F_CONTENT_LENGTH) && !(ll->flags & F_CHUNKED) &&
        ll->content_length > p->max_body)
        return fail(p, HB_EHTTP_BODY_TOO_BIG);
    /* Stop here so feed() learns exactly where the head ended. */
    p->head_paused = 1;
    return HPE_PAUSED;
}

/* Body bytes so far, plus chunk extensions: llhttp skips those without
 * storing them, but a peer must not stream them forever (CVE-2024-22019). */
static size_t body_used(const hb_http_parser *p) {
    return p->req.body_len + p->ext_len;
}

static int on_chunk_header(llhttp_t *ll) {
    hb_http_parser *p = parser_of(ll);
    /* content_length holds this chunk's size: refuse before it arrives. */
    if (ll->content_length > p->max_body - body_used(p))
        return fail(p, HB_EHTTP_BODY_TOO_BIG);
    return 0;
}

static int on_chunk_extension(llhttp_t *ll, const char *at, size_t n) {
    hb_http_parser *p = parser_of(ll);
    (void)at;
    if (n > p->max_body - body_used(p))
        return fail(p, HB_EHTTP_BODY_TOO_BIG);
    p->ext_len += n;
    return 0;
}

static int on_body(llhttp_t *ll, const char *at, size_t n) {
    hb_http_parser *p = parser_of(ll);
    hb_http_request *r = &p->req;
    if (n > p->max_body - body_used(p))
        return fail(p, HB_EHTTP_BODY_TOO_BIG);
    if (r->body_len + n + 1 > p->body_cap) {
        size_t need = r->body_len + n + 1;
        size_t cap = p->body_cap * 2 > 256 ? p->body_cap * 2 : 256;
        uint8_t *b;
        /* Grow toward a declared length but never past it: a peer that only
         * announces a large body does not get it allocated up front. */
        if ((ll->flags & F_CONTENT_LENGTH) && !(ll->flags & F_CHUNKED) &&
            cap > r->body_len + n + ll->content_length + 1)
            cap = r->body_len + n + ll->content_length + 1;
        if (cap < need)
            cap = need;
        b = realloc(r->body == p->empty_body ? NULL : r->body, cap);
        if (b == NULL)
            return fail(p, HB_ENOMEM);
        r->body = b;
        p->body_cap = cap;
    }
    memcpy(r->body + r->body_len, at, n);
    r->body_len += n;
    return 0;
}

static int on_message_complete(llhttp_t *ll) {
    hb_http_parser *p = parser_of(ll);
    p->complete = 1;
    /* Read these now: llhttp clears its flags right after this callback. */
    p->req.method = ll->method;
    p->req.keep_alive = llhttp_should_keep_alive(ll);
    p->req.upgrade = ll->upgrade;
    p->req.body[p->req.body_len] = '\0';
    /* An upgrade makes llhttp stop by itself with HPE_PAUSED_UPGRADE;
     * anything else we stop here so the next request stays unread. */
    return ll->upgrade ? 0 : HPE_PAUSED;
}

static const llhttp_settings_t SETTINGS = {
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
    .on_url_complete = on_url_complete,
    .on_header_field_complete = on_header_field_complete,
    .on_header_value_complete = on_header_value_complete,
    .on_chunk_header = on_chunk_header,
    .on_chunk_extension_name = on_chunk_extension,
    .on_chunk_extension_value = on_chunk_extension,
};

static void start(hb_http_parser *p) {
    llhttp_init(&p->ll, HTTP_REQUEST, &SETTINGS);
    p->ll.data = p;
    memset(&p->req, 0, sizeof(p->req));
    p->req.body = p->empty_body;
    p->empty_body[0] = '\0';
    p->head = NULL;
    p->head_len = p->head_cap = 0;
    p->head_bytes = p->raw_head = p->ext_len = p->url_len = p->lines = p->field_len = 0;
    p->headers_cap = p->body_cap = 0;
    p->err = 0;
    p->busy = p->in_field = p->headers_done = p->head_paused = p->complete = p->has_body = 0;
}

static void release(hb_http_parser *p) {
    free(p->head);
    free(p->req.headers);
    if (p->req.body != p->empty_body)
        free(p->req.body);
}

hb_http_parser *hb_http_parser_new(size_t max_header_bytes, size_t max_body) {
    hb_http_parser *p = malloc(sizeof(*p));
    if (p == NULL)
        return NULL;
    p->max_head = max_header_bytes;
    p->max_body = max_body;
    p->notify_head = 0;
    start(p);
    return p;
}

/* Whitespace that llhttp skips reaches no callback, so the raw head (every
 * byte from the request's first to its blank line) is bounded too, loosely:
 * the exact limit is the callbacks' count. */
static size_t raw_head_max(const hb_http_parser *p) {
    return p->max_head > (SIZE_MAX - 1024) / 2 ? SIZE_MAX : p->max_head * 2 + 1024;
}

int hb_http_parser_feed(hb_http_parser *p, const uint8_t *data, size_t len, size_t *consumed) {
    const char *at = (const char *)data;
    size_t left = len;

    *consumed = 0;
    if (p->err < 0)
        return p->err;
    if (p->complete)
        return 1;
    if (len == 0)
        return 0;
    p->busy = 1;
    for (;;) {
        size_t n = left;
        llhttp_errno_t e;
        const char *stop;

        if (!p->headers_done) {
            /* Never hand llhttp more head than the bound, so the outcome
             * does not depend on how the bytes were split. */
            size_t room = raw_head_max(p) - p->raw_head;
            if (room == 0) {
                p->err = HB_EHTTP_HEADERS_TOO_BIG;
                return p->err;
            }
            if (n > room)
                n = room;
        }
        e = llhttp_execute(&p->ll, at, n);
        if (e == HPE_OK) {
            if (!p->headers_done)
                p->raw_head += n;
            at += n;
            left -= n;
            if (left == 0)
                break;
            continue;
        }
        stop = llhttp_get_error_pos(&p->ll);
        if (e == HPE_PAUSED && p->head_paused) {
            /* Resume even with nothing left: a request without a body
             * completes without another byte. */
            p->head_paused = 0;
            llhttp_resume(&p->ll);
            left -= (size_t)(stop - at);
            at = stop;
            /* A request without a body completes with no more bytes, so
             * it is reported whole: a 2 with nothing left to feed would
             * leave it waiting for bytes that may never come. */
            if (p->notify_head && p->has_body) {
                *consumed = (size_t)(at - (const char *)data);
                return 2;
            }
            continue;
        }
        if ((e == HPE_PAUSED || e == HPE_PAUSED_UPGRADE) && p->complete) {
            *consumed = (size_t)(stop - (const char *)data);
            return 1;
        }
        p->complete = 0;
        if (p->err == 0)
            p->err = HB_EHTTP_PARSE;
        return p->err;
    }
    *consumed = len;
    return 0;
}

hb_http_request *hb_http_parser_request(hb_http_parser *p) {
    return p->complete ? &p->req : NULL;
}

void hb_http_parser_notify_head(hb_http_parser *p, int on) {
    p->notify_head = (uint8_t)(on != 0);
}

const hb_http_request *hb_http_parser_head(const hb_http_parser *p) {
    return p->headers_done ? &p->req : NULL;
}

int hb_http_parser_busy(const hb_http_parser *p) {
    return p->busy;
}

void hb_http_parser_reset(hb_http_parser *p) {
    release(p);
    start(p);
}

void hb_http_parser_free(hb_http_parser *p) {
    if (p == NULL)
        return;
    release(p);
    free(p);
}

static int ascii_lower(int c) {
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

const char *hb_http_request_header(const hb_http_request *r, const char *name) {
    size_t n = strlen(name);
    for (size_t i = 0; i < r->nheaders; i++) {
        const hb_http_header *h = &r->headers[i];
        size_t j = 0;
        if (h->name_len != n)
            continue;
        while (j < n &&
               ascii_lower((unsigned char)h->name[j]) == ascii_lower((unsigned char)name[j]))
            j++;
        if (j == n)
            return h->value;
    }
    return NULL;
}
