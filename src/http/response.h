/* HTTP/1.1 response heads: reason phrases and whole responses built into one
 * hb_buf, ready to write. No I/O; the server decides when and where. */
#ifndef HB_HTTP_RESPONSE_H
#define HB_HTTP_RESPONSE_H

#include <stddef.h>

#include "core/buf.h"
#include "http/request.h"

/* The reason phrase of status, as Node's http.STATUS_CODES spells it ("OK",
 * "Bad Request", "Payload Too Large", ...), or "Unknown". Static; never NULL. */
const char *hb_http_status_text(int status);

/* Builds a complete response in one new hb_buf (one reference, owned by the
 * caller; off 0): "HTTP/1.1 <status> <reason>", Content-Type (omitted when
 * content_type is NULL), Content-Length, "Connection: keep-alive" or
 * "Connection: close", then the nextra headers of extra (names and values
 * written as given, by their lengths: the caller must keep CR and LF out of
 * them), a blank line and body_len bytes of body (body may be NULL when
 * body_len is 0). Per RFC 9110 a 1xx or 204 response gets neither
 * Content-Length nor body, and a 101 no Connection line either (its extra
 * headers carry "Connection: Upgrade"). Returns NULL when out of memory or
 * when status is not 100..999. */
hb_buf *hb_http_response_new(int status, const char *content_type, const hb_http_header *extra,
                             size_t nextra, const void *body, size_t body_len, int keep_alive);

#endif
