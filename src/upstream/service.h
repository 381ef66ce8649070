/* The Azure-compatible service ("Azure Web PubSub for Socket.IO", default
 * mode): Socket.IO clients connect to /clients/socketio/hubs/<hub>/, app
 * servers running socket.io with @azure/web-pubsub-socket.io connect to
 * /server/tunnel?hub=<hub>, and Hubbub relays between them: CloudEvents to
 * the app for each client's connect, messages and disconnect, and the REST
 * data plane (over the tunnel, or plain HTTP at /api/hubs/...) for the app's
 * sends, groups and acks. */
#ifndef HB_UPSTREAM_SERVICE_H
#define HB_UPSTREAM_SERVICE_H

#include "api/rest.h"
#include "eio/server.h"
#include "http/server.h"
#include "hub/hub.h"
#include "net/loop.h"

typedef struct hb_azure hb_azure;
typedef struct hb_tunnel hb_tunnel;

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

/* --- for the cluster (cluster/hubs.c) --------------------------------------- */

/* What the service hands a cluster. */
typedef struct hb_azure_bus {
    /* Answers a REST call (plain HTTP or tunnel) for the whole cluster,
     * in place of hb_azure_rest_local(). */
    void (*rest)(void *ud, const char *method, const char *path, const char *query,
                 const char *ctype, uint8_t *body, size_t len, hb_rest_reply *reply);
    /* An app server opened a tunnel here on its own (not at a node's
     * request), for hb_azure_rebalance(). */
    void (*tunnel)(void *ud, hb_tunnel *t);
    /* Optional: an app server's authenticated tunnel request for the node
     * named target (&target=) arrived here. Returns nonzero to open the
     * tunnel here, or 0 when it took hc (held; req valid until hc is
     * answered or taken over): relayed to that node, or closed with
     * hb_azure_tunnel_refuse(). */
    int (*route_tunnel)(void *ud, hb_http_conn *hc, hb_http_request *req, const char *target);
    void *ud;
} hb_azure_bus;

/* Sets the bus (copied; NULL removes it). */
void hb_azure_set_bus(hb_azure *az, const hb_azure_bus *bus);
hb_hubs *hb_azure_hubs(hb_azure *az);
/* Sets the clients' Engine.IO router (hb_eio_server_set_router). */
int hb_azure_set_router(hb_azure *az, const hb_eio_router *router);
/* A REST call on this node's connections only (hb_rest_dispatch). */
void hb_azure_rest_local(hb_azure *az, const char *method, const char *path, const char *query,
                         const char *ctype, uint8_t *body, size_t len, hb_rest_reply *reply);
/* Asks the app server behind t to open one more tunnel, to the node
 * named target at endpoint ("http://HOST:PORT"): the tunnel protocol's
 * ConnectionRebalance. Returns 0 or an error. */
int hb_azure_rebalance(hb_tunnel *t, const char *endpoint, const char *target);
/* Opens the tunnel WebSocket requested on hc (req: its request, whose
 * token was checked) only to send it ConnectionConnected then
 * ConnectionClose with message (copied) and close it: the app server's
 * tunnel client then stops for good, instead of reconnecting. */
void hb_azure_tunnel_refuse(hb_http_conn *hc, hb_http_request *req, const char *message);
/* The tunnel's id (the ConnectionId of its ConnectionConnected). */
const char *hb_azure_tunnel_id(const hb_tunnel *t);
/* The name of the hub whose app server opened t. */
const char *hb_azure_tunnel_hub(const hb_tunnel *t);
/* Calls fn for every open tunnel. */
void hb_azure_foreach_tunnel(hb_azure *az, void (*fn)(void *ud, hb_tunnel *t), void *ud);
/* Tells an app server of hub that connection conn_id (of user_id, may be
 * NULL) is gone without this node having held it (its node died): a
 * disconnected CloudEvent on one of the hub's tunnels. Returns 0, or
 * UV_ENOENT when no app server of hub has a tunnel here. */
int hb_azure_disconnected(hb_azure *az, const char *hub, const char *conn_id, const char *user_id,
                          const char *reason);

#endif
