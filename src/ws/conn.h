/* hb_ws_conn: a WebSocket connection, server side. It takes a connection
 * over from HTTP after a valid handshake (101), reads frames with the
 * sans-IO reader, answers pings, runs the close handshake, and sends frames
 * that were built once as shared buffers. The layer above sees messages and
 * one final "closed". */
#ifndef HB_WS_CONN_H
#define HB_WS_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "http/server.h"
#include "ws/frame.h"

typedef struct hb_ws_conn hb_ws_conn;

typedef struct hb_ws_conn_cb {
    /* A whole message; binary is 0 for text. data is writable and lent for
     * this call. The callback may close or retarget ws. */
    void (*on_message)(void *ud, hb_ws_conn *ws, int binary, uint8_t *data, size_t len);
    /* The connection is gone. code is the close code received or sent
     * (1006 when the peer vanished without one). Called once; ws is freed
     * right after it returns. */
    void (*on_closed)(void *ud, hb_ws_conn *ws, int code);
} hb_ws_conn_cb;

/* Checks the handshake of req and, if good, answers 101 and takes hc over;
 * bytes that followed the request are read as frames. Returns the new
 * connection, or NULL after answering 400 (bad handshake, with
 * HTTP text/html body `why`) or on ENOMEM (connection closed). */
hb_ws_conn *hb_ws_conn_accept(hb_http_conn *hc, hb_http_request *req, size_t max_message,
                              const hb_ws_conn_cb *cb, void *ud);
/* Reads the bytes that arrived right behind the upgrade request; call it
 * once the receiver is ready to get messages. */
void hb_ws_conn_feed_rest(hb_ws_conn *ws);
/* Points events at another receiver (an Engine.IO probe becoming the
 * session's transport). */
void hb_ws_conn_retarget(hb_ws_conn *ws, const hb_ws_conn_cb *cb, void *ud);
/* Queues a frame (a reference is taken). Returns 0, HB_ETOOBIG when the
 * connection's queue is full, or UV_ECANCELED when closing. */
int hb_ws_conn_send(hb_ws_conn *ws, hb_buf *frame);
/* Starts the close handshake with code (0: none) and reason; the TCP
 * connection closes once the frame is written. Idempotent. */
void hb_ws_conn_close(hb_ws_conn *ws, int code, const char *reason);
/* Closes the TCP connection now, without a close frame. */
void hb_ws_conn_abort(hb_ws_conn *ws);
hb_http_conn *hb_ws_conn_http(hb_ws_conn *ws);

#endif
