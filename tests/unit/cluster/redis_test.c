/* Tests for src/cluster/redis.c's URL parsing (the connection behaviour is
 * tested end to end against a real redis-server: tests/e2e/cluster.test.mjs). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cluster/redis.h"
#include "hubbub/error.h"

static void test_urls(void **state) {
    hb_redis_addr a;
    (void)state;
    assert_int_equal(hb_redis_parse_url("redis://127.0.0.1:6380", &a), 0);
    assert_string_equal(a.host, "127.0.0.1");
    assert_int_equal(a.port, 6380);
    assert_string_equal(a.password, "");
    assert_int_equal(a.db, 0);

    assert_int_equal(hb_redis_parse_url("redis://cache", &a), 0);
    assert_string_equal(a.host, "cache");
    assert_int_equal(a.port, 6379);

    assert_int_equal(hb_redis_parse_url("redis://:s3cr@t@cache:7000/2", &a), 0);
    assert_string_equal(a.host, "cache");
    assert_int_equal(a.port, 7000);
    assert_string_equal(a.user, "");
    assert_string_equal(a.password, "s3cr@t");
    assert_int_equal(a.db, 2);

    assert_int_equal(hb_redis_parse_url("redis://app:pw@cache/", &a), 0);
    assert_string_equal(a.user, "app");
    assert_string_equal(a.password, "pw");
    assert_int_equal(a.db, 0);

    assert_int_equal(hb_redis_parse_url("redis://[::1]:6390", &a), 0);
    assert_string_equal(a.host, "::1");
    assert_int_equal(a.port, 6390);
}

static void test_bad_urls(void **state) {
    static const char *const bad[] = {
        "", "127.0.0.1:6379", "http://h:1", "rediss://h:1", "redis://", "redis://:6379",
        "redis://h:", "redis://h:0", "redis://h:65536", "redis://h:12x", "redis://h:1/x",
        "redis://[::1", "redis://[::1]x", "redis://h:1/-1",
    };
    hb_redis_addr a;
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(hb_redis_parse_url(bad[i], &a), HB_EINVAL);
    assert_int_equal(hb_redis_parse_url(NULL, &a), HB_EINVAL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_urls),
        cmocka_unit_test(test_bad_urls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
