/* Tests of src/http/response.c: exact response bytes for the shapes the
 * server writes, the 1xx/204 rules, and reason phrases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "http/response.h"

static void expect(hb_buf *b, const char *want) {
    assert_non_null(b);
    assert_int_equal(b->refs, 1);
    assert_int_equal(b->off, 0);
    assert_int_equal(b->len, strlen(want));
    assert_memory_equal(b->data, want, b->len);
    hb_buf_unref(b);
}

static void test_full_response(void **state) {
    (void)state;
    const hb_http_header extra[] = {
        {"Set-Cookie", 10, "io=abc; Path=/", 14},
        {"X-Cut-Here", 5, "valueIGNORED", 5}, /* lengths rule, not NULs */
    };
    expect(hb_http_response_new(200, "text/plain; charset=UTF-8", extra, 2, "ok", 2, 1),
           "HTTP/1.1 200 OK\r\n"
           "Content-Type: text/plain; charset=UTF-8\r\n"
           "Content-Length: 2\r\n"
           "Connection: keep-alive\r\n"
           "Set-Cookie: io=abc; Path=/\r\n"
           "X-Cut: value\r\n"
           "\r\n"
           "ok");
}

static void test_minimal_responses(void **state) {
    (void)state;
    expect(hb_http_response_new(413, NULL, NULL, 0, NULL, 0, 0),
           "HTTP/1.1 413 Payload Too Large\r\n"
           "Content-Length: 0\r\n"
           "Connection: close\r\n"
           "\r\n");
    const char json[] = "{\"code\":1,\"message\":\"Session ID unknown\"}";
    char want[256];
    strcpy(want, "HTTP/1.1 400 Bad Request\r\n"
                 "Content-Type: application/json\r\n"
                 "Content-Length: 41\r\n"
                 "Connection: close\r\n"
                 "\r\n");
    strcat(want, json);
    expect(hb_http_response_new(400, "application/json", NULL, 0, json, strlen(json), 0), want);

    /* Binary bodies with NULs are copied whole. */
    hb_buf *b = hb_http_response_new(200, NULL, NULL, 0, "a\0b", 3, 1);
    assert_non_null(b);
    assert_memory_equal(b->data + b->len - 3, "a\0b", 3);
    assert_memory_equal(b->data, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n", 36);
    hb_buf_unref(b);
}

static void test_no_length_statuses(void **state) {
    (void)state;
    const hb_http_header up[] = {
        {"Upgrade", 7, "websocket", 9},
        {"Connection", 10, "Upgrade", 7},
        {"Sec-WebSocket-Accept", 20, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", 28},
    };
    expect(hb_http_response_new(101, NULL, up, 3, NULL, 0, 1),
           "HTTP/1.1 101 Switching Protocols\r\n"
           "Upgrade: websocket\r\n"
           "Connection: Upgrade\r\n"
           "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
           "\r\n");
    const hb_http_header cors[] = {{"Access-Control-Allow-Origin", 27, "*", 1}};
    /* A body given to a 204 is dropped, as the status forbids one. */
    expect(hb_http_response_new(204, "text/plain", cors, 1, "xx", 2, 1),
           "HTTP/1.1 204 No Content\r\n"
           "Content-Type: text/plain\r\n"
           "Connection: keep-alive\r\n"
           "Access-Control-Allow-Origin: *\r\n"
           "\r\n");
    assert_null(hb_http_response_new(99, NULL, NULL, 0, NULL, 0, 1));
    assert_null(hb_http_response_new(1000, NULL, NULL, 0, NULL, 0, 1));
    assert_null(hb_http_response_new(-200, NULL, NULL, 0, NULL, 0, 1));
    expect(hb_http_response_new(599, NULL, NULL, 0, NULL, 0, 0),
           "HTTP/1.1 599 Unknown\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
}

static void test_status_text(void **state) {
    (void)state;
    assert_string_equal(hb_http_status_text(200), "OK");
    assert_string_equal(hb_http_status_text(101), "Switching Protocols");
    assert_string_equal(hb_http_status_text(204), "No Content");
    assert_string_equal(hb_http_status_text(400), "Bad Request");
    assert_string_equal(hb_http_status_text(403), "Forbidden");
    assert_string_equal(hb_http_status_text(404), "Not Found");
    assert_string_equal(hb_http_status_text(408), "Request Timeout");
    assert_string_equal(hb_http_status_text(413), "Payload Too Large");
    assert_string_equal(hb_http_status_text(426), "Upgrade Required");
    assert_string_equal(hb_http_status_text(431), "Request Header Fields Too Large");
    assert_string_equal(hb_http_status_text(500), "Internal Server Error");
    assert_string_equal(hb_http_status_text(503), "Service Unavailable");
    assert_string_equal(hb_http_status_text(0), "Unknown");
    assert_string_equal(hb_http_status_text(299), "Unknown");
    assert_string_equal(hb_http_status_text(-1), "Unknown");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_response),
        cmocka_unit_test(test_minimal_responses),
        cmocka_unit_test(test_no_length_statuses),
        cmocka_unit_test(test_status_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
