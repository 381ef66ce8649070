/* The Engine.IO v4 server: the interface the layers above (Socket.IO, the
 * Azure bridge, the echo endpoint) sit on. A server is mounted at one or
 * more paths of the HTTP server; each client session is an hb_eio_session
 * that carries text and binary messages over long-polling or WebSocket,
 * upgrades between them, and keeps the server-driven heartbeat. */
#ifndef HB_EIO_SERVER_H
#define HB_EIO_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "http/request.h"
#include "http/server.h"
#include "net/loop.h"

typedef struct hb_eio_server hb_eio_server;
typedef struct hb_eio_session hb_eio_session;

enum hb_eio_transport { HB_EIO_POLLING = 0, HB_EIO_WEBSOCKET = 1 };

typedef struct hb_eio_handler {
    /* A session opened. req is the handshake request, lent for this call
     * (copy what you keep). The session may be closed from here. */
    void (*on_open)(void *ud, hb_eio_session *s, const hb_http_request *req);
    /* A message arrived. data is writable and lent for this call. */
    void (*on_message)(void *ud, hb_eio_session *s, int binary, uint8_t *data, size_t len);
    /* The session is closed (reason: HB_CLOSE_*, see core/metrics.h). Sending
     * is refused from now on; the session is freed after this returns. */
    void (*on_close)(void *ud, hb_eio_session *s, int reason);
    /* Optional: asked before a handshake creates a session (hub is NULL
     * outside a hubs mount). Return 0 to go on, or an HTTP status to refuse
     * the handshake with a JSON error carrying message (written into the
     * cap bytes given; plain text, no quotes): a refusal a WebSocket client
     * can see too, since it comes before the upgrade. */
    int (*on_check)(void *ud, const hb_http_request *req, const char *hub, char *message,
                    size_t cap);
} hb_eio_handler;

typedef struct hb_eio_opts {
    unsigned ping_interval_ms;  /* default 25000 */
    unsigned ping_timeout_ms;   /* default 20000 */
    unsigned upgrade_timeout_ms;/* default 10000 */
    size_t max_payload;         /* default 1000000 */
} hb_eio_opts;

/* A new server; handler and ud are borrowed. NULL on ENOMEM. */
hb_eio_server *hb_eio_server_new(hb_loop *loop, hb_http_server *http, const hb_eio_opts *opts,
                                 const hb_eio_handler *handler, void *ud);
/* Serves Engine.IO at path (e.g. "/socket.io/"). With hubs, path is a
 * prefix followed by a hub name and '/', e.g. "/clients/socketio/hubs/"
 * serves "/clients/socketio/hubs/chat/"; the session remembers its hub.
 * Returns 0 or HB_ENOMEM. */
int hb_eio_server_mount(hb_eio_server *srv, const char *path, int hubs);
/* Closes every session with reason (HB_CLOSE_SHUTDOWN sends the close
 * packet, then a WebSocket close 1001). */
void hb_eio_server_close_all(hb_eio_server *srv, int reason);
size_t hb_eio_server_session_count(const hb_eio_server *srv);
/* Frees the server; close all sessions first. NULL is accepted. */
void hb_eio_server_free(hb_eio_server *srv);

/* Cluster routing, for long-polling without sticky sessions: this
 * server's session ids start with prefix (this node's tag), and a request
 * whose sid starts otherwise belongs to another node. forward(ud, hc, req,
 * sid) is offered such a request, polling or WebSocket upgrade: it
 * returns 0 when it took it (and will answer hc itself, or relay it,
 * holding it meanwhile; req is valid until then), nonzero to let this
 * server answer "Session ID unknown" (a plain-text 400 for an upgrade, as
 * engine.io refuses an upgrade it cannot serve). */
typedef struct hb_eio_router {
    const char *prefix;       /* copied; at most HB_EIO_PREFIX_MAX characters
                                 of A-Z a-z 0-9 - _ */
    int (*forward)(void *ud, hb_http_conn *hc, hb_http_request *req, const char *sid);
    void *ud;
} hb_eio_router;
#define HB_EIO_PREFIX_MAX 10
/* Sets the router (copied), or removes it with NULL (sids made after keep
 * the prefix, so the sessions of a node stay recognisable). Returns 0 or
 * HB_EINVAL (a bad prefix). Set it before the first session. */
int hb_eio_server_set_router(hb_eio_server *srv, const hb_eio_router *router);

/* A message packet built once, as a WebSocket frame whose payload is the
 * Engine.IO text form ("4" + text) or the raw binary. Share it with
 * hb_eio_session_send() to any number of sessions. NULL on ENOMEM. The
 * caller owns the returned reference. */
hb_buf *hb_eio_message_new(int binary, const void *data, size_t len);
/* Queues a packet made by hb_eio_message_new (a reference is taken; the
 * caller keeps its own). Returns 0, UV_ECANCELED when the session is
 * closed, or HB_ETOOBIG when its queue is full (the session is then closed
 * with "transport error" at the end of this loop turn, so a send never
 * calls on_close back). */
int hb_eio_session_send(hb_eio_session *s, hb_buf *packet);
/* Builds and sends one message. Same returns, plus HB_ENOMEM. */
int hb_eio_session_send_message(hb_eio_session *s, int binary, const void *data, size_t len);
/* Whether a volatile packet should be sent now: the transport can take
 * it at once (a poll is waiting, or the WebSocket has less than
 * HB_EIO_WRITABLE_BYTES queued). 0 for a closed session. */
#define HB_EIO_WRITABLE_BYTES 65536
int hb_eio_session_writable(const hb_eio_session *s);
/* Called from on_open: the open packet waits until hb_eio_session_accept()
 * (the handshake poll is held; a WebSocket handshake is held too, its 101
 * not sent yet), so a handler can ask someone first (an app server). What
 * is sent meanwhile follows the open packet. */
void hb_eio_session_defer_open(hb_eio_session *s);
/* Sends the open packet of a deferred session (for a WebSocket, after the
 * 101) and starts its heartbeat. */
void hb_eio_session_accept(hb_eio_session *s);
/* Refuses a deferred session: the handshake (poll or WebSocket upgrade)
 * gets status and a JSON error body with message, so that clients report
 * it as a connect error; then the session closes (on_close runs, reason
 * "forced close"). */
void hb_eio_session_refuse(hb_eio_session *s, int status, const char *message);
/* Closes the session from the server side ("forced close"). */
void hb_eio_session_close(hb_eio_session *s);

const char *hb_eio_session_id(const hb_eio_session *s);
/* The hub name for sessions of a hubs mount, else NULL. */
const char *hb_eio_session_hub(const hb_eio_session *s);
int hb_eio_session_transport(const hb_eio_session *s);
void *hb_eio_session_data(const hb_eio_session *s);
void hb_eio_session_set_data(hb_eio_session *s, void *data);
/* The peer address "ip:port" of the connection the session uses now (in
 * on_open, the handshake's) into out; "?:0" when it has none at the
 * moment (a polling session between requests). */
void hb_eio_session_peer(const hb_eio_session *s, char *out, size_t cap);

#endif
