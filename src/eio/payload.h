/* Engine.IO v4 polling payloads: the body of a POST (client to server) and
 * of a GET response (server to client). Packets are joined by the record
 * separator 0x1e; a binary message travels as 'b' + standard base64.
 * Sans-IO: decoding works in the caller's buffer, encoding writes into one. */
#ifndef HB_EIO_PAYLOAD_H
#define HB_EIO_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "eio/packet.h"

enum { HB_EIO_SEPARATOR = 0x1e };

/* Called once per decoded packet. p and p->data are borrowed from the body
 * given to hb_eio_payload_decode() (p itself only for the call). Returning
 * nonzero stops decoding. */
typedef int (*hb_eio_payload_cb)(void *ud, const hb_eio_packet *p);

/* Decodes a polling POST body[0..len). The whole body is validated first;
 * only then is cb called for each packet in order, so a bad body delivers
 * nothing. Each 'b' item is a binary MESSAGE whose base64 is decoded in place
 * in body (the bytes after the 'b' are overwritten; separators are not), so
 * every p->data stays valid as long as body does.
 * Returns 0 when every packet was delivered, 1 when cb returned nonzero (the
 * later packets are left undelivered, their base64 undecoded), or
 * HB_EEIO_PAYLOAD when the body is empty or an item is empty (e.g. a
 * trailing separator), has an unknown type or carries bad base64 (see
 * hb_base64_decode(); "b" alone is a legal empty binary message). */
int hb_eio_payload_decode(uint8_t *body, size_t len, hb_eio_payload_cb cb, void *ud);

/* Exact length of hb_eio_payload_encode()'s output for items[0..n). */
size_t hb_eio_payload_encoded_len(hb_buf *const *items, size_t n);

/* Encodes the GET response for queued packets items[0..n) into out, which
 * must hold hb_eio_payload_encoded_len(items, n) bytes. Each item's payload
 * (hb_buf_payload()) is the Engine.IO text form ("4hello", "2", "6"), copied
 * as is (it must not be empty), or, with HB_BUF_BINARY in flags, the raw bytes of a binary message,
 * written as 'b' + base64. Items are joined by 0x1e. The items are only
 * read; the caller keeps its references. Returns the bytes written (0 for
 * n == 0, which is not a valid response body by itself). */
size_t hb_eio_payload_encode(uint8_t *out, hb_buf *const *items, size_t n);

#endif
