/* The Azure-compatible service ("Azure Web PubSub for Socket.IO", default
 * mode): Socket.IO clients connect to /clients/socketio/hubs/<hub>/, app
 * servers running socket.io with @azure/web-pubsub-socket.io connect to
 * /server/tunnel?hub=<hub>, and Hubbub relays between them: CloudEvents to
 * the app for each client's connect, messages and disconnect, and the REST
 * data plane (over the tunnel, or plain HTTP at /api/hubs/...) for the app's
 * sends, groups and acks. */
#ifndef HB_UPSTREAM_SERVICE_H
#define HB_UPSTREAM_SERVICE_H

#include "eio/server.h"
#include "http/server.h"
#include "net/loop.h"

typedef struct hb_azure hb_azure;

typedef struct hb_azure_opts {
    const char *const *keys;     /* access keys, NULL-terminated, at least one */
    int allow_anonymous;         /* clients without access_token are let in */
    const char *endpoint;        /* "http://127.0.0.1:3000": for token audiences */
    hb_eio_opts eio;             /* the clients' Engine.IO settings */
} hb_azure_opts;

/* Mounts the service on http. opts' strings are borrowed and must outlive
 * it. NULL on ENOMEM. */
hb_azure *hb_azure_new(hb_loop *loop, hb_http_server *http, const hb_azure_opts *opts);
/* Closes every client session (with the protocol's goodbye) and tunnel. */
void hb_azure_close_all(hb_azure *az);
size_t hb_azure_session_count(const hb_azure *az);
/* Frees it once everything is closed. NULL is accepted. */
void hb_azure_free(hb_azure *az);

#endif
