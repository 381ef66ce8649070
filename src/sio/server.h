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

typedef struct hb_sio_bus {
    void (*publish)(void *ud, const hb_sio_bus_msg *m);
    void (*request)(void *ud, const hb_sio_bus_req *r);
    void *ud;
} hb_sio_bus;

/* Sets the bus (copied), or removes it with NULL. */
void hb_sio_server_set_bus(hb_sio_server *srv, const hb_sio_bus *bus);
/* Applies a broadcast that came from another node to this node's sockets
 * (it is not handed to the bus again). A namespace this node does not have
 * has no sockets here: that is 0. Returns 0, HB_EINVAL (data is not a JSON
 * array, more than 64 bins) or HB_ENOMEM. */
int hb_sio_server_deliver(hb_sio_server *srv, const hb_sio_bus_msg *m);
/* Applies a join, leave or disconnect that came from another node. */
void hb_sio_server_deliver_req(hb_sio_server *srv, const hb_sio_bus_req *r);

#endif
