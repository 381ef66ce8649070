/* Tests for src/eio/packet.c: every packet type with and without data, and
 * every way a text packet can be malformed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "eio/packet.h"
#include "hubbub/error.h"

static void test_every_type_without_data(void **state) {
    (void)state;
    for (int t = HB_EIO_OPEN; t <= HB_EIO_NOOP; t++) {
        uint8_t s[1] = {(uint8_t)('0' + t)};
        hb_eio_packet p = {-1, -1, NULL, 99};
        assert_int_equal(hb_eio_packet_decode_text(s, 1, &p), 0);
        assert_int_equal(p.type, t);
        assert_int_equal(p.binary, 0);
        assert_int_equal(p.len, 0);
        assert_ptr_equal(p.data, s + 1);
    }
}

static void test_every_type_with_data(void **state) {
    static const int types[] = {HB_EIO_OPEN, HB_EIO_CLOSE,   HB_EIO_PING, HB_EIO_PONG,
                                HB_EIO_MESSAGE, HB_EIO_UPGRADE, HB_EIO_NOOP};
    (void)state;
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        uint8_t s[16];
        s[0] = (uint8_t)('0' + types[i]);
        memcpy(s + 1, "probe\x1e\0x", 8);
        hb_eio_packet p;
        assert_int_equal(hb_eio_packet_decode_text(s, 9, &p), 0);
        assert_int_equal(p.type, types[i]);
        assert_int_equal(p.binary, 0);
        assert_int_equal(p.len, 8);
        assert_ptr_equal(p.data, s + 1);
        assert_memory_equal(p.data, "probe\x1e\0x", 8);
    }
}

static void test_typical_packets(void **state) {
    hb_eio_packet p;
    (void)state;
    uint8_t open[] = "0{\"sid\":\"abc\",\"upgrades\":[],\"pingInterval\":25000}";
    assert_int_equal(hb_eio_packet_decode_text(open, sizeof(open) - 1, &p), 0);
    assert_int_equal(p.type, HB_EIO_OPEN);
    assert_int_equal(p.len, sizeof(open) - 2);
    assert_int_equal(p.data[0], '{');

    uint8_t probe[] = "2probe";
    assert_int_equal(hb_eio_packet_decode_text(probe, 6, &p), 0);
    assert_int_equal(p.type, HB_EIO_PING);
    assert_int_equal(p.len, 5);
    assert_memory_equal(p.data, "probe", 5);

    uint8_t msg[] = "4héllo";
    assert_int_equal(hb_eio_packet_decode_text(msg, sizeof(msg) - 1, &p), 0);
    assert_int_equal(p.type, HB_EIO_MESSAGE);
    assert_int_equal(p.len, sizeof(msg) - 2);
    assert_memory_equal(p.data, "héllo", p.len);
}

static void test_malformed(void **state) {
    static const char *bad[] = {
        "7", "8", "9", "/", "a", "b", "bAQID", " 4", "+4", "-1", "\x1e", "\0", "\xff", "\xb4",
        "\xef\xbb\xbf\x34", /* UTF-8 BOM, then "4" */
    };
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint8_t s[8];
        size_t n = bad[i][0] == '\0' ? 1 : strlen(bad[i]);
        memcpy(s, bad[i], n);
        hb_eio_packet p = {-7, -7, NULL, 77};
        assert_int_equal(hb_eio_packet_decode_text(s, n, &p), HB_EEIO_PACKET);
        assert_int_equal(p.type, -7);
        assert_int_equal(p.len, 77);
    }
}

static void test_empty(void **state) {
    uint8_t s[1] = {'4'};
    hb_eio_packet p = {-7, -7, NULL, 77};
    (void)state;
    /* Only the length counts: the byte behind it is never read. */
    assert_int_equal(hb_eio_packet_decode_text(s, 0, &p), HB_EEIO_PACKET);
    assert_int_equal(p.type, -7);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_type_without_data),
        cmocka_unit_test(test_every_type_with_data),
        cmocka_unit_test(test_typical_packets),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
