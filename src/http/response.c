/* Response building: the head is measured first and written once into a
 * buffer of the exact size, so a response is one allocation and one write. */
#include "http/response.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    short status;
    const char *text;
} reason;

/* Node's spellings, so responses match the reference server byte for byte. */
static const reason REASONS[] = {
    {100, "Continue"},
    {101, "Switching Protocols"},
    {200, "OK"},
    {201, "Created"},
    {202, "Accepted"},
    {204, "No Content"},
    {206, "Partial Content"},
    {301, "Moved Permanently"},
    {302, "Found"},
    {303, "See Other"},
    {304, "Not Modified"},
    {307, "Temporary Redirect"},
    {308, "Permanent Redirect"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {406, "Not Acceptable"},
    {408, "Request Timeout"},
    {409, "Conflict"},
    {410, "Gone"},
    {411, "Length Required"},
    {412, "Precondition Failed"},
    {413, "Payload Too Large"},
    {414, "URI Too Long"},
    {415, "Unsupported Media Type"},
    {416, "Range Not Satisfiable"},
    {417, "Expectation Failed"},
    {426, "Upgrade Required"},
    {428, "Precondition Required"},
    {429, "Too Many Requests"},
    {431, "Request Header Fields Too Large"},
    {500, "Internal Server Error"},
    {501, "Not Implemented"},
    {502, "Bad Gateway"},
    {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
    {505, "HTTP Version Not Supported"},
};

const char *hb_http_status_text(int status) {
    for (size_t i = 0; i < sizeof(REASONS) / sizeof(REASONS[0]); i++)
        if (REASONS[i].status == status)
            return REASONS[i].text;
    return "Unknown";
}

static uint8_t *put(uint8_t *w, const void *s, size_t n) {
    if (n > 0)
        memcpy(w, s, n);
    return w + n;
}

static uint8_t *put_str(uint8_t *w, const char *s) {
    return put(w, s, strlen(s));
}

hb_buf *hb_http_response_new(int status, const char *content_type, const hb_http_header *extra,
                             size_t nextra, const void *body, size_t body_len, int keep_alive) {
    char line[64], clen[48];
    const char *conn = keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n";
    /* RFC 9110 8.6 and 15.2: no Content-Length (so no body) on 1xx and 204;
     * a 101's Connection header is the caller's "Upgrade". */
    int no_length = (status >= 100 && status < 200) || status == 204;
    size_t size;
    hb_buf *b;
    uint8_t *w;

    if (status < 100 || status > 999)
        return NULL;
    snprintf(line, sizeof(line), "HTTP/1.1 %d ", status);
    if (no_length)
        body_len = 0;
    clen[0] = '\0';
    if (!no_length)
        snprintf(clen, sizeof(clen), "Content-Length: %zu\r\n", body_len);
    if (status == 101)
        conn = "";

    size = strlen(line) + strlen(hb_http_status_text(status)) + 2 + strlen(clen) + strlen(conn) +
           2 + body_len;
    if (content_type != NULL)
        size += sizeof("Content-Type: ") - 1 + strlen(content_type) + 2;
    for (size_t i = 0; i < nextra; i++)
        size += extra[i].name_len + 2 + extra[i].value_len + 2;

    b = hb_buf_new(size);
    if (b == NULL)
        return NULL;
    w = b->data;
    w = put_str(w, line);
    w = put_str(w, hb_http_status_text(status));
    w = put(w, "\r\n", 2);
    if (content_type != NULL) {
        w = put_str(w, "Content-Type: ");
        w = put_str(w, content_type);
        w = put(w, "\r\n", 2);
    }
    w = put_str(w, clen);
    w = put_str(w, conn);
    for (size_t i = 0; i < nextra; i++) {
        w = put(w, extra[i].name, extra[i].name_len);
        w = put(w, ": ", 2);
        w = put(w, extra[i].value, extra[i].value_len);
        w = put(w, "\r\n", 2);
    }
    w = put(w, "\r\n", 2);
    w = put(w, body, body_len);
    b->len = (size_t)(w - b->data);
    return b;
}
