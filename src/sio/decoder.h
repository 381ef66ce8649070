/* The Socket.IO v5 decoder of one Engine.IO session: it takes each message
 * the session delivers (text or binary) and yields complete, validated
 * packets, holding a BINARY_EVENT or BINARY_ACK back until its attachments
 * have arrived. JSON is validated with jansson and handed on as text.
 * Sans-IO; heap memory exists only while a binary packet or an escaped
 * event name is held. */
#ifndef HB_SIO_DECODER_H
#define HB_SIO_DECODER_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "sio/packet.h"

/* Decoder state; fields are private. 24 bytes on LP64, so it can live
 * inside the connection's own allocation. */
typedef struct hb_sio_decoder {
    struct hb_sio__held *held; /* binary packet being reassembled or last delivered */
    char *name;                /* unescaped event name of the current packet */
    uint32_t max_attachments;
    uint32_t spare;
} hb_sio_decoder;

/* Prepares d. A binary packet announcing more than max_attachments
 * attachments is refused (HB_SIO_MAX_ATTACHMENTS_DEFAULT is socket.io's
 * default of 10). Allocates nothing. */
void hb_sio_decoder_init(hb_sio_decoder *d, uint32_t max_attachments);

/* Feeds one Engine.IO message: text (binary = 0) or binary (binary = 1).
 * data is only read, and may be reused or freed once the call returns
 * (except as said below for a text packet).
 *
 * Returns 1 when the message completed a packet, written to *out; 0 when
 * the message was a binary packet's header or one of its attachments and
 * more attachments are expected (*out untouched); or a negative error.
 *
 * What *out points to stays valid until the next feed, reset or free of d:
 *  - a packet without attachments borrows from data: nsp, data, event and
 *    args point into it (so data must also stay alive and unchanged), except
 *    an event name with JSON escapes, which is copied into d;
 *  - a binary packet's text was copied into d when its header came, and
 *    each attachment is an hb_buf holding a copy of its message, with off
 *    0 and flags HB_BUF_BINARY. d holds one reference to each; take another
 *    with hb_buf_ref() to keep one past the next call (that reference is
 *    then the caller's to release).
 *
 * The text rules are socket.io-parser 4's (see decoder.c for the few places
 * Hubbub is stricter): `<type>[<n>-][<nsp>,][<id>][<json>]`, type '0'..'6';
 * n decimal digits >= 1; a namespace is present when '/' follows and runs to
 * the first ',' (consumed) or to the end of the message; the ack id is
 * decimal digits; the rest, when not empty, is JSON that must parse and fit
 * the type: CONNECT an object or none, DISCONNECT none, EVENT an array
 * (never none) whose first element is a number or a string other than
 * connect, connect_error, disconnect, disconnecting, newListener and
 * removeListener, ACK an array or none, CONNECT_ERROR an object, a string
 * or none (BINARY_* as their plain types). In a binary packet, every
 * object whose "_placeholder" is true must have a "num" that is an integer
 * 0 <= num < n; this is checked when the header comes, not after the last
 * attachment as Node does, with the same outcome.
 *
 * Errors (after any error, d has dropped the packet in progress and is
 * ready for a new one; the session is normally closed anyway):
 *  HB_ESIO_PACKET       the text does not decode: empty, unknown type,
 *                       attachment count missing, 0 or not followed by '-',
 *                       an ack id over INT64_MAX, a namespace that is not
 *                       UTF-8, JSON that does not parse or does not fit
 *                       the type (above);
 *  HB_ESIO_ATTACHMENTS  a count over max_attachments, a placeholder whose
 *                       num is not one of the attachments, a binary message
 *                       when no attachment is expected, or a text message
 *                       while one is;
 *  HB_ENOMEM            copying ran out of memory, or jansson said it did
 *                       (it reports most of its allocation failures as
 *                       syntax errors, so those read as HB_ESIO_PACKET). */
int hb_sio_decoder_feed(hb_sio_decoder *d, int binary, const uint8_t *data, size_t len,
                        hb_sio_packet *out);

/* How many attachments the packet being reassembled still waits for; 0
 * when none is in progress. */
size_t hb_sio_decoder_expected(const hb_sio_decoder *d);

/* Drops the packet in progress and the memory of the last one delivered
 * (their hb_bufs lose d's reference). d stays initialized. */
void hb_sio_decoder_reset(hb_sio_decoder *d);

/* Frees everything d holds (the same as reset); d may then be discarded or
 * initialized again. */
void hb_sio_decoder_free(hb_sio_decoder *d);

#endif
