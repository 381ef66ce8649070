/* Hubbub's public C API: a Socket.IO v5 server in C, shaped like Socket.IO's
 * own server API (namespaces, middlewares, sockets, events, acks, rooms,
 * broadcast operators).
 *
 * Conventions:
 *  - Stateful objects are opaque and owned by the server: a program never
 *    frees an hb_nsp or an hb_socket. A socket pointer is valid from the
 *    connection callback until its disconnect callback returns.
 *  - Arguments are JSON text: `args_json` is a JSON array of the arguments,
 *    e.g. "[\"hello\",42]" (NULL means []). Binary arguments are written in
 *    that array as placeholders `{"_placeholder":true,"num":i}` and their
 *    bytes passed in `bins[i]`; hb_args_* helpers read and build them.
 *  - Strings passed in are copied; strings handed to callbacks are borrowed
 *    for the duration of the callback.
 *  - Everything runs on the server's loop thread; no function is
 *    thread-safe.
 *  - Functions returning int return 0 or a negative HB_E* code (see
 *    hubbub/error.h). */
#ifndef HUBBUB_H
#define HUBBUB_H

#include <stddef.h>
#include <stdint.h>

#include "hubbub/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hb_server hb_server;
typedef struct hb_nsp hb_nsp;
typedef struct hb_socket hb_socket;
typedef struct hb_ack hb_ack;
typedef struct hb_next hb_next;
typedef struct hb_bcast hb_bcast;

/* A binary argument: bytes, borrowed. */
typedef struct hb_bin {
    const uint8_t *data;
    size_t len;
} hb_bin;

/* Arguments of an event or an ack, as received. */
typedef struct hb_args {
    const char *json;  /* a NUL-terminated JSON array, e.g. "[1,\"a\"]" */
    size_t json_len;
    const hb_bin *bins; /* the binary attachments, bins[i] for placeholder i */
    size_t nbins;
} hb_args;

/* ---- server ------------------------------------------------------------ */

typedef struct hb_server_opts {
    const char *const *listen;  /* NULL-terminated "HOST:PORT" list; NULL: 127.0.0.1:3000 */
    const char *path;           /* default "/socket.io/" */
    unsigned ping_interval_ms;  /* default 25000 */
    unsigned ping_timeout_ms;   /* default 20000 */
    unsigned connect_timeout_ms;/* default 45000 */
    size_t max_payload;         /* default 1000000 */
    const char *const *cors_origins; /* NULL-terminated; "*" allows any */
    unsigned recovery_ms;       /* connection-state recovery window; 0 = off */
    const char *engineio_echo;  /* mount a raw Engine.IO echo endpoint here (tests) */
    unsigned shutdown_timeout_ms; /* default 5000 */
} hb_server_opts;

/* A new server with opts copied (NULL for defaults). It does not listen yet.
 * NULL on ENOMEM. */
HB_EXPORT hb_server *hb_server_new(const hb_server_opts *opts);
/* Listens, then runs the loop until SIGTERM/SIGINT or hb_server_stop();
 * stops gracefully (every client gets a close). Returns 0, or the UV_E*
 * code of a failed listen (e.g. UV_EADDRINUSE), logged readably. */
HB_EXPORT int hb_server_run(hb_server *srv);
/* Asks a running server to stop gracefully; safe from any callback. */
HB_EXPORT void hb_server_stop(hb_server *srv);
/* Frees a server that is not running. NULL is accepted. */
HB_EXPORT void hb_server_free(hb_server *srv);
/* The namespace name, created on first use ("/" is the main one). NULL on
 * ENOMEM or a name that does not start with '/'. */
HB_EXPORT hb_nsp *hb_server_of(hb_server *srv, const char *name);
/* Dynamic namespaces: a client CONNECT to an unknown name is offered to
 * match(ud, name, auth_json); returning nonzero creates that namespace
 * with the handlers (middlewares, connection callback) of the returned
 * parent, like io.of(fn) in Socket.IO. Returns the parent to configure. */
typedef int (*hb_nsp_match_cb)(void *ud, const char *name, const char *auth_json);
HB_EXPORT hb_nsp *hb_server_of_match(hb_server *srv, hb_nsp_match_cb match, void *ud);
/* Dynamic namespaces by POSIX extended regular expression on the name, like
 * io.of(/^\/dyn-\d+$/). NULL on a bad pattern or ENOMEM. */
HB_EXPORT hb_nsp *hb_server_of_regex(hb_server *srv, const char *pattern);

/* Serves body (borrowed, must outlive the server) at exactly path with
 * content_type, for GET and HEAD: an app's web page, a client bundle. */
HB_EXPORT int hb_server_serve(hb_server *srv, const char *path, const char *content_type,
                              const void *body, size_t len);

/* ---- namespaces ---------------------------------------------------------- */

HB_EXPORT const char *hb_nsp_name(const hb_nsp *nsp);
HB_EXPORT hb_server *hb_nsp_server(const hb_nsp *nsp);
/* Called for each socket that connected (after the middlewares). */
typedef void (*hb_connection_cb)(hb_socket *s, void *ud);
HB_EXPORT void hb_nsp_on_connection(hb_nsp *nsp, hb_connection_cb cb, void *ud);
/* A middleware runs before the connection; it must eventually call exactly
 * one of hb_next_accept() or hb_next_refuse() on next (now or later, e.g.
 * after an async check). Middlewares run in the order they were added. */
typedef void (*hb_middleware_cb)(hb_socket *s, hb_next *next, void *ud);
HB_EXPORT int hb_nsp_use(hb_nsp *nsp, hb_middleware_cb cb, void *ud);
HB_EXPORT void hb_next_accept(hb_next *next);
/* Refuses the connection: the client gets CONNECT_ERROR with message and,
 * if data_json is not NULL, "data" (JSON text). */
HB_EXPORT void hb_next_refuse(hb_next *next, const char *message, const char *data_json);
/* Sockets connected to nsp right now. */
HB_EXPORT size_t hb_nsp_count(const hb_nsp *nsp);

/* ---- sockets --------------------------------------------------------------- */

/* The socket id (not the Engine.IO id); also the socket's own room. */
HB_EXPORT const char *hb_socket_id(const hb_socket *s);
HB_EXPORT hb_nsp *hb_socket_nsp(const hb_socket *s);
HB_EXPORT void *hb_socket_data(const hb_socket *s);
HB_EXPORT void hb_socket_set_data(hb_socket *s, void *data);
/* 1 when this connection restored a previous session (recovery). */
HB_EXPORT int hb_socket_recovered(const hb_socket *s);

/* Handshake data of the socket's connection. */
HB_EXPORT const char *hb_socket_header(const hb_socket *s, const char *name); /* NULL if absent */
HB_EXPORT const char *hb_socket_query(const hb_socket *s, const char *name);  /* decoded; NULL if absent */
HB_EXPORT const char *hb_socket_auth(const hb_socket *s);    /* JSON object text, "{}" if none */
HB_EXPORT const char *hb_socket_address(const hb_socket *s); /* peer IP */
HB_EXPORT int64_t hb_socket_time_ms(const hb_socket *s);     /* handshake, ms since the epoch */
HB_EXPORT const char *hb_socket_url(const hb_socket *s);     /* the handshake request's URL */

/* An event handler. ack is non-NULL when the client asked for an ack; it
 * is valid during the call, or until answered if kept with hb_ack_keep(). */
typedef void (*hb_event_cb)(hb_socket *s, const char *event, const hb_args *args, hb_ack *ack,
                            void *ud);
/* One handler per event name (a second call replaces it). */
HB_EXPORT int hb_socket_on(hb_socket *s, const char *event, hb_event_cb cb, void *ud);
/* Called for every event that has no handler of its own. */
HB_EXPORT void hb_socket_on_any(hb_socket *s, hb_event_cb cb, void *ud);
/* Called once when the socket disconnects, with Socket.IO's reason name:
 * "client namespace disconnect", "server namespace disconnect",
 * "transport close", "transport error", "ping timeout", "parse error",
 * "forced close", "server shutting down". */
typedef void (*hb_disconnect_cb)(hb_socket *s, const char *reason, void *ud);
HB_EXPORT void hb_socket_on_disconnect(hb_socket *s, hb_disconnect_cb cb, void *ud);

/* Emits event with args to this socket. Returns 0, HB_EINVAL (bad JSON
 * shape or reserved name), UV_ECANCELED (disconnected) or HB_ENOMEM. */
HB_EXPORT int hb_socket_emit(hb_socket *s, const char *event, const char *args_json,
                             const hb_bin *bins, size_t nbins);
/* An ack answer: args, or NULL with err = HB_ETIMEDOUT when no answer came
 * in time (or UV_ECANCELED when the socket went away first). */
typedef void (*hb_ack_cb)(hb_socket *s, int err, const hb_args *args, void *ud);
HB_EXPORT int hb_socket_emit_with_ack(hb_socket *s, const char *event, const char *args_json,
                                      const hb_bin *bins, size_t nbins, unsigned timeout_ms,
                                      hb_ack_cb cb, void *ud);
/* Answers the client's ack with args (NULL for []). Valid once. */
HB_EXPORT int hb_ack_send(hb_ack *ack, const char *args_json, const hb_bin *bins, size_t nbins);
/* Keeps ack beyond the handler call; the caller must then call
 * hb_ack_send() or hb_ack_drop() exactly once. Returns ack. */
HB_EXPORT hb_ack *hb_ack_keep(hb_ack *ack);
HB_EXPORT void hb_ack_drop(hb_ack *ack);

HB_EXPORT int hb_socket_join(hb_socket *s, const char *room);
HB_EXPORT int hb_socket_leave(hb_socket *s, const char *room);
HB_EXPORT int hb_socket_in_room(const hb_socket *s, const char *room);
/* The socket's rooms as a JSON array text, its own id first; free() it. */
HB_EXPORT char *hb_socket_rooms_json(const hb_socket *s);
/* Disconnects the socket from its namespace (reason "server namespace
 * disconnect"); with close_transport, closes the whole connection. */
HB_EXPORT void hb_socket_disconnect(hb_socket *s, int close_transport);

/* ---- broadcasting ------------------------------------------------------------ */

/* A broadcast is built with operators and consumed by exactly one terminal
 * call (emit, emit_with_ack, fetch, sockets_join/leave, disconnect, or
 * hb_bcast_free). Operators return their argument for chaining and never
 * fail: an out-of-memory error is reported by the terminal call. */
HB_EXPORT hb_bcast *hb_nsp_bcast(hb_nsp *nsp);        /* every socket of nsp */
HB_EXPORT hb_bcast *hb_to(hb_nsp *nsp, const char *room); /* io.of(n).to(room) */
HB_EXPORT hb_bcast *hb_socket_bcast(hb_socket *s);    /* socket.broadcast: all but s */
HB_EXPORT hb_bcast *hb_bcast_to(hb_bcast *b, const char *room); /* to / in: union of rooms */
HB_EXPORT hb_bcast *hb_bcast_except(hb_bcast *b, const char *room);
HB_EXPORT hb_bcast *hb_bcast_volatile(hb_bcast *b);   /* may be dropped under backpressure */
HB_EXPORT hb_bcast *hb_bcast_local(hb_bcast *b);      /* this node only (cluster) */
HB_EXPORT hb_bcast *hb_bcast_timeout(hb_bcast *b, unsigned ms); /* for emit_with_ack */
HB_EXPORT void hb_bcast_free(hb_bcast *b);

/* Emits to every matching socket; the packet is encoded once. */
HB_EXPORT int hb_bcast_emit(hb_bcast *b, const char *event, const char *args_json,
                            const hb_bin *bins, size_t nbins);
/* Emits and collects one ack per recipient. cb gets err 0 when every
 * recipient answered, HB_ETIMEDOUT when the timeout passed first, and
 * responses_json: a JSON array of each answer's first argument, in the
 * order they came. */
typedef void (*hb_bcast_ack_cb)(int err, const char *responses_json, size_t n, void *ud);
HB_EXPORT int hb_bcast_emit_with_ack(hb_bcast *b, const char *event, const char *args_json,
                                     const hb_bin *bins, size_t nbins, hb_bcast_ack_cb cb,
                                     void *ud);
/* The matching sockets, as a malloc'd array (free() it) of *n pointers. */
HB_EXPORT hb_socket **hb_bcast_fetch_sockets(hb_bcast *b, size_t *n);
HB_EXPORT void hb_bcast_sockets_join(hb_bcast *b, const char *room);
HB_EXPORT void hb_bcast_sockets_leave(hb_bcast *b, const char *room);
HB_EXPORT void hb_bcast_disconnect_sockets(hb_bcast *b, int close_transport);

/* ---- argument helpers --------------------------------------------------------- */

/* The i-th argument of args as JSON text (borrowed pointer into args->json,
 * *len bytes), or NULL when there are fewer arguments. */
HB_EXPORT const char *hb_args_at(const hb_args *args, size_t i, size_t *len);
/* Number of arguments. */
HB_EXPORT size_t hb_args_count(const hb_args *args);
/* The i-th argument as a string (unescaped, NUL-terminated) into out;
 * returns its length or -1 when it is missing, not a string, or too long. */
HB_EXPORT int hb_args_string(const hb_args *args, size_t i, char *out, size_t cap);
/* JSON-escapes s (with quotes) into a malloc'd string, for building
 * args_json; free() it. NULL on ENOMEM. */
HB_EXPORT char *hb_json_string(const char *s);

#ifdef __cplusplus
}
#endif
#endif
