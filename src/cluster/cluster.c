/* The cluster member (cluster/cluster.h): the sio bus callbacks that
 * publish, the subscription callback that delivers, the requests that
 * collect answers from every node (fetchSockets, broadcasts with acks) and
 * the answers this node gives to others' requests, and the lifecycle of
 * the Redis client and the registry entry. Every node subscribes to the
 * broadcasts of every namespace (one pattern) and, like socket.io's
 * adapter, to the request and response channels of each namespace it has,
 * so that PUBSUB NUMSUB on a request channel counts the nodes that will
 * answer; docs/cluster.md explains the design and what follows it. */
#include "cluster/cluster.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "cluster/forward.h"
#include "cluster/hubs.h"
#include "cluster/node.h"
#include "cluster/proto.h"
#include "cluster/redis.h"
#include "cluster/relay.h"
#include "core/id.h"
#include "core/log.h"
#include "core/metrics.h"
#include "hubbub/error.h"

#define UID_LEN 12
#define BAD_LOG_MS 10000

enum { P_FETCH = 1, P_ACKS = 2, P_EMIT = 3 };

/* A request of this node that other nodes answer. */
typedef struct pending {
    struct pending *next, *prev;
    hb_cluster *c;
    char id[HB_ID_LEN + 1];   /* its requestId */
    int type;                 /* P_* */
    hb_timer timer;           /* a fetch's deadline */
    uint8_t nodes_known;      /* PUBSUB NUMSUB answered */
    size_t nodes, answered;   /* other nodes that answer, and did */
    hb_sio_bus_fetch_cb done; /* P_FETCH */
    void *dud;
    json_t *sockets;          /* ... what the nodes sent so far */
    hb_sio_bus_acks *acks;    /* P_ACKS */
    hb_sio_bus_emit_cb emitted; /* P_EMIT (serverSideEmit), with dud */
    char *answers;            /* ... the answers so far, "a,b,..." */
    size_t alen;
} pending;

/* A broadcast with acks from another node, delivered here: its
 * recipients' answers go back to the sender. */
typedef struct relay {
    struct relay *next, *prev;
    hb_cluster *c;            /* NULL once the cluster left */
    char *channel;            /* the response channel */
    size_t chlen;
    char req_id[];
} relay;

struct hb_cluster {
    hb_loop *loop;
    hb_sio_server *sio;
    hb_redis *redis;
    hb_cluster_nodes *nodes;
    hb_forward *fwd;
    hb_relays *ws_relays;     /* WebSocket upgrades relayed to other nodes */
    hb_cluster_hubs *hubs;    /* the Azure-compatible hubs, NULL without */
    char tag[HB_CLUSTER_TAG_LEN + 1]; /* starts this node's Engine.IO session ids */
    char uid[UID_LEN + 1];    /* the adapter protocol's sender id, new per process */
    char *node_id;
    uint64_t bad_messages;    /* messages that did not decode */
    uint64_t last_bad_log;
    int started, stopped;
    pending *pending;         /* requests waiting for answers */
    relay *relays;            /* others' broadcasts with acks, answers due */
};

static const char bcast_prefix[] = HB_CLUSTER_KEY "#";
static const char req_prefix[] = HB_CLUSTER_KEY "-request#";
static const char resp_prefix[] = HB_CLUSTER_KEY "-response#";

static void publish_text(hb_cluster *c, const char *channel, size_t chlen, const void *data,
                         size_t len) {
    if (channel != NULL && data != NULL &&
        hb_redis_publish(c->redis, channel, chlen, data, len) == 0)
        hb_metrics_g.cluster_published++;
}

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

/* A broadcast to one room comes on "socket.io#<nsp>#<room>#" (the Redis
 * adapter's channel). When this node has no socket in that room there is
 * nothing to deliver, and the message need not be decoded. Names may hold
 * '#' themselves, so every cut that names a namespace of this node must
 * find its room idle; a channel with no such cut is decoded as any other
 * ("<nsp>#", every room or several, has none). */
static int room_idle(hb_cluster *c, const char *channel, size_t chlen) {
    const char *nsp = channel + sizeof(bcast_prefix) - 1, *end = channel + chlen - 1;
    int found = 0;
    if (chlen < sizeof(bcast_prefix) + 3 || *end != '#')
        return 0;
    for (const char *h = nsp; (h = memchr(h, '#', (size_t)(end - h))) != NULL; h++) {
        int idle = hb_sio_server_room_idle(c->sio, nsp, (size_t)(h - nsp), h + 1,
                                           (size_t)(end - (h + 1)));
        if (idle == 0)
            return 0;
        found |= idle == 1;
    }
    return found;
}

static void on_bcast(hb_cluster *c, const char *channel, size_t chlen, const uint8_t *data,
                     size_t len) {
    hb_cluster_bcast b;
    int err;
    if (is_ours(c, data, len))
        return;
    if (room_idle(c, channel, chlen)) {
        hb_metrics_g.cluster_received++;
        return;
    }
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

/* --- answering the requests of other nodes ------------------------------------------- */

static void answer(hb_cluster *c, const char *nsp, const char *json, size_t len) {
    size_t chlen;
    char *channel = hb_cluster_proto_resp_channel(nsp, NULL, &chlen);
    publish_text(c, channel, chlen, json, len);
    free(channel);
}

static void relay_unlink(relay *r) {
    if (r->c == NULL)
        return;
    if (r->prev != NULL)
        r->prev->next = r->next;
    else
        r->c->relays = r->next;
    if (r->next != NULL)
        r->next->prev = r->prev;
    r->c = NULL;
}

static void relay_answer(void *ud, const char *json, size_t len, const hb_bin *bins,
                         size_t nbins) {
    relay *r = ud;
    uint8_t *msg;
    size_t mlen;
    if (r->c == NULL || r->c->stopped)
        return;
    if (hb_cluster_proto_encode_ack(r->req_id, json, len, bins, nbins, &msg, &mlen) != 0)
        return;
    publish_text(r->c, r->channel, r->chlen, msg, mlen);
    free(msg);
}

static void relay_done(void *ud) {
    relay *r = ud;
    relay_unlink(r);
    free(r->channel);
    free(r);
}

/* A relay for request req_id (len bytes) of namespace nsp, on c's list:
 * its answers go out on the namespace's response channel. NULL on ENOMEM. */
static relay *relay_new(hb_cluster *c, const char *req_id, size_t len, const char *nsp) {
    relay *r = calloc(1, sizeof(*r) + len + 1);
    if (r == NULL)
        return NULL;
    memcpy(r->req_id, req_id, len);
    if ((r->channel = hb_cluster_proto_resp_channel(nsp, NULL, &r->chlen)) == NULL) {
        free(r);
        return NULL;
    }
    r->c = c;
    r->next = c->relays;
    if (r->next != NULL)
        r->next->prev = r;
    c->relays = r;
    return r;
}

/* A broadcast with acks from another node: deliver it, say how many got
 * it, then relay each answer. */
static void on_bcast_req(hb_cluster *c, const char *channel, size_t chlen, const uint8_t *data,
                         size_t len) {
    hb_cluster_bcast b;
    hb_sio_bus_relay cbs;
    relay *r;
    size_t count = 0, n;
    char *id = NULL, *text;
    int err = hb_cluster_proto_decode_bcast_req(data, len, &b);
    if (err != 0) {
        bad_message(c, channel, chlen, err);
        return;
    }
    if (b.uid.len == UID_LEN && memcmp(b.uid.base, c->uid, UID_LEN) == 0)
        goto done; /* our own */
    hb_metrics_g.cluster_received++;
    if ((r = relay_new(c, (const char *)b.req_id.base, b.req_id.len, b.msg.nsp)) == NULL)
        goto done;
    if ((id = strdup(r->req_id)) == NULL) {
        relay_done(r);
        goto done;
    }
    cbs.answer = relay_answer;
    cbs.done = relay_done;
    cbs.ud = r;
    /* r may be gone when this returns (nobody here to ask). */
    err = hb_sio_server_deliver_with_acks(c->sio, &b.msg, b.timeout_ms, &cbs, &count);
    if (err != 0) {
        relay_done(r);
        bad_message(c, channel, chlen, err);
        count = 0;
    }
    /* The count goes out before any answer: those come in later turns. */
    text = hb_cluster_proto_encode_count(id, count, &n);
    answer(c, b.msg.nsp, text, n);
    free(text);
done:
    free(id);
    hb_cluster_proto_bcast_release(&b);
}

/* --- serverSideEmit from other nodes ---------------------------------------------------- */

static int sse_reply_send(void *ud, const char *json, size_t len) {
    relay *r = ud;
    char *text;
    size_t n;
    int err;
    if (r->c == NULL || r->c->stopped)
        return UV_ECANCELED;
    if ((err = hb_cluster_proto_encode_sse_answer(r->req_id, json, len, &text, &n)) != 0)
        return err;
    publish_text(r->c, r->channel, r->chlen, text, n);
    free(text);
    return 0;
}

/* A server-side event of another node goes to this node's handler; when
 * it wants an answer, a relay (released by sio) carries it back on the
 * namespace's response channel, where socket.io answers too. Returns 0
 * when data is not a serverSideEmit. */
static int on_server_event(hb_cluster *c, const char *nsp, const uint8_t *data, size_t len) {
    hb_cluster_sse e;
    hb_sio_bus_reply cbs = {sse_reply_send, relay_done, NULL};
    relay *r = NULL;
    if (hb_cluster_proto_decode_sse(data, len, &e) != 0)
        return 0;
    if (strcmp(e.uid, c->uid) == 0)
        goto done; /* our own, as socket.io ignores its own */
    hb_metrics_g.cluster_received++;
    if (e.req_id != NULL) {
        if ((r = relay_new(c, e.req_id, strlen(e.req_id), nsp)) == NULL)
            goto done;
        cbs.ud = r;
    }
    hb_sio_server_server_event(c->sio, nsp, e.event, e.args, e.args_len, r != NULL ? &cbs : NULL);
done:
    hb_cluster_proto_sse_release(&e);
    return 1;
}

/* The requests with a requestId (or for one socket) that this node answers. */
static void on_ask(hb_cluster *c, const char *nsp, const uint8_t *data, size_t len) {
    hb_cluster_ask a;
    char *value = NULL, *text = NULL;
    const char *key = NULL;
    size_t vlen = 0, n;
    hb_socket *s;
    if (on_server_event(c, nsp, data, len))
        return;
    if (hb_cluster_proto_decode_ask(data, len, nsp, &a) != 0) {
        hb_log_debug("cluster", "a request for %s that this node does not serve", nsp);
        return;
    }
    if (strcmp(a.uid, c->uid) == 0)
        goto done;
    hb_metrics_g.cluster_received++;
    switch (a.type) {
    case HB_CLUSTER_REQ_SOCKETS:
        key = "sockets";
        value = hb_sio_server_sockets_json(c->sio, &a.sel, 1, &vlen);
        break;
    case HB_CLUSTER_REQ_REMOTE_FETCH:
        key = "sockets";
        value = hb_sio_server_sockets_json(c->sio, &a.sel, 0, &vlen);
        break;
    case HB_CLUSTER_REQ_ALL_ROOMS:
        key = "rooms";
        value = hb_sio_server_rooms_json(c->sio, nsp, &vlen);
        break;
    case HB_CLUSTER_REQ_REMOTE_JOIN:
    case HB_CLUSTER_REQ_REMOTE_LEAVE:
    case HB_CLUSTER_REQ_REMOTE_DISCONNECT:
        /* One socket by id: only its node answers, as socket.io's. */
        if ((s = hb_sio_server_find_socket(c->sio, nsp, a.sid)) == NULL)
            goto done;
        if (a.type == HB_CLUSTER_REQ_REMOTE_JOIN)
            hb_socket_join(s, a.room);
        else if (a.type == HB_CLUSTER_REQ_REMOTE_LEAVE)
            hb_socket_leave(s, a.room);
        else
            hb_socket_disconnect(s, a.close);
        if (a.req_id[0] == '\0')
            goto done;
        text = hb_cluster_proto_encode_answer(a.req_id, NULL, NULL, 0, &n);
        answer(c, nsp, text, n);
        goto done;
    default:
        hb_log_debug("cluster", "request type %d for %s not served by this node", a.type, nsp);
        goto done;
    }
    if (value != NULL && a.req_id[0] != '\0') {
        text = hb_cluster_proto_encode_answer(a.req_id, key, value, vlen, &n);
        answer(c, nsp, text, n);
    }
done:
    free(value);
    free(text);
    hb_cluster_proto_ask_release(&a);
}

static void on_request(hb_cluster *c, const char *channel, size_t chlen, const uint8_t *data,
                       size_t len) {
    char *nsp = hb_cluster_proto_req_channel_nsp(channel, chlen);
    hb_cluster_req q;
    int err;
    if (nsp == NULL || len == 0) {
        free(nsp);
        return;
    }
    if (data[0] != '{') {
        on_bcast_req(c, channel, chlen, data, len); /* MessagePack: a broadcast with acks */
        free(nsp);
        return;
    }
    err = hb_cluster_proto_decode_req(data, len, nsp, &q);
    if (err == 0) {
        if (strcmp(q.uid, c->uid) != 0) {
            hb_metrics_g.cluster_received++;
            hb_sio_server_deliver_req(c->sio, &q.req);
        }
        hb_cluster_proto_req_release(&q);
    } else {
        on_ask(c, nsp, data, len);
    }
    free(nsp);
}

/* --- this node's requests -------------------------------------------------------------- */

static pending *pending_find(hb_cluster *c, const char *id, size_t len) {
    for (pending *p = c->pending; p != NULL; p = p->next)
        if (strlen(p->id) == len && memcmp(p->id, id, len) == 0)
            return p;
    return NULL;
}

static void pending_unlink(pending *p) {
    /* Twice is allowed (fetch_finish and emit_finish unlink, then free):
     * the second time must not touch the list. */
    if (p->prev == NULL && p->c->pending != p) {
        hb_timer_stop(&p->timer);
        return;
    }
    if (p->prev != NULL)
        p->prev->next = p->next;
    else
        p->c->pending = p->next;
    if (p->next != NULL)
        p->next->prev = p->prev;
    p->next = p->prev = NULL;
    hb_timer_stop(&p->timer);
}

static pending *pending_new(hb_cluster *c, int type) {
    pending *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return NULL;
    if (hb_id_new(p->id) != 0) {
        free(p);
        return NULL;
    }
    p->c = c;
    p->type = type;
    p->next = c->pending;
    if (p->next != NULL)
        p->next->prev = p;
    c->pending = p;
    return p;
}

static void pending_free(pending *p) {
    pending_unlink(p);
    json_decref(p->sockets);
    free(p->answers);
    free(p);
}

static char *dump_or(json_t *v, const char *dflt) {
    char *s = v != NULL ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    return s != NULL ? s : strdup(dflt);
}

/* Hands what the other nodes sent to sio, and forgets the fetch. */
static void fetch_finish(pending *p, int err) {
    size_t n = json_array_size(p->sockets), k = 0;
    hb_fetched_socket *v = calloc(n + 1, sizeof(*v));
    char **strings = calloc(3 * n + 1, sizeof(*strings));
    hb_sio_bus_fetch_cb done = p->done;
    void *dud = p->dud;
    pending_unlink(p);
    if (v == NULL || strings == NULL) {
        err = HB_ENOMEM;
        n = 0;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_array_get(p->sockets, i);
        const char *id = json_string_value(json_object_get(o, "id"));
        if (id == NULL)
            continue;
        strings[3 * k] = dump_or(json_object_get(o, "handshake"), "{}");
        strings[3 * k + 1] = dump_or(json_object_get(o, "rooms"), "[]");
        strings[3 * k + 2] = dump_or(json_object_get(o, "data"), "{}");
        if (!strings[3 * k] || !strings[3 * k + 1] || !strings[3 * k + 2]) {
            err = HB_ENOMEM;
            break;
        }
        v[k].id = id;
        v[k].handshake_json = strings[3 * k];
        v[k].rooms_json = strings[3 * k + 1];
        v[k].data_json = strings[3 * k + 2];
        k++;
    }
    done(dud, err, v, k);
    for (size_t i = 0; strings != NULL && i < 3 * n; i++)
        free(strings[i]);
    free(strings);
    free(v);
    pending_free(p);
}

/* A serverSideEmit of this node is over: the answers that came. */
static void emit_finish(pending *p, int err) {
    size_t n = p->answered;
    char *text = malloc(p->alen + 3);
    if (text != NULL)
        sprintf(text, "[%s]", p->alen > 0 ? p->answers : "");
    pending_unlink(p);
    p->emitted(p->dud, text != NULL ? err : HB_ENOMEM, text != NULL ? text : "[]",
               text != NULL ? n : 0);
    free(text);
    pending_free(p);
}

/* A request of this node ends: a fetch or a serverSideEmit reports what
 * came with err; a broadcast with acks stops waiting for the nodes still
 * to report. */
static void pending_end(pending *p, int err) {
    if (p->type == P_FETCH) {
        fetch_finish(p, err);
    } else if (p->type == P_EMIT) {
        emit_finish(p, err);
    } else {
        hb_sio_bus_acks *a = p->acks;
        pending_free(p);
        hb_sio_bus_acks_release(a);
    }
}

/* A fetch or serverSideEmit is over once every counted node answered. */
static void pending_check(pending *p) {
    if (p->nodes_known && p->answered >= p->nodes)
        pending_end(p, 0);
}

static void on_pending_timeout(hb_timer *t) {
    pending_end((pending *)((char *)t - offsetof(pending, timer)), HB_ETIMEDOUT);
}

/* One node's answer (JSON text) to a serverSideEmit of this node. */
static void emit_answer(pending *p, const char *json, size_t len) {
    char *a = realloc(p->answers, p->alen + len + 2);
    if (a == NULL)
        return; /* counted as not answered: the timeout reports it */
    if (p->alen > 0)
        a[p->alen++] = ',';
    memcpy(a + p->alen, json, len);
    p->alen += len;
    a[p->alen] = '\0';
    p->answers = a;
    p->answered++;
    pending_check(p);
}

typedef struct numsub_ctx {
    hb_cluster *c;
    char id[HB_ID_LEN + 1];
} numsub_ctx;

/* PUBSUB NUMSUB on the request channel: the nodes subscribed to it, this
 * one included, are the nodes that answer (socket.io's serverCount()). */
static void on_numsub(void *ud, const redisReply *reply) {
    numsub_ctx *x = ud;
    pending *p = pending_find(x->c, x->id, strlen(x->id));
    long long subs = -1;
    free(x);
    if (p == NULL)
        return; /* answered, timed out or cancelled meanwhile */
    if (reply != NULL && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
        reply->element[1]->type == REDIS_REPLY_INTEGER)
        subs = reply->element[1]->integer;
    if (subs < 0) {
        pending_end(p, HB_ECLUSTER);
        return;
    }
    p->nodes = subs > 1 ? (size_t)subs - 1 : 0;
    p->nodes_known = 1;
    if (p->type == P_ACKS)
        hb_sio_bus_acks_nodes(p->acks, p->nodes); /* may cancel (free) p */
    else
        pending_check(p);
}

/* Counts the nodes, then publishes the request: both on the commands
 * connection, so the count is taken before any node sees the request. */
static int send_request(hb_cluster *c, pending *p, const char *nsp, const void *msg,
                        size_t len) {
    size_t chlen;
    char *channel = hb_cluster_proto_req_channel(nsp, &chlen);
    numsub_ctx *x = calloc(1, sizeof(*x));
    const char *argv[3] = {"PUBSUB", "NUMSUB", channel};
    size_t lens[3] = {6, 6, chlen};
    int err = HB_ENOMEM;
    if (channel == NULL || x == NULL)
        goto fail;
    x->c = c;
    memcpy(x->id, p->id, sizeof(x->id));
    if ((err = hb_redis_command(c->redis, on_numsub, x, 3, argv, lens)) != 0)
        goto fail;
    x = NULL; /* on_numsub frees it */
    if ((err = hb_redis_publish(c->redis, channel, chlen, msg, len)) != 0)
        goto fail;
    hb_metrics_g.cluster_published++;
    free(channel);
    return 0;
fail:
    free(x);
    free(channel);
    return err;
}

static int bus_fetch(void *ud, const hb_sio_bus_req *sel, unsigned timeout_ms,
                     hb_sio_bus_fetch_cb done, void *dud) {
    hb_cluster *c = ud;
    pending *p;
    char *json;
    size_t len;
    int err;
    if (c->stopped || !hb_redis_up(c->redis))
        return HB_ECLUSTER;
    if ((p = pending_new(c, P_FETCH)) == NULL)
        return HB_ENOMEM;
    p->done = done;
    p->dud = dud;
    p->sockets = json_array();
    json = hb_cluster_proto_encode_fetch_req(c->uid, p->id, sel, &len);
    err = p->sockets == NULL || json == NULL ? HB_ENOMEM
                                             : send_request(c, p, sel->nsp, json, len);
    free(json);
    if (err != 0) {
        pending_free(p);
        return err;
    }
    hb_loop_timer_start(c->loop, &p->timer, timeout_ms, on_pending_timeout);
    return 0;
}

static void *bus_publish_acks(void *ud, const hb_sio_bus_msg *m, unsigned timeout_ms,
                              hb_sio_bus_acks *a) {
    hb_cluster *c = ud;
    pending *p;
    uint8_t *msg = NULL;
    size_t len;
    int err;
    if (c->stopped || !hb_redis_up(c->redis)) {
        hb_redis_publish(c->redis, "", 0, "", 0); /* counted as dropped */
        return NULL;
    }
    if ((p = pending_new(c, P_ACKS)) == NULL)
        return NULL;
    p->acks = a;
    err = hb_cluster_proto_encode_bcast_req(c->uid, p->id, m, timeout_ms, &msg, &len);
    if (err == 0)
        err = send_request(c, p, m->nsp, msg, len);
    free(msg);
    if (err != 0) {
        hb_log_warn("cluster", "cannot send a broadcast with acks of %s to other nodes: %s",
                    m->nsp, hb_strerror(err));
        pending_free(p);
        return NULL;
    }
    return p;
}

static void bus_cancel_acks(void *ud, void *token) {
    (void)ud;
    pending_free(token);
}

/* serverSideEmit: published as is without done; with done, counted and
 * collected like a fetch. */
static int bus_server_emit(void *ud, const char *nsp, const char *event, const char *args,
                           size_t len, unsigned timeout_ms, hb_sio_bus_emit_cb done,
                           void *dud) {
    hb_cluster *c = ud;
    pending *p = NULL;
    char *json = NULL, *channel;
    size_t n, chlen;
    int err;
    if (c->stopped || !hb_redis_up(c->redis)) {
        hb_redis_publish(c->redis, "", 0, "", 0); /* counted as dropped */
        return HB_ECLUSTER;
    }
    if (done != NULL && (p = pending_new(c, P_EMIT)) == NULL)
        return HB_ENOMEM;
    err = hb_cluster_proto_encode_sse(c->uid, p != NULL ? p->id : NULL, event, args, len, &json,
                                      &n);
    if (err == 0 && p != NULL) {
        p->emitted = done;
        p->dud = dud;
        err = send_request(c, p, nsp, json, n);
    } else if (err == 0) {
        channel = hb_cluster_proto_req_channel(nsp, &chlen);
        err = channel != NULL ? 0 : HB_ENOMEM;
        publish_text(c, channel, chlen, json, n);
        free(channel);
    }
    free(json);
    if (err != 0) {
        if (p != NULL)
            pending_free(p);
        return err;
    }
    if (p != NULL)
        hb_loop_timer_start(c->loop, &p->timer, timeout_ms, on_pending_timeout);
    return 0;
}

/* An answer to one of this node's requests (or to another node's: most
 * are not ours, since every node of the namespace receives them all). */
static void on_response(hb_cluster *c, const uint8_t *data, size_t len) {
    hb_cluster_resp r;
    pending *p;
    if (hb_cluster_proto_decode_resp(data, len, &r) != 0)
        return;
    p = pending_find(c, (const char *)r.req_id.base, r.req_id.len);
    if (p == NULL) {
        hb_cluster_proto_resp_release(&r);
        return;
    }
    hb_metrics_g.cluster_received++;
    if (p->type == P_EMIT) {
        if (r.type == HB_CLUSTER_REQ_SERVER_SIDE_EMIT && r.ack_json != NULL)
            emit_answer(p, r.ack_json, r.ack_len); /* may finish (free) p */
    } else if (p->type == P_FETCH) {
        if (r.sockets != NULL) {
            size_t i;
            json_t *x;
            json_array_foreach(r.sockets, i, x) {
                json_array_append(p->sockets, x);
            }
            p->answered++;
            pending_check(p);
        }
    } else if (r.type == HB_CLUSTER_REQ_BROADCAST_CLIENT_COUNT) {
        hb_sio_bus_acks_count(p->acks, r.client_count); /* may cancel (free) p */
    } else if (r.type == HB_CLUSTER_REQ_BROADCAST_ACK && r.ack_json != NULL) {
        hb_sio_bus_acks_answer(p->acks, r.ack_json, r.ack_len);
    }
    hb_cluster_proto_resp_release(&r);
}

/* Every request of this node ends now: fetches with what came, broadcasts
 * with acks without the nodes still to report; relayed answers stop. */
static void settle_all(hb_cluster *c) {
    while (c->pending != NULL)
        pending_end(c->pending, HB_ECLUSTER);
    while (c->relays != NULL)
        relay_unlink(c->relays);
}

static void bus_nsp_added(void *ud, const char *nsp) {
    hb_cluster *c = ud;
    char *ch[3];
    size_t len[3];
    ch[0] = hb_cluster_proto_req_channel(nsp, &len[0]);
    ch[1] = hb_cluster_proto_resp_channel(nsp, NULL, &len[1]);
    ch[2] = hb_cluster_proto_resp_channel(nsp, c->uid, &len[2]);
    for (int i = 0; i < 3; i++) {
        if (ch[i] == NULL || hb_redis_subscribe(c->redis, ch[i], len[i]) != 0)
            hb_log_warn("cluster", "cannot subscribe to the requests of %s: out of memory", nsp);
        free(ch[i]);
    }
}

static void on_message(void *ud, const char *channel, size_t chlen, const uint8_t *data,
                       size_t len) {
    hb_cluster *c = ud;
    if (c->stopped)
        return;
    if (c->hubs != NULL && chlen > sizeof(HB_HUBS_PREFIX) - 1 &&
        memcmp(channel, HB_HUBS_PREFIX, sizeof(HB_HUBS_PREFIX) - 1) == 0)
        hb_cluster_hubs_message(c->hubs, data, len);
    else if (chlen > sizeof(req_prefix) - 1 &&
        memcmp(channel, req_prefix, sizeof(req_prefix) - 1) == 0)
        on_request(c, channel, chlen, data, len);
    else if (chlen > sizeof(resp_prefix) - 1 &&
             memcmp(channel, resp_prefix, sizeof(resp_prefix) - 1) == 0)
        on_response(c, data, len);
    else if (chlen > sizeof(bcast_prefix) - 1 &&
             memcmp(channel, bcast_prefix, sizeof(bcast_prefix) - 1) == 0)
        on_bcast(c, channel, chlen, data, len);
}

static void on_state(void *ud, int up) {
    hb_cluster *c = ud;
    if (up) {
        /* Redis may have restarted empty: register again now, not at the
         * next tick, and write the connection directory again. */
        hb_cluster_nodes_refresh(c->nodes);
        if (c->hubs != NULL)
            hb_cluster_hubs_redis_up(c->hubs);
    }
}

static void on_node_joined(void *ud, const hb_cluster_node_info *info) {
    hb_cluster *c = ud;
    if (c->hubs != NULL)
        hb_cluster_hubs_node_joined(c->hubs, info);
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
    if (hb_id_new(rnd) != 0)
        goto fail;
    memcpy(c->tag, rnd, HB_CLUSTER_TAG_LEN);
    c->tag[HB_CLUSTER_TAG_LEN] = '\0';
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
    /* The request and response channels are subscribed to one by one, for
     * each namespace this node has (bus_nsp_added). */
    if (c->redis == NULL || hb_redis_psubscribe(c->redis, HB_CLUSTER_KEY "#*") != 0)
        goto fail;
    c->nodes = hb_cluster_nodes_new(loop, c->redis, c->node_id, opts->advertise, c->tag,
                                    opts->node_ttl_s);
    if (c->nodes == NULL)
        goto fail;
    {
        hb_forward_opts fo = {0};
        fo.timeout_ms = opts->forward_timeout_ms;
        fo.route_ttl_ms = (opts->node_ttl_s ? opts->node_ttl_s : 10) * 1000u;
        if ((c->ws_relays = hb_relays_new(loop)) == NULL ||
            (c->fwd = hb_forward_new(loop, c->redis, c->ws_relays, c->tag, &fo)) == NULL)
            goto fail;
    }
    if (opts->azure != NULL) {
        c->hubs = hb_cluster_hubs_new(loop, c->redis, c->nodes, c->ws_relays, opts->azure,
                                      c->node_id, c->tag, opts->public_url);
        if (c->hubs == NULL)
            goto fail;
        hb_cluster_nodes_on_join(c->nodes, on_node_joined, c);
    }
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
    bus.nsp_added = bus_nsp_added;
    bus.publish_acks = bus_publish_acks;
    bus.cancel_acks = bus_cancel_acks;
    bus.fetch = bus_fetch;
    bus.server_emit = bus_server_emit;
    bus.ud = c;
    hb_sio_server_set_bus(c->sio, &bus);
    if (c->hubs != NULL)
        hb_cluster_hubs_start(c->hubs);
    hb_log_info("cluster", "node %s joining the cluster on Redis %s (embedded apps and Azure "
                "hubs cross nodes; polling requests for this node's sessions, whose ids start "
                "with %s, are forwarded here; see docs/cluster.md)",
                c->node_id, hb_redis_name(c->redis), c->tag);
    hb_redis_start(c->redis);
    hb_cluster_nodes_start(c->nodes);
}

void hb_cluster_stop(hb_cluster *c) {
    if (c == NULL || c->stopped)
        return;
    c->stopped = 1;
    if (c->started)
        hb_sio_server_set_bus(c->sio, NULL);
    settle_all(c);
    hb_cluster_hubs_stop(c->hubs);
    hb_forward_stop(c->fwd);
    hb_relays_stop(c->ws_relays);
    hb_cluster_nodes_stop(c->nodes); /* DEL, sent before the connection closes */
    hb_redis_shutdown(c->redis);
}

void hb_cluster_free(hb_cluster *c) {
    if (c == NULL)
        return;
    if (c->started && !c->stopped)
        hb_sio_server_set_bus(c->sio, NULL);
    c->stopped = 1;
    settle_all(c);
    hb_forward_stop(c->fwd);
    hb_relays_stop(c->ws_relays);
    /* The client first: its pending replies still reach the registry and
     * the forwarder. */
    hb_cluster_hubs_stop(c->hubs);
    hb_redis_free(c->redis);
    hb_cluster_hubs_free(c->hubs);
    hb_cluster_nodes_free(c->nodes);
    hb_forward_free(c->fwd);
    hb_relays_free(c->ws_relays);
    free(c->node_id);
    free(c);
}

const char *hb_cluster_node_id(const hb_cluster *c) {
    return c->node_id;
}

int hb_cluster_redis_up(const hb_cluster *c) {
    return hb_redis_up(c->redis);
}

const hb_cluster_node_info *hb_cluster_nodes_listed(const hb_cluster *c, size_t *count) {
    return hb_cluster_nodes_list(c->nodes, count);
}

static int route_forward(void *ud, hb_http_conn *hc, hb_http_request *req, const char *sid) {
    hb_cluster *c = ud;
    return hb_forward_request(c->fwd, hc, req, sid);
}

void hb_cluster_router(hb_cluster *c, hb_eio_router *out) {
    memset(out, 0, sizeof(*out));
    out->prefix = c->tag;
    out->forward = route_forward;
    out->ud = c;
}
