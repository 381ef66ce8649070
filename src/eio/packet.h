/* Engine.IO v4 packets: the seven types and the decoding of one text packet
 * (a WebSocket text frame, or one item of a polling payload). A binary
 * packet has no type byte: over WebSocket it is a binary frame, over polling
 * it is 'b' + base64 (see eio/payload.h). Sans-IO, no allocation. */
#ifndef HB_EIO_PACKET_H
#define HB_EIO_PACKET_H

#include <stddef.h>
#include <stdint.h>

enum {
    HB_EIO_OPEN = 0,
    HB_EIO_CLOSE = 1,
    HB_EIO_PING = 2,
    HB_EIO_PONG = 3,
    HB_EIO_MESSAGE = 4,
    HB_EIO_UPGRADE = 5,
    HB_EIO_NOOP = 6
};

/* A decoded packet. data is borrowed from the decoded input and valid as
 * long as it is; len may be 0 (e.g. "2", or an empty binary message). binary
 * is 1 only for a binary MESSAGE. */
typedef struct {
    int type;
    int binary;
    uint8_t *data;
    size_t len;
} hb_eio_packet;

/* Decodes one text packet s[0..len): the first byte is the type digit
 * '0'..'6', the rest is the data (out->data points into s, out->binary is
 * 0). The data is not checked: it is UTF-8 when it came from a WebSocket
 * text frame, and whatever the client sent when it came from polling.
 * Returns 0, or HB_EEIO_PACKET for an empty packet or an unknown type
 * (including 'b', which only a polling payload may carry); out is then
 * untouched. */
int hb_eio_packet_decode_text(uint8_t *s, size_t len, hb_eio_packet *out);

#endif
