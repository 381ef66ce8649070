/* Decoding of one Engine.IO text packet. The type is one ASCII digit. The
 * reference parser (engine.io-parser 5) also takes 'b' + base64 as a binary
 * message in any text packet, but clients only send that form in polling
 * payloads, so eio/payload.c handles it and a text frame may not. */
#include "eio/packet.h"

#include "hubbub/error.h"

int hb_eio_packet_decode_text(uint8_t *s, size_t len, hb_eio_packet *out) {
    if (len == 0 || s[0] < '0' + HB_EIO_OPEN || s[0] > '0' + HB_EIO_NOOP)
        return HB_EEIO_PACKET;
    out->type = s[0] - '0';
    out->binary = 0;
    out->data = s + 1;
    out->len = len - 1;
    return 0;
}
