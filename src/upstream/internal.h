/* What the files of src/upstream share: the service, its tunnels (one per
 * app-server WebSocket) and its client connections. */
#ifndef HB_UPSTREAM_INTERNAL_H
#define HB_UPSTREAM_INTERNAL_H

#include <stdint.h>

#include <jansson.h>

#include "api/rest.h"
#include "core/timer.h"
#include "eio/server.h"
#include "hub/hub.h"
#include "sio/decoder.h"
#include "upstream/service.h"
#include "ws/conn.h"

typedef struct hb_bridge_conn hb_bridge_conn;

/* The answer to a request we sent an app server (a CloudEvent). status 0
 * means no answer: the tunnel closed or the deadline passed. */
#define HB_TUNNEL_ANSWER_MS 30000
typedef void (*hb_tunnel_answer_cb)(void *ud, int status, const uint8_t *body, size_t len);

typedef struct hb_tunnel_pending {
    struct hb_tunnel_pending *next;
    hb_tunnel *t;
    hb_timer timer;           /* no answer by then: cb gets status 0 */
    int64_t ack_id;
    hb_tunnel_answer_cb cb;
    void *ud;
} hb_tunnel_pending;

struct hb_tunnel {
    hb_azure *az;
    hb_hub *hub;
    hb_ws_conn *ws;
    hb_tunnel *next, *prev;   /* the hub's tunnels */
    hb_tunnel_pending *pending;
    int64_t next_ack;
    size_t clients;           /* client connections assigned to it */
    char id[21];
    char *app;                /* the app server's id (its token's sub), or NULL */
    uint8_t targeted;         /* opened at a node's request (&target=) */
    uint8_t leaving;          /* told to close (a duplicate): no new clients */
    uint8_t closed;
};

/* The hub's data slot: its app servers. */
typedef struct hb_hub_tunnels {
    hb_tunnel *head;
} hb_hub_tunnels;

struct hb_azure {
    hb_loop *loop;
    hb_http_server *http;
    hb_eio_server *eio;
    hb_hubs *hubs;
    hb_azure_opts opts;
    hb_rest_ctx rest;
    size_t nkeys;
    int64_t next_event;       /* ce-id */
    struct tunnel_reply *replies; /* REST answers still to finish */
    hb_azure_bus bus;         /* the cluster's, when there is one */
};

enum { HB_BRIDGE_CONNECTING, HB_BRIDGE_OPEN, HB_BRIDGE_CLOSED };
#define HB_BRIDGE_MAX_GROUPS 16

typedef struct hb_bridge_invoke {
    struct hb_bridge_invoke *next;
    int64_t id;
    hb_hub_invoke *inv;
} hb_bridge_invoke;

struct hb_bridge_conn {
    hb_hub_conn hc;           /* first: the hub's view */
    hb_azure *az;
    hb_hub *hub;
    hb_eio_session *session;
    hb_tunnel *tunnel;        /* the app server it belongs to */
    hb_bridge_conn *tnext;    /* the tunnel's clients */
    char *user_id;
    char *connect_body;       /* the connect event, until it is answered */
    uint8_t state;
    uint8_t in_hub;
    /* Client messages gathered this turn, as one Engine.IO payload. */
    char *batch;
    size_t batch_len, batch_cap;
    hb_deferred flush;
    hb_bridge_invoke *invokes;/* :invoke acks we wait for */
    int64_t next_invoke;
    hb_bridge_invoke *ack_in; /* a binary ACK whose attachments are coming */
    char *ack_text;
    size_t ack_len, ack_left;
    uint32_t refs;
    uint32_t messages_out;    /* user events the app has not answered yet */
    uint8_t bye_pending;      /* closed: disconnected waits for those answers */
    int bye_reason;
    char id[HB_EIO_PREFIX_MAX + 21]; /* the connection id (its session id: in a cluster it
                                        starts with its node tag), kept past its session */
    char *groups[HB_BRIDGE_MAX_GROUPS]; /* from the token, joined on connect */
    size_t ngroups;
};

/* tunnel.c */
void hb_tunnel__route(void *ud, hb_http_conn *hc, hb_http_request *req);
/* The tunnel a new client of hub goes to (the least loaded), or NULL. */
hb_tunnel *hb_tunnel__pick(hb_hub *hub);
/* Sends a CloudEvent request; cb runs once with the answer. Returns 0 or
 * an error (cb is then not called). */
int hb_tunnel__request(hb_tunnel *t, json_t *headers, const void *body, size_t len,
                       hb_tunnel_answer_cb cb, void *ud);
void hb_tunnel__close_all(hb_azure *az);

/* bridge.c */
extern const hb_eio_handler hb_bridge__handler;
/* The tunnel went away: its clients are disconnected. */
void hb_bridge__tunnel_gone(hb_tunnel *t);

/* service.c */
/* The headers of a CloudEvent of c (type "azure.webpubsub.sys.connect",
 * ...), as the tunnel carries them: {"ce-hub":["chat"],...}, with
 * content_type. A new reference, NULL on ENOMEM. */
json_t *hb_azure__event_headers(hb_azure *az, const char *hub, const char *conn_id,
                                const char *user_id, const char *type, const char *event_name,
                                const char *content_type);
/* Runs a REST call: through the cluster when there is one, else here. */
void hb_azure__rest(hb_azure *az, const char *method, const char *path, const char *query,
                    const char *ctype, uint8_t *body, size_t len, hb_rest_reply *reply);

#endif
