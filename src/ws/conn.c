/* WebSocket connections on top of HTTP ones. The hb_http_conn memory stays
 * the connection's; this adds the frame reader and the receiver. Closing
 * follows RFC 6455 loosely in one respect: after sending our close frame we
 * close TCP once it is written instead of waiting for the peer's reply,
 * which every client tolerates and which bounds the time a dying
 * connection costs. */
#include "ws/conn.h"

#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/metrics.h"
#include "hubbub/error.h"
#include "ws/handshake.h"
#include <llhttp.h>

/* Lives in the room HTTP lends an upgraded connection: no allocation. */
struct hb_ws_conn {
    hb_http_conn *hc;
    const hb_ws_conn_cb *cb;
    void *ud;
    hb_ws_reader reader;
    int close_code;
    uint8_t close_sent;
};
_Static_assert(sizeof(hb_ws_conn) <= HB_HTTP_UPGRADE_ROOM, "hb_ws_conn outgrew its room");

static void on_read(hb_conn *c, uint8_t *data, size_t len);
static void on_eof(hb_conn *c, int err);
static void on_close(hb_conn *c);
static const hb_conn_handler ws_handler = {on_read, on_eof, on_close, NULL};

static int rd_message(void *ud, int opcode, uint8_t *data, size_t len) {
    hb_ws_conn *ws = ud;
    ws->cb->on_message(ws->ud, ws, opcode == HB_WS_OP_BINARY, data, len);
    return ws->hc->c.closing || ws->close_sent;
}

static int rd_ping(void *ud, const uint8_t *data, size_t len) {
    hb_ws_conn *ws = ud;
    hb_buf *pong = hb_ws_frame_new(HB_WS_OP_PONG, NULL, 0, data, len);
    if (pong != NULL)
        hb_conn_write_take(&ws->hc->c, pong);
    return 0;
}

static int rd_pong(void *ud, const uint8_t *data, size_t len) {
    (void)ud;
    (void)data;
    (void)len;
    return 0;
}

static int rd_close(void *ud, int code, const uint8_t *reason, size_t len) {
    hb_ws_conn *ws = ud;
    (void)reason;
    (void)len;
    ws->close_code = code;
    /* Echo the code back, as RFC 6455 5.5.1 asks. */
    hb_ws_conn_close(ws, code == 1005 ? 0 : code, NULL);
    return 1;
}

static const hb_ws_reader_cb reader_cb = {rd_message, rd_ping, rd_pong, rd_close};

static void on_read(hb_conn *c, uint8_t *data, size_t len) {
    hb_ws_conn *ws = c->ud;
    int r;
    hb_metrics_g.bytes_in += len;
    if (ws->close_sent)
        return;
    r = hb_ws_reader_feed(&ws->reader, data, len, &reader_cb, ws);
    if (r < 0) {
        int code = hb_ws_close_code_for(r);
        hb_log_debug("ws", "closing with %d: %s", code, hb_strerror(r));
        hb_ws_conn_close(ws, code, NULL);
    }
}

static void on_eof(hb_conn *c, int err) {
    hb_ws_conn *ws = c->ud;
    (void)err;
    if (ws->close_code == 0)
        ws->close_code = 1006;
    hb_conn_close(c);
}

static void on_close(hb_conn *c) {
    hb_ws_conn *ws = c->ud;
    if (ws->close_code == 0)
        ws->close_code = 1006;
    ws->cb->on_closed(ws->ud, ws, ws->close_code);
    hb_ws_reader_free(&ws->reader);
    hb_http__release(ws->hc); /* ws is freed with it, by net */
}

hb_ws_conn *hb_ws_conn_accept(hb_http_conn *hc, hb_http_request *req, size_t max_message,
                              const hb_ws_conn_cb *cb, void *ud) {
    static const char method_get[] = "GET";
    const char *why = NULL;
    char accept[29];
    char head[256];
    const char *key = hb_http_request_header(req, "sec-websocket-key");
    hb_ws_conn *ws;
    hb_buf *b;
    int n;

    if (hb_ws_handshake_check(req->method == HTTP_GET ? method_get : "OTHER",
                              hb_http_request_header(req, "upgrade"),
                              hb_http_request_header(req, "connection"),
                              hb_http_request_header(req, "sec-websocket-version"), key,
                              &why) != 0) {
        hb_log_debug("ws", "refusing upgrade: %s", why);
        hc->keep_alive = 0;
        hb_http_respond(hc, 400, "text/html", NULL, why, strlen(why));
        return NULL;
    }
    hb_ws_accept_key(key, strlen(key), accept);
    n = snprintf(head, sizeof(head),
                 "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                 accept);
    b = hb_buf_from(head, (size_t)n);
    if (b == NULL) {
        hb_conn_close(&hc->c);
        return NULL;
    }
    ws = hb_http__detach(hc);
    ws->hc = hc;
    ws->cb = cb;
    ws->ud = ud;
    hb_ws_reader_init(&ws->reader, max_message);
    hc->c.h = &ws_handler;
    hc->c.ud = ws;
    hb_metrics_g.ws_upgrades++;
    hb_metrics_g.bytes_out += b->len;
    hb_conn_write_take(&hc->c, b);
    return ws;
}

/* Frames that came in the same read as the request are fed by the caller
 * of accept once the receiver is ready; see hb_ws_conn_feed_rest(). */
void hb_ws_conn_feed_rest(hb_ws_conn *ws) {
    hb_http_conn *hc = ws->hc;
    if (hc->rest_len > 0) {
        uint8_t *rest = hc->rest;
        size_t len = hc->rest_len;
        hc->rest = NULL;
        hc->rest_len = 0;
        on_read(&hc->c, rest, len);
    }
}

void hb_ws_conn_retarget(hb_ws_conn *ws, const hb_ws_conn_cb *cb, void *ud) {
    ws->cb = cb;
    ws->ud = ud;
}

int hb_ws_conn_send(hb_ws_conn *ws, hb_buf *frame) {
    int err;
    if (ws->close_sent)
        return UV_ECANCELED;
    err = hb_conn_write(&ws->hc->c, frame);
    if (err == 0)
        hb_metrics_g.bytes_out += frame->len;
    return err;
}

void hb_ws_conn_close(hb_ws_conn *ws, int code, const char *reason) {
    hb_buf *f;
    if (ws->close_sent || ws->hc->c.closing)
        return;
    ws->close_sent = 1;
    if (ws->close_code == 0)
        ws->close_code = code ? code : 1005;
    f = hb_ws_close_frame_new(code, reason);
    if (f != NULL)
        hb_conn_write_take(&ws->hc->c, f);
    hb_conn_close_after_flush(&ws->hc->c);
}

void hb_ws_conn_abort(hb_ws_conn *ws) {
    if (ws->close_code == 0)
        ws->close_code = 1006;
    hb_conn_close(&ws->hc->c);
}

hb_http_conn *hb_ws_conn_http(hb_ws_conn *ws) {
    return ws->hc;
}
