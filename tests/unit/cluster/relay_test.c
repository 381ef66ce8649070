/* Tests for the head that src/cluster/relay.c sends to a WebSocket
 * upgrade's owner: the request line and every header as received, then
 * X-Hubbub-Forwarded, and nothing else; it parses back to the same
 * request. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cluster/relay.h"
#include "http/request.h"

static hb_http_parser *parse(const char *text, size_t len, hb_http_request **req) {
    hb_http_parser *p = hb_http_parser_new(16384, 1000);
    size_t used = 0;
    assert_non_null(p);
    assert_int_equal(hb_http_parser_feed(p, (const uint8_t *)text, len, &used), 1);
    assert_int_equal(used, len);
    *req = hb_http_parser_request(p);
    return p;
}

static void test_head(void **state) {
    static const char in[] =
        "GET /socket.io/?EIO=4&transport=websocket&sid=abcdefgh123 HTTP/1.1\r\n"
        "Host: lb:3000\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Cookie:  a=1 \r\n\r\n";
    static const char want[] =
        "GET /socket.io/?EIO=4&transport=websocket&sid=abcdefgh123 HTTP/1.1\r\n"
        "Host: lb:3000\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Cookie: a=1\r\nX-Hubbub-Forwarded: k3Xz_9Qa\r\n\r\n";
    hb_http_request *req, *back;
    hb_http_parser *p = parse(in, strlen(in), &req), *q;
    size_t len = 0;
    char *head;
    (void)state;
    head = hb_relay_head(req, "k3Xz_9Qa", &len);
    assert_non_null(head);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(head, want, len);
    q = parse(head, len, &back);
    assert_true(back->upgrade);
    assert_int_equal(back->nheaders, req->nheaders + 1);
    assert_string_equal(hb_http_request_header(back, "x-hubbub-forwarded"), "k3Xz_9Qa");
    assert_string_equal(hb_http_request_header(back, "sec-websocket-key"),
                        "dGhlIHNhbXBsZSBub25jZQ==");
    hb_http_parser_free(q);
    hb_http_parser_free(p);
    free(head);
}

static void test_head_without_query(void **state) {
    static const char in[] = "GET /server/tunnel HTTP/1.1\r\nHost: x\r\n\r\n";
    static const char want[] = "GET /server/tunnel HTTP/1.1\r\nHost: x\r\nX-Hubbub-Forwarded: t\r\n\r\n";
    hb_http_request *req;
    hb_http_parser *p = parse(in, strlen(in), &req);
    size_t len = 0;
    char *head = hb_relay_head(req, "t", &len);
    (void)state;
    assert_non_null(head);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(head, want, len);
    hb_http_parser_free(p);
    free(head);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_head),
        cmocka_unit_test(test_head_without_query),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
