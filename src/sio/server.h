/* The Socket.IO v5 server on top of Engine.IO: it takes the sessions of
 * the Engine.IO mounts it is the handler of, decodes their packets, and
 * runs the namespaces, middlewares, sockets, acks and rooms of the public
 * API (include/hubbub/hubbub.h). The runtime (src/server) creates one and
 * hands it the Engine.IO handler below. */
#ifndef HB_SIO_SERVER_H
#define HB_SIO_SERVER_H

#include <stdint.h>

#include "core/buf.h"
#include "eio/server.h"
#include "hubbub/hubbub.h"
#include "net/loop.h"

typedef struct hb_sio_server hb_sio_server;

typedef struct hb_sio_opts {
    unsigned connect_timeout_ms; /* close a session that joins no namespace; default 45000 */
    unsigned recovery_ms;        /* connection-state recovery window; 0 = off */
    uint32_t max_attachments;    /* per received packet; default 10 */
} hb_sio_opts;

/* A new server on loop. owner is what hb_nsp_server() returns. NULL on
 * ENOMEM. */
hb_sio_server *hb_sio_server_new(hb_loop *loop, const hb_sio_opts *opts, hb_server *owner);
/* Frees the server; its Engine.IO sessions must all be closed first (the
 * handler's on_close frees the clients). NULL is accepted. */
void hb_sio_server_free(hb_sio_server *srv);
/* The handler to give hb_eio_server_new(), with the sio server as ud. */
extern const hb_eio_handler hb_sio_eio_handler;

hb_nsp *hb_sio_server_of(hb_sio_server *srv, const char *name);
hb_nsp *hb_sio_server_of_match(hb_sio_server *srv, hb_nsp_match_cb match, void *ud);
hb_nsp *hb_sio_server_of_regex(hb_sio_server *srv, const char *pattern);
hb_server *hb_sio_server_owner(const hb_sio_server *srv);
/* Sockets connected over every namespace. */
size_t hb_sio_server_socket_count(const hb_sio_server *srv);

/* --- the bus: broadcasts that reach other nodes ----------------------------
 *
 * With a bus set (the runtime sets one when clustering is on; src/cluster
 * carries it over Redis), every broadcast that is not .local() is handed to
 * the bus once, after the local fan-out, and what other nodes broadcast is
 * applied here with hb_sio_server_deliver(). sio knows nothing of what is
 * behind the bus. Without one (the default), nothing changes. */

/* One broadcast EVENT. Every pointer is borrowed for the call. */
typedef struct hb_sio_bus_msg {
    const char *nsp;          /* the namespace's name, e.g. "/" */
    const hb_slice *rooms;    /* to these rooms (union); none: every socket */
    size_t nrooms;
    const hb_slice *except;   /* minus the members of these */
    size_t nexcept;
    int is_volatile;
    hb_slice data;            /* the JSON array ["event", args...], binary
                                 arguments as {"_placeholder":true,"num":i} */
    const hb_bin *bins;       /* the bytes of placeholder i */
    size_t nbins;
} hb_sio_bus_msg;

/* The broadcast operations that carry no packet. */
enum { HB_SIO_BUS_JOIN = 1, HB_SIO_BUS_LEAVE = 2, HB_SIO_BUS_DISCONNECT = 3 };

typedef struct hb_sio_bus_req {
    int type;                 /* HB_SIO_BUS_* */
    const char *nsp;
    const hb_slice *rooms;    /* the sockets selected, as in hb_sio_bus_msg */
    size_t nrooms;
    const hb_slice *except;
    size_t nexcept;
    const hb_slice *targets;  /* JOIN, LEAVE: the rooms to join or leave */
    size_t ntargets;
    int close;                /* DISCONNECT: close the whole connection */
} hb_sio_bus_req;

/* A broadcast with acks this node sent to the other nodes: the bus feeds
 * it what they report, from publish_acks() until sio calls cancel_acks()
 * or the bus gives it up with hb_sio_bus_acks_release(). */
typedef struct hb_sio_bus_acks hb_sio_bus_acks;

/* A fetch from the other nodes is over: the sockets they have (local NULL
 * in each; everything borrowed for the call), or err (HB_ETIMEDOUT: some
 * nodes did not answer in time, sockets holds those that did; HB_ECLUSTER:
 * the nodes could not be asked). */
typedef void (*hb_sio_bus_fetch_cb)(void *ud, int err, const hb_fetched_socket *sockets,
                                    size_t n);

/* The answers of the other nodes to a server-side event this node sent:
 * a JSON array of n values (null for none), borrowed for the call; err 0,
 * HB_ETIMEDOUT (some nodes did not answer in time: the others' answers) or
 * HB_ECLUSTER (the nodes could not be asked). */
typedef void (*hb_sio_bus_emit_cb)(void *ud, int err, const char *responses_json, size_t n);

typedef struct hb_sio_bus {
    void (*publish)(void *ud, const hb_sio_bus_msg *m);
    void (*request)(void *ud, const hb_sio_bus_req *r);
    /* The rest may be NULL. */
    /* A namespace exists on this node from now on: called for each one
     * when the bus is set, then for each new one (namespaces are never
     * removed). */
    void (*nsp_added)(void *ud, const char *nsp);
    /* Sends a broadcast with acks to the other nodes (timeout_ms: how long
     * their recipients may answer; 0: no limit given). Returns a token
     * and holds a until cancel_acks(ud, token), or NULL when it could not
     * be sent (nothing held). */
    void *(*publish_acks)(void *ud, const hb_sio_bus_msg *m, unsigned timeout_ms,
                          hb_sio_bus_acks *a);
    void (*cancel_acks)(void *ud, void *token);
    /* Asks the other nodes for their sockets that sel selects (its rooms
     * and except; nsp set, the rest unused) and calls done(dud, ...)
     * exactly once, never before returning 0, within about timeout_ms.
     * Returns 0, or an error (done is then never called). */
    int (*fetch)(void *ud, const hb_sio_bus_req *sel, unsigned timeout_ms,
                 hb_sio_bus_fetch_cb done, void *dud);
    /* Sends server-side event with args_json (a JSON array, len bytes) to
     * nsp on the other nodes (serverSideEmit). With done, asks for their
     * answers and calls done(dud, ...) exactly once, never before
     * returning 0, within about timeout_ms. Returns 0, or an error (done is
     * then never called): HB_ECLUSTER when the nodes cannot be asked. */
    int (*server_emit)(void *ud, const char *nsp, const char *event, const char *args_json,
                       size_t len, unsigned timeout_ms, hb_sio_bus_emit_cb done, void *dud);
    void *ud;
} hb_sio_bus;

/* What the bus reports to a hb_sio_bus_acks it holds: how many other
 * nodes will report (once known), one node's count of recipients, one
 * recipient's answer (json: its first argument as JSON text, len bytes).
 * The collection ends (and its callback runs) once every node reported
 * and every recipient answered, or at its timeout. */
void hb_sio_bus_acks_nodes(hb_sio_bus_acks *a, size_t nodes);
void hb_sio_bus_acks_count(hb_sio_bus_acks *a, size_t clients);
void hb_sio_bus_acks_answer(hb_sio_bus_acks *a, const char *json, size_t len);
/* The bus gives a up (it is leaving): nothing more comes from the other
 * nodes, and cancel_acks will not be called for it. */
void hb_sio_bus_acks_release(hb_sio_bus_acks *a);

/* Sets the bus (copied), or removes it with NULL. */
void hb_sio_server_set_bus(hb_sio_server *srv, const hb_sio_bus *bus);
/* Applies a broadcast that came from another node to this node's sockets
 * (it is not handed to the bus again). A namespace this node does not have
 * has no sockets here: that is 0. Returns 0, HB_EINVAL (data is not a JSON
 * array, more than 64 bins) or HB_ENOMEM. */
int hb_sio_server_deliver(hb_sio_server *srv, const hb_sio_bus_msg *m);
/* Whether a broadcast to room of namespace nsp (lengths given) can do
 * nothing here: 1 when the namespace keeps no recovery log (a disconnected
 * socket that may come back needs every broadcast) and no socket of it is
 * in room, 0 when it can, -1 when there is no such namespace here. The
 * cluster skips decoding the broadcasts that can do nothing. */
int hb_sio_server_room_idle(hb_sio_server *srv, const char *nsp, size_t nsp_len,
                            const char *room, size_t room_len);
/* Applies a join, leave or disconnect that came from another node. */
void hb_sio_server_deliver_req(hb_sio_server *srv, const hb_sio_bus_req *r);

/* Where the answers to a broadcast with acks from another node go. */
typedef struct hb_sio_bus_relay {
    /* One recipient answered: json (len bytes) is its first argument as
     * JSON text ("null" for none), binary parts as placeholders into bins.
     * Borrowed for the call. */
    void (*answer)(void *ud, const char *json, size_t len, const hb_bin *bins, size_t nbins);
    /* No more answers will come (all came, the recipients left, or the
     * timeout passed); relay->ud may be freed. */
    void (*done)(void *ud);
    void *ud;
} hb_sio_bus_relay;

/* Applies a broadcast with acks that came from another node: the matching
 * sockets of this node get it with an ack id of this node, and their
 * answers go to relay (copied) for up to timeout_ms (0: until every
 * recipient answered or left). *count is set to the recipients. On 0,
 * relay->done is called exactly once, maybe before this returns (no
 * recipient). Returns 0, HB_EINVAL (as hb_sio_server_deliver) or
 * HB_ENOMEM (relay not called). */
int hb_sio_server_deliver_with_acks(hb_sio_server *srv, const hb_sio_bus_msg *m,
                                    unsigned timeout_ms, const hb_sio_bus_relay *relay,
                                    size_t *count);

/* How this node answers a server-side event of another node. */
typedef struct hb_sio_bus_reply {
    /* Sends the answer: json, one JSON value of len bytes, or none (NULL).
     * Returns 0, HB_EINVAL (not JSON: nothing sent), UV_ECANCELED (the
     * bus has left) or HB_ENOMEM. */
    int (*send)(void *ud, const char *json, size_t len);
    /* Nothing more will be sent; ud may be freed. */
    void (*release)(void *ud);
    void *ud;
} hb_sio_bus_reply;

/* Hands a server-side event that came from another node (event, with
 * args_json: a JSON array of len bytes, NUL-terminated) to the handler of
 * nsp (hb_nsp_on_server_event). reply (copied) is NULL when the sender
 * wants no answer; otherwise reply->release is called exactly once, maybe
 * before this returns. A namespace this node does not have, or an event
 * with no handler, is answered at once with no value. */
void hb_sio_server_server_event(hb_sio_server *srv, const char *nsp, const char *event,
                                const char *args_json, size_t len,
                                const hb_sio_bus_reply *reply);

/* The sockets of this node that sel selects (nsp, rooms, except), as the
 * JSON array socket.io's adapter answers a fetch with: [{"id", "handshake",
 * "rooms", "data"}...]; with ids_only, the array of their ids. A malloc'd
 * string of *len bytes ("[]" for a namespace this node does not have);
 * NULL on ENOMEM. */
char *hb_sio_server_sockets_json(hb_sio_server *srv, const hb_sio_bus_req *sel, int ids_only,
                                 size_t *len);
/* The rooms of nsp on this node (every socket's own room included), as a
 * malloc'd JSON array of *len bytes; NULL on ENOMEM. */
char *hb_sio_server_rooms_json(hb_sio_server *srv, const char *nsp, size_t *len);
/* The socket of nsp with this id on this node, or NULL. */
hb_socket *hb_sio_server_find_socket(hb_sio_server *srv, const char *nsp, const char *id);

#endif
