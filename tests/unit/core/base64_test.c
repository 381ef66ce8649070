/* Tests for src/core/base64.c: RFC 4648 vectors, both alphabets, padded and
 * unpadded decoding, in-place decoding, every malformed form, and random
 * round trips checked against OpenSSL's encoder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "core/base64.h"
#include "hubbub/error.h"

/* RFC 4648 section 10. */
static const struct {
    const char *raw;
    const char *b64;
    const char *unpadded;
} rfc[] = {
    {"", "", ""},
    {"f", "Zg==", "Zg"},
    {"fo", "Zm8=", "Zm8"},
    {"foo", "Zm9v", "Zm9v"},
    {"foob", "Zm9vYg==", "Zm9vYg"},
    {"fooba", "Zm9vYmE=", "Zm9vYmE"},
    {"foobar", "Zm9vYmFy", "Zm9vYmFy"},
};
#define NRFC (sizeof(rfc) / sizeof(rfc[0]))

/* Every 6-bit value once, in order. */
static const uint8_t all64[48] = {
    0x00, 0x10, 0x83, 0x10, 0x51, 0x87, 0x20, 0x92, 0x8b, 0x30, 0xd3, 0x8f,
    0x41, 0x14, 0x93, 0x51, 0x55, 0x97, 0x61, 0x96, 0x9b, 0x71, 0xd7, 0x9f,
    0x82, 0x18, 0xa3, 0x92, 0x59, 0xa7, 0xa2, 0x9a, 0xab, 0xb2, 0xdb, 0xaf,
    0xc3, 0x1c, 0xb3, 0xd3, 0x5d, 0xb7, 0xe3, 0x9e, 0xbb, 0xf3, 0xdf, 0xbf};

static void test_encode_rfc_vectors(void **state) {
    (void)state;
    for (size_t i = 0; i < NRFC; i++) {
        size_t n = strlen(rfc[i].raw);
        char out[16];
        memset(out, '#', sizeof(out));
        assert_int_equal(hb_base64_encoded_len(n), strlen(rfc[i].b64));
        size_t w = hb_base64_encode(out, (const uint8_t *)rfc[i].raw, n);
        assert_int_equal(w, strlen(rfc[i].b64));
        assert_memory_equal(out, rfc[i].b64, w);
        assert_int_equal(out[w], '#'); /* no NUL, no overrun */
    }
}

static void test_encode_alphabet(void **state) {
    char out[64];
    (void)state;
    size_t w = hb_base64_encode(out, all64, sizeof(all64));
    assert_int_equal(w, 64);
    assert_memory_equal(out,
                        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", 64);
    w = hb_base64url_encode(out, all64, sizeof(all64));
    assert_int_equal(w, 64);
    assert_memory_equal(out,
                        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", 64);
}

static void test_base64url_no_padding(void **state) {
    char out[16];
    (void)state;
    for (size_t i = 0; i < NRFC; i++) {
        size_t n = strlen(rfc[i].raw);
        memset(out, '#', sizeof(out));
        size_t w = hb_base64url_encode(out, (const uint8_t *)rfc[i].raw, n);
        assert_int_equal(w, strlen(rfc[i].unpadded));
        assert_memory_equal(out, rfc[i].unpadded, w);
        assert_int_equal(out[w], '#');
        assert_true(w <= hb_base64_encoded_len(n));
    }
    static const uint8_t fbff[] = {0xfb, 0xff};
    assert_int_equal(hb_base64url_encode(out, fbff, 2), 3);
    assert_memory_equal(out, "-_8", 3);
    assert_int_equal(hb_base64_encode(out, fbff, 2), 4);
    assert_memory_equal(out, "+/8=", 4);
}

static void test_decode_rfc_vectors(void **state) {
    (void)state;
    for (size_t i = 0; i < NRFC; i++) {
        const char *forms[2] = {rfc[i].b64, rfc[i].unpadded};
        for (int f = 0; f < 2; f++) {
            uint8_t out[16];
            size_t len = 999, dlen = 999;
            assert_int_equal(hb_base64_decoded_len(forms[f], strlen(forms[f]), &dlen), 0);
            assert_int_equal(hb_base64_decode(out, &len, forms[f], strlen(forms[f])), 0);
            assert_int_equal(len, strlen(rfc[i].raw));
            assert_int_equal(dlen, len);
            assert_memory_equal(out, rfc[i].raw, len);
        }
    }
}

static void test_decode_alphabet(void **state) {
    uint8_t out[48];
    size_t len;
    (void)state;
    assert_int_equal(
        hb_base64_decode(out, &len,
                         "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", 64),
        0);
    assert_int_equal(len, 48);
    assert_memory_equal(out, all64, 48);
}

static void test_decode_in_place(void **state) {
    (void)state;
    for (size_t i = 0; i < NRFC; i++) {
        const char *forms[2] = {rfc[i].b64, rfc[i].unpadded};
        for (int f = 0; f < 2; f++) {
            char buf[16];
            size_t n = strlen(forms[f]), len;
            memcpy(buf, forms[f], n);
            assert_int_equal(hb_base64_decode((uint8_t *)buf, &len, buf, n), 0);
            assert_int_equal(len, strlen(rfc[i].raw));
            assert_memory_equal(buf, rfc[i].raw, len);
        }
    }
    /* A long one, where every group's output lands on earlier input. */
    char buf[64];
    memcpy(buf, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", 64);
    size_t len;
    assert_int_equal(hb_base64_decode((uint8_t *)buf, &len, buf, 64), 0);
    assert_int_equal(len, 48);
    assert_memory_equal(buf, all64, 48);
}

static void test_decode_malformed(void **state) {
    static const struct {
        const char *s;
        size_t n;
    } bad[] = {
        {"Z", 1},         /* n % 4 == 1 */
        {"Zm9vY", 5},     /* n % 4 == 1 */
        {"Zm9vY===", 8},  /* three '=' */
        {"Zg=", 3},       /* partial padding */
        {"Zg===", 5},     /* too much padding */
        {"Z===", 4},      /* padding after a single character */
        {"====", 4},      /* padding only */
        {"=", 1},
        {"==", 2},
        {"Zm9v=", 5},     /* padding after a full group */
        {"Zm9v====", 8},  /* a whole group of padding */
        {"Zg==Zg==", 8},  /* padding in the middle */
        {"Z=g=", 4},      /* padding in the middle of a group */
        {"=Zg=", 4},
        {"Zm 9v", 5},     /* whitespace */
        {"Zm9v\n", 5},
        {"Zm9v\r\n", 6},
        {"Zm-_", 4},      /* URL-safe alphabet */
        {"Zm9\0", 4},     /* NUL */
        {"Zm9\x80", 4},   /* high bit */
        {"Zm9\xff", 4},
        {"Zm9:", 4},      /* '9' + 1 */
        {"Zm9@", 4},      /* 'A' - 1 */
        {"Zm9[", 4},      /* 'Z' + 1 */
        {"Zm9`", 4},      /* 'a' - 1 */
        {"Zm9{", 4},      /* 'z' + 1 */
        {"Zm9*", 4},      /* '+' - 1 */
        {"Zm9,", 4},      /* '+' + 1 */
        {"Zm9.", 4},      /* '/' - 1 */
    };
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint8_t out[8];
        size_t len = 12345, dlen = 12345;
        char in[8];
        memset(out, 0xAA, sizeof(out));
        assert_int_equal(hb_base64_decoded_len(bad[i].s, bad[i].n, &dlen), HB_EBADBASE64);
        assert_int_equal(dlen, 12345);
        assert_int_equal(hb_base64_decode(out, &len, bad[i].s, bad[i].n), HB_EBADBASE64);
        assert_int_equal(len, 12345);
        for (size_t j = 0; j < sizeof(out); j++)
            assert_int_equal(out[j], 0xAA);
        /* A failed in-place decode leaves the input as it was. */
        memcpy(in, bad[i].s, bad[i].n);
        assert_int_equal(hb_base64_decode((uint8_t *)in, &len, in, bad[i].n), HB_EBADBASE64);
        assert_memory_equal(in, bad[i].s, bad[i].n);
    }
}

/* RFC 4648 3.5 lets a decoder accept non-zero pad bits; Node's decoder
 * does, so a client sending them must not be cut off. */
static void test_decode_ignores_pad_bits(void **state) {
    uint8_t out[4];
    size_t len;
    (void)state;
    assert_int_equal(hb_base64_decode(out, &len, "Zh==", 4), 0);
    assert_int_equal(len, 1);
    assert_int_equal(out[0], 'f');
    assert_int_equal(hb_base64_decode(out, &len, "Zm9=", 4), 0);
    assert_int_equal(len, 2);
    assert_memory_equal(out, "fo", 2);
    assert_int_equal(hb_base64_decode(out, &len, "Zm9", 3), 0);
    assert_int_equal(len, 2);
    assert_memory_equal(out, "fo", 2);
}

static void test_round_trip_against_openssl(void **state) {
    uint8_t raw[300], back[300];
    char enc[404], ref[404 + 1], url[404];
    unsigned seed = 12345;
    (void)state;
    for (size_t n = 0; n <= sizeof(raw); n++) {
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            raw[i] = (uint8_t)(seed >> 16);
        }
        size_t w = hb_base64_encode(enc, raw, n);
        int rw = EVP_EncodeBlock((unsigned char *)ref, raw, (int)n);
        assert_int_equal(w, (size_t)rw);
        assert_int_equal(w, hb_base64_encoded_len(n));
        assert_memory_equal(enc, ref, w);

        size_t len;
        assert_int_equal(hb_base64_decode(back, &len, enc, w), 0);
        assert_int_equal(len, n);
        assert_memory_equal(back, raw, n);

        /* URL form = standard form with -_ for +/ and no padding. */
        size_t uw = hb_base64url_encode(url, raw, n);
        size_t pad = 0;
        while (pad < w && enc[w - 1 - pad] == '=')
            pad++;
        assert_int_equal(uw, w - pad);
        for (size_t i = 0; i < uw; i++) {
            char c = enc[i] == '+' ? '-' : enc[i] == '/' ? '_' : enc[i];
            assert_int_equal(url[i], c);
        }
        /* The unpadded standard form decodes to the same bytes. */
        assert_int_equal(hb_base64_decode(back, &len, enc, w - pad), 0);
        assert_int_equal(len, n);
        assert_memory_equal(back, raw, n);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_rfc_vectors),
        cmocka_unit_test(test_encode_alphabet),
        cmocka_unit_test(test_base64url_no_padding),
        cmocka_unit_test(test_decode_rfc_vectors),
        cmocka_unit_test(test_decode_alphabet),
        cmocka_unit_test(test_decode_in_place),
        cmocka_unit_test(test_decode_malformed),
        cmocka_unit_test(test_decode_ignores_pad_bits),
        cmocka_unit_test(test_round_trip_against_openssl),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
