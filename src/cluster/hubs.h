/* The Azure-compatible hubs across nodes: the REST data plane acts on the
 * whole cluster from any node, each node subscribes to the channels of the
 * hubs, groups and users it has connections of (and to its own inbox), the
 * app servers are asked to open tunnels to every node, and the connections
 * of a node that died are announced to the app servers as disconnected.
 * docs/cluster.md explains the design. */
#ifndef HB_CLUSTER_HUBS_H
#define HB_CLUSTER_HUBS_H

#include <stddef.h>
#include <stdint.h>

#include "cluster/node.h"
#include "cluster/redis.h"
#include "cluster/relay.h"
#include "net/loop.h"
#include "upstream/service.h"

/* Every channel and key of the hubs starts with this. */
#define HB_HUBS_PREFIX "hubbub:"

typedef struct hb_cluster_hubs hb_cluster_hubs;

/* The hubs of az (borrowed, as the rest) for the node node_id, whose
 * connection ids start with tag. With public_url (copied; NULL: none),
 * app servers are asked for their tunnels to each node at that address,
 * and a tunnel request for another node is relayed to it through relays
 * (or closed for good when that node left). NULL on ENOMEM. */
hb_cluster_hubs *hb_cluster_hubs_new(hb_loop *loop, hb_redis *redis, hb_cluster_nodes *nodes,
                                     hb_relays *relays, hb_azure *az, const char *node_id,
                                     const char *tag, const char *public_url);
/* Installs the service's bus and the hubs' watcher; subscribes. Call it
 * before hb_redis_start() and before the first client. */
void hb_cluster_hubs_start(hb_cluster_hubs *h);
/* A message on a channel starting with HB_HUBS_PREFIX. */
void hb_cluster_hubs_message(hb_cluster_hubs *h, const uint8_t *data, size_t len);
/* Redis is (back) up: the directory of this node's connections is
 * written again (Redis may have restarted empty). */
void hb_cluster_hubs_redis_up(hb_cluster_hubs *h);
/* Another node appeared: the app servers are asked to open tunnels to it. */
void hb_cluster_hubs_node_joined(hb_cluster_hubs *h, const hb_cluster_node_info *info);
/* Leaves: removes the bus and the watcher, answers the calls still
 * waiting from what this node has, and deletes this node's directory. */
void hb_cluster_hubs_stop(hb_cluster_hubs *h);
/* Frees h (after hb_redis_free: pending replies still reach it). NULL is
 * accepted. */
void hb_cluster_hubs_free(hb_cluster_hubs *h);

#endif
