/* The cluster bus on Redis, for the embedded Socket.IO server: it is the
 * sio server's bus (sio/server.h), publishing each broadcast once in the
 * format of socket.io's Redis adapter (cluster/proto.h) and delivering the
 * broadcasts of other nodes and of @socket.io/redis-emitter to this node's
 * sockets; it keeps this node in the registry (cluster/node.h) and
 * forwards polling requests to the node holding their session
 * (cluster/forward.h). The
 * runtime creates one when --redis is given; docs/cluster.md says what
 * crosses nodes and what does not yet. */
#ifndef HB_CLUSTER_CLUSTER_H
#define HB_CLUSTER_CLUSTER_H

#include "cluster/node.h"
#include "eio/server.h"
#include "net/loop.h"
#include "sio/server.h"
#include "upstream/service.h"

typedef struct hb_cluster hb_cluster;

typedef struct hb_cluster_opts {
    const char *redis_url;    /* required: redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] */
    const char *node_id;      /* NULL: a random one */
    const char *advertise;    /* HOST:PORT this node is reached at (registry) */
    unsigned node_ttl_s;      /* registry TTL; 0: 10 */
    const char *public_url;   /* where app servers reach every node (NULL: --advertise) */
    unsigned forward_timeout_ms; /* a forwarded polling request's deadline; 0: 60000 */
    hb_azure *azure;          /* the Azure-compatible hubs, clustered too (may be NULL) */
} hb_cluster_opts;

/* 1 when url is one hb_cluster_new() accepts. */
int hb_cluster_url_valid(const char *url);
/* A cluster member for sio on loop (both borrowed), not connected yet.
 * Sets *err and returns NULL on HB_EINVAL (a bad URL or node id) or
 * HB_ENOMEM. */
hb_cluster *hb_cluster_new(hb_loop *loop, hb_sio_server *sio, const hb_cluster_opts *opts,
                           int *err);
/* Installs the bus on sio and connects to Redis (retrying for as long as
 * it takes; the node serves its own clients meanwhile). */
void hb_cluster_start(hb_cluster *c);
/* Leaves the cluster: removes the bus, deletes this node's registry entry
 * and closes the connections (at most a second). Idempotent. */
void hb_cluster_stop(hb_cluster *c);
/* Frees c, closing at once what is still open (run the loop afterwards so
 * the socket handles finish closing). NULL is accepted. */
void hb_cluster_free(hb_cluster *c);
const char *hb_cluster_node_id(const hb_cluster *c);
/* For the status page: whether both Redis connections are up, and the
 * nodes of the registry's last listing (hb_cluster_nodes_list). */
int hb_cluster_redis_up(const hb_cluster *c);
const hb_cluster_node_info *hb_cluster_nodes_listed(const hb_cluster *c, size_t *count);
/* This node's router for its Engine.IO server (hb_eio_server_set_router):
 * its session ids start with this node's tag, and polling requests for
 * the sessions of other nodes are forwarded to them (cluster/forward.h).
 * Valid as long as c. */
void hb_cluster_router(hb_cluster *c, hb_eio_router *out);

#endif
