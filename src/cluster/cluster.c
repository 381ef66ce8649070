/* The cluster member (cluster/cluster.h): the sio bus callbacks that
 * publish, the subscription callback that delivers, and the lifecycle of
 * the Redis client and the registry entry. Every node subscribes to the
 * broadcasts of every namespace (one pattern); docs/cluster.md explains
 * why that is the first step and what follows it. */
#include "cluster/cluster.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/node.h"
#include "cluster/proto.h"
#include "cluster/redis.h"
#include "core/id.h"
#include "core/log.h"
#include "core/metrics.h"
#include "hubbub/error.h"

#define UID_LEN 12
#define BAD_LOG_MS 10000

struct hb_cluster {
    hb_loop *loop;
    hb_sio_server *sio;
    hb_redis *redis;
    hb_cluster_nodes *nodes;
    char uid[UID_LEN + 1];    /* the adapter protocol's sender id, new per process */
    char *node_id;
    uint64_t bad_messages;    /* messages that did not decode */
    uint64_t last_bad_log;
    int started, stopped;
};

static const char bcast_prefix[] = HB_CLUSTER_KEY "#";
static const char req_prefix[] = HB_CLUSTER_KEY "-request#";

/* --- out ---------------------------------------------------------------------------- */

static void bus_publish(void *ud, const hb_sio_bus_msg *m) {
    hb_cluster *c = ud;
    uint8_t *msg;
    size_t len, chlen;
    char *channel;
    int err;
    if (!hb_redis_up(c->redis)) {
        hb_redis_publish(c->redis, "", 0, "", 0); /* counted as dropped */
        return;
    }
    err = hb_cluster_proto_encode_bcast(c->uid, m, &msg, &len);
    if (err != 0) {
        hb_log_warn("cluster", "cannot encode a broadcast of %s for other nodes: %s", m->nsp,
                    hb_strerror(err));
        return;
    }
    channel = hb_cluster_proto_bcast_channel(m->nsp, m->rooms, m->nrooms, &chlen);
    if (channel != NULL && hb_redis_publish(c->redis, channel, chlen, msg, len) == 0)
        hb_metrics_g.cluster_published++;
    free(channel);
    free(msg);
}

static void bus_request(void *ud, const hb_sio_bus_req *r) {
    hb_cluster *c = ud;
    char *json, *channel;
    size_t len, chlen;
    if (!hb_redis_up(c->redis)) {
        hb_redis_publish(c->redis, "", 0, "", 0); /* counted as dropped */
        return;
    }
    if (hb_cluster_proto_encode_req(c->uid, r, &json, &len) != 0)
        return;
    channel = hb_cluster_proto_req_channel(r->nsp, &chlen);
    if (channel != NULL && hb_redis_publish(c->redis, channel, chlen, json, len) == 0)
        hb_metrics_g.cluster_published++;
    free(channel);
    free(json);
}

/* --- in ------------------------------------------------------------------------------- */

static void bad_message(hb_cluster *c, const char *channel, size_t chlen, int err) {
    uint64_t now = hb_loop_now(c->loop);
    c->bad_messages++;
    if (c->last_bad_log == 0 || now - c->last_bad_log >= BAD_LOG_MS) {
        c->last_bad_log = now;
        hb_log_warn("cluster", "ignored a message on %.*s that this node cannot apply (%s); "
                    "%llu so far",
                    (int)(chlen > 100 ? 100 : chlen), channel,
                    err == HB_ENOMEM ? "out of memory" : "malformed or unsupported",
                    (unsigned long long)c->bad_messages);
    }
}

/* Our own broadcasts come back through the pattern subscription: they
 * start with fixarray(3), fixstr(12) and our uid. */
static int is_ours(const hb_cluster *c, const uint8_t *data, size_t len) {
    return len > 2 + UID_LEN && data[0] == 0x93 && data[1] == (0xa0 | UID_LEN) &&
           memcmp(data + 2, c->uid, UID_LEN) == 0;
}

static void on_bcast(hb_cluster *c, const char *channel, size_t chlen, const uint8_t *data,
                     size_t len) {
    hb_cluster_bcast b;
    int err;
    if (is_ours(c, data, len))
        return;
    if ((err = hb_cluster_proto_decode_bcast(data, len, &b)) != 0) {
        bad_message(c, channel, chlen, err);
        return;
    }
    if (!(b.uid.len == UID_LEN && memcmp(b.uid.base, c->uid, UID_LEN) == 0)) {
        hb_metrics_g.cluster_received++;
        if ((err = hb_sio_server_deliver(c->sio, &b.msg)) != 0)
            bad_message(c, channel, chlen, err);
    }
    hb_cluster_proto_bcast_release(&b);
}

static void on_request(hb_cluster *c, const char *channel, size_t chlen, const uint8_t *data,
                       size_t len) {
    char *nsp = hb_cluster_proto_req_channel_nsp(channel, chlen);
    hb_cluster_req q;
    int err;
    if (nsp == NULL)
        return;
    err = hb_cluster_proto_decode_req(data, len, nsp, &q);
    if (err == 0) {
        if (strcmp(q.uid, c->uid) != 0) {
            hb_metrics_g.cluster_received++;
            hb_sio_server_deliver_req(c->sio, &q.req);
        }
        hb_cluster_proto_req_release(&q);
    } else if (len > 0 && data[0] == '{') {
        /* Other requests (fetchSockets, serverSideEmit, allRooms...) are
         * answered by socket.io nodes, not by this one yet: not an error. */
        hb_log_debug("cluster", "request on %.*s not served by this node", (int)chlen, channel);
    }
    free(nsp);
}

static void on_message(void *ud, const char *channel, size_t chlen, const uint8_t *data,
                       size_t len) {
    hb_cluster *c = ud;
    if (c->stopped)
        return;
    if (chlen > sizeof(req_prefix) - 1 &&
        memcmp(channel, req_prefix, sizeof(req_prefix) - 1) == 0)
        on_request(c, channel, chlen, data, len);
    else if (chlen > sizeof(bcast_prefix) - 1 &&
             memcmp(channel, bcast_prefix, sizeof(bcast_prefix) - 1) == 0)
        on_bcast(c, channel, chlen, data, len);
}

static void on_state(void *ud, int up) {
    hb_cluster *c = ud;
    if (up)
        /* Redis may have restarted empty: register again now, not at the next tick. */
        hb_cluster_nodes_refresh(c->nodes);
}

/* --- lifecycle ---------------------------------------------------------------------- */

int hb_cluster_url_valid(const char *url) {
    hb_redis_addr a;
    return hb_redis_parse_url(url, &a) == 0;
}

static int id_valid(const char *id) {
    size_t n = strlen(id);
    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)id[i] <= ' ' || (unsigned char)id[i] >= 0x7f)
            return 0;
    return 1;
}

hb_cluster *hb_cluster_new(hb_loop *loop, hb_sio_server *sio, const hb_cluster_opts *opts,
                           int *err) {
    hb_cluster *c;
    hb_redis_addr addr;
    hb_redis_cbs cbs;
    char rnd[HB_ID_LEN + 1];
    *err = HB_EINVAL;
    if (opts == NULL || hb_redis_parse_url(opts->redis_url, &addr) != 0 ||
        (opts->node_id != NULL && !id_valid(opts->node_id)) || opts->advertise == NULL)
        return NULL;
    *err = HB_ENOMEM;
    if ((c = calloc(1, sizeof(*c))) == NULL)
        return NULL;
    c->loop = loop;
    c->sio = sio;
    if (hb_id_new(rnd) != 0)
        goto fail;
    memcpy(c->uid, rnd, UID_LEN);
    c->uid[UID_LEN] = '\0';
    if (opts->node_id != NULL)
        c->node_id = strdup(opts->node_id);
    else if (hb_id_new(rnd) == 0)
        c->node_id = strndup(rnd, 10);
    if (c->node_id == NULL)
        goto fail;
    memset(&cbs, 0, sizeof(cbs));
    cbs.message = on_message;
    cbs.state = on_state;
    cbs.ud = c;
    c->redis = hb_redis_new(loop, &addr, NULL, &cbs);
    if (c->redis == NULL || hb_redis_psubscribe(c->redis, HB_CLUSTER_KEY "#*") != 0 ||
        hb_redis_psubscribe(c->redis, HB_CLUSTER_KEY "-request#*") != 0)
        goto fail;
    c->nodes = hb_cluster_nodes_new(loop, c->redis, c->node_id, opts->advertise,
                                    opts->node_ttl_s);
    if (c->nodes == NULL)
        goto fail;
    *err = 0;
    return c;
fail:
    hb_cluster_free(c);
    return NULL;
}

void hb_cluster_start(hb_cluster *c) {
    hb_sio_bus bus;
    if (c->started)
        return;
    c->started = 1;
    memset(&bus, 0, sizeof(bus));
    bus.publish = bus_publish;
    bus.request = bus_request;
    bus.ud = c;
    hb_sio_server_set_bus(c->sio, &bus);
    hb_log_info("cluster", "node %s joining the cluster on Redis %s (broadcasts of embedded apps "
                "cross nodes; see docs/cluster.md)",
                c->node_id, hb_redis_name(c->redis));
    hb_redis_start(c->redis);
    hb_cluster_nodes_start(c->nodes);
}

void hb_cluster_stop(hb_cluster *c) {
    if (c == NULL || c->stopped)
        return;
    c->stopped = 1;
    if (c->started)
        hb_sio_server_set_bus(c->sio, NULL);
    hb_cluster_nodes_stop(c->nodes); /* DEL, sent before the connection closes */
    hb_redis_shutdown(c->redis);
}

void hb_cluster_free(hb_cluster *c) {
    if (c == NULL)
        return;
    if (c->started && !c->stopped)
        hb_sio_server_set_bus(c->sio, NULL);
    /* The client first: its pending replies still reach the registry. */
    hb_redis_free(c->redis);
    hb_cluster_nodes_free(c->nodes);
    free(c->node_id);
    free(c);
}

const char *hb_cluster_node_id(const hb_cluster *c) {
    return c->node_id;
}
