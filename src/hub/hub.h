/* Hubs: isolated tenants of the Azure-compatible service. A hub is created
 * on first use by its name and holds its client connections (by id, and by
 * user), their groups, and an opaque slot for the layer that serves it
 * (the tunnel's app servers). No I/O. */
#ifndef HB_HUB_HUB_H
#define HB_HUB_HUB_H

#include <stddef.h>

#include "core/buf.h"
#include "groups/groups.h"

typedef struct hb_hubs hb_hubs;
typedef struct hb_hub hb_hub;

typedef struct hb_hub_conn hb_hub_conn;
typedef struct hb_hub_invoke hb_hub_invoke;

/* What the data plane can do to a connection; the layer holding the
 * client's transport implements it. */
typedef struct hb_hub_conn_ops {
    /* Queues Engine.IO messages (built by hb_eio_message_new, shared). */
    int (*send)(hb_hub_conn *c, hb_buf *const *msgs, size_t n);
    /* The app pinged the client: answer with a pong on its behalf. */
    void (*ping)(hb_hub_conn *c);
    /* Closes the client's connection. */
    void (*close)(hb_hub_conn *c, const char *reason);
    /* Sends the Socket.IO EVENT text (no ack id; attachments follow as
     * binary messages) with an ack id of the connection's own, and reports
     * the client's ack to inv with hb_hub_invoke_answer(). Returns 0, or
     * an error when nothing was sent (the client will not answer). */
    int (*invoke)(hb_hub_conn *c, hb_hub_invoke *inv, const char *event, size_t len,
                  hb_buf *const *attachments, size_t n);
    /* Hands the app a Socket.IO packet text as if the client had sent it
     * (the DISCONNECT of a disconnectSockets() without close, which the
     * app's own socket must see too). */
    void (*relay)(hb_hub_conn *c, const char *packet, size_t len);
} hb_hub_conn_ops;

/* One client connection of a hub; embedded in its owner. id, user_id and
 * ops are set by the owner before hb_hub_add() and must stay valid while
 * the connection is in the hub. */
struct hb_hub_conn {
    hb_group_member member;   /* first: in the hub's groups */
    hb_group_member umember;  /* in the hub's users (its user's group) */
    struct hb_hub_conn *hnext;/* id table chain */
    const char *id;
    const char *user_id;      /* NULL when anonymous */
    const hb_hub_conn_ops *ops;
    char *perms;              /* its permissions (hub/perm.h): set from its token's
                               * roles and changed by the REST calls; the owner
                               * frees it once the connection is gone */
};

/* An invoke waiting for the acks of its clients (api/rest.c). A client's
 * answer is an Engine.IO payload holding its ACK packet; gone says the
 * client closed without answering. */
void hb_hub_invoke_answer(hb_hub_invoke *inv, const char *payload, size_t len);
void hb_hub_invoke_gone(hb_hub_invoke *inv);

hb_hubs *hb_hubs_new(void);

/* What the cluster follows of this node's hubs (cluster/hubs.c): every
 * connection added and removed, and each group and user of a hub when it
 * gets its first connection here (alive 1) and loses its last (alive 0),
 * with a slot for the watcher's data. */
typedef struct hb_hubs_watch {
    void (*conn)(void *ud, hb_hub *hub, hb_hub_conn *c, int added);
    void (*group)(void *ud, hb_hub *hub, const char *name, size_t len, int alive, void **slot);
    void (*user)(void *ud, hb_hub *hub, const char *name, size_t len, int alive, void **slot);
    void *ud;
} hb_hubs_watch;
/* Sets the watcher (copied; NULL removes it). Set it before the first
 * connection: what exists already is not reported. */
void hb_hubs_set_watch(hb_hubs *hubs, const hb_hubs_watch *w);
/* Calls fn for every connection of every hub (the cluster's directory is
 * rebuilt from it when Redis comes back). */
void hb_hubs_foreach_conn(hb_hubs *hubs, void (*fn)(void *ud, hb_hub *hub, hb_hub_conn *c),
                          void *ud);
/* Frees every hub, and each hub's data with free_data (may be NULL);
 * their connections must be gone. NULL is accepted. */
void hb_hubs_free(hb_hubs *hubs, void (*free_data)(void *data));
/* The hub called name, created when create is set. NULL when absent or
 * on ENOMEM. */
hb_hub *hb_hubs_get(hb_hubs *hubs, const char *name, int create);

/* The hub after h (the first when h is NULL), in no particular order;
 * NULL past the last: for (h = hb_hubs_next(hubs, NULL); h; h =
 * hb_hubs_next(hubs, h)). */
hb_hub *hb_hubs_next(hb_hubs *hubs, hb_hub *h);
/* Frees hub if it has no connection and no data (nothing refers to it). */
void hb_hubs_drop_unused(hb_hubs *hubs, hb_hub *hub);

const char *hb_hub_name(const hb_hub *hub);
hb_groups *hb_hub_groups(hb_hub *hub);
/* The hub's users, as groups named by user id whose members are the
 * connections' umember (hb_hub_conn_of_user). */
hb_groups *hb_hub_users(hb_hub *hub);
void *hb_hub_data(const hb_hub *hub);
void hb_hub_set_data(hb_hub *hub, void *data);

/* Adds c (its member zeroed by this call). Returns 0 or HB_ENOMEM. */
int hb_hub_add(hb_hub *hub, hb_hub_conn *c);
/* Removes c from the hub and all its groups. */
void hb_hub_remove(hb_hub *hub, hb_hub_conn *c);
hb_hub_conn *hb_hub_find(const hb_hub *hub, const char *id);
size_t hb_hub_count(const hb_hub *hub);
/* The hub's connection that owns member m. */
static inline hb_hub_conn *hb_hub_conn_of(hb_group_member *m) {
    return (hb_hub_conn *)m;
}
static inline hb_hub_conn *hb_hub_conn_of_user(hb_group_member *m) {
    return (hb_hub_conn *)((char *)m - offsetof(hb_hub_conn, umember));
}

#endif
