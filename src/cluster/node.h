/* The node registry in Redis. Each node keeps the key "hubbub:node:<id>"
 * set to its advertised address (and "hubbub:route:<tag>", for the
 * forwarding of polling requests) with a TTL, refreshed every third of it,
 * so a node that dies without a word (SIGKILL, power cut) leaves the
 * registry within the TTL, and one that stops cleanly deletes its key.
 * Each refresh also lists the live nodes (SCAN, then MGET), logs the ones
 * that joined or left since the last listing, and sets the
 * hubbub_cluster_nodes gauge. */
#ifndef HB_CLUSTER_NODE_H
#define HB_CLUSTER_NODE_H

#include <stddef.h>

#include "cluster/redis.h"
#include "net/loop.h"

#define HB_CLUSTER_NODE_PREFIX "hubbub:node:"
/* "hubbub:route:<tag>" = "ADDRESS NODE-ID": where the node whose Engine.IO
 * session ids start with tag is reached (cluster/forward.h). */
#define HB_CLUSTER_ROUTE_PREFIX "hubbub:route:"
#define HB_CLUSTER_TAG_LEN 8

typedef struct hb_cluster_nodes hb_cluster_nodes;

/* A live node as last listed. */
typedef struct hb_cluster_node_info {
    char *id;
    char *addr;
} hb_cluster_node_info;

/* A registry entry for node id at addr (both copied), and the route of
 * its session tag (HB_CLUSTER_TAG_LEN characters, copied), kept through
 * redis (borrowed; it must outlive the registry's use of it, see
 * hb_cluster_nodes_free). ttl_s 0 means 10. NULL on ENOMEM. */
hb_cluster_nodes *hb_cluster_nodes_new(hb_loop *loop, hb_redis *redis, const char *id,
                                       const char *addr, const char *tag, unsigned ttl_s);
/* Registers now (if Redis is up) and every ttl/3 from then on. */
void hb_cluster_nodes_start(hb_cluster_nodes *n);
/* Registers and lists again now: for a Redis that came back (and may have
 * lost every key). */
void hb_cluster_nodes_refresh(hb_cluster_nodes *n);
/* The nodes of the last complete listing (this one included once it has
 * registered); *count set. Valid until the next listing completes. */
const hb_cluster_node_info *hb_cluster_nodes_list(const hb_cluster_nodes *n, size_t *count);
/* Tells cb of each other node that appears in a listing (every one of
 * the first listing): the Azure hubs ask their app servers to open
 * tunnels to it. info is borrowed for the call. */
typedef void (*hb_cluster_nodes_join_cb)(void *ud, const hb_cluster_node_info *info);
void hb_cluster_nodes_on_join(hb_cluster_nodes *n, hb_cluster_nodes_join_cb cb, void *ud);
/* Stops refreshing and deletes this node's keys (if Redis is up). */
void hb_cluster_nodes_stop(hb_cluster_nodes *n);
/* Frees n. Free the hb_redis first: its pending replies still reach n.
 * NULL is accepted. */
void hb_cluster_nodes_free(hb_cluster_nodes *n);

#endif
