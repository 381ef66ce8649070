/* The counters behind /metrics and their text exposition. The metric names
 * follow Prometheus conventions: _total for counters, a unit suffix. */
#include "core/metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

hb_metrics hb_metrics_g;

static const char *const reason_names[HB_CLOSE_REASON_COUNT] = {
    "transport close", "transport error", "ping timeout", "client close",
    "forced close", "server shutting down", "parse error",
};

const char *hb_close_reason_name(int reason) {
    if (reason < 0 || reason >= HB_CLOSE_REASON_COUNT)
        return "unknown";
    return reason_names[reason];
}

typedef struct {
    char *s;
    size_t len, cap;
    int failed;
} out_t;

static void put(out_t *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(out_t *o, const char *fmt, ...) {
    va_list ap;
    int n;
    if (o->failed)
        return;
    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(o->s + o->len, o->cap - o->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            o->failed = 1;
            return;
        }
        if ((size_t)n < o->cap - o->len) {
            o->len += (size_t)n;
            return;
        }
        size_t cap = (o->cap + (size_t)n) * 2;
        char *s = realloc(o->s, cap);
        if (s == NULL) {
            o->failed = 1;
            return;
        }
        o->s = s;
        o->cap = cap;
    }
}

char *hb_metrics_render(size_t *len) {
    const hb_metrics *m = &hb_metrics_g;
    out_t o = {malloc(2048), 0, 2048, 0};
    if (o.s == NULL)
        return NULL;
    o.s[0] = '\0';
    put(&o, "# HELP hubbub_connections Open TCP connections.\n"
            "# TYPE hubbub_connections gauge\nhubbub_connections %lld\n",
        (long long)m->http_connections);
    put(&o, "# HELP hubbub_sessions Open Engine.IO sessions by transport.\n"
            "# TYPE hubbub_sessions gauge\n"
            "hubbub_sessions{transport=\"polling\"} %lld\n"
            "hubbub_sessions{transport=\"websocket\"} %lld\n",
        (long long)m->sessions_open[HB_MT_POLLING], (long long)m->sessions_open[HB_MT_WEBSOCKET]);
    put(&o, "# HELP hubbub_sessions_opened_total Engine.IO sessions opened.\n"
            "# TYPE hubbub_sessions_opened_total counter\nhubbub_sessions_opened_total %llu\n",
        (unsigned long long)m->sessions_opened);
    put(&o, "# HELP hubbub_sessions_closed_total Engine.IO sessions closed, by reason.\n"
            "# TYPE hubbub_sessions_closed_total counter\n");
    for (int i = 0; i < HB_CLOSE_REASON_COUNT; i++)
        put(&o, "hubbub_sessions_closed_total{reason=\"%s\"} %llu\n", reason_names[i],
            (unsigned long long)m->sessions_closed[i]);
    put(&o, "# HELP hubbub_http_requests_total HTTP requests handled.\n"
            "# TYPE hubbub_http_requests_total counter\nhubbub_http_requests_total %llu\n",
        (unsigned long long)m->http_requests);
    put(&o, "# HELP hubbub_http_errors_total HTTP error responses, by status class.\n"
            "# TYPE hubbub_http_errors_total counter\n"
            "hubbub_http_errors_total{class=\"4xx\"} %llu\n"
            "hubbub_http_errors_total{class=\"5xx\"} %llu\n",
        (unsigned long long)m->http_errors[4], (unsigned long long)m->http_errors[5]);
    put(&o, "# HELP hubbub_websocket_upgrades_total WebSocket handshakes accepted.\n"
            "# TYPE hubbub_websocket_upgrades_total counter\nhubbub_websocket_upgrades_total %llu\n",
        (unsigned long long)m->ws_upgrades);
    put(&o, "# HELP hubbub_bytes_received_total Bytes read from clients.\n"
            "# TYPE hubbub_bytes_received_total counter\nhubbub_bytes_received_total %llu\n"
            "# HELP hubbub_bytes_sent_total Bytes queued to clients.\n"
            "# TYPE hubbub_bytes_sent_total counter\nhubbub_bytes_sent_total %llu\n",
        (unsigned long long)m->bytes_in, (unsigned long long)m->bytes_out);
    put(&o, "# HELP hubbub_messages_received_total Engine.IO messages received.\n"
            "# TYPE hubbub_messages_received_total counter\nhubbub_messages_received_total %llu\n"
            "# HELP hubbub_messages_sent_total Engine.IO messages sent.\n"
            "# TYPE hubbub_messages_sent_total counter\nhubbub_messages_sent_total %llu\n",
        (unsigned long long)m->messages_in, (unsigned long long)m->messages_out);
    put(&o, "# HELP hubbub_dropped_writes_total Writes refused because a connection's queue was full.\n"
            "# TYPE hubbub_dropped_writes_total counter\nhubbub_dropped_writes_total %llu\n",
        (unsigned long long)m->dropped_writes);
    put(&o, "# HELP hubbub_auth_failures_total Access tokens refused (app-server tunnels, clients, "
            "REST calls).\n# TYPE hubbub_auth_failures_total counter\n"
            "hubbub_auth_failures_total %llu\n",
        (unsigned long long)m->auth_failures);
    put(&o, "# HELP hubbub_tunnels_open App-server tunnels connected now.\n"
            "# TYPE hubbub_tunnels_open gauge\nhubbub_tunnels_open %llu\n",
        (unsigned long long)m->tunnels_open);
    put(&o, "# HELP hubbub_rest_requests_total REST data-plane calls, over HTTP or the tunnel.\n"
            "# TYPE hubbub_rest_requests_total counter\nhubbub_rest_requests_total %llu\n",
        (unsigned long long)m->rest_requests);
    if (m->cluster_on) {
        put(&o, "# HELP hubbub_redis_connected Whether each Redis connection is up (1) or not (0).\n"
                "# TYPE hubbub_redis_connected gauge\n"
                "hubbub_redis_connected{connection=\"commands\"} %lld\n"
                "hubbub_redis_connected{connection=\"subscriber\"} %lld\n",
            (long long)m->redis_connected[0], (long long)m->redis_connected[1]);
        put(&o, "# HELP hubbub_redis_errors_total Redis errors: failed connects, lost connections, "
                "error replies, commands timed out.\n# TYPE hubbub_redis_errors_total counter\n"
                "hubbub_redis_errors_total %llu\n",
            (unsigned long long)m->redis_errors);
        put(&o, "# HELP hubbub_redis_dropped_total Messages for other nodes dropped because Redis "
                "was away or the outgoing buffer was full.\n"
                "# TYPE hubbub_redis_dropped_total counter\nhubbub_redis_dropped_total %llu\n",
            (unsigned long long)m->redis_dropped);
        put(&o, "# HELP hubbub_cluster_published_total Broadcasts and requests sent to other nodes.\n"
                "# TYPE hubbub_cluster_published_total counter\n"
                "hubbub_cluster_published_total %llu\n"
                "# HELP hubbub_cluster_received_total Broadcasts and requests received from other "
                "nodes and emitters.\n# TYPE hubbub_cluster_received_total counter\n"
                "hubbub_cluster_received_total %llu\n",
            (unsigned long long)m->cluster_published, (unsigned long long)m->cluster_received);
        put(&o, "# HELP hubbub_cluster_nodes Live nodes in the registry, this one included.\n"
                "# TYPE hubbub_cluster_nodes gauge\nhubbub_cluster_nodes %lld\n",
            (long long)m->cluster_nodes);
        put(&o, "# HELP hubbub_cluster_forwards_total Long-polling requests forwarded to the node "
                "that holds their session.\n# TYPE hubbub_cluster_forwards_total counter\n"
                "hubbub_cluster_forwards_total %llu\n"
                "# HELP hubbub_cluster_forward_errors_total Forwarded requests that failed: owner "
                "unknown or unreachable, no answer in time, too many at once.\n"
                "# TYPE hubbub_cluster_forward_errors_total counter\n"
                "hubbub_cluster_forward_errors_total %llu\n"
                "# HELP hubbub_cluster_forwards_in_flight Forwarded requests waiting for their "
                "owner's answer.\n# TYPE hubbub_cluster_forwards_in_flight gauge\n"
                "hubbub_cluster_forwards_in_flight %lld\n",
            (unsigned long long)m->cluster_forwards, (unsigned long long)m->cluster_forward_errors,
            (long long)m->cluster_forwards_in_flight);
        put(&o, "# HELP hubbub_cluster_relays_total WebSocket upgrades (clients' and app servers' "
                "tunnels) relayed to the node they belong to.\n"
                "# TYPE hubbub_cluster_relays_total counter\nhubbub_cluster_relays_total %llu\n"
                "# HELP hubbub_cluster_relay_errors_total WebSocket upgrades that could not be "
                "relayed: owner unknown or unreachable.\n"
                "# TYPE hubbub_cluster_relay_errors_total counter\n"
                "hubbub_cluster_relay_errors_total %llu\n"
                "# HELP hubbub_cluster_relays_open Relayed WebSocket connections open now.\n"
                "# TYPE hubbub_cluster_relays_open gauge\nhubbub_cluster_relays_open %lld\n"
                "# HELP hubbub_cluster_tunnels_dead_target_total App server tunnels asked for a "
                "node that left the cluster, closed with ConnectionClose.\n"
                "# TYPE hubbub_cluster_tunnels_dead_target_total counter\n"
                "hubbub_cluster_tunnels_dead_target_total %llu\n",
            (unsigned long long)m->cluster_relays, (unsigned long long)m->cluster_relay_errors,
            (long long)m->cluster_relays_open,
            (unsigned long long)m->cluster_tunnels_dead_target);
    }
    if (o.failed) {
        free(o.s);
        return NULL;
    }
    *len = o.len;
    return o.s;
}
