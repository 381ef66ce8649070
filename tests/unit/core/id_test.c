/* Tests for src/core/id.c. RAND_bytes is interposed so that the encoding can
 * be checked on known bytes and an RNG failure can be forced; by default it
 * draws from OpenSSL's CSPRNG (RAND_priv_bytes, the same generator family,
 * since the real RAND_bytes is shadowed), which the shape and uniqueness
 * tests use. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/rand.h>

#include "core/id.h"
#include "hubbub/error.h"

static enum { RNG_REAL, RNG_FIXED, RNG_FAIL, RNG_UNSUPPORTED } g_mode = RNG_REAL;
static unsigned char g_fixed[15];
static int g_last_num;

/* Overrides libcrypto's for every caller in this executable. */
int RAND_bytes(unsigned char *buf, int num) {
    g_last_num = num;
    switch (g_mode) {
    case RNG_FIXED:
        assert_int_equal(num, (int)sizeof(g_fixed));
        memcpy(buf, g_fixed, sizeof(g_fixed));
        return 1;
    case RNG_FAIL:
        return 0;
    case RNG_UNSUPPORTED:
        return -1;
    case RNG_REAL:
        break;
    }
    return RAND_priv_bytes(buf, num);
}

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int reset(void **state) {
    (void)state;
    g_mode = RNG_REAL;
    g_last_num = 0;
    return 0;
}

static void test_shape(void **state) {
    (void)state;
    int seen[256] = {0};
    for (int i = 0; i < 2000; i++) {
        char id[21];
        memset(id, '#', sizeof(id));
        assert_int_equal(hb_id_new(id), 0);
        assert_int_equal(g_last_num, 15);
        assert_int_equal(strlen(id), HB_ID_LEN);
        for (int k = 0; k < HB_ID_LEN; k++) {
            assert_non_null(strchr(alphabet, id[k]));
            seen[(unsigned char)id[k]]++;
        }
    }
    /* 40000 characters: every one of the 64 shows up. */
    for (int c = 0; c < 64; c++)
        assert_true(seen[(unsigned char)alphabet[c]] > 0);
}

static int cmp_ids(const void *a, const void *b) {
    return memcmp(a, b, 21);
}

static void test_unique(void **state) {
    (void)state;
    enum { N = 50000 };
    char(*ids)[21] = malloc(N * sizeof(*ids));
    assert_non_null(ids);
    for (int i = 0; i < N; i++)
        assert_int_equal(hb_id_new(ids[i]), 0);
    qsort(ids, N, sizeof(*ids), cmp_ids);
    for (int i = 1; i < N; i++)
        assert_true(memcmp(ids[i - 1], ids[i], 21) != 0);
    free(ids);
}

static void test_known_bytes(void **state) {
    (void)state;
    static const struct {
        unsigned char raw[15];
        const char *id;
    } v[] = {
        {{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}, "AAECAwQFBgcICQoLDA0O"},
        {{0xfb, 0xef, 0xbe, 0xfb, 0xef, 0xbe, 0xfb, 0xef, 0xbe, 0xfb, 0xef, 0xbe, 0xfb, 0xef, 0xbe},
         "--------------------"},
        {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
         "____________________"},
        {{0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe},
         "8PHy8_T19vf4-fr7_P3-"},
        {{0}, "AAAAAAAAAAAAAAAAAAAA"},
    };
    g_mode = RNG_FIXED;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        char id[21];
        memcpy(g_fixed, v[i].raw, sizeof(g_fixed));
        memset(id, '#', sizeof(id));
        assert_int_equal(hb_id_new(id), 0);
        assert_string_equal(id, v[i].id);
    }
}

static void test_rng_failure(void **state) {
    (void)state;
    char id[21];
    g_mode = RNG_FAIL;
    memset(id, '#', sizeof(id));
    assert_int_equal(hb_id_new(id), HB_EINVAL);
    assert_int_equal(id[0], '\0');
    g_mode = RNG_UNSUPPORTED;
    memset(id, '#', sizeof(id));
    assert_int_equal(hb_id_new(id), HB_EINVAL);
    assert_int_equal(id[0], '\0');
    g_mode = RNG_REAL;
    assert_int_equal(hb_id_new(id), 0);
    assert_int_equal(strlen(id), HB_ID_LEN);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_shape, reset),
        cmocka_unit_test_setup(test_unique, reset),
        cmocka_unit_test_setup(test_known_bytes, reset),
        cmocka_unit_test_setup(test_rng_failure, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
