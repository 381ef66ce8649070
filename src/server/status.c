/* The status of one node as JSON (server/status.h). */
#include "server/status.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/metrics.h"

static json_t *cluster_of(const hb_status *st) {
    json_t *nodes = json_array();
    for (size_t i = 0; i < st->nnodes; i++)
        json_array_append_new(nodes, json_pack("{s:s,s:s}", "id", st->nodes[i].id, "address",
                                               st->nodes[i].address));
    return json_pack("{s:s,s:o}", "redis", st->redis_up ? "up" : "away", "nodes", nodes);
}

char *hb_status_json(const hb_status *st, size_t *len) {
    const hb_metrics *m = &hb_metrics_g;
    json_t *hubs = json_array(), *root;
    char *text;
    for (size_t i = 0; i < st->nhubs; i++)
        json_array_append_new(hubs, json_pack("{s:s,s:I,s:I}", "name", st->hubs[i].name,
                                              "connections", (json_int_t)st->hubs[i].connections,
                                              "app_servers", (json_int_t)st->hubs[i].app_servers));
    root = json_pack(
        "{s:s,s:{s:s?,s:s,s:I,s:s},s:o,s:{s:I,s:I},s:I,s:I,s:o,s:{s:I,s:I},s:{s:I,s:I}}",
        "version", st->version,
        "node", "id", st->node_id, "address", st->address,
        "uptime_s", (json_int_t)st->uptime_s, "state", st->stopping ? "stopping" : "running",
        "cluster", st->node_id != NULL ? cluster_of(st) : json_null(),
        "sessions", "websocket", (json_int_t)m->sessions_open[HB_MT_WEBSOCKET],
        "polling", (json_int_t)m->sessions_open[HB_MT_POLLING],
        "connections", (json_int_t)m->http_connections,
        "tunnels", (json_int_t)m->tunnels_open,
        "hubs", hubs,
        "messages", "in", (json_int_t)m->messages_in, "out", (json_int_t)m->messages_out,
        "bytes", "in", (json_int_t)m->bytes_in, "out", (json_int_t)m->bytes_out);
    if (root == NULL)
        return NULL;
    text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (text != NULL)
        *len = strlen(text);
    return text;
}
