/* hb_http_server: HTTP/1.1 on the net layer. It owns each connection while
 * it speaks HTTP: parsing with limits, the request deadline, keep-alive,
 * CORS, and routing by path prefix to the layers above. A route answers at
 * once (hb_http_respond), holds the request to answer later (long-polling),
 * or hands the connection to WebSocket (see ws/conn.h). */
#ifndef HB_HTTP_SERVER_H
#define HB_HTTP_SERVER_H

#include <stddef.h>

#include "core/timer.h"
#include "http/request.h"
#include "net/conn.h"

typedef struct hb_http_server hb_http_server;
typedef struct hb_http_conn hb_http_conn;

/* Called for a request whose path starts with the route's prefix. The
 * request is valid until the connection responds. */
typedef void (*hb_http_route_cb)(void *ud, hb_http_conn *hc, hb_http_request *req);
/* A request's head has arrived and its body has not yet (only for
 * requests with a body, when the route registered one). The route may
 * answer (the connection then closes after the answer), or watch the
 * connection with hb_http_watch(). */
typedef void (*hb_http_head_cb)(void *ud, hb_http_conn *hc, const hb_http_request *head);
/* A held request's connection is gone (closed by the peer or an error). */
typedef void (*hb_http_gone_cb)(void *ud, hb_http_conn *hc);

typedef struct hb_http_server_opts {
    size_t max_header_bytes;     /* 431 above; default 16 KiB */
    size_t max_body;             /* 413 above */
    unsigned request_timeout_ms; /* headers and body must arrive within it */
    unsigned idle_timeout_ms;    /* keep-alive connections idle longer are closed */
    const char *const *cors_origins; /* NULL-terminated; "*" allows any */
} hb_http_server_opts;

/* Bytes an upgraded connection lends the protocol it was upgraded to. */
#define HB_HTTP_UPGRADE_ROOM 80

struct hb_http_conn {
    hb_conn c;                 /* first: net allocates us as a connection */
    hb_http_server *srv;
    hb_http_parser *parser;    /* NULL while idle */
    uint8_t *rest;             /* during a route call: bytes after the request */
    size_t rest_len;
    uint8_t held;              /* a route holds the current request */
    uint8_t upgraded;          /* handed over to another protocol */
    uint8_t keep_alive;        /* of the current request */
    uint8_t responded;         /* the current request was answered */
    uint8_t head_only;         /* the current request is a HEAD: answers carry no body */
    uint8_t draining;          /* a refused body is still arriving */
    hb_http_conn *next, *prev; /* every connection of the server */
    /* What only HTTP needs shares its memory with the state of the
     * protocol the connection is upgraded to (see hb_http__detach), so
     * that an idle WebSocket is one allocation. */
    union {
        struct {
            hb_timer timer;            /* request deadline, then idle timeout */
            hb_http_gone_cb gone_cb;   /* set while a request is held */
            void *gone_ud;
            uint8_t *backlog;          /* bytes that arrived while a request was held */
            size_t backlog_len;
            char *cors;                /* CORS header lines for the current request */
        } http;
        void *upgraded[HB_HTTP_UPGRADE_ROOM / sizeof(void *)];
    } u;
};

/* A new server; opts are copied (cors_origins strings are borrowed and must
 * outlive the server). NULL on ENOMEM. */
hb_http_server *hb_http_server_new(hb_loop *loop, const hb_http_server_opts *opts);
/* Listens on host:port; may be called for several addresses. Returns 0 or a
 * UV_E* code. The bound address is logged by the caller via
 * hb_http_server_listener_name(). */
int hb_http_server_listen(hb_http_server *srv, const char *host, int port);
const char *hb_http_server_listener_name(hb_http_server *srv, size_t i);
size_t hb_http_server_listener_count(hb_http_server *srv);
/* Routes requests whose path starts with prefix to cb. Longest prefix wins.
 * prefix is copied. Returns 0 or HB_ENOMEM. */
int hb_http_server_route(hb_http_server *srv, const char *prefix, hb_http_route_cb cb, void *ud);
/* Adds a head callback to the route of exactly this prefix. */
int hb_http_server_route_head(hb_http_server *srv, const char *prefix, hb_http_head_cb cb);
/* Stops accepting; open connections stay. */
void hb_http_server_stop_listening(hb_http_server *srv);
/* Closes every connection still speaking HTTP (held ones get their gone
 * callback first). */
void hb_http_server_close_idle(hb_http_server *srv);
/* Closes every connection now, upgraded ones included (their close
 * callbacks run in the next loop turn). */
void hb_http_server_close_all(hb_http_server *srv);
void hb_http_server_free(hb_http_server *srv);
/* Connections open right now (HTTP and upgraded). */
size_t hb_http_server_conn_count(const hb_http_server *srv);

/* Answers the current request: status, content type (may be NULL), body.
 * CORS headers of the request are added. extra: more header lines, each
 * "Name: value\r\n", or NULL. Then the next pipelined request is read. */
void hb_http_respond(hb_http_conn *hc, int status, const char *ctype, const char *extra,
                     const void *body, size_t len);
/* 400-style JSON error body {"code":N,"message":"..."} (Engine.IO's shape). */
void hb_http_respond_json_error(hb_http_conn *hc, int status, int code, const char *message);
/* Keeps the current request open; gone is called if the peer goes away
 * before hb_http_respond(). */
void hb_http_hold(hb_http_conn *hc, hb_http_gone_cb gone, void *ud);
/* Calls gone(ud, hc) if the connection closes before the current request
 * is answered or dispatched (an upload in progress). */
void hb_http_watch(hb_http_conn *hc, hb_http_gone_cb gone, void *ud);
/* For the WebSocket layer: takes the connection away from HTTP. After this
 * HTTP never touches hc->c again except to free its own state on close.
 * Returns HB_HTTP_UPGRADE_ROOM zeroed bytes inside hc (HTTP's own state
 * for requests, released here), the new protocol's until hc is freed. */
void *hb_http__detach(hb_http_conn *hc);
/* For the WebSocket layer: releases what HTTP keeps for hc; call it from
 * the upgraded connection's close callback. */
void hb_http__release(hb_http_conn *hc);
/* The peer's "ip:port". */
void hb_http_conn_peer(hb_http_conn *hc, char *out, size_t cap);

#endif
