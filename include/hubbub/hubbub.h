/* Hubbub's public C API: a Socket.IO v5 server in C, shaped like Socket.IO's
 * own server API (namespaces, middlewares, sockets, events, acks, rooms,
 * broadcast operators). docs/c-api.md is the guide.
 *
 * Conventions:
 *  - Stateful objects are opaque and owned by the server: a program never
 *    frees an hb_nsp or an hb_socket. A socket pointer is valid from its
 *    first middleware (or its connection callback) until its disconnect
 *    callback returns. A socket that never connected (refused, or gone
 *    during its middlewares) gets no disconnect callback: do not use it
 *    after hb_next_refuse().
 *  - Arguments are JSON text: `args_json` is a JSON array of the arguments,
 *    e.g. "[\"hello\",42]" (NULL means []). Binary arguments are written in
 *    that array as placeholders `{"_placeholder":true,"num":i}` and their
 *    bytes passed in `bins[i]` (at most 64; the placeholders are not
 *    checked against bins); hb_args_* helpers read them.
 *  - Strings passed in are copied unless said otherwise; strings, args and
 *    bins handed to callbacks are borrowed for the duration of the callback.
 *  - Everything runs on the server's loop thread; no function is
 *    thread-safe.
 *  - Functions returning int return 0 or a negative HB_E* or UV_E* code
 *    (see hubbub/error.h and hb_strerror()). */
#ifndef HUBBUB_H
#define HUBBUB_H

#include <stddef.h>
#include <stdint.h>

#include "hubbub/error.h"

#define HUBBUB_VERSION "0.1.0"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hb_server hb_server;
typedef struct hb_nsp hb_nsp;
typedef struct hb_socket hb_socket;
typedef struct hb_ack hb_ack;
typedef struct hb_next hb_next;
typedef struct hb_bcast hb_bcast;
typedef struct hb_server_reply hb_server_reply;

/* A binary argument: bytes, borrowed. */
typedef struct hb_bin {
    const uint8_t *data;
    size_t len;
} hb_bin;

/* Arguments of an event or an ack, as received (borrowed for the callback;
 * copy what you keep). */
typedef struct hb_args {
    const char *json;  /* a NUL-terminated JSON array, e.g. "[1,\"a\"]" */
    size_t json_len;
    const hb_bin *bins; /* the binary attachments, bins[i] for placeholder i */
    size_t nbins;
} hb_args;

/* ---- server ------------------------------------------------------------ */

/* Zero or NULL means the default for every field. */
typedef struct hb_server_opts {
    const char *const *listen;  /* NULL-terminated "HOST:PORT" list; NULL: 127.0.0.1:3000 */
    const char *path;           /* default "/socket.io/" */
    unsigned ping_interval_ms;  /* default 25000 */
    unsigned ping_timeout_ms;   /* default 20000 */
    unsigned connect_timeout_ms;/* close a session in no namespace by then; 45000 */
    size_t max_payload;         /* default 1000000 */
    const char *const *cors_origins; /* NULL-terminated; "*" allows any */
    unsigned recovery_ms;       /* connection-state recovery window; 0 = off */
    const char *engineio_echo;  /* mount a raw Engine.IO echo endpoint here (tests) */
    unsigned shutdown_timeout_ms; /* default 5000 */
    /* The Azure-compatible service (/clients/socketio/hubs/<hub>/,
     * /server/tunnel, /api/hubs/...): its access keys (NULL-terminated; at
     * most two are used, for rotation; NULL: one is generated and logged
     * with the connection string), and whether clients may connect without
     * an access_token. */
    const char *const *access_keys;
    int allow_anonymous;
    /* Cluster mode (docs/cluster.md): several nodes share one Redis and
     * their broadcasts reach each other's sockets. NULL (the default): one
     * node, no Redis. "redis://[:PASSWORD@]HOST[:PORT][/DB]". */
    const char *redis_url;
    const char *node_id;        /* this node's name in the registry; NULL: generated */
    const char *advertise;      /* HOST:PORT other nodes reach this one at; NULL: the
                                   first listen address */
    unsigned node_ttl_s;        /* registry entry lifetime, refreshed every third; 10 */
    const char *public_url;     /* "http(s)://HOST[:PORT]" every node is reached at (a load
                                   balancer): app servers' tunnels to each node are asked
                                   for there and routed by the nodes; NULL: each node's
                                   advertised address */
} hb_server_opts;

/* A new server with opts copied (NULL for defaults). It does not listen yet.
 * NULL on ENOMEM. */
HB_EXPORT hb_server *hb_server_new(const hb_server_opts *opts);
/* Listens, then runs the loop until SIGTERM/SIGINT or hb_server_stop(),
 * and stops gracefully: it stops listening and closes every session (their
 * sockets disconnect with "server shutting down"), waiting at most
 * shutdown_timeout_ms; a second SIGTERM/SIGINT ends it at once. It handles
 * those signals while running and sets SIGPIPE to ignored. Logs go to
 * stderr, among them "listening on http://HOST:PORT". Returns 0 once
 * stopped, HB_EINVAL for a bad listen address or a second run, or the UV_E*
 * code of a failed listen (e.g. UV_EADDRINUSE), logged readably. */
HB_EXPORT int hb_server_run(hb_server *srv);
/* Asks a running server to stop gracefully, as SIGTERM does; safe from any
 * callback. No effect when it is not running. */
HB_EXPORT void hb_server_stop(hb_server *srv);
/* Frees a server that is not running (never run, or hb_server_run()
 * returned). NULL is accepted. */
HB_EXPORT void hb_server_free(hb_server *srv);
/* The namespace name, created on first use. Only namespaces created here
 * (or by a dynamic parent) exist: create "/" too. A CONNECT to any other
 * name gets CONNECT_ERROR "Invalid namespace". NULL on ENOMEM or a name
 * that does not start with '/' or has a ','. */
HB_EXPORT hb_nsp *hb_server_of(hb_server *srv, const char *name);
/* Dynamic namespaces, like io.of(fn): a CONNECT to a name that does not
 * exist is offered to match(ud, name, auth_json) (auth_json: the CONNECT
 * payload, "{}" if none); nonzero creates that namespace as a child of the
 * returned parent. A child copies the parent's middlewares and connection
 * callback when it is created (later changes to the parent do not reach it)
 * and then lives as a static namespace for the server's life. Parents are
 * tried in the order they were added. Returns the parent to configure (its
 * hb_nsp_name() is ""), NULL if match is NULL or on ENOMEM. */
typedef int (*hb_nsp_match_cb)(void *ud, const char *name, const char *auth_json);
HB_EXPORT hb_nsp *hb_server_of_match(hb_server *srv, hb_nsp_match_cb match, void *ud);
/* Dynamic namespaces by POSIX extended regular expression on the name, like
 * io.of(/^\/dyn-\d+$/) (write [0-9] for \d). NULL on a bad pattern or ENOMEM. */
HB_EXPORT hb_nsp *hb_server_of_regex(hb_server *srv, const char *pattern);

/* Calls cb(ud) once, ms milliseconds from now, on the server's loop: a
 * timer for apps (delays, retries, periodic work by re-arming). Timers
 * still pending when the server is freed run then, at once, after every
 * client is gone (so they can release ud; what they send goes nowhere;
 * setting a new timer from there is refused).
 * Returns 0 or HB_ENOMEM. */
typedef void (*hb_timeout_cb)(void *ud);
HB_EXPORT int hb_server_set_timeout(hb_server *srv, unsigned ms, hb_timeout_cb cb, void *ud);

/* Serves body (borrowed, must outlive the server) at exactly path with
 * content_type, for GET and HEAD (405 for other methods): an app's web
 * page, a client bundle. Other paths under path that nothing else serves
 * get 404. Returns 0, HB_EINVAL (path not starting with '/', NULL
 * content_type) or HB_ENOMEM. */
HB_EXPORT int hb_server_serve(hb_server *srv, const char *path, const char *content_type,
                              const void *body, size_t len);

/* ---- namespaces ---------------------------------------------------------- */

/* The name, e.g. "/chat"; "" for a dynamic parent. */
HB_EXPORT const char *hb_nsp_name(const hb_nsp *nsp);
HB_EXPORT hb_server *hb_nsp_server(const hb_nsp *nsp);
/* Called for each socket that connected (after the middlewares; a
 * recovered socket skips them). One per namespace; a second call replaces
 * it. */
typedef void (*hb_connection_cb)(hb_socket *s, void *ud);
HB_EXPORT void hb_nsp_on_connection(hb_nsp *nsp, hb_connection_cb cb, void *ud);
/* A middleware runs before the connection, while the socket is not yet
 * connected (handshake data readable, no emit). It must eventually call
 * exactly one of hb_next_accept() or hb_next_refuse() on next, now or later
 * (after an async check); if it answers later, it must keep only next: the
 * socket may be gone by then, and next then just gets freed. Middlewares
 * run in the order added. Returns 0, HB_EINVAL (cb NULL) or HB_ENOMEM. */
typedef void (*hb_middleware_cb)(hb_socket *s, hb_next *next, void *ud);
HB_EXPORT int hb_nsp_use(hb_nsp *nsp, hb_middleware_cb cb, void *ud);
/* Runs the next middleware, or connects the socket after the last one. */
HB_EXPORT void hb_next_accept(hb_next *next);
/* Refuses the connection: the client gets CONNECT_ERROR with message
 * (err.message) and, if data_json is not NULL, "data" (err.data; JSON
 * text, or taken as a string if it does not parse). */
HB_EXPORT void hb_next_refuse(hb_next *next, const char *message, const char *data_json);
/* Sockets connected to nsp right now (for a dynamic parent, all its
 * children's). */
HB_EXPORT size_t hb_nsp_count(const hb_nsp *nsp);

/* ---- sockets --------------------------------------------------------------- */

/* The socket id (not the Engine.IO id); also the socket's own room. */
HB_EXPORT const char *hb_socket_id(const hb_socket *s);
HB_EXPORT hb_nsp *hb_socket_nsp(const hb_socket *s);
/* The app's pointer for this socket (socket.data), NULL at first. Not
 * restored by recovery: a recovered socket starts with NULL. */
HB_EXPORT void *hb_socket_data(const hb_socket *s);
HB_EXPORT void hb_socket_set_data(hb_socket *s, void *data);
/* socket.data as other nodes see it: the JSON text of any value, shown by
 * fetches (hb_bcast_fetch_sockets_async, socket.io's fetchSockets()) made
 * on any node of a cluster. "{}" (socket.io's default) until set. Returns
 * 0, HB_EINVAL (not JSON) or HB_ENOMEM. */
HB_EXPORT int hb_socket_set_data_json(hb_socket *s, const char *json);
HB_EXPORT const char *hb_socket_data_json(const hb_socket *s);
/* 1 when this connection restored a previous session (recovery): same id,
 * rooms back and missed events replayed, middlewares skipped. */
HB_EXPORT int hb_socket_recovered(const hb_socket *s);

/* Handshake data of the socket's connection; the pointers stay valid as
 * long as the socket. A header by name in any case; NULL if absent. */
HB_EXPORT const char *hb_socket_header(const hb_socket *s, const char *name);
/* A query parameter of the handshake URL, decoded; NULL if absent (or
 * ENOMEM). Decoded values are kept for the connection's life. */
HB_EXPORT const char *hb_socket_query(const hb_socket *s, const char *name);
/* The CONNECT payload (socket.handshake.auth): JSON object text, "{}" if none. */
HB_EXPORT const char *hb_socket_auth(const hb_socket *s);
HB_EXPORT const char *hb_socket_address(const hb_socket *s); /* peer IP, no port */
HB_EXPORT int64_t hb_socket_time_ms(const hb_socket *s);     /* handshake, ms since the epoch */
HB_EXPORT const char *hb_socket_url(const hb_socket *s);     /* the handshake's path?query */

/* An event handler. event is the name; an event named by a JSON number
 * arrives as its number text (e.g. "42"). ack is non-NULL when the client
 * asked for an ack; it is valid during the call, or until answered if kept
 * with hb_ack_keep(). An ack neither sent nor kept is never answered. */
typedef void (*hb_event_cb)(hb_socket *s, const char *event, const hb_args *args, hb_ack *ack,
                            void *ud);
/* One handler per event name (a second call replaces it). Returns 0 or
 * HB_ENOMEM. */
HB_EXPORT int hb_socket_on(hb_socket *s, const char *event, hb_event_cb cb, void *ud);
/* Called for every event that has no handler of its own (unlike
 * socket.onAny(), not for those that have one). One per socket. */
HB_EXPORT void hb_socket_on_any(hb_socket *s, hb_event_cb cb, void *ud);
/* Called once when the socket disconnects, with Socket.IO's reason name:
 * "client namespace disconnect", "server namespace disconnect",
 * "transport close", "transport error", "ping timeout", "parse error",
 * "forced close", "server shutting down". It runs while the socket is
 * still in its rooms (like "disconnecting"), but the socket receives
 * nothing more: emits to it fail, broadcasts skip it. Its own pending acks
 * are cancelled right after. */
typedef void (*hb_disconnect_cb)(hb_socket *s, const char *reason, void *ud);
HB_EXPORT void hb_socket_on_disconnect(hb_socket *s, hb_disconnect_cb cb, void *ud);

/* Emits event with args to this socket. Returns 0, HB_EINVAL (args_json not
 * a JSON array, or a reserved name: connect, connect_error, disconnect,
 * disconnecting, newListener, removeListener), HB_ETOOBIG (more than 64
 * bins, or the client's send queue is full: its connection is then
 * closed), UV_ECANCELED (not connected) or HB_ENOMEM. */
HB_EXPORT int hb_socket_emit(hb_socket *s, const char *event, const char *args_json,
                             const hb_bin *bins, size_t nbins);
/* An ack answer: err 0 with args; or args NULL with err HB_ETIMEDOUT when
 * no answer came in time, or UV_ECANCELED when the socket disconnected
 * first (after its disconnect callback). */
typedef void (*hb_ack_cb)(hb_socket *s, int err, const hb_args *args, void *ud);
/* Emits and asks the client for an ack: cb is called exactly once, unless
 * this returns an error (as hb_socket_emit(), or HB_EINVAL for cb NULL).
 * timeout_ms 0 means no timeout: wait until the answer or the disconnect. */
HB_EXPORT int hb_socket_emit_with_ack(hb_socket *s, const char *event, const char *args_json,
                                      const hb_bin *bins, size_t nbins, unsigned timeout_ms,
                                      hb_ack_cb cb, void *ud);
/* Answers the client's ack with args (NULL for []). Valid once; frees a
 * kept ack. Returns 0, UV_ECANCELED (already answered, or the socket is
 * gone: a kept ack outlives its socket), HB_EINVAL, HB_ETOOBIG or
 * HB_ENOMEM. */
HB_EXPORT int hb_ack_send(hb_ack *ack, const char *args_json, const hb_bin *bins, size_t nbins);
/* Keeps ack beyond the handler call: use the returned pointer (the one
 * passed in is spent), and call hb_ack_send() or hb_ack_drop() on it
 * exactly once, even after the socket disconnected. NULL on out of memory
 * (then ack is still usable during the call). */
HB_EXPORT hb_ack *hb_ack_keep(hb_ack *ack);
/* Gives up on answering; frees a kept ack. The client gets nothing. */
HB_EXPORT void hb_ack_drop(hb_ack *ack);

/* Joins room. Returns 0, UV_ECANCELED (not connected) or HB_ENOMEM. */
HB_EXPORT int hb_socket_join(hb_socket *s, const char *room);
/* Leaves room. Returns 0 or UV_ECANCELED (not connected). */
HB_EXPORT int hb_socket_leave(hb_socket *s, const char *room);
HB_EXPORT int hb_socket_in_room(const hb_socket *s, const char *room);
/* The socket's rooms as a JSON array text, in join order (its own id
 * first); free() it. NULL on ENOMEM. */
HB_EXPORT char *hb_socket_rooms_json(const hb_socket *s);
/* Disconnects the socket from its namespace (reason "server namespace
 * disconnect"); with close_transport, closes the whole connection (every
 * socket of the client, same reason). No effect unless connected. */
HB_EXPORT void hb_socket_disconnect(hb_socket *s, int close_transport);

/* ---- broadcasting ------------------------------------------------------------ */

/* A broadcast is built with operators and consumed by exactly one terminal
 * call (emit, emit_with_ack, fetch, sockets_join/leave, disconnect, or
 * hb_bcast_free); a failed terminal call consumes it too. Operators return
 * their argument for chaining and never fail: an out-of-memory error is
 * reported by the terminal call. Only connected sockets are selected. On a
 * dynamic parent, a broadcast reaches the sockets of all its children.
 * In a cluster (hb_server_opts.redis_url), emit, emit_with_ack,
 * fetch_sockets_async, sockets_join/leave and disconnect also act on the
 * sockets of the other nodes (unless local); hb_bcast_fetch_sockets, being
 * synchronous, sees this node's sockets only (docs/cluster.md). */
HB_EXPORT hb_bcast *hb_nsp_bcast(hb_nsp *nsp);        /* every socket of nsp */
/* hb_to(nsp, room) = hb_bcast_to(hb_nsp_bcast(nsp), room) = io.of(n).to(room) */
HB_EXPORT hb_bcast *hb_to(hb_nsp *nsp, const char *room);
/* socket.broadcast: every socket but s (except s's own room); add
 * hb_bcast_to() for socket.to(room). */
HB_EXPORT hb_bcast *hb_socket_bcast(hb_socket *s);
HB_EXPORT hb_bcast *hb_bcast_to(hb_bcast *b, const char *room); /* to / in: union of rooms */
HB_EXPORT hb_bcast *hb_bcast_except(hb_bcast *b, const char *room);
/* Skips sockets whose connection cannot take a write right now
 * (backpressure, or a polling client with no poll pending); not stored for
 * recovery. */
HB_EXPORT hb_bcast *hb_bcast_volatile(hb_bcast *b);
/* This node only: in a cluster (hb_server_opts.redis_url), the broadcast
 * or operation is not sent to the other nodes. */
HB_EXPORT hb_bcast *hb_bcast_local(hb_bcast *b);
/* Timeout for hb_bcast_emit_with_ack() (0, the default: none; but in a
 * cluster the other nodes are waited for 60 s at most) and for
 * hb_bcast_fetch_sockets_async() (0: 5 s). */
HB_EXPORT hb_bcast *hb_bcast_timeout(hb_bcast *b, unsigned ms);
HB_EXPORT void hb_bcast_free(hb_bcast *b);

/* Emits to every matching socket; the packet is encoded once. Returns 0,
 * HB_EINVAL or HB_ETOOBIG (as hb_socket_emit()) or HB_ENOMEM; a recipient
 * whose send queue is full is skipped (its connection is closed). */
HB_EXPORT int hb_bcast_emit(hb_bcast *b, const char *event, const char *args_json,
                            const hb_bin *bins, size_t nbins);
/* Emits and collects one ack per recipient; cb is called exactly once,
 * unless this returns an error: err 0 once every recipient answered (a
 * recipient that disconnects is no longer waited for), or HB_ETIMEDOUT
 * when the timeout passed first. responses_json is a JSON array of the n
 * answers' first arguments (null for none), in the order they came. With
 * no recipient, cb is called at once, before this returns, with 0, "[]".
 * In a cluster the recipients of every node answer: cb then runs once
 * every node has said how many recipients it has and they all answered
 * (never before this returns); a node that does not report keeps the
 * callback waiting until the timeout, so give one. err is HB_ECLUSTER
 * when the other nodes could not be asked (Redis away): the answers are
 * this node's, and cb may then run before this returns. Returns 0, as
 * hb_bcast_emit(), or HB_EINVAL for cb NULL or a dynamic parent. */
typedef void (*hb_bcast_ack_cb)(int err, const char *responses_json, size_t n, void *ud);
HB_EXPORT int hb_bcast_emit_with_ack(hb_bcast *b, const char *event, const char *args_json,
                                     const hb_bin *bins, size_t nbins, hb_bcast_ack_cb cb,
                                     void *ud);
/* The matching sockets of this node, as a malloc'd array (free() it) of
 * *n pointers, valid until those sockets disconnect. NULL (*n 0) on
 * ENOMEM. In a cluster, the other nodes' sockets are not included: use
 * hb_bcast_fetch_sockets_async(). */
HB_EXPORT hb_socket **hb_bcast_fetch_sockets(hb_bcast *b, size_t *n);
/* A socket found by hb_bcast_fetch_sockets_async(), on this node or on
 * another one (socket.io's RemoteSocket). Every pointer is borrowed for the
 * callback. To act on a socket of another node, address its own room:
 * hb_to(nsp, id) to emit, hb_bcast_sockets_join/leave and
 * hb_bcast_disconnect_sockets on it (they cross nodes). */
typedef struct hb_fetched_socket {
    const char *id;             /* the socket id */
    hb_socket *local;           /* this node's socket, or NULL: another node's */
    const char *handshake_json; /* socket.handshake as socket.io sends it across
                                   nodes: {"headers", "time", "address",
                                   "xdomain", "secure", "issued", "url",
                                   "query", "auth"} */
    const char *rooms_json;     /* its rooms, a JSON array (its own id first) */
    const char *data_json;      /* socket.data, JSON (hb_socket_data_json) */
} hb_fetched_socket;
/* err is 0, or HB_ETIMEDOUT (some nodes did not answer in time: sockets
 * has this node's and those of the nodes that did), HB_ECLUSTER (the
 * other nodes could not be asked: Redis is away; sockets has this node's)
 * or HB_ENOMEM (n may then be short). */
typedef void (*hb_fetch_cb)(int err, const hb_fetched_socket *sockets, size_t n, void *ud);
/* fetchSockets(): the matching sockets of every node of a cluster, handed
 * to cb exactly once unless this returns an error. It waits for every
 * other node to answer, at most hb_bcast_timeout() (default 5 s); this
 * node's sockets are those matching when the answers are in. Without a
 * cluster, with hb_bcast_local(), on a dynamic parent (this node's sockets
 * of all its children), or when the other nodes cannot be asked
 * (HB_ECLUSTER), cb is called before this returns. Returns 0, HB_EINVAL
 * (cb NULL) or HB_ENOMEM; b is consumed. */
HB_EXPORT int hb_bcast_fetch_sockets_async(hb_bcast *b, hb_fetch_cb cb, void *ud);
/* Makes the matching sockets join / leave room. */
HB_EXPORT void hb_bcast_sockets_join(hb_bcast *b, const char *room);
HB_EXPORT void hb_bcast_sockets_leave(hb_bcast *b, const char *room);
/* hb_socket_disconnect() on each matching socket. */
HB_EXPORT void hb_bcast_disconnect_sockets(hb_bcast *b, int close_transport);

/* ---- server-side events --------------------------------------------------------- */

/* socket.io's serverSideEmit: events between the servers (nodes) of a
 * cluster, not to clients. A node never receives its own. They carry JSON
 * only (socket.io's Redis adapter sends them as JSON text: no bins). */

/* A server-side event from another node of the cluster (a Hubbub node, or
 * a socket.io server on @socket.io/redis-adapter) for namespace nsp. args
 * holds its arguments (nbins 0). reply is non-NULL when the sender asked
 * for answers: answer with hb_server_reply_send() during the call, or keep
 * it with hb_server_reply_keep() and answer (or drop it) later. A reply
 * neither sent nor kept is never answered, as in socket.io when a listener
 * does not call its callback: the sender then waits until its timeout. */
typedef void (*hb_server_event_cb)(hb_nsp *nsp, const char *event, const hb_args *args,
                                   hb_server_reply *reply, void *ud);
/* The handler of server-side event on nsp (socket.io's nsp.on(event) for
 * serverSideEmit); event NULL sets the handler of every event that has no
 * handler of its own. One per name (a second call replaces it; cb NULL
 * removes it). On a dynamic parent, it serves its children that have no
 * handler of their own.
 * An event with no handler (and no NULL-event handler) that asks for an
 * answer is answered at once with no value (undefined to socket.io, null
 * to Hubbub), so that a node that does not know the event never makes the
 * sender wait for its timeout (docs/cluster.md). Returns 0 or HB_ENOMEM. */
HB_EXPORT int hb_nsp_on_server_event(hb_nsp *nsp, const char *event, hb_server_event_cb cb,
                                     void *ud);
/* Answers with value_json, the JSON text of one value (socket.io's ack
 * takes one argument), or with none when NULL. Valid once; frees a kept
 * reply. Returns 0, HB_EINVAL (not JSON: nothing is sent, the reply is
 * still to answer), UV_ECANCELED (already answered, or this node left the
 * cluster since) or HB_ENOMEM. */
HB_EXPORT int hb_server_reply_send(hb_server_reply *reply, const char *value_json);
/* Keeps reply beyond the handler call: call hb_server_reply_send() or
 * hb_server_reply_drop() on it exactly once, later. Returns reply. */
HB_EXPORT hb_server_reply *hb_server_reply_keep(hb_server_reply *reply);
/* Gives up on answering; frees a kept reply. The sender gets nothing from
 * this node (it waits for its timeout). */
HB_EXPORT void hb_server_reply_drop(hb_server_reply *reply);

/* nsp.serverSideEmit(event, ...args[, cb]): sends event with args_json (a
 * JSON array; NULL means []) to the namespace on every other node of the
 * cluster. Without cb nothing is answered. With cb, it collects one answer
 * per other node: cb(err, responses_json, n, ud) runs exactly once with
 * the JSON array of the n answers in the order they came (null for a node
 * that answered without a value): err 0 once every other node answered,
 * HB_ETIMEDOUT when timeout_ms (0: 5000, socket.io's requestsTimeout)
 * passed first, with the answers that came. The other nodes are those
 * subscribed to the namespace (PUBSUB NUMSUB), as socket.io counts them.
 * With no other node, or with no cluster at all, cb runs with 0, "[]",
 * 0; without a cluster, before this returns. HB_ECLUSTER: the other nodes
 * could not be asked (Redis away), "[]". Returns 0, HB_EINVAL (args_json
 * not a JSON array, a dynamic parent, or a reserved name: connect,
 * connection, new_namespace) or HB_ENOMEM; cb is not called then. */
HB_EXPORT int hb_nsp_server_side_emit(hb_nsp *nsp, const char *event, const char *args_json,
                                      unsigned timeout_ms, hb_bcast_ack_cb cb, void *ud);

/* In a cluster, this node's id (hb_server_opts.node_id, or the generated
 * one); NULL without a cluster or before hb_server_run(). */
HB_EXPORT const char *hb_server_node_id(const hb_server *srv);

/* ---- argument helpers --------------------------------------------------------- */

/* The i-th argument of args as JSON text (borrowed pointer into args->json,
 * *len bytes, not NUL-terminated), or NULL when there are fewer arguments. */
HB_EXPORT const char *hb_args_at(const hb_args *args, size_t i, size_t *len);
/* Number of arguments. */
HB_EXPORT size_t hb_args_count(const hb_args *args);
/* The i-th argument as a string (unescaped, NUL-terminated) into out;
 * returns its length or -1 when it is missing, not a string, or does not
 * fit in cap bytes with its NUL. */
HB_EXPORT int hb_args_string(const hb_args *args, size_t i, char *out, size_t cap);
/* JSON-escapes s (with quotes) into a malloc'd string, for building
 * args_json; free() it. NULL on ENOMEM. */
HB_EXPORT char *hb_json_string(const char *s);

#ifdef __cplusplus
}
#endif
#endif
