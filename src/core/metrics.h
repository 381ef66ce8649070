/* Process-wide counters for /metrics, in Prometheus text format. Counters
 * are plain integers bumped from the loop thread; the exposition is built on
 * demand. Close reasons are a fixed set so the label values stay bounded. */
#ifndef HB_CORE_METRICS_H
#define HB_CORE_METRICS_H

#include <stddef.h>
#include <stdint.h>

enum hb_metric_transport { HB_MT_POLLING, HB_MT_WEBSOCKET, HB_MT_COUNT };

enum hb_close_reason {
    HB_CLOSE_TRANSPORT_CLOSE,  /* the client went away */
    HB_CLOSE_TRANSPORT_ERROR,  /* a protocol error or a failed write */
    HB_CLOSE_PING_TIMEOUT,     /* no pong in time */
    HB_CLOSE_CLIENT,           /* the client sent the close packet */
    HB_CLOSE_FORCED,           /* the server closed it (app or limit) */
    HB_CLOSE_SHUTDOWN,         /* the server is stopping */
    HB_CLOSE_PARSE_ERROR,      /* a packet did not decode */
    HB_CLOSE_REASON_COUNT
};

typedef struct hb_metrics {
    int64_t http_connections;                 /* open TCP connections */
    int64_t sessions_open[HB_MT_COUNT];       /* by current transport */
    uint64_t sessions_opened;
    uint64_t sessions_closed[HB_CLOSE_REASON_COUNT];
    uint64_t http_requests;
    uint64_t http_errors[6];                  /* by status class, [4] = 4xx */
    uint64_t bytes_in, bytes_out;
    uint64_t messages_in, messages_out;
    uint64_t ws_upgrades;
    uint64_t dropped_writes;                  /* refused by a full queue */
    uint64_t auth_failures;                   /* JWTs refused (tunnel, clients, REST) */
    uint64_t tunnels_open;                    /* app-server tunnels connected now */
    uint64_t rest_requests;                   /* REST calls, over HTTP or the tunnel */
    /* Cluster mode (--redis); rendered only when cluster_on. */
    int cluster_on;
    int64_t redis_connected[2];               /* [0] commands, [1] subscriber: 0 or 1 */
    uint64_t redis_errors;                    /* failed connects, lost connections, error replies */
    uint64_t redis_dropped;                   /* messages not sent: Redis away or buffer full */
    uint64_t cluster_published;               /* broadcasts and requests sent to other nodes */
    uint64_t cluster_received;                /* ... received from them (and emitters) */
    int64_t cluster_nodes;                    /* live nodes in the registry, this one included */
    uint64_t cluster_forwards;                /* polling requests forwarded to their owner */
    uint64_t cluster_forward_errors;          /* ... that failed (unknown, unreachable, late, full) */
    int64_t cluster_forwards_in_flight;       /* ... waiting for the owner's answer */
    uint64_t cluster_relays;                  /* WebSocket upgrades relayed to another node */
    uint64_t cluster_relay_errors;            /* ... that could not be: owner unknown, unreachable */
    int64_t cluster_relays_open;              /* ... relaying bytes now */
    uint64_t cluster_tunnels_dead_target;     /* tunnels asked for a dead node, sent ConnectionClose */
} hb_metrics;

extern hb_metrics hb_metrics_g;

/* Engine.IO's own wording for a close reason ("transport close", ...). */
const char *hb_close_reason_name(int reason);
/* Renders the exposition into a malloc'd NUL-terminated string (*len set);
 * NULL on ENOMEM. The caller frees it. */
char *hb_metrics_render(size_t *len);

#endif
