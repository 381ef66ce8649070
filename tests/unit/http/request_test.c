/* Tests of src/http/request.c: requests whole, pipelined and byte by byte,
 * keep-alive rules, upgrades, each limit at and past its boundary, and
 * malformed input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <llhttp.h>

#include "http/request.h"
#include "hubbub/error.h"

#define MAX_HEAD 1024
#define MAX_BODY 64
#define CHUNKED_HEAD "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"

/* Feeds s from an exact-size heap copy, freed before returning, so the test
 * also proves that the request does not point into the caller's bytes. */
static int feed(hb_http_parser *p, const char *s, size_t len, size_t *consumed) {
    uint8_t *copy = malloc(len ? len : 1);
    int rc;
    assert_non_null(copy);
    memcpy(copy, s, len);
    rc = hb_http_parser_feed(p, copy, len, consumed);
    memset(copy, 'Z', len);
    free(copy);
    return rc;
}

static int feed_str(hb_http_parser *p, const char *s, size_t *consumed) {
    return feed(p, s, strlen(s), consumed);
}

/* Parses all of s as one request and returns it; the caller frees p. */
static hb_http_request *parse_one(hb_http_parser **pp, const char *s) {
    size_t consumed = 0;
    *pp = hb_http_parser_new(MAX_HEAD, MAX_BODY);
    assert_non_null(*pp);
    assert_int_equal(feed_str(*pp, s, &consumed), 1);
    assert_int_equal(consumed, strlen(s));
    return hb_http_parser_request(*pp);
}

static int parse_error(const char *s, size_t max_head, size_t max_body) {
    hb_http_parser *p = hb_http_parser_new(max_head, max_body);
    size_t consumed = 99;
    int rc;
    assert_non_null(p);
    rc = feed_str(p, s, &consumed);
    if (rc < 0)
        assert_int_equal(consumed, 0);
    hb_http_parser_free(p);
    return rc;
}

static void test_get(void **state) {
    (void)state;
    const char *s = "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\n"
                    "Host: example.com\r\n"
                    "User-Agent:   curl/8  \t\r\n"
                    "X-Empty:\r\n"
                    "x-lower: a b\r\n"
                    "\r\n";
    hb_http_parser *p = hb_http_parser_new(MAX_HEAD, MAX_BODY);
    size_t consumed = 0;
    hb_http_request *r;

    assert_non_null(p);
    assert_false(hb_http_parser_busy(p));
    assert_null(hb_http_parser_request(p));
    assert_int_equal(feed_str(p, s, &consumed), 1);
    assert_int_equal(consumed, strlen(s));
    assert_true(hb_http_parser_busy(p));
    r = hb_http_parser_request(p);
    assert_non_null(r);
    assert_int_equal(r->method, HTTP_GET);
    assert_int_equal(r->path_len, 11);
    assert_string_equal(r->path, "/socket.io/");
    assert_int_equal(r->query_len, 23);
    assert_string_equal(r->query, "EIO=4&transport=polling");
    assert_int_equal(r->nheaders, 4);
    assert_string_equal(r->headers[0].name, "Host");
    assert_int_equal(r->headers[0].name_len, 4);
    assert_string_equal(r->headers[0].value, "example.com");
    assert_int_equal(r->headers[0].value_len, 11);
    assert_string_equal(r->headers[1].value, "curl/8");
    assert_int_equal(r->headers[1].value_len, 6);
    assert_string_equal(r->headers[2].name, "X-Empty");
    assert_string_equal(r->headers[2].value, "");
    assert_int_equal(r->headers[2].value_len, 0);
    assert_string_equal(r->headers[3].name, "x-lower");
    assert_string_equal(hb_http_request_header(r, "HOST"), "example.com");
    assert_string_equal(hb_http_request_header(r, "user-agent"), "curl/8");
    assert_string_equal(hb_http_request_header(r, "X-LOWER"), "a b");
    assert_null(hb_http_request_header(r, "Hos"));
    assert_null(hb_http_request_header(r, "Hostx"));
    assert_null(hb_http_request_header(r, "Cookie"));
    assert_non_null(r->body);
    assert_int_equal(r->body_len, 0);
    assert_int_equal(r->body[0], '\0');
    assert_true(r->keep_alive);
    assert_false(r->upgrade);

    /* Done until reset: more input is not taken. */
    assert_int_equal(feed_str(p, "GET / HTTP/1.1\r\n\r\n", &consumed), 1);
    assert_int_equal(consumed, 0);
    assert_ptr_equal(hb_http_parser_request(p), r);

    hb_http_parser_reset(p);
    assert_false(hb_http_parser_busy(p));
    assert_null(hb_http_parser_request(p));
    hb_http_parser_free(p);
    hb_http_parser_free(NULL);
}

static void test_url_shapes(void **state) {
    (void)state;
    hb_http_parser *p;
    hb_http_request *r;

    r = parse_one(&p, "GET /plain HTTP/1.1\r\n\r\n");
    assert_string_equal(r->path, "/plain");
    assert_string_equal(r->query, "");
    assert_int_equal(r->query_len, 0);
    assert_int_equal(r->nheaders, 0);
    assert_null(hb_http_request_header(r, "host"));
    hb_http_parser_free(p);

    r = parse_one(&p, "GET /a? HTTP/1.1\r\n\r\n");
    assert_string_equal(r->path, "/a");
    assert_string_equal(r->query, "");
    hb_http_parser_free(p);

    r = parse_one(&p, "GET /a?x=1?y#frag HTTP/1.1\r\n\r\n");
    assert_string_equal(r->path, "/a");
    assert_int_equal(r->path_len, 2);
    assert_string_equal(r->query, "x=1?y");
    assert_int_equal(r->query_len, 5);
    hb_http_parser_free(p);

    r = parse_one(&p, "GET /a%20b#f?x HTTP/1.1\r\n\r\n");
    assert_string_equal(r->path, "/a%20b");
    assert_string_equal(r->query, "");
    hb_http_parser_free(p);

    /* Leading empty lines before a request are tolerated. */
    r = parse_one(&p, "\r\nOPTIONS * HTTP/1.1\r\n\r\n");
    assert_int_equal(r->method, HTTP_OPTIONS);
    assert_string_equal(r->path, "*");
    hb_http_parser_free(p);
}

static void test_post_content_length(void **state) {
    (void)state;
    hb_http_parser *p;
    hb_http_request *r = parse_one(&p, "POST /x?sid=1 HTTP/1.1\r\n"
                                       "Content-Type: text/plain\r\n"
                                       "Content-Length: 11\r\n"
                                       "\r\n"
                                       "4hello\x1e"
                                       "4abc");
    assert_int_equal(r->method, HTTP_POST);
    assert_int_equal(r->body_len, 11);
    assert_memory_equal(r->body, "4hello\x1e" "4abc", 11);
    assert_int_equal(r->body[11], '\0');
    /* The body is the caller's to rewrite in place. */
    r->body[0] = 'X';
    assert_int_equal(r->body[0], 'X');
    assert_string_equal(hb_http_request_header(r, "content-length"), "11");
    hb_http_parser_free(p);

    /* A body exactly at the limit is accepted. */
    char s[256], body[MAX_BODY + 1];
    memset(body, 'b', MAX_BODY);
    body[MAX_BODY] = '\0';
    snprintf(s, sizeof(s), "POST / HTTP/1.1\r\nContent-Length: %d\r\n\r\n%s", MAX_BODY, body);
    r = parse_one(&p, s);
    assert_int_equal(r->body_len, MAX_BODY);
    assert_memory_equal(r->body, body, MAX_BODY);
    hb_http_parser_free(p);

    r = parse_one(&p, "POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    assert_int_equal(r->body_len, 0);
    assert_int_equal(r->body[0], '\0');
    hb_http_parser_free(p);
}

static const char CHUNKED[] = "POST /c HTTP/1.1\r\n"
                              "Transfer-Encoding: chunked\r\n"
                              "\r\n"
                              "5\r\nhello\r\n"
                              "1;ext=1\r\n \r\n"
                              "A\r\n0123456789\r\n"
                              "0\r\n"
                              "Trailer-One: t\r\n"
                              "\r\n";

static void check_chunked(hb_http_request *r) {
    assert_int_equal(r->method, HTTP_POST);
    assert_int_equal(r->body_len, 16);
    assert_memory_equal(r->body, "hello 0123456789", 16);
    assert_int_equal(r->body[16], '\0');
    /* Trailers are read but not kept. */
    assert_int_equal(r->nheaders, 1);
    assert_string_equal(hb_http_request_header(r, "transfer-encoding"), "chunked");
    assert_null(hb_http_request_header(r, "trailer-one"));
    assert_true(r->keep_alive);
}

static void test_chunked_post(void **state) {
    (void)state;
    hb_http_parser *p;
    check_chunked(parse_one(&p, CHUNKED));
    hb_http_parser_free(p);
}

static void test_pipelined(void **state) {
    (void)state;
    const char first[] = "POST /one HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc";
    const char second[] = "GET /two?q HTTP/1.1\r\nConnection: close\r\n\r\n";
    char both[sizeof(first) + sizeof(second)];
    hb_http_parser *p = hb_http_parser_new(MAX_HEAD, MAX_BODY);
    size_t consumed = 0, len = strlen(first) + strlen(second);
    hb_http_request *r;

    snprintf(both, sizeof(both), "%s%s", first, second);
    assert_int_equal(hb_http_parser_feed(p, (const uint8_t *)both, len, &consumed), 1);
    assert_int_equal(consumed, strlen(first));
    r = hb_http_parser_request(p);
    assert_string_equal(r->path, "/one");
    assert_memory_equal(r->body, "abc", 3);
    assert_true(r->keep_alive);

    hb_http_parser_reset(p);
    assert_int_equal(
        hb_http_parser_feed(p, (const uint8_t *)both + consumed, len - consumed, &consumed), 1);
    assert_int_equal(consumed, strlen(second));
    r = hb_http_parser_request(p);
    assert_int_equal(r->method, HTTP_GET);
    assert_string_equal(r->path, "/two");
    assert_string_equal(r->query, "q");
    assert_int_equal(r->body_len, 0);
    assert_false(r->keep_alive);
    hb_http_parser_free(p);
}

/* Feeds s one byte at a time (each from its own allocation): every byte but
 * the last must ask for more, the last completes the request. */
static hb_http_request *parse_bytewise(hb_http_parser *p, const char *s, size_t len) {
    size_t consumed = 0;
    for (size_t i = 0; i + 1 < len; i++) {
        assert_int_equal(feed(p, s + i, 1, &consumed), 0);
        assert_int_equal(consumed, 1);
        assert_true(hb_http_parser_busy(p));
        assert_null(hb_http_parser_request(p));
    }
    assert_int_equal(feed(p, s + len - 1, 1, &consumed), 1);
    assert_int_equal(consumed, 1);
    return hb_http_parser_request(p);
}

static void test_byte_by_byte(void **state) {
    (void)state;
    const char get[] = "GET /p?a=1&b=2 HTTP/1.1\r\nHost: h\r\nAccept:  */* \r\n\r\n";
    const char post[] = "POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nab\0cd";
    hb_http_parser *p = hb_http_parser_new(MAX_HEAD, MAX_BODY);
    hb_http_request *r;

    r = parse_bytewise(p, get, strlen(get));
    assert_string_equal(r->path, "/p");
    assert_string_equal(r->query, "a=1&b=2");
    assert_int_equal(r->nheaders, 2);
    assert_string_equal(r->headers[0].name, "Host");
    assert_string_equal(r->headers[0].value, "h");
    assert_string_equal(r->headers[1].name, "Accept");
    assert_string_equal(r->headers[1].value, "*/*");
    hb_http_parser_reset(p);

    r = parse_bytewise(p, post, sizeof(post) - 1);
    assert_int_equal(r->body_len, 5);
    assert_memory_equal(r->body, "ab\0cd", 5);
    hb_http_parser_reset(p);

    check_chunked(parse_bytewise(p, CHUNKED, strlen(CHUNKED)));
    hb_http_parser_free(p);
}

static void test_keep_alive(void **state) {
    (void)state;
    static const struct {
        const char *req;
        int keep_alive;
    } cases[] = {
        {"GET / HTTP/1.1\r\n\r\n", 1},
        {"GET / HTTP/1.1\r\nConnection: keep-alive\r\n\r\n", 1},
        {"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", 0},
        {"GET / HTTP/1.1\r\nConnection: CLOSE\r\n\r\n", 0},
        {"GET / HTTP/1.0\r\n\r\n", 0},
        {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 1},
        {"POST / HTTP/1.0\r\nContent-Length: 1\r\n\r\nx", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        hb_http_parser *p;
        hb_http_request *r = parse_one(&p, cases[i].req);
        assert_int_equal(r->keep_alive, cases[i].keep_alive);
        assert_false(r->upgrade);
        hb_http_parser_free(p);
    }
}

static void test_upgrade(void **state) {
    (void)state;
    const char head[] = "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
                        "Host: h\r\n"
                        "Upgrade: websocket\r\n"
                        "Connection: Upgrade\r\n"
                        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                        "Sec-WebSocket-Version: 13\r\n"
                        "\r\n";
    const char ws[] = "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"; /* masked "Hello" */
    char all[sizeof(head) + sizeof(ws)];
    size_t len = strlen(head) + sizeof(ws) - 1, consumed = 0;
    hb_http_parser *p = hb_http_parser_new(MAX_HEAD, MAX_BODY);
    hb_http_request *r;

    memcpy(all, head, strlen(head));
    memcpy(all + strlen(head), ws, sizeof(ws) - 1);
    assert_int_equal(feed(p, all, len, &consumed), 1);
    assert_int_equal(consumed, strlen(head));
    r = hb_http_parser_request(p);
    assert_true(r->upgrade);
    assert_int_equal(r->method, HTTP_GET);
    assert_string_equal(hb_http_request_header(r, "upgrade"), "websocket");
    assert_string_equal(hb_http_request_header(r, "sec-websocket-key"), "dGhlIHNhbXBsZSBub25jZQ==");
    hb_http_parser_reset(p);

    /* Byte by byte: the request ends on its blank line, not later. */
    r = parse_bytewise(p, head, strlen(head));
    assert_true(r->upgrade);
    hb_http_parser_reset(p);

    /* Upgrade without "Connection: upgrade" is a plain request. */
    assert_int_equal(feed_str(p, "GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n", &consumed), 1);
    assert_false(hb_http_parser_request(p)->upgrade);
    hb_http_parser_free(p);
}

static void test_header_too_big(void **state) {
    (void)state;
    char s[4096];
    char big[2048];
    hb_http_parser *p;
    size_t consumed;

    /* The count is URL + names + values + 4 per header line. "GET / " ...:
     * URL 1 byte, "X" + value 4 + 1 + v. Exactly at the limit passes. */
    size_t v = MAX_HEAD - 1 - 4 - 1;
    memset(big, 'v', v);
    big[v] = '\0';
    snprintf(s, sizeof(s), "GET / HTTP/1.1\r\nX: %s\r\n\r\n", big);
    p = hb_http_parser_new(MAX_HEAD, MAX_BODY);
    assert_int_equal(feed_str(p, s, &consumed), 1);
    assert_int_equal(hb_http_parser_request(p)->headers[0].value_len, v);
    hb_http_parser_free(p);

    big[v] = 'v';
    big[v + 1] = '\0';
    snprintf(s, sizeof(s), "GET / HTTP/1.1\r\nX: %s\r\n\r\n", big);
    assert_int_equal(parse_error(s, MAX_HEAD, MAX_BODY), HB_EHTTP_HEADERS_TOO_BIG);

    /* Detected as soon as the limit is passed, without the rest. */
    p = hb_http_parser_new(MAX_HEAD, MAX_BODY);
    snprintf(s, sizeof(s), "GET / HTTP/1.1\r\nX: %s", big);
    assert_int_equal(feed_str(p, s, &consumed), HB_EHTTP_HEADERS_TOO_BIG);
    /* The error sticks. */
    assert_int_equal(feed_str(p, "\r\n\r\n", &consumed), HB_EHTTP_HEADERS_TOO_BIG);
    assert_int_equal(consumed, 0);
    assert_null(hb_http_parser_request(p));
    /* Reset gives a fresh start. */
    hb_http_parser_reset(p);
    assert_int_equal(feed_str(p, "GET / HTTP/1.1\r\n\r\n", &consumed), 1);
    hb_http_parser_free(p);

    /* A long URL, and many smaller headers adding up. */
    memset(big, 'u', MAX_HEAD);
    big[MAX_HEAD] = '\0';
    snprintf(s, sizeof(s), "GET /%s HTTP/1.1\r\n\r\n", big);
    assert_int_equal(parse_error(s, MAX_HEAD, MAX_BODY), HB_EHTTP_HEADERS_TOO_BIG);
    {
        size_t n = (size_t)snprintf(s, sizeof(s), "GET / HTTP/1.1\r\n");
        for (int i = 0; i < 60; i++)
            n += (size_t)snprintf(s + n, sizeof(s) - n, "Header-%02d: 0123456789\r\n", i);
        snprintf(s + n, sizeof(s) - n, "\r\n");
        assert_int_equal(parse_error(s, MAX_HEAD, MAX_BODY), HB_EHTTP_HEADERS_TOO_BIG);
        assert_int_equal(parse_error(s, 4 * MAX_HEAD, MAX_BODY), 1);
    }

    /* Whitespace no callback sees is bounded too. */
    p = hb_http_parser_new(MAX_HEAD, MAX_BODY);
    assert_int_equal(feed_str(p, "GET / HTTP/1.1\r\nX:", &consumed), 0);
    memset(big, ' ', sizeof(big));
    {
        int rc = 0;
        for (int i = 0; i < 4 && rc == 0; i++)
            rc = feed(p, big, sizeof(big), &consumed);
        assert_int_equal(rc, HB_EHTTP_HEADERS_TOO_BIG);
    }
    hb_http_parser_free(p);
}

static void test_too_many_headers(void **state) {
    (void)state;
    char s[8192];
    size_t n;

    n = (size_t)snprintf(s, sizeof(s), "GET / HTTP/1.1\r\n");
    for (int i = 0; i < HB_HTTP_MAX_HEADERS; i++)
        n += (size_t)snprintf(s + n, sizeof(s) - n, "H%d: x\r\n", i);
    snprintf(s + n, sizeof(s) - n, "\r\n");
    {
        hb_http_parser *p = hb_http_parser_new(sizeof(s), MAX_BODY);
        size_t consumed;
        assert_int_equal(feed_str(p, s, &consumed), 1);
        hb_http_request *r = hb_http_parser_request(p);
        assert_int_equal(r->nheaders, HB_HTTP_MAX_HEADERS);
        assert_string_equal(r->headers[99].name, "H99");
        assert_string_equal(hb_http_request_header(r, "h57"), "x");
        hb_http_parser_free(p);
    }
    snprintf(s + n, sizeof(s) - n, "One-More: x\r\n\r\n");
    assert_int_equal(parse_error(s, sizeof(s), MAX_BODY), HB_EHTTP_HEADERS_TOO_BIG);

    /* Trailers count toward the same limit. */
    n = (size_t)snprintf(s, sizeof(s), CHUNKED_HEAD "0\r\n");
    for (int i = 0; i < HB_HTTP_MAX_HEADERS; i++)
        n += (size_t)snprintf(s + n, sizeof(s) - n, "T%d: x\r\n", i);
    snprintf(s + n, sizeof(s) - n, "\r\n");
    assert_int_equal(parse_error(s, sizeof(s), MAX_BODY), HB_EHTTP_HEADERS_TOO_BIG);
}

static void test_body_too_big(void **state) {
    (void)state;
    hb_http_parser *p = hb_http_parser_new(MAX_HEAD, MAX_BODY);
    size_t consumed;
    char s[512];

    /* By Content-Length: refused at the end of the head, before any body. */
    snprintf(s, sizeof(s), "POST / HTTP/1.1\r\nContent-Length: %d\r\n\r\n", MAX_BODY + 1);
    assert_int_equal(feed_str(p, s, &consumed), HB_EHTTP_BODY_TOO_BIG);
    assert_int_equal(consumed, 0);
    assert_int_equal(feed_str(p, "x", &consumed), HB_EHTTP_BODY_TOO_BIG);
    hb_http_parser_reset(p);
    assert_int_equal(feed_str(p, "POST / HTTP/1.1\r\nContent-Length: 18446744073709551615\r\n\r\n",
                              &consumed),
                     HB_EHTTP_BODY_TOO_BIG);
    hb_http_parser_reset(p);

    /* By one chunk's announced size, before its bytes arrive. */
    snprintf(s, sizeof(s), "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n",
             MAX_BODY + 1);
    assert_int_equal(feed_str(p, s, &consumed), HB_EHTTP_BODY_TOO_BIG);
    hb_http_parser_reset(p);

    /* Chunk extensions are not kept but count with the body (else a peer
     * could stream them forever). */
    {
        char ext[MAX_BODY + 2];
        memset(ext, 'e', sizeof(ext) - 1);
        ext[sizeof(ext) - 1] = '\0';
        snprintf(s, sizeof(s), "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1;%s", ext);
        assert_int_equal(feed_str(p, s, &consumed), HB_EHTTP_BODY_TOO_BIG);
        hb_http_parser_reset(p);
        /* Name and value count, not ';' and '=': 62 + 1 + the body's 1 fit. */
        ext[MAX_BODY - 2] = '\0';
        snprintf(s, sizeof(s),
                 CHUNKED_HEAD "1;%s=v\r\nx\r\n0\r\n\r\n", ext);
        assert_int_equal(feed_str(p, s, &consumed), 1);
        assert_int_equal(hb_http_parser_request(p)->body_len, 1);
        hb_http_parser_reset(p);
        snprintf(s, sizeof(s),
                 CHUNKED_HEAD "1;%s=vv\r\nx\r\n0\r\n\r\n", ext);
        assert_int_equal(feed_str(p, s, &consumed), HB_EHTTP_BODY_TOO_BIG);
        hb_http_parser_reset(p);
    }

    /* By chunks adding up: 40 + 24 fits exactly, one more byte does not. */
    {
        char c40[41], c24[25];
        memset(c40, 'a', 40);
        c40[40] = '\0';
        memset(c24, 'b', 24);
        c24[24] = '\0';
        snprintf(s, sizeof(s),
                 "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n28\r\n%s\r\n18\r\n%s\r\n",
                 c40, c24);
        assert_int_equal(feed_str(p, s, &consumed), 0);
        assert_int_equal(feed_str(p, "1\r\n", &consumed), HB_EHTTP_BODY_TOO_BIG);
        hb_http_parser_reset(p);
        assert_int_equal(feed_str(p, s, &consumed), 0);
        assert_int_equal(feed_str(p, "0\r\n\r\n", &consumed), 1);
        assert_int_equal(hb_http_parser_request(p)->body_len, MAX_BODY);
    }
    hb_http_parser_free(p);

    /* max_body 0 allows no body at all. */
    assert_int_equal(parse_error("POST / HTTP/1.1\r\nContent-Length: 1\r\n\r\nx", MAX_HEAD, 0),
                     HB_EHTTP_BODY_TOO_BIG);
    assert_int_equal(parse_error("POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", MAX_HEAD, 0), 1);
}

static void test_malformed(void **state) {
    (void)state;
    static const char *const bad[] = {
        "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", /* a TLS ClientHello */
        "HELLO\r\n\r\n",
        "GET\r\n\r\n",
        "GET / HTTP/9.9\r\n\r\n",
        "GET / HTTP/1.1\r\nBad Header: x\r\n\r\n",
        "GET / HTTP/1.1\r\nX: a\x01z\r\n\r\n",
        "GET / HTTP/1.1\r\n: novalue\r\n\r\n",
        "GET / HTTP/1.1\r\nA: b\r\n: novalue\r\n\r\n",
        "GET / HTTP/1.1\r\nX(y): b\r\n\r\n",
        "GET / HTTP/1.1\r\nX : b\r\n\r\n",
        "GET / HTTP/1.1\rX: a\r\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nBad Trailer: x\r\n\r\n",
        "GET /a b HTTP/1.1\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n",
        "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        hb_http_parser *p = hb_http_parser_new(MAX_HEAD, MAX_BODY);
        size_t consumed = 7;
        assert_int_equal(feed_str(p, bad[i], &consumed), HB_EHTTP_PARSE);
        assert_int_equal(consumed, 0);
        assert_null(hb_http_parser_request(p));
        assert_int_equal(feed_str(p, "GET / HTTP/1.1\r\n\r\n", &consumed), HB_EHTTP_PARSE);
        hb_http_parser_free(p);
    }
}

static void test_notify_head(void **state) {
    (void)state;
    const char post[] = "POST /up?sid=1 HTTP/1.1\r\nContent-Length: 3\r\n\r\n";
    const char get[] = "GET /g HTTP/1.1\r\n\r\n";
    char both[128];
    hb_http_parser *p = hb_http_parser_new(MAX_HEAD, MAX_BODY);
    const hb_http_request *head;
    size_t consumed, len, twos = 0;

    hb_http_parser_notify_head(p, 1);
    assert_null(hb_http_parser_head(p));

    /* Head and body in one buffer: 2 where the body starts, then 1. */
    len = (size_t)snprintf(both, sizeof(both), "%sabc", post);
    assert_int_equal(feed(p, both, len, &consumed), 2);
    assert_int_equal(consumed, strlen(post));
    assert_null(hb_http_parser_request(p));
    head = hb_http_parser_head(p);
    assert_non_null(head);
    assert_int_equal(head->method, HTTP_POST);
    assert_string_equal(head->path, "/up");
    assert_string_equal(head->query, "sid=1");
    assert_string_equal(hb_http_request_header(head, "content-length"), "3");
    assert_int_equal(feed(p, both + consumed, len - consumed, &consumed), 1);
    assert_int_equal(consumed, 3);
    assert_memory_equal(hb_http_parser_request(p)->body, "abc", 3);
    hb_http_parser_reset(p);
    assert_null(hb_http_parser_head(p));

    /* A request without a body is reported whole, even when its last byte
     * ends the buffer (nothing would come to finish it otherwise). */
    assert_int_equal(feed_str(p, get, &consumed), 1);
    assert_int_equal(consumed, strlen(get));
    assert_non_null(hb_http_parser_head(p));
    hb_http_parser_reset(p);
    assert_int_equal(feed_str(p, "POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", &consumed), 1);
    hb_http_parser_reset(p);

    /* Byte by byte: exactly one 2, on the byte ending the head; the setting
     * survives reset. */
    for (size_t i = 0; i < len; i++) {
        int rc = feed(p, both + i, 1, &consumed);
        assert_int_equal(consumed, 1);
        if (i + 1 == strlen(post)) {
            assert_int_equal(rc, 2);
            twos++;
        } else {
            assert_int_equal(rc, i + 1 == len ? 1 : 0);
        }
    }
    assert_int_equal(twos, 1);
    hb_http_parser_reset(p);

    /* Chunked: 2 before any chunk. */
    assert_int_equal(feed_str(p, CHUNKED_HEAD, &consumed), 2);
    assert_int_equal(feed_str(p, "1\r\nx\r\n0\r\n\r\n", &consumed), 1);
    hb_http_parser_reset(p);

    /* A body refused by its length: the head stays readable for the answer. */
    assert_int_equal(feed_str(p, "POST /big HTTP/1.1\r\nContent-Length: 65\r\n\r\n", &consumed),
                     HB_EHTTP_BODY_TOO_BIG);
    assert_non_null(hb_http_parser_head(p));
    assert_string_equal(hb_http_parser_head(p)->path, "/big");

    /* Off again: the same POST goes straight to 1. */
    hb_http_parser_reset(p);
    hb_http_parser_notify_head(p, 0);
    assert_int_equal(feed(p, both, len, &consumed), 1);
    assert_int_equal(consumed, len);
    hb_http_parser_free(p);
}

static void test_reset_and_reuse(void **state) {
    (void)state;
    hb_http_parser *p = hb_http_parser_new(MAX_HEAD, MAX_BODY);
    size_t consumed;

    /* Reset in the middle of a request drops it. */
    assert_int_equal(feed_str(p, "POST /half HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc", &consumed),
                     0);
    assert_int_equal(consumed, 46);
    assert_true(hb_http_parser_busy(p));
    hb_http_parser_reset(p);
    assert_false(hb_http_parser_busy(p));
    /* An empty feed neither progresses nor makes the parser busy. */
    assert_int_equal(hb_http_parser_feed(p, (const uint8_t *)"", 0, &consumed), 0);
    assert_int_equal(consumed, 0);
    assert_false(hb_http_parser_busy(p));

    /* After a "Connection: close" request a reset parser still reads the next. */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(feed_str(p, "GET /c HTTP/1.1\r\nConnection: close\r\n\r\n", &consumed), 1);
        assert_false(hb_http_parser_request(p)->keep_alive);
        hb_http_parser_reset(p);
    }
    hb_http_parser_free(p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get),
        cmocka_unit_test(test_url_shapes),
        cmocka_unit_test(test_post_content_length),
        cmocka_unit_test(test_chunked_post),
        cmocka_unit_test(test_pipelined),
        cmocka_unit_test(test_byte_by_byte),
        cmocka_unit_test(test_keep_alive),
        cmocka_unit_test(test_upgrade),
        cmocka_unit_test(test_header_too_big),
        cmocka_unit_test(test_too_many_headers),
        cmocka_unit_test(test_body_too_big),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_reset_and_reuse),
        cmocka_unit_test(test_notify_head),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
