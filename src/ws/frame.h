/* The RFC 6455 frame layer, server side: a sans-IO reader that turns client
 * bytes into messages and control events, and writers that build server
 * frames as shared hb_buf bytes (encode once, write to many). No I/O, no
 * libuv; the connection layer owns the socket and the close handshake. */
#ifndef HB_WS_FRAME_H
#define HB_WS_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

enum {
    HB_WS_OP_CONT = 0,
    HB_WS_OP_TEXT = 1,
    HB_WS_OP_BINARY = 2,
    HB_WS_OP_CLOSE = 8,
    HB_WS_OP_PING = 9,
    HB_WS_OP_PONG = 10
};

/* Events of hb_ws_reader_feed(). Pointers are borrowed: they are valid only
 * until the callback returns (they point either into the caller's buffer or
 * into reader memory freed right after). Each callback returns 0 to go on,
 * nonzero to stop: feed() then returns 1 at once and drops the rest of its
 * input. A NULL callback ignores its event. Callbacks must not feed or free
 * the reader that called them. */
typedef struct hb_ws_reader_cb {
    /* A complete message; opcode is TEXT (already checked to be UTF-8) or
     * BINARY. data is writable scratch for the callback. */
    int (*on_message)(void *ud, int opcode, uint8_t *data, size_t len);
    int (*on_ping)(void *ud, const uint8_t *data, size_t len);
    int (*on_pong)(void *ud, const uint8_t *data, size_t len);
    /* code is 1005 when the frame had no payload (then len is 0); otherwise
     * a valid code and a UTF-8 reason of len bytes (not NUL-terminated). */
    int (*on_close)(void *ud, int code, const uint8_t *reason, size_t len);
} hb_ws_reader_cb;

/* Decoder state of one connection; fields are private. 48 bytes on LP64:
 * the header of a partial frame is kept inline, and heap memory exists only
 * while a frame or a fragmented message is partial (a lone frame gets
 * exactly its announced size, a fragmented message doubling room up to
 * max_message). */
typedef struct hb_ws_reader {
    uint8_t *buf;       /* fragments so far, then the partial frame's payload */
    uint32_t max;       /* max_message, clamped to UINT32_MAX */
    uint32_t msg_len;   /* bytes of the fragmented message in buf */
    uint32_t frame_len; /* payload length of the current frame */
    uint32_t frame_got; /* payload bytes of it seen so far */
    int err;            /* sticky error, 0 while healthy */
    uint8_t hdr[14];    /* partial header; the mask key once parsed */
    uint8_t hdr_len;    /* header bytes in hdr; 0xFF while in a payload */
    uint8_t op;         /* opcode of the current frame, 0x80 = FIN */
    uint8_t msg_op;     /* TEXT or BINARY while a fragmented message is open */
} hb_ws_reader;

/* Prepares r to read a client's frames. Messages (summed over fragments)
 * above max_message bytes fail with HB_EWS_TOO_BIG; limits above
 * UINT32_MAX are clamped to it. Allocates nothing. */
void hb_ws_reader_init(hb_ws_reader *r, size_t max_message);

/* Consumes len bytes of client input. data is modified (frames are unmasked
 * in place); a message carried whole by one unfragmented frame inside data
 * is passed to on_message as a pointer into data, without a copy. Partial
 * frames and messages are kept by the reader, so data may be reused once
 * the call returns. Control frames may come between fragments.
 *
 * Returns 0 when everything was consumed, 1 when a callback stopped it (the
 * reader is then at a frame boundary and the rest of data is dropped), or:
 *  HB_EWS_PROTOCOL  an unmasked frame, RSV bits, an unknown opcode, a
 *                   control frame over 125 bytes or fragmented, a 64-bit
 *                   length with its top bit set, a continuation without a
 *                   start, a new data frame inside a fragmented message, a
 *                   bad close payload (1 byte, an invalid code, a reason
 *                   that is not UTF-8);
 *  HB_EWS_UTF8      a text message that is not UTF-8 (checked once whole);
 *  HB_EWS_TOO_BIG   a message over max_message, seen from a frame header
 *                   before its payload is buffered;
 *  HB_ENOMEM        buffering a partial frame failed.
 * Errors are sticky: later calls return the same code and consume nothing.
 * The reader frees its partial state when it fails. */
int hb_ws_reader_feed(hb_ws_reader *r, uint8_t *data, size_t len, const hb_ws_reader_cb *cb,
                      void *ud);

/* The close code to send for an error of hb_ws_reader_feed():
 * HB_EWS_PROTOCOL 1002, HB_EWS_UTF8 1007, HB_EWS_TOO_BIG 1009, else 1011. */
int hb_ws_close_code_for(int err);

/* Frees r's partial state. r must then be re-inited before another feed. */
void hb_ws_reader_free(hb_ws_reader *r);

/* Writes the header of a server frame (FIN set, unmasked) carrying
 * payload_len bytes into out; returns its length: 2, 4 or 10. */
size_t hb_ws_frame_header(uint8_t out[10], int opcode, uint64_t payload_len);

/* A new server frame in one allocation: header, then the prefix_len bytes
 * of prefix, then the len bytes of payload (either part may be NULL, 0;
 * both are copied). The result has one reference, off = header length,
 * len = header + prefix_len + len, and flags = HB_BUF_BINARY when opcode is
 * BINARY. NULL when out of memory. */
hb_buf *hb_ws_frame_new(int opcode, const void *prefix, size_t prefix_len, const void *payload,
                        size_t len);

/* A new close frame: the 2-byte code, then reason (NULL means none),
 * truncated at a character boundary to fit 125 bytes. Code 0 means a frame
 * with no payload at all (reason is then ignored). One reference; NULL
 * when out of memory. */
hb_buf *hb_ws_close_frame_new(int code, const char *reason);

#endif
