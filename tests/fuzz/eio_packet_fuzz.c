/* libFuzzer target for hb_eio_packet_decode_text(): any bytes in, either a
 * packet that points inside the input or HB_EEIO_PACKET, never a read out
 * of bounds (the input is copied to an allocation of its exact size). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eio/packet.h"
#include "hubbub/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *s = malloc(size > 0 ? size : 1);
    hb_eio_packet p;
    int rc;

    if (s == NULL)
        return 0;
    if (size > 0)
        memcpy(s, data, size);
    rc = hb_eio_packet_decode_text(s, size, &p);
    if (rc == 0) {
        if (p.type < HB_EIO_OPEN || p.type > HB_EIO_NOOP || p.binary != 0 ||
            p.data != s + 1 || p.len != size - 1 || s[0] != '0' + p.type)
            abort();
    } else if (rc != HB_EEIO_PACKET || (size > 0 && s[0] >= '0' && s[0] <= '6')) {
        abort();
    }
    free(s);
    return 0;
}
