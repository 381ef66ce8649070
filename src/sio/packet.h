/* Socket.IO v5 packets: the seven types, the packet value that the decoder
 * yields and the encoder reads, and the encoder itself. JSON stays text
 * throughout: the encoder joins caller-written JSON, and binary arguments
 * become `{"_placeholder":true,"num":i}` objects whose bytes travel as
 * separate binary Engine.IO messages. Sans-IO; see sio/decoder.h for input. */
#ifndef HB_SIO_PACKET_H
#define HB_SIO_PACKET_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

enum {
    HB_SIO_CONNECT = 0,
    HB_SIO_DISCONNECT = 1,
    HB_SIO_EVENT = 2,
    HB_SIO_ACK = 3,
    HB_SIO_CONNECT_ERROR = 4,
    HB_SIO_BINARY_EVENT = 5,
    HB_SIO_BINARY_ACK = 6
};

/* The attachment limit of socket.io-parser's Decoder (maxAttachments). */
#define HB_SIO_MAX_ATTACHMENTS_DEFAULT 10

/* One Socket.IO packet. All slices are borrowed; sio/decoder.h says how long
 * the ones it fills stay valid. The encoder reads only type, nsp, id, data
 * and n_attachments.
 *
 * Text fields:
 *  nsp    the namespace, "/" when the packet omits it; never empty.
 *  id     the ack id (0..INT64_MAX), or -1 when there is none.
 *  data   the JSON payload exactly as written on the wire, placeholders
 *         included; len 0 when the packet has none.
 *  event  EVENT and BINARY_EVENT only: the event name. For a string it is
 *         the unescaped UTF-8 bytes (they may contain NUL; not terminated);
 *         for a number (event_is_number = 1) it is the number's JSON text
 *         as written, e.g. "42" or "1e3". Empty for other types.
 *  args   EVENT and ACK (binary too): the JSON text of the arguments, that
 *         is the array's elements after the event name (EVENT) or all of
 *         them (ACK), comma-separated, without the brackets and with the
 *         surrounding whitespace trimmed: "" for no arguments, `1,{"a":2}`
 *         for two. Empty for other types.
 *
 * Attachments: BINARY_EVENT and BINARY_ACK carry n_attachments >= 1 binary
 * buffers, attachments[i] being the bytes that placeholder num i stands
 * for (the whole of hb_buf_payload(attachments[i])). Other types have 0 and
 * NULL. */
typedef struct hb_sio_packet {
    int type;
    int event_is_number;
    hb_slice nsp;
    int64_t id;
    hb_slice data;
    hb_slice event;
    hb_slice args;
    size_t n_attachments;
    hb_buf *const *attachments;
} hb_sio_packet;

/* A slice over the C string s (without its NUL), for filling packets. */
static inline hb_slice hb_sio_str(const char *s) {
    hb_slice sl = {(const uint8_t *)s, 0};
    while (s[sl.len] != '\0')
        sl.len++;
    return sl;
}

/* --- Encoder ------------------------------------------------------------ */

/* Checks p and computes the length of its text form
 * `<type>[<n>-][<nsp>,][<id>][<data>]` into *len.
 *
 * The type written depends on n_attachments: EVENT and BINARY_EVENT are
 * written as 5 with `<n>-` when n_attachments > 0 and as 2 otherwise; ACK
 * and BINARY_ACK likewise as 6 or 3 (as socket.io-parser's encode() does).
 * The namespace is written with its comma unless it is "/" or empty. The id
 * is written when it is >= 0. data is copied as is: the caller writes it
 * (its placeholders included, see hb_sio_args_write) and the encoder does
 * not parse it, only checks its first byte against the type.
 *
 * Returns 0, or HB_EINVAL when: type is not 0..6; nsp is not empty, does
 * not start with '/' or contains ','; id < -1; n_attachments > 0 for a type
 * that is not an EVENT or ACK; or data does not fit the type: CONNECT needs
 * '{' or none, DISCONNECT none, EVENT '[' (never none), ACK '[' or none,
 * CONNECT_ERROR '{', '"' or none. */
int hb_sio_packet_encoded_len(const hb_sio_packet *p, size_t *len);

/* Writes the text form of p into dst, which must have room for the length
 * hb_sio_packet_encoded_len() gave (it must have returned 0 for p). Returns
 * the number of bytes written. No NUL is added. */
size_t hb_sio_packet_write(const hb_sio_packet *p, uint8_t *dst);

/* The text form of p in a new hb_buf (one reference, owned by the caller;
 * off 0, flags 0). Returns 0, HB_EINVAL (see hb_sio_packet_encoded_len) or
 * HB_ENOMEM; *out is set only on success. */
int hb_sio_packet_encode(const hb_sio_packet *p, hb_buf **out);

/* --- Placeholders and argument arrays ------------------------------------ */

/* Room for any placeholder hb_sio_placeholder() writes, NUL included. */
#define HB_SIO_PLACEHOLDER_MAX 40

/* Writes `{"_placeholder":true,"num":<num>}` (that key order, compact, as
 * socket.io-parser writes it) and a NUL into dst. Returns the length
 * without the NUL. */
size_t hb_sio_placeholder(char dst[HB_SIO_PLACEHOLDER_MAX], uint32_t num);

/* One argument of an array built by hb_sio_args_write(): JSON text
 * (borrowed, copied by the writer), or a binary argument (binary = 1; json
 * is then ignored) that becomes the next placeholder. */
typedef struct hb_sio_arg {
    hb_slice json;
    int binary;
} hb_sio_arg;

/* The length of the array hb_sio_args_write() builds from args[0..n). */
size_t hb_sio_args_len(const hb_sio_arg *args, size_t n);

/* Writes the JSON array `[a0,a1,...]` into dst (room for hb_sio_args_len()
 * bytes), the i-th binary argument becoming the placeholder with num i, and
 * returns the bytes written. *n_binary (may be NULL) receives the number of
 * binary arguments, which is the n_attachments to encode with. A text
 * argument whose json is empty is left out, so that a decoded packet's args
 * ("" or `1,2`) can be passed as one argument: with an event name first,
 * {"\"reply\"", args} rebuilds the event under another name. The texts are
 * not checked; they must be JSON values (or comma-joined values). */
size_t hb_sio_args_write(const hb_sio_arg *args, size_t n, uint8_t *dst, size_t *n_binary);

/* Splits the text of a JSON array (e.g. a packet's data) into its first
 * element and the rest: for `[ "chat" , 1, [2] ]`, *first is `"chat"` (the
 * JSON text, quotes included) and *rest is `1, [2]`, whitespace around each
 * trimmed. An empty array gives two empty slices; a one-element array an
 * empty rest. The slices point into arr. The text should be JSON the
 * decoder validated; anything else is never read out of bounds but yields
 * HB_EINVAL when it is not shaped like an array (not '[' ... ']' around the
 * whitespace, or the first element not followed by ',' or the end). Returns
 * 0 or HB_EINVAL (the outputs are then untouched). */
int hb_sio_array_split(hb_slice arr, hb_slice *first, hb_slice *rest);

/* The same for a comma-joined list of JSON values without the brackets
 * (a packet's args, or the rest from a split): `1, [2]` gives `1` and
 * `[2]`. An empty list gives two empty slices. Returns 0 or HB_EINVAL. */
int hb_sio_list_split(hb_slice list, hb_slice *first, hb_slice *rest);

#endif
