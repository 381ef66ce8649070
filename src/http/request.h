/* The sans-IO HTTP/1.1 request reader: llhttp underneath, Hubbub's limits on
 * top. It turns a connection's bytes into one complete request at a time
 * (URL split into path and query, headers, dechunked body) and stops exactly
 * at the request's end, so pipelined requests and the first WebSocket bytes
 * after an upgrade stay with the caller. No I/O. */
#ifndef HB_HTTP_REQUEST_H
#define HB_HTTP_REQUEST_H

#include <stddef.h>
#include <stdint.h>

/* More header lines than this (trailers included) fail with
 * HB_EHTTP_HEADERS_TOO_BIG (431). */
#define HB_HTTP_MAX_HEADERS 100

/* One header line. In a parsed request both strings are NUL-terminated and
 * owned by the parser; as input to hb_http_response_new() they need not be. */
typedef struct {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
} hb_http_header;

/* A complete request. Every pointer is owned by the parser and valid until
 * hb_http_parser_reset() or hb_http_parser_free(); none is ever NULL except
 * headers when nheaders is 0. */
typedef struct hb_http_request {
    int method;                /* llhttp_method_t, e.g. HTTP_GET */
    const char *path;          /* URL before '?' (or '#'), not decoded, NUL-terminated */
    size_t path_len;
    const char *query;         /* between '?' and '#', without them; "" if none */
    size_t query_len;
    hb_http_header *headers;   /* in order; names as sent, values trimmed of SP/HT */
    size_t nheaders;           /* trailers of a chunked body are not kept */
    uint8_t *body;             /* dechunked; writable (callers decode in place); */
    size_t body_len;           /* body[body_len] is a NUL kept for convenience */
    int keep_alive;            /* llhttp_should_keep_alive(): HTTP/1.1 without
                                  "Connection: close", or HTTP/1.0 with keep-alive */
    int upgrade;               /* Connection: upgrade + Upgrade (WebSocket), or CONNECT */
} hb_http_request;

typedef struct hb_http_parser hb_http_parser;

/* A parser for one connection. max_header_bytes bounds the head: the URL,
 * every header name and value, plus 4 bytes per header line (": " and CRLF),
 * trailers included; past it feed() fails with HB_EHTTP_HEADERS_TOO_BIG
 * (431) before storing more. max_body bounds the dechunked body (413).
 * Only the parser struct is allocated here; storage for a request is
 * malloc'd while it arrives and freed by reset, so an idle parser is small.
 * Returns NULL when out of memory. */
hb_http_parser *hb_http_parser_new(size_t max_header_bytes, size_t max_body);

/* Feeds len bytes of data (borrowed; everything needed is copied). Returns:
 *   1  a request is complete; *consumed says how many bytes of data belong
 *      to it. The bytes after it are the next pipelined request, or after an
 *      upgrade the first bytes of the new protocol. Feeding again before
 *      reset returns 1 with *consumed 0.
 *   2  only after hb_http_parser_notify_head(): a head is complete and its
 *      body is still to come; *consumed bytes of data were the head's.
 *   0  all of data was consumed (*consumed == len); more is needed.
 *   HB_EHTTP_PARSE            malformed HTTP, including Transfer-Encoding
 *                             with Content-Length, a Transfer-Encoding that
 *                             does not end in chunked, or an HTTP/2 preface (400)
 *   HB_EHTTP_HEADERS_TOO_BIG  over max_header_bytes or HB_HTTP_MAX_HEADERS (431)
 *   HB_EHTTP_BODY_TOO_BIG     Content-Length or the chunks so far over max_body,
 *                             detected before the body bytes arrive (413)
 *   HB_ENOMEM                 an allocation failed
 * An error sticks: later feeds return it again until reset. *consumed is 0
 * on errors. */
int hb_http_parser_feed(hb_http_parser *p, const uint8_t *data, size_t len, size_t *consumed);

/* The completed request, or NULL when feed() has not returned 1 since the
 * last reset. Owned by the parser; valid until reset or free. */
hb_http_request *hb_http_parser_request(hb_http_parser *p);

/* With on, feed() also stops once the head (request line and headers) of a
 * request with a body (chunked, or Content-Length > 0) is read and returns
 * 2, *consumed saying where the body starts; feed the rest to go on. A
 * request without a body returns 1 at once instead. Lets a server act
 * before a body has arrived (refuse it, or notice two uploads racing). Off
 * by default; reset keeps the setting. */
void hb_http_parser_notify_head(hb_http_parser *p, int on);
/* The request being read, once its head is complete: method, path, query
 * and headers are valid (body and the completion flags are not yet), until
 * reset. NULL before. Also valid after HB_EHTTP_BODY_TOO_BIG. */
const hb_http_request *hb_http_parser_head(const hb_http_parser *p);
/* 1 if any byte has been fed since the last reset (a request is in progress
 * or complete), else 0. */
int hb_http_parser_busy(const hb_http_parser *p);

/* Forgets the current request (freeing its storage) and any error; the
 * parser is ready for the next request on the same connection. */
void hb_http_parser_reset(hb_http_parser *p);

/* Frees the parser and its request. NULL is accepted. */
void hb_http_parser_free(hb_http_parser *p);

/* The value of the first header called name (ASCII case-insensitive), a
 * NUL-terminated string owned by the request, or NULL if there is none. */
const char *hb_http_request_header(const hb_http_request *r, const char *name);

#endif
