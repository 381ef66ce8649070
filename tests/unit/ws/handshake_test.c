/* Tests of src/ws/handshake.c: each rule of the upgrade request, accepted
 * and refused, and the accept key against RFC 6455's worked example. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hubbub/error.h"
#include "ws/handshake.h"

static const char KEY[] = "dGhlIHNhbXBsZSBub25jZQ==";

static void test_accept_key_rfc_sample(void **state) {
    (void)state;
    char out[29];
    memset(out, 'x', sizeof(out));
    hb_ws_accept_key(KEY, strlen(KEY), out);
    assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");

    /* Only key_len bytes are hashed. */
    char padded[40];
    memcpy(padded, KEY, 24);
    memcpy(padded + 24, "garbage", 8);
    hb_ws_accept_key(padded, 24, out);
    assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");

    /* Another pair, computed with Node's crypto module. */
    hb_ws_accept_key("x3JJHMbDL1EzLkh9GBhXDw==", 24, out);
    assert_string_equal(out, "HSmrc0sMlYUkAGmm5OPpG2HaGWk=");
}

static int check(const char *method, const char *upgrade, const char *connection,
                 const char *version, const char *key) {
    const char *why = NULL;
    int rc = hb_ws_handshake_check(method, upgrade, connection, version, key, &why);
    if (rc == 0)
        assert_null(why);
    else
        assert_true(why != NULL && why[0] != '\0');
    return rc;
}

static void test_accepts_valid_requests(void **state) {
    (void)state;
    assert_int_equal(check("GET", "websocket", "Upgrade", "13", KEY), 0);
    assert_int_equal(check("GET", "WebSocket", "upgrade", "13", KEY), 0);
    assert_int_equal(check("GET", "h2c, websocket", "keep-alive, Upgrade", "13", KEY), 0);
    assert_int_equal(check("GET", "websocket", "keep-alive,upgrade", "13", KEY), 0);
    assert_int_equal(check("GET", "websocket", " Upgrade \t, close", "13", KEY), 0);
    assert_int_equal(check("GET", "websocket", ",, UPGRADE,", "13", KEY), 0);
    assert_int_equal(check("GET", "websocket", "Upgrade", "13", "AAAAAAAAAAAAAAAAAAAAAA=="), 0);
    assert_int_equal(check("GET", "websocket", "Upgrade", "13", "+/+/+/+/09azAZ09azAZ+/=="), 0);
    /* why may be NULL. */
    assert_int_equal(hb_ws_handshake_check("GET", "websocket", "upgrade", "13", KEY, NULL), 0);
}

static void test_refuses_each_rule(void **state) {
    (void)state;
    const int E = HB_EWS_HANDSHAKE;

    assert_int_equal(check(NULL, "websocket", "Upgrade", "13", KEY), E);
    assert_int_equal(check("POST", "websocket", "Upgrade", "13", KEY), E);
    assert_int_equal(check("get", "websocket", "Upgrade", "13", KEY), E);

    assert_int_equal(check("GET", NULL, "Upgrade", "13", KEY), E);
    assert_int_equal(check("GET", "", "Upgrade", "13", KEY), E);
    assert_int_equal(check("GET", "websockets", "Upgrade", "13", KEY), E);
    assert_int_equal(check("GET", "h2c", "Upgrade", "13", KEY), E);
    assert_int_equal(check("GET", "web socket", "Upgrade", "13", KEY), E);

    assert_int_equal(check("GET", "websocket", NULL, "13", KEY), E);
    assert_int_equal(check("GET", "websocket", "keep-alive", "13", KEY), E);
    assert_int_equal(check("GET", "websocket", "upgraded", "13", KEY), E);
    assert_int_equal(check("GET", "websocket", "keep-alive upgrade", "13", KEY), E);
    assert_int_equal(check("GET", "websocket", "", "13", KEY), E);

    assert_int_equal(check("GET", "websocket", "Upgrade", NULL, KEY), E);
    assert_int_equal(check("GET", "websocket", "Upgrade", "8", KEY), E);
    assert_int_equal(check("GET", "websocket", "Upgrade", "13 ", KEY), E);
    assert_int_equal(check("GET", "websocket", "Upgrade", "130", KEY), E);
    assert_int_equal(check("GET", "websocket", "Upgrade", "", KEY), E);

    assert_int_equal(check("GET", "websocket", "Upgrade", "13", NULL), E);
    assert_int_equal(check("GET", "websocket", "Upgrade", "13", ""), E);
    assert_int_equal(check("GET", "websocket", "Upgrade", "13", "dGhlIHNhbXBsZSBub25jZQ="), E);
    assert_int_equal(check("GET", "websocket", "Upgrade", "13", "dGhlIHNhbXBsZSBub25jZQ==="), E);
    assert_int_equal(check("GET", "websocket", "Upgrade", "13", "dGhlIHNhbXBsZSBub25jZQ=A"), E);
    assert_int_equal(check("GET", "websocket", "Upgrade", "13", "dGhlIHNhbXBsZSBub25jZ==="), E);
    assert_int_equal(check("GET", "websocket", "Upgrade", "13", "dGhlIHNhbXBsZSBub25j-Q=="), E);
    assert_int_equal(check("GET", "websocket", "Upgrade", "13", "dGhlIHNhbXBsZSBub25jZWVl"), E);
    assert_int_equal(check("GET", "websocket", "Upgrade", "13", "dGhlIHNhbXBsZSBub25jZWVlZQ=="), E);
}

static void test_version_reason_tells_426(void **state) {
    (void)state;
    const char *why = NULL;
    assert_int_equal(hb_ws_handshake_check("GET", "websocket", "Upgrade", "8", KEY, &why),
                     HB_EWS_HANDSHAKE);
    assert_non_null(why);
    assert_int_equal(strncmp(why, "unsupported", 11), 0);
    assert_int_equal(hb_ws_handshake_check("POST", "websocket", "Upgrade", "8", KEY, &why),
                     HB_EWS_HANDSHAKE);
    assert_int_not_equal(strncmp(why, "unsupported", 11), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept_key_rfc_sample),
        cmocka_unit_test(test_accepts_valid_requests),
        cmocka_unit_test(test_refuses_each_rule),
        cmocka_unit_test(test_version_reason_tells_426),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
