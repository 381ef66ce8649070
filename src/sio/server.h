/* The Socket.IO v5 server on top of Engine.IO: it takes the sessions of
 * the Engine.IO mounts it is the handler of, decodes their packets, and
 * runs the namespaces, middlewares, sockets, acks and rooms of the public
 * API (include/hubbub/hubbub.h). The runtime (src/server) creates one and
 * hands it the Engine.IO handler below. */
#ifndef HB_SIO_SERVER_H
#define HB_SIO_SERVER_H

#include <stdint.h>

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

#endif
