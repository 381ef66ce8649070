/* Tests for src/cluster/hubmsg.c: every kind round-trips with empty and
 * binary fields; a message cut anywhere, with bytes left over, a bad magic,
 * kind, status or flag is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cluster/hubmsg.h"
#include "hubbub/error.h"

static hb_slice sl(const char *s, size_t n) {
    hb_slice x = {(const uint8_t *)s, n};
    return x;
}

static void same(hb_slice a, hb_slice b) {
    assert_int_equal(a.len, b.len);
    if (a.len > 0)
        assert_memory_equal(a.base, b.base, a.len);
}

static void test_round_trip(void **state) {
    static const char body[] = "4\x00\xff\x1e" "2[\"x\"]";
    hb_hubmsg m = {0}, d;
    uint8_t *out;
    size_t len;
    (void)state;
    m.kind = HB_HUBMSG_CALL;
    m.from = sl("abcdefgh", 8);
    m.call = sl("0123456789abcdefghij", 20);
    m.method = sl("POST", 4);
    m.path = sl("/api/hubs/h/:invoke", 19);
    m.query = sl("", 0);
    m.ctype = sl("text/plain", 10);
    m.body = sl(body, sizeof(body) - 1);
    assert_int_equal(hb_hubmsg_encode(&m, &out, &len), 0);
    assert_int_equal(hb_hubmsg_decode(out, len, &d), 0);
    assert_int_equal(d.kind, HB_HUBMSG_CALL);
    assert_int_equal(d.status, 0);
    assert_int_equal(d.more, 0);
    same(d.from, m.from), same(d.call, m.call), same(d.method, m.method);
    same(d.path, m.path), same(d.query, m.query), same(d.ctype, m.ctype), same(d.body, m.body);
    /* every shorter prefix, and one byte more, are refused */
    for (size_t n = 0; n < len; n++)
        assert_int_equal(hb_hubmsg_decode(out, n, &d), HB_EINVAL);
    {
        uint8_t *more = malloc(len + 1);
        memcpy(more, out, len);
        more[len] = 0;
        assert_int_equal(hb_hubmsg_decode(more, len + 1, &d), HB_EINVAL);
        free(more);
    }
    free(out);
}

static void test_answer(void **state) {
    hb_hubmsg m = {0}, d;
    uint8_t *out;
    size_t len;
    (void)state;
    m.kind = HB_HUBMSG_ANSWER;
    m.status = 404;
    m.more = 1;
    m.call = sl("c", 1);
    assert_int_equal(hb_hubmsg_encode(&m, &out, &len), 0);
    assert_int_equal(len, 8 + 7 * 4 + 1);
    assert_int_equal(hb_hubmsg_decode(out, len, &d), 0);
    assert_int_equal(d.kind, HB_HUBMSG_ANSWER);
    assert_int_equal(d.status, 404);
    assert_int_equal(d.more, 1);
    assert_int_equal(d.body.len, 0);
    /* a bad magic, kind, status, more */
    out[0] = 'X';
    assert_int_equal(hb_hubmsg_decode(out, len, &d), HB_EINVAL);
    out[0] = 'H', out[4] = 'Z';
    assert_int_equal(hb_hubmsg_decode(out, len, &d), HB_EINVAL);
    out[4] = HB_HUBMSG_FIRE, out[5] = 0x27, out[6] = 0x10; /* 10000 */
    assert_int_equal(hb_hubmsg_decode(out, len, &d), HB_EINVAL);
    out[5] = 0, out[6] = 200, out[7] = 2;
    assert_int_equal(hb_hubmsg_decode(out, len, &d), HB_EINVAL);
    out[7] = 0;
    assert_int_equal(hb_hubmsg_decode(out, len, &d), 0);
    /* a field length past the end */
    out[8] = 0x7f;
    assert_int_equal(hb_hubmsg_decode(out, len, &d), HB_EINVAL);
    free(out);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_answer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
