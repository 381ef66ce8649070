/* What GET /api/status answers: one node at a glance, as JSON, for the
 * status page (src/server/status_page/status.html) and for people with
 * curl. The caller gathers the facts into an hb_status; the process-wide
 * counters come from core/metrics. No I/O. */
#ifndef HB_SERVER_STATUS_H
#define HB_SERVER_STATUS_H

#include <stddef.h>
#include <stdint.h>

typedef struct hb_status_node {
    const char *id;
    const char *address;      /* HOST:PORT, as the node advertises it */
} hb_status_node;

typedef struct hb_status_hub {
    const char *name;
    size_t connections;       /* this node's clients of the hub */
    size_t app_servers;       /* tunnels of its app servers to this node */
} hb_status_hub;

typedef struct hb_status {
    const char *version;
    const char *address;      /* where this node is reached */
    uint64_t uptime_s;
    int stopping;
    /* Cluster mode: this node's id, whether Redis is up, and the nodes of
     * the registry's last listing. node_id NULL: one node, no Redis. */
    const char *node_id;
    int redis_up;
    const hb_status_node *nodes;
    size_t nnodes;
    const hb_status_hub *hubs;
    size_t nhubs;
} hb_status;

/* The JSON text (malloc'd, NUL-terminated, *len set), or NULL on ENOMEM:
 * {"version","node":{"id","address","uptime_s","state"},
 *  "cluster":null|{"redis":"up"|"away","nodes":[{"id","address"}]},
 *  "sessions":{"websocket","polling"},"connections","tunnels",
 *  "hubs":[{"name","connections","app_servers"}],
 *  "messages":{"in","out"},"bytes":{"in","out"}} */
char *hb_status_json(const hb_status *st, size_t *len);

#endif
