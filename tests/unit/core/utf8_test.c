/* Tests of src/core/utf8.c: every boundary of the well-formed byte table,
 * each kind of ill-formed sequence, and errors placed at every offset of
 * long ASCII runs so the word-at-a-time fast path cannot skip them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/utf8.h"

static int valid(const char *s) {
    return hb_utf8_valid((const uint8_t *)s, strlen(s));
}

static void test_valid(void **state) {
    (void)state;
    assert_true(hb_utf8_valid(NULL, 0));
    assert_true(valid(""));
    assert_true(valid("plain ASCII, with \x7F and \x01"));
    assert_true(hb_utf8_valid((const uint8_t *)"\0a\0", 3)); /* NUL is a character */
    assert_true(valid("\xC2\x80"));                          /* U+0080 */
    assert_true(valid("\xDF\xBF"));                          /* U+07FF */
    assert_true(valid("\xE0\xA0\x80"));                      /* U+0800 */
    assert_true(valid("\xED\x9F\xBF"));                      /* U+D7FF */
    assert_true(valid("\xEE\x80\x80"));                      /* U+E000 */
    assert_true(valid("\xEF\xBF\xBF"));                      /* U+FFFF */
    assert_true(valid("\xF0\x90\x80\x80"));                  /* U+10000 */
    assert_true(valid("\xF4\x8F\xBF\xBF"));                  /* U+10FFFF */
    assert_true(valid("\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5")); /* Greek "kosme" */
    assert_true(valid("caf\xC3\xA9 \xE2\x82\xAC 100 \xF0\x9F\x98\x80 ok"));
}

static void test_invalid(void **state) {
    (void)state;
    static const char *bad[] = {
        "\x80",             /* lone continuation */
        "\xBF",             /* lone continuation */
        "a\x80z",           /* continuation after ASCII */
        "\xC0\x80",         /* overlong NUL */
        "\xC1\xBF",         /* overlong U+007F */
        "\xE0\x80\x80",     /* overlong 3-byte */
        "\xE0\x9F\xBF",     /* overlong U+07FF */
        "\xF0\x80\x80\x80", /* overlong 4-byte */
        "\xF0\x8F\xBF\xBF", /* overlong U+FFFF */
        "\xED\xA0\x80",     /* surrogate U+D800 */
        "\xED\xBF\xBF",     /* surrogate U+DFFF */
        "\xF4\x90\x80\x80", /* U+110000 */
        "\xF5\x80\x80\x80", /* lead above F4 */
        "\xF8\x88\x80\x80\x80",
        "\xFE",
        "\xFF",
        "\xC2",             /* truncated */
        "\xE2\x82",         /* truncated */
        "\xF0\x9F\x98",     /* truncated */
        "\xC2\x41",         /* bad continuation */
        "\xE2\x28\xA1",     /* bad second byte */
        "\xE2\x82\x28",     /* bad third byte */
        "\xF0\x9F\x28\x80", /* bad third byte */
        "\xF0\x9F\x98\x28", /* bad fourth byte */
        "\xC3\xA9\xA9",     /* one continuation too many */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (valid(bad[i]))
            fail_msg("accepted bad sequence #%zu", i);
    }
}

static void test_length_is_respected(void **state) {
    (void)state;
    /* The check stops at len: a bad byte just past it is not seen, and a
     * character cut by len is truncated. */
    assert_true(hb_utf8_valid((const uint8_t *)"ab\xFF", 2));
    assert_false(hb_utf8_valid((const uint8_t *)"\xE2\x82\xAC", 2));
    assert_true(hb_utf8_valid((const uint8_t *)"\xE2\x82\xAC", 3));
}

static void test_errors_at_every_offset(void **state) {
    (void)state;
    uint8_t s[80];
    for (size_t at = 0; at < sizeof(s); at++) {
        memset(s, 'a', sizeof(s));
        assert_true(hb_utf8_valid(s, sizeof(s)));
        s[at] = 0x80;
        assert_false(hb_utf8_valid(s, sizeof(s)));
        /* A valid 3-byte character at the same place is accepted... */
        if (at + 3 <= sizeof(s)) {
            memcpy(s + at, "\xE2\x82\xAC", 3);
            assert_true(hb_utf8_valid(s, sizeof(s)));
            /* ...and a surrogate is not. */
            memcpy(s + at, "\xED\xA0\x80", 3);
            assert_false(hb_utf8_valid(s, sizeof(s)));
        }
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_length_is_respected),
        cmocka_unit_test(test_errors_at_every_offset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
