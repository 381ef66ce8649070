/* Tests for src/net/dial.c: splitting "HOST:PORT" and "[V6]:PORT", and
 * refusing what has no port, no host or parts too long; a dial to a
 * literal address connects, and one to a malformed address is refused
 * before anything starts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "hubbub/error.h"
#include "net/dial.h"

static void test_split(void **state) {
    char host[16], port[8];
    (void)state;
    assert_int_equal(hb_dial_split("127.0.0.1:3001", host, sizeof(host), port, sizeof(port)), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_string_equal(port, "3001");
    assert_int_equal(hb_dial_split("[::1]:80", host, sizeof(host), port, sizeof(port)), 0);
    assert_string_equal(host, "::1");
    assert_string_equal(port, "80");
    assert_int_equal(hb_dial_split("node-2.local:9", host, sizeof(host), port, sizeof(port)), 0);
    assert_string_equal(host, "node-2.local");
    assert_string_equal(port, "9");
}

static void test_split_refused(void **state) {
    char host[8], port[6];
    (void)state;
    assert_int_equal(hb_dial_split("localhost", host, sizeof(host), port, sizeof(port)), HB_EINVAL);
    assert_int_equal(hb_dial_split("host:", host, sizeof(host), port, sizeof(port)), HB_EINVAL);
    assert_int_equal(hb_dial_split(":80", host, sizeof(host), port, sizeof(port)), HB_EINVAL);
    assert_int_equal(hb_dial_split("[]:80", host, sizeof(host), port, sizeof(port)), HB_EINVAL);
    assert_int_equal(hb_dial_split("a-very-long-host:80", host, sizeof(host), port, sizeof(port)),
                     HB_EINVAL);
    assert_int_equal(hb_dial_split("h:123456", host, sizeof(host), port, sizeof(port)), HB_EINVAL);
}

static int dialed_status = 1;

static void on_dialed(hb_dial *d, int status) {
    dialed_status = status;
    uv_close((uv_handle_t *)d->tcp, NULL);
}

static void on_accept(uv_stream_t *server, int status) {
    (void)server, (void)status;
}

static void test_dial_literal(void **state) {
    uv_loop_t loop;
    uv_tcp_t server, tcp;
    struct sockaddr_in sa;
    struct sockaddr_storage bound;
    int len = sizeof(bound);
    char addr[64];
    hb_dial d;
    (void)state;
    assert_int_equal(uv_loop_init(&loop), 0);
    uv_tcp_init(&loop, &server);
    uv_ip4_addr("127.0.0.1", 0, &sa);
    assert_int_equal(uv_tcp_bind(&server, (struct sockaddr *)&sa, 0), 0);
    assert_int_equal(uv_listen((uv_stream_t *)&server, 8, on_accept), 0);
    uv_tcp_getsockname(&server, (struct sockaddr *)&bound, &len);
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", ntohs(((struct sockaddr_in *)&bound)->sin_port));
    uv_tcp_init(&loop, &tcp);
    assert_int_equal(hb_dial_start(&d, &loop, &tcp, "no port here", on_dialed), HB_EINVAL);
    assert_int_equal(hb_dial_start(&d, &loop, &tcp, addr, on_dialed), 0);
    while (dialed_status == 1)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(dialed_status, 0);
    uv_close((uv_handle_t *)&server, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_split_refused),
        cmocka_unit_test(test_dial_literal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
