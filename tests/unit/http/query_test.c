/* Tests of src/http/query.c: key lookup (decoded keys, prefixes, duplicates,
 * bare keys), value decoding and its failures, and in-place decoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "http/query.h"

static int get(const char *q, const char *key, char *out, size_t cap) {
    memset(out, '#', cap);
    return hb_http_query_get(q, strlen(q), key, out, cap);
}

static void test_finds_keys(void **state) {
    (void)state;
    char out[32];
    const char *q = "EIO=4&transport=polling&t=OabC1x&sid=abc-_DEF";

    assert_int_equal(get(q, "EIO", out, sizeof(out)), 1);
    assert_string_equal(out, "4");
    assert_int_equal(get(q, "transport", out, sizeof(out)), 7);
    assert_string_equal(out, "polling");
    assert_int_equal(get(q, "sid", out, sizeof(out)), 8);
    assert_string_equal(out, "abc-_DEF");
    assert_int_equal(get(q, "t", out, sizeof(out)), 6);
    assert_string_equal(out, "OabC1x");
    /* Case matters for keys. */
    assert_int_equal(get(q, "eio", out, sizeof(out)), -1);
    assert_string_equal(out, "");
}

static void test_prefixes_and_missing(void **state) {
    (void)state;
    char out[16];
    /* A key that is a prefix or extension of another is not that key. */
    assert_int_equal(get("ab=1&a=2", "a", out, sizeof(out)), 1);
    assert_string_equal(out, "2");
    assert_int_equal(get("ab=1", "a", out, sizeof(out)), -1);
    assert_int_equal(get("a=1", "ab", out, sizeof(out)), -1);
    assert_int_equal(get("xa=1&ax=2", "a", out, sizeof(out)), -1);
    /* Only keys match, not values. */
    assert_int_equal(get("x=a&y=b", "a", out, sizeof(out)), -1);
    assert_int_equal(get("", "a", out, sizeof(out)), -1);
    assert_string_equal(out, "");
    /* The length bounds the search even without a NUL. */
    assert_int_equal(hb_http_query_get("a=1&b=2", 3, "b", out, sizeof(out)), -1);
    assert_int_equal(hb_http_query_get("a=12345", 4, "a", out, sizeof(out)), 2);
    assert_string_equal(out, "12");
}

static void test_shapes(void **state) {
    (void)state;
    char out[16];
    /* First of duplicates wins. */
    assert_int_equal(get("a=1&a=2", "a", out, sizeof(out)), 1);
    assert_string_equal(out, "1");
    /* Bare key, empty value, '=' in the value, empty pairs. */
    assert_int_equal(get("b64&x=1", "b64", out, sizeof(out)), 0);
    assert_string_equal(out, "");
    assert_int_equal(get("x=1&b64", "b64", out, sizeof(out)), 0);
    assert_int_equal(get("a=", "a", out, sizeof(out)), 0);
    assert_string_equal(out, "");
    assert_int_equal(get("a=b=c", "a", out, sizeof(out)), 3);
    assert_string_equal(out, "b=c");
    assert_int_equal(get("&&a=1&", "a", out, sizeof(out)), 1);
    assert_string_equal(out, "1");
    assert_int_equal(get("=v&a=1", "", out, sizeof(out)), 1);
    assert_string_equal(out, "v");
    /* Keys are compared decoded. */
    assert_int_equal(get("E%49O=4", "EIO", out, sizeof(out)), 1);
    assert_int_equal(get("a+b=1", "a b", out, sizeof(out)), 1);
    assert_int_equal(get("a%zz=1&a=2", "a", out, sizeof(out)), 1);
    assert_string_equal(out, "2");
}

static void test_decodes_values(void **state) {
    (void)state;
    char out[32];
    assert_int_equal(get("v=x%20y+z", "v", out, sizeof(out)), 5);
    assert_string_equal(out, "x y z");
    assert_int_equal(get("v=%2b%2B%3d%26", "v", out, sizeof(out)), 4);
    assert_string_equal(out, "++=&");
    assert_int_equal(get("v=%E2%82%AC", "v", out, sizeof(out)), 3);
    assert_string_equal(out, "\xe2\x82\xac");
    /* %00 decodes to a NUL inside; the length tells. */
    assert_int_equal(get("v=a%00b", "v", out, sizeof(out)), 3);
    assert_memory_equal(out, "a\0b", 4);
}

static void test_bad_escapes(void **state) {
    (void)state;
    char out[16];
    static const char *const bad[] = {"v=%zz", "v=%", "v=%4", "v=ab%", "v=%g1", "v=%1g", "v=x%-1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(get(bad[i], "v", out, sizeof(out)), -2);
        assert_string_equal(out, "");
    }
    /* A truncated escape at the end of the length, though more follows. */
    assert_int_equal(hb_http_query_get("v=%41", 4, "v", out, sizeof(out)), -2);
    assert_int_equal(hb_http_query_get("v=%41", 5, "v", out, sizeof(out)), 1);
    assert_string_equal(out, "A");
}

static void test_capacity(void **state) {
    (void)state;
    char out[8];
    /* 7 bytes and the NUL fit in 8. */
    assert_int_equal(get("v=1234567", "v", out, sizeof(out)), 7);
    assert_string_equal(out, "1234567");
    assert_int_equal(get("v=12345678", "v", out, sizeof(out)), -2);
    assert_string_equal(out, "1234567");
    /* Decoded size counts, not encoded. */
    assert_int_equal(get("v=%41%42%43%44%45%46%47", "v", out, sizeof(out)), 7);
    assert_string_equal(out, "ABCDEFG");
    assert_int_equal(get("v=1", "v", out, 1), -2);
    assert_string_equal(out, "");
    assert_int_equal(get("v=", "v", out, 1), 0);
    out[0] = '#';
    assert_int_equal(hb_http_query_get("v=", 2, "v", out, 0), -2);
    assert_int_equal(hb_http_query_get("v=1", 3, "v", out, 0), -2);
    assert_int_equal(out[0], '#');
    assert_int_equal(hb_http_query_get("v=1", 3, "w", out, 0), -1);
}

static void test_pct_decode(void **state) {
    (void)state;
    char s[32];

    strcpy(s, "a%20b+c%2Fd");
    assert_int_equal(hb_http_pct_decode(s, strlen(s), 1), 7);
    assert_memory_equal(s, "a b c/d", 7);
    strcpy(s, "a%20b+c%2fd");
    assert_int_equal(hb_http_pct_decode(s, strlen(s), 0), 7);
    assert_memory_equal(s, "a b+c/d", 7);

    /* No NUL is written; bytes past len stay. */
    memcpy(s, "abcXYZ", 7);
    assert_int_equal(hb_http_pct_decode(s, 3, 1), 3);
    assert_string_equal(s, "abcXYZ");
    memcpy(s, "%41%42!", 8);
    assert_int_equal(hb_http_pct_decode(s, 6, 0), 2);
    assert_memory_equal(s, "AB", 2);
    assert_int_equal(s[6], '!');

    assert_int_equal(hb_http_pct_decode(s, 0, 1), 0);
    strcpy(s, "%");
    assert_int_equal(hb_http_pct_decode(s, 1, 1), -1);
    strcpy(s, "ab%4");
    assert_int_equal(hb_http_pct_decode(s, 4, 1), -1);
    strcpy(s, "%zz");
    assert_int_equal(hb_http_pct_decode(s, 3, 1), -1);
    /* The length bounds the escape even if hex digits follow in memory. */
    strcpy(s, "%41");
    assert_int_equal(hb_http_pct_decode(s, 2, 1), -1);
    strcpy(s, "%00");
    assert_int_equal(hb_http_pct_decode(s, 3, 1), 1);
    assert_int_equal(s[0], '\0');
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_finds_keys),
        cmocka_unit_test(test_prefixes_and_missing),
        cmocka_unit_test(test_shapes),
        cmocka_unit_test(test_decodes_values),
        cmocka_unit_test(test_bad_escapes),
        cmocka_unit_test(test_capacity),
        cmocka_unit_test(test_pct_decode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
