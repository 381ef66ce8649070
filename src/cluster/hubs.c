/* The Azure-compatible hubs across nodes (cluster/hubs.h).
 *
 * Each node keeps its own connections, their groups and users, as on one
 * node; what crosses nodes is the REST call. A call is classified by
 * hb_rest_scope_of() and taken where it acts:
 *
 *   - one connection: to its node (the first 8 characters of a connection
 *     id are its node's tag), as a CALL on that node's inbox channel,
 *     "hubbub:to:<tag>"; the owner runs it and its answer comes back on the
 *     caller's inbox. PUBLISH says how many received it: none means the
 *     node is gone, and the call is answered here (as for an unknown id);
 *   - a group, a user, the hub: a FIRE on "hubbub:group:<hub>:<group>",
 *     "hubbub:user:<hub>:<user>" or "hubbub:hub:<hub>", to which exactly
 *     the nodes with such connections subscribe (subscriptions follow the
 *     hubs' membership through hb_hubs_watch), then run here and answered
 *     at once, as Azure answers a send (202) before delivering it;
 *   - whether a group or user exists: here, else PUBSUB NUMSUB of its
 *     channel, which counts the nodes that have one;
 *   - :invoke: a CALL on the hub's channel; each node streams its clients'
 *     answers back, merged into the caller's stream.
 *
 * The directory "hubbub:conns:<node id>" (a hash: connection id → "hub\n
 * user") lets the other nodes tell the app servers which connections a
 * dead node held: each node scans for directories whose node left the
 * registry, takes a short lock, sends a disconnected event for each
 * connection to an app server of its hub, and deletes the directory. */
#include "cluster/hubs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "api/rest.h"
#include "cluster/forward.h"
#include "cluster/hubmsg.h"
#include "core/id.h"
#include "core/log.h"
#include "core/metrics.h"
#include "hubbub/error.h"

#define TAG_LEN HB_CLUSTER_TAG_LEN
#define CALL_TIMEOUT_MS 10000   /* one connection's node answers by then */
#define INVOKE_TIMEOUT_MS 61000 /* the nodes' own :invoke deadline, and a second */
#define PURGE_EVERY_MS 1000
#define PURGE_LOCK_S "30"
#define DIRECTORY_BATCH 256     /* connections per HSET when rewriting it */

static const char dir_prefix[] = HB_HUBS_PREFIX "conns:";
/* "hubbub:purged:<node id>": set by the node that reported a dead node's
 * connections gone, so that node, if it was only cut off from Redis and
 * comes back, learns it and closes them (the app servers forgot them). */
static const char purged_prefix[] = HB_HUBS_PREFIX "purged:";
#define PURGED_MARK_S "86400"

/* CALL_ONE: one node's answer is relayed. CALL_ALL: every node of the hub
 * runs it (:invoke streams their answers into one; a membership change is
 * answered with this node's answer once every node has applied it).
 * CALL_EXISTS: a PUBSUB NUMSUB. */
enum { CALL_ONE, CALL_ALL, CALL_EXISTS };

/* A REST call of this node that waits for Redis or other nodes. It is
 * freed when nothing refers to it any more: its place on the list of
 * calls (until answered), a Redis command in flight (whose reply comes
 * even after the connection is gone), this node's part of an :invoke. */
typedef struct call {
    struct call *next, *prev;
    hb_cluster_hubs *h;
    int kind;
    int refs;
    int listed;               /* on h->calls: not answered yet */
    int replied;              /* the caller's reply has ended */
    char id[HB_ID_LEN + 1];
    hb_rest_reply *reply;     /* the caller's */
    hb_timer timer;
    /* The request, run here when no other node takes it. */
    char *method, *path, *query, *ctype;
    uint8_t *body;
    size_t len;
    /* CALL_ALL: the other nodes that received it (-1 until PUBLISH
     * answered), how many finished, and whether this node's part did. */
    long expected;
    size_t finished;
    int self_counted;         /* this node heard its own publish */
    int local_done, started;
    int stream;               /* :invoke: parts are passed on as they come */
    int gather;               /* a group listing: the other nodes' pages, kept */
    hb_rest_part *parts;      /* ... (each body a malloc'd copy) */
    size_t nparts;
    hb_rest_reply local;      /* this node's part */
    int status;               /* ... and its answer, when not streamed */
    char *answer_ctype;
    uint8_t *answer;
    size_t answer_len;
} call;

/* A hub with connections here: its channel is subscribed. */
typedef struct hub_sub {
    struct hub_sub *next;
    hb_hub *hub;
    size_t conns;
    hb_redis_sub *sub;
} hub_sub;

/* Our answer to another node's CALL, published part by part. */
typedef struct answer {
    hb_rest_reply base;
    struct answer *next, *prev;
    hb_cluster_hubs *h;       /* NULL once the hubs left */
    char to[TAG_LEN + 1];
    char call[HB_ID_LEN + 1];
} answer;

struct hb_cluster_hubs {
    hb_loop *loop;
    hb_redis *redis;
    hb_cluster_nodes *nodes;
    hb_azure *az;
    hb_hubs *hubs;
    hb_relays *relays;        /* app servers' tunnels for other nodes */
    char *public_url;         /* --public-url, or NULL */
    char *node_id;
    char tag[TAG_LEN + 1];
    char *dir_key;            /* hubbub:conns:<node id> */
    hb_redis_sub *inbox;
    hub_sub *hub_subs;
    call *calls, *calls_tail; /* oldest first: answers mostly come in order */
    answer *answers;
    hb_timer purge_timer;
    int purging, started, stopped;
    int ever_up;              /* Redis was up since this process started */
};

/* --- channels ------------------------------------------------------------------------ */

/* "hubbub:<kind>:<hub>[:<name>]" into a new string; *len set. */
static char *channel_of(const char *kind, const char *hub, const char *name, size_t nlen,
                        size_t *len) {
    size_t n = sizeof(HB_HUBS_PREFIX) + strlen(kind) + strlen(hub) + nlen + 3;
    char *ch = malloc(n);
    int w;
    if (ch == NULL)
        return NULL;
    w = snprintf(ch, n, HB_HUBS_PREFIX "%s:%s%s", kind, hub, name ? ":" : "");
    if (name != NULL)
        memcpy(ch + w, name, nlen);
    *len = (size_t)w + (name ? nlen : 0);
    ch[*len] = '\0';
    return ch;
}

static hb_redis_sub *subscribe(hb_cluster_hubs *h, const char *kind, const char *hub,
                               const char *name, size_t nlen) {
    size_t len;
    char *ch = channel_of(kind, hub, name, nlen, &len);
    hb_redis_sub *sub = ch ? hb_redis_sub_add(h->redis, ch, len) : NULL;
    if (sub == NULL)
        hb_log_warn("cluster", "cannot subscribe to %s: out of memory; hub %s misses what "
                    "other nodes send there", ch ? ch : kind, hub);
    free(ch);
    return sub;
}

/* --- following the hubs' membership ------------------------------------------------------ */

static void directory_set(hb_cluster_hubs *h, hb_hub *hub, hb_hub_conn *c) {
    char value[512];
    const char *argv[4] = {"HSET", h->dir_key, c->id, value};
    size_t lens[4] = {4, strlen(h->dir_key), strlen(c->id), 0};
    lens[3] = (size_t)snprintf(value, sizeof(value), "%s\n%s", hb_hub_name(hub),
                               c->user_id ? c->user_id : "");
    if (lens[3] >= sizeof(value))
        lens[3] = sizeof(value) - 1;
    hb_redis_command(h->redis, NULL, NULL, 4, argv, lens);
}

static void on_conn(void *ud, hb_hub *hub, hb_hub_conn *c, int added) {
    hb_cluster_hubs *h = ud;
    hub_sub **pp = &h->hub_subs, *s;
    while (*pp != NULL && (*pp)->hub != hub)
        pp = &(*pp)->next;
    if (added) {
        if (*pp == NULL && (*pp = calloc(1, sizeof(**pp))) != NULL) {
            (*pp)->hub = hub;
            (*pp)->sub = subscribe(h, "hub", hb_hub_name(hub), NULL, 0);
        }
        if (*pp != NULL)
            (*pp)->conns++;
        if (hb_redis_up(h->redis))
            directory_set(h, hub, c);
        return;
    }
    if ((s = *pp) != NULL && --s->conns == 0) {
        *pp = s->next;
        hb_redis_sub_remove(h->redis, s->sub);
        free(s);
    }
    if (hb_redis_up(h->redis)) {
        const char *argv[3] = {"HDEL", h->dir_key, c->id};
        size_t lens[3] = {4, strlen(h->dir_key), strlen(c->id)};
        hb_redis_command(h->redis, NULL, NULL, 3, argv, lens);
    }
}

static void on_group(void *ud, hb_hub *hub, const char *name, size_t len, int alive,
                     void **slot) {
    hb_cluster_hubs *h = ud;
    if (alive)
        *slot = subscribe(h, "group", hb_hub_name(hub), name, len);
    else
        hb_redis_sub_remove(h->redis, *slot);
}

static void on_user(void *ud, hb_hub *hub, const char *name, size_t len, int alive, void **slot) {
    hb_cluster_hubs *h = ud;
    if (alive)
        *slot = subscribe(h, "user", hb_hub_name(hub), name, len);
    else
        hb_redis_sub_remove(h->redis, *slot);
}

static int subscribed_to_hub(const hb_cluster_hubs *h, const char *hub) {
    for (const hub_sub *s = h->hub_subs; s != NULL; s = s->next)
        if (strcmp(hb_hub_name(s->hub), hub) == 0)
            return 1;
    return 0;
}

/* --- sending -------------------------------------------------------------------------------- */

static hb_slice slice_of(const char *s) {
    hb_slice v = {(const uint8_t *)(s ? s : ""), s ? strlen(s) : 0};
    return v;
}

/* The message of a request (FIRE or CALL), encoded into *out. */
static int encode_request(hb_cluster_hubs *h, int kind, const char *call_id, const char *method,
                          const char *path, const char *query, const char *ctype,
                          const uint8_t *body, size_t len, uint8_t **out, size_t *olen) {
    hb_hubmsg m;
    memset(&m, 0, sizeof(m));
    m.kind = kind;
    m.from = slice_of(h->tag);
    m.call = slice_of(call_id);
    m.method = slice_of(method);
    m.path = slice_of(path);
    m.query = slice_of(query);
    m.ctype = slice_of(ctype);
    m.body.base = body;
    m.body.len = len;
    return hb_hubmsg_encode(&m, out, olen);
}

static void fire(hb_cluster_hubs *h, const char *kind, const hb_rest_scope *sc,
                 const char *method, const char *path, const char *query, const char *ctype,
                 const uint8_t *body, size_t len) {
    uint8_t *msg;
    size_t mlen, chlen;
    char *ch;
    if (encode_request(h, HB_HUBMSG_FIRE, NULL, method, path, query, ctype, body, len, &msg,
                       &mlen) != 0)
        return;
    ch = channel_of(kind, sc->hub, sc->target[0] ? sc->target : NULL, strlen(sc->target), &chlen);
    if (ch != NULL && hb_redis_publish(h->redis, ch, chlen, msg, mlen) == 0)
        hb_metrics_g.cluster_published++;
    free(ch);
    free(msg);
}

/* --- answers once this node's subscriptions are in place ---------------------------------- */

/* A reply whose last part waits until Redis has answered this node's
 * SUBSCRIBEs and UNSUBSCRIBEs sent so far: a join's caller hears back
 * only once the group's channel is subscribed here, so the send to the
 * group it makes next cannot miss this node. */
typedef struct held {
    hb_rest_reply base;
    hb_rest_reply *to;
    hb_redis *redis;
    int status;
    char *ctype;
    uint8_t *body;
    size_t len;
} held;

static void held_release(void *ud) {
    held *hd = ud;
    hd->to->send(hd->to, hd->status, hd->ctype, hd->body, hd->len, 0);
    free(hd->ctype);
    free(hd->body);
    free(hd);
}

static void held_send(hb_rest_reply *r, int status, const char *ctype, const void *body,
                      size_t len, int more) {
    held *hd = (held *)r;
    if (more) {
        hd->to->send(hd->to, status, ctype, body, len, 1);
        return;
    }
    hd->status = status;
    hd->ctype = ctype ? strdup(ctype) : NULL;
    if (len > 0 && (hd->body = malloc(len)) != NULL) {
        memcpy(hd->body, body, len);
        hd->len = len;
    }
    if (hb_redis_sub_barrier(hd->redis, held_release, hd) != 0)
        held_release(hd);
}

/* Runs a call on this node's connections; answers through reply once
 * what it changed is subscribed. */
static void run_here(hb_cluster_hubs *h, const char *method, const char *path, const char *query,
                     const char *ctype, uint8_t *body, size_t len, hb_rest_reply *reply) {
    held *hd = calloc(1, sizeof(*hd));
    if (hd == NULL) {
        hb_azure_rest_local(h->az, method, path, query, ctype, body, len, reply);
        return;
    }
    hd->base.send = held_send;
    hd->to = reply;
    hd->redis = h->redis;
    hb_azure_rest_local(h->az, method, path, query, ctype, body, len, &hd->base);
}

/* --- calls waiting for other nodes ---------------------------------------------------------- */

static void call_unref(call *c) {
    if (--c->refs > 0)
        return;
    for (size_t i = 0; i < c->nparts; i++)
        free((void *)c->parts[i].body);
    free(c->parts);
    free(c->answer_ctype);
    free(c->answer);
    free(c->method);
    free(c->path);
    free(c->query);
    free(c->ctype);
    free(c->body);
    free(c);
}

/* Off the list: the call is answered (or is being answered by its
 * :invoke's local part) and nothing from other nodes is taken any more. */
static void call_done(call *c) {
    if (!c->listed)
        return;
    c->listed = 0;
    if (c->prev)
        c->prev->next = c->next;
    else if (c->h->calls == c)
        c->h->calls = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else if (c->h->calls_tail == c)
        c->h->calls_tail = c->prev;
    c->next = c->prev = NULL;
    hb_timer_stop(&c->timer);
    call_unref(c);
}

static void call_reply(call *c, int status, const char *ctype, const void *body, size_t len,
                       int more) {
    if (c->replied)
        return;
    c->replied = !more;
    c->reply->send(c->reply, status, ctype, body, len, more);
}

static void reply_json_error(hb_rest_reply *r, int status, const char *message) {
    char body[256];
    int n = snprintf(body, sizeof(body), "{\"code\":%d,\"message\":\"%s\"}", status, message);
    r->send(r, status, "application/json", body, (size_t)n, 0);
}

static int call_command(call *c, hb_redis_reply_cb cb, int argc, const char **argv,
                        const size_t *lens) {
    int err = hb_redis_command(c->h->redis, cb, c, argc, argv, lens);
    if (err == 0)
        c->refs++;
    return err;
}

/* Runs the call's request on this node alone, which answers the caller. */
static void call_run_here(call *c) {
    if (!c->replied) {
        c->replied = 1;
        hb_azure_rest_local(c->h->az, c->method, c->path, c->query, c->ctype, c->body, c->len,
                            c->reply);
    }
    call_done(c);
}

/* A group listing: keeps another node's page. */
static void gather_part(call *c, const hb_slice *body) {
    hb_rest_part *p = realloc(c->parts, (c->nparts + 1) * sizeof(*p));
    uint8_t *copy = malloc(body->len ? body->len : 1);
    if (p == NULL || copy == NULL) {
        free(copy);
        if (p != NULL)
            c->parts = p;
        return; /* that node's members are missing from this page */
    }
    c->parts = p;
    memcpy(copy, body->base, body->len);
    p[c->nparts].body = copy;
    p[c->nparts].len = body->len;
    c->nparts++;
}

/* A group listing: this node's page and the others', merged. */
static void gather_reply(call *c) {
    char *merged = NULL;
    hb_rest_part self = {c->answer, c->answer_len};
    gather_part(c, &(hb_slice){self.body, self.len});
    if (hb_rest_list_merge(c->path, c->query, c->parts, c->nparts, &merged) != 0) {
        reply_json_error(c->reply, 500, "Cannot merge the nodes' answers");
        c->replied = 1;
        return;
    }
    call_reply(c, 200, "application/json", merged, strlen(merged), 0);
    free(merged);
}

/* A CALL_ALL is over once this node's part and every other node are. */
static void all_check(call *c) {
    if (c->listed && c->local_done && c->expected >= 0 && c->finished >= (size_t)c->expected) {
        if (c->stream)
            call_reply(c, 200, NULL, NULL, 0, 0);
        else if (c->gather && c->status == 200)
            gather_reply(c);
        else
            call_reply(c, c->status, c->answer_ctype, c->answer, c->answer_len, 0);
        call_done(c);
    }
}

static void on_call_deadline(hb_timer *t) {
    call *c = (call *)((char *)t - offsetof(call, timer));
    if (c->kind == CALL_ALL) {
        /* The nodes that did not finish in time are not waited for; this
         * node's part ends by its own deadline, before this one. */
        c->expected = (long)c->finished;
        if (!c->local_done)
            return;
        all_check(c);
        return;
    }
    hb_log_warn("cluster", "%s %s: the node holding the connection did not answer in time",
                c->method, c->path);
    if (!c->replied) {
        c->replied = 1;
        reply_json_error(c->reply, 504, "The node holding the connection did not answer in time");
    }
    call_done(c);
}

static call *call_new(hb_cluster_hubs *h, int kind, const char *method, const char *path,
                      const char *query, const char *ctype, const uint8_t *body, size_t len,
                      hb_rest_reply *reply) {
    call *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->h = h;
    c->kind = kind;
    c->reply = reply;
    c->expected = -1;
    c->refs = 1;
    c->listed = 1;
    hb_id_new(c->id);
    c->method = strdup(method);
    c->path = strdup(path);
    c->query = strdup(query ? query : "");
    c->ctype = ctype ? strdup(ctype) : NULL;
    c->body = malloc(len + 1);
    if (c->method == NULL || c->path == NULL || c->query == NULL || (ctype && !c->ctype) ||
        c->body == NULL) {
        free(c->method), free(c->path), free(c->query), free(c->ctype), free(c->body);
        free(c);
        return NULL;
    }
    if (len > 0)
        memcpy(c->body, body, len);
    c->body[len] = '\0';
    c->len = len;
    c->prev = h->calls_tail;
    if (h->calls_tail)
        h->calls_tail->next = c;
    else
        h->calls = c;
    h->calls_tail = c;
    return c;
}

static call *call_find(hb_cluster_hubs *h, const hb_slice *id) {
    for (call *c = h->calls; c != NULL; c = c->next)
        if (id->len == strlen(c->id) && memcmp(id->base, c->id, id->len) == 0)
            return c;
    return NULL;
}

/* PUBLISH of a CALL answered: how many nodes received it. */
static void on_call_published(void *ud, const redisReply *reply) {
    call *c = ud;
    long long n = reply && reply->type == REDIS_REPLY_INTEGER ? reply->integer : -1;
    if (c->listed && c->kind == CALL_ALL) {
        n -= c->self_counted;
        c->expected = n < 0 ? 0 : (long)n;
        all_check(c);
    } else if (c->listed && n <= 0) {
        call_run_here(c); /* no such node any more (or Redis away) */
    }
    call_unref(c);
}

static void publish_call(hb_cluster_hubs *h, call *c, const char *channel, size_t chlen) {
    uint8_t *msg;
    size_t mlen;
    const char *argv[3] = {"PUBLISH", channel, NULL};
    size_t lens[3] = {7, chlen, 0};
    if (encode_request(h, HB_HUBMSG_CALL, c->id, c->method, c->path, c->query, c->ctype, c->body,
                       c->len, &msg, &mlen) != 0) {
        c->refs++;
        on_call_published(c, NULL);
        return;
    }
    argv[2] = (const char *)msg;
    lens[2] = mlen;
    c->refs++; /* as if sent: the failure below is its reply */
    if (hb_redis_command(h->redis, on_call_published, c, 3, argv, lens) != 0)
        on_call_published(c, NULL);
    else
        hb_metrics_g.cluster_published++;
    free(msg);
}

/* One connection's call: to its node, or here when it is this node's. */
static void to_owner(hb_cluster_hubs *h, const char *conn_id, const char *method,
                     const char *path, const char *query, const char *ctype, uint8_t *body,
                     size_t len, hb_rest_reply *reply) {
    char channel[64];
    int chlen;
    call *c;
    if (strlen(conn_id) < TAG_LEN || memcmp(conn_id, h->tag, TAG_LEN) == 0) {
        run_here(h, method, path, query, ctype, body, len, reply);
        return;
    }
    if (!hb_redis_up(h->redis)) {
        /* Not "no such connection": it may well be alive on its node. A
         * 503 makes the app server's client retry, and its retry goes out
         * on a tunnel picked at random, most likely to a node with Redis. */
        reply_json_error(reply, 503, "This node has lost Redis: it cannot reach the node "
                                     "holding that connection; try again");
        hb_metrics_g.redis_dropped++;
        return;
    }
    if ((c = call_new(h, CALL_ONE, method, path, query, ctype, body, len, reply)) == NULL) {
        reply_json_error(reply, 503, "Out of memory");
        return;
    }
    chlen = snprintf(channel, sizeof(channel), HB_HUBS_PREFIX "to:%.*s", TAG_LEN, conn_id);
    hb_loop_timer_start(h->loop, &c->timer, CALL_TIMEOUT_MS, on_call_deadline);
    publish_call(h, c, channel, (size_t)chlen);
}

/* :invoke: this node's clients' answers and those of every other node of
 * the hub, in one stream. */
static void local_part(hb_rest_reply *r, int status, const char *ctype, const void *body,
                       size_t len, int more) {
    call *c = (call *)((char *)r - offsetof(call, local));
    if (!c->stream) {
        /* Kept (whole) until every node has applied it. */
        c->status = status;
        free(c->answer_ctype);
        c->answer_ctype = ctype ? strdup(ctype) : NULL;
        if (len > 0 && (c->answer = malloc(len)) != NULL) {
            memcpy(c->answer, body, len);
            c->answer_len = len;
        }
    } else if (!c->started) {
        c->started = 1;
        if (status != 200) { /* a bad request: every node says the same */
            call_reply(c, status, ctype, body, len, 0);
            call_done(c);
            call_unref(c); /* the local part's */
            return;
        }
        call_reply(c, 200, ctype, NULL, 0, 1);
    }
    if (c->stream && len > 0)
        call_reply(c, 200, NULL, body, len, 1);
    if (!more) {
        c->local_done = 1;
        if (c->listed)
            all_check(c);
        else if (c->stream)
            call_reply(c, 200, NULL, NULL, 0, 0); /* the cluster left meanwhile */
        else
            call_reply(c, c->status, c->answer_ctype, c->answer, c->answer_len, 0);
        call_unref(c);
    }
}

/* Does this node have connections in group or user sc->target (so it
 * subscribes to that channel, and hears its own publish there)? */
static int has_local(hb_cluster_hubs *h, const char *kind, const hb_rest_scope *sc) {
    hb_hub *hub = hb_hubs_get(h->hubs, sc->hub, 0);
    hb_groups *g = hub == NULL ? NULL : kind[0] == 'g' ? hb_hub_groups(hub) : hb_hub_users(hub);
    return g != NULL && hb_groups_size(g, sc->target, strlen(sc->target)) > 0;
}

/* How the answers of a call for every node are made one. */
enum {
    ALL_APPLY,  /* a membership change: this node's answer, once every node
                 * applied it, so that what the caller does next (a send to
                 * the group) finds every member */
    ALL_STREAM, /* :invoke: the clients' answers of every node in one stream */
    ALL_GATHER  /* a group listing: the nodes' pages merged into one */
};

/* A call for every node with connections on the channel of kind ("hub",
 * "user" or "group", named by sc), waiting for all of them. */
static void everywhere(hb_cluster_hubs *h, const hb_rest_scope *sc, const char *kind, int mode,
                       const char *method, const char *path, const char *query,
                       const char *ctype, uint8_t *body, size_t len, hb_rest_reply *reply) {
    const char *name = kind[0] == 'h' ? NULL : sc->target;
    size_t chlen;
    char *ch;
    call *c;
    if (!hb_redis_up(h->redis) ||
        (c = call_new(h, CALL_ALL, method, path, query, ctype, body, len, reply)) == NULL) {
        hb_azure_rest_local(h->az, method, path, query, ctype, body, len, reply);
        return;
    }
    c->stream = mode == ALL_STREAM;
    c->gather = mode == ALL_GATHER;
    c->local.send = local_part;
    c->refs++; /* for the local part */
    c->self_counted = name == NULL ? subscribed_to_hub(h, sc->hub) : has_local(h, kind, sc);
    hb_loop_timer_start(h->loop, &c->timer, c->stream ? INVOKE_TIMEOUT_MS : CALL_TIMEOUT_MS,
                        on_call_deadline);
    ch = channel_of(kind, sc->hub, name, name ? strlen(name) : 0, &chlen);
    if (ch != NULL) {
        publish_call(h, c, ch, chlen);
        free(ch);
    } else {
        c->expected = 0;
    }
    /* After the publish: the dispatcher may decode the body in place. */
    run_here(h, method, path, query, ctype, body, len, &c->local);
}

/* Does a group or user exist: here, or on a node subscribed to it. */
static void on_numsub(void *ud, const redisReply *reply) {
    call *c = ud;
    int found = reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
                reply->element[1]->type == REDIS_REPLY_INTEGER && reply->element[1]->integer > 0;
    if (c->listed && found) {
        call_reply(c, 200, NULL, NULL, 0, 0);
        call_done(c);
    } else if (c->listed) {
        call_run_here(c); /* 404, or 200 if one came here meanwhile */
    }
    call_unref(c);
}

static void exists_anywhere(hb_cluster_hubs *h, const char *kind, const hb_rest_scope *sc,
                            const char *method, const char *path, const char *query,
                            const char *ctype, uint8_t *body, size_t len, hb_rest_reply *reply) {
    hb_hub *hub = hb_hubs_get(h->hubs, sc->hub, 0);
    hb_groups *g = hub == NULL ? NULL : kind[0] == 'g' ? hb_hub_groups(hub) : hb_hub_users(hub);
    size_t chlen;
    char *ch;
    call *c;
    const char *argv[3] = {"PUBSUB", "NUMSUB", NULL};
    size_t lens[3] = {6, 6, 0};
    if ((g != NULL && hb_groups_size(g, sc->target, strlen(sc->target)) > 0) ||
        !hb_redis_up(h->redis) ||
        (c = call_new(h, CALL_EXISTS, method, path, query, ctype, body, len, reply)) == NULL) {
        hb_azure_rest_local(h->az, method, path, query, ctype, body, len, reply);
        return;
    }
    ch = channel_of(kind, sc->hub, sc->target, strlen(sc->target), &chlen);
    argv[2] = ch;
    lens[2] = chlen;
    if (ch == NULL || call_command(c, on_numsub, 3, argv, lens) != 0)
        call_run_here(c);
    free(ch);
}

/* 1 when the connection ids all start with one tag. */
static int one_node(const hb_rest_scope *sc) {
    for (size_t i = 0; i < sc->nids; i++)
        if (strlen(sc->ids[i]) < TAG_LEN || memcmp(sc->ids[i], sc->ids[0], TAG_LEN) != 0)
            return 0;
    return sc->nids > 0;
}

/* The service's REST calls, for the whole cluster. */
static void bus_rest(void *ud, const char *method, const char *path, const char *query,
                     const char *ctype, uint8_t *body, size_t len, hb_rest_reply *reply) {
    hb_cluster_hubs *h = ud;
    hb_rest_scope sc;
    hb_rest_scope_of(method, path, query, body, len, &sc);
    switch (sc.kind) {
    case HB_REST_CONN:
        to_owner(h, sc.target, method, path, query, ctype, body, len, reply);
        return;
    case HB_REST_HUB:
        /* socket.join() and the like name one connection: its node only. */
        if (one_node(&sc)) {
            to_owner(h, sc.ids[0], method, path, query, ctype, body, len, reply);
            return;
        }
        if (sc.membership) {
            everywhere(h, &sc, "hub", ALL_APPLY, method, path, query, ctype, body, len, reply);
            return;
        }
        fire(h, "hub", &sc, method, path, query, ctype, body, len);
        break;
    case HB_REST_GROUP:
        fire(h, "group", &sc, method, path, query, ctype, body, len);
        break;
    case HB_REST_USER:
        fire(h, "user", &sc, method, path, query, ctype, body, len);
        break;
    case HB_REST_GROUP_EXISTS:
        exists_anywhere(h, "group", &sc, method, path, query, ctype, body, len, reply);
        return;
    case HB_REST_USER_EXISTS:
        exists_anywhere(h, "user", &sc, method, path, query, ctype, body, len, reply);
        return;
    case HB_REST_INVOKE:
        everywhere(h, &sc, "hub", ALL_STREAM, method, path, query, ctype, body, len, reply);
        return;
    case HB_REST_USER_GROUPS:
        everywhere(h, &sc, "user", ALL_APPLY, method, path, query, ctype, body, len, reply);
        return;
    case HB_REST_GROUP_LIST:
        everywhere(h, &sc, "group", ALL_GATHER, method, path, query, ctype, body, len, reply);
        return;
    default:
        break;
    }
    run_here(h, method, path, query, ctype, body, len, reply);
}

/* --- receiving ------------------------------------------------------------------------------- */

static void answer_unlink(answer *a) {
    if (a->h != NULL) {
        if (a->prev)
            a->prev->next = a->next;
        else if (a->h->answers == a)
            a->h->answers = a->next;
        if (a->next)
            a->next->prev = a->prev;
    }
    a->next = a->prev = NULL;
    a->h = NULL;
}

static void answer_send(hb_rest_reply *r, int status, const char *ctype, const void *body,
                        size_t len, int more) {
    answer *a = (answer *)r;
    if (a->h != NULL) {
        hb_hubmsg m;
        uint8_t *msg;
        size_t mlen;
        char channel[64];
        int chlen = snprintf(channel, sizeof(channel), HB_HUBS_PREFIX "to:%s", a->to);
        memset(&m, 0, sizeof(m));
        m.kind = HB_HUBMSG_ANSWER;
        m.status = status;
        m.more = more;
        m.from = slice_of(a->h->tag);
        m.call = slice_of(a->call);
        m.ctype = slice_of(ctype);
        m.body.base = body;
        m.body.len = len;
        if (hb_hubmsg_encode(&m, &msg, &mlen) == 0) {
            if (hb_redis_publish(a->h->redis, channel, (size_t)chlen, msg, mlen) == 0)
                hb_metrics_g.cluster_published++;
            free(msg);
        }
    }
    if (!more) {
        answer_unlink(a);
        free(a);
    }
}

static void discard_send(hb_rest_reply *r, int status, const char *ctype, const void *body,
                         size_t len, int more) {
    (void)r, (void)status, (void)ctype, (void)body, (void)len, (void)more;
}

static char *str_of(const hb_slice *s) {
    char *p = malloc(s->len + 1);
    if (p != NULL) {
        memcpy(p, s->base, s->len);
        p[s->len] = '\0';
    }
    return p;
}

/* Another node's request: run here, for this node's connections. */
static void on_request(hb_cluster_hubs *h, const hb_hubmsg *m) {
    static hb_rest_reply discard = {discard_send};
    char *method = str_of(&m->method), *path = str_of(&m->path), *query = str_of(&m->query);
    char *ctype = m->ctype.len ? str_of(&m->ctype) : NULL;
    uint8_t *body = (uint8_t *)str_of(&m->body); /* writable: it may be decoded in place */
    hb_rest_reply *reply = &discard;
    if (method == NULL || path == NULL || query == NULL || body == NULL)
        goto done;
    if (m->kind == HB_HUBMSG_CALL) {
        answer *a = calloc(1, sizeof(*a));
        if (a == NULL || m->from.len != TAG_LEN || m->call.len > HB_ID_LEN) {
            free(a);
            goto done;
        }
        a->base.send = answer_send;
        a->h = h;
        memcpy(a->to, m->from.base, TAG_LEN);
        memcpy(a->call, m->call.base, m->call.len);
        a->next = h->answers;
        if (h->answers)
            h->answers->prev = a;
        h->answers = a;
        run_here(h, method, path, query, ctype, body, m->body.len, &a->base);
        goto done;
    }
    hb_azure_rest_local(h->az, method, path, query, ctype, body, m->body.len, reply);
done:
    free(method), free(path), free(query), free(ctype), free(body);
}

/* Another node's answer to a call of ours. */
static void on_answer(hb_cluster_hubs *h, const hb_hubmsg *m) {
    call *c = call_find(h, &m->call);
    char *ctype;
    if (c == NULL)
        return; /* answered already (here, or at its deadline) */
    if (c->kind == CALL_ONE) {
        ctype = m->ctype.len ? str_of(&m->ctype) : NULL;
        call_reply(c, m->status, ctype, m->body.base, m->body.len, 0);
        free(ctype);
        call_done(c);
        return;
    }
    if (c->kind != CALL_ALL)
        return;
    /* Another node's stream: its lines go on in ours; a node that could
     * not run it (not 200) only counts as finished. */
    if (m->status == 200 && m->body.len > 0 && c->started)
        call_reply(c, 200, NULL, m->body.base, m->body.len, 1);
    if (c->gather && m->status == 200 && !m->more)
        gather_part(c, &m->body);
    if (!m->more) {
        c->finished++;
        all_check(c);
    }
}

void hb_cluster_hubs_message(hb_cluster_hubs *h, const uint8_t *data, size_t len) {
    hb_hubmsg m;
    if (h->stopped)
        return;
    if (hb_hubmsg_decode(data, len, &m) != 0) {
        hb_log_debug("cluster", "ignored a malformed hub message (%zu bytes)", len);
        return;
    }
    /* A node hears its own publishes on the channels it subscribes to. */
    if (m.from.len == TAG_LEN && memcmp(m.from.base, h->tag, TAG_LEN) == 0)
        return;
    hb_metrics_g.cluster_received++;
    if (m.kind == HB_HUBMSG_ANSWER)
        on_answer(h, &m);
    else
        on_request(h, &m);
}

/* --- app servers: a tunnel to every node ------------------------------------------------------- */

/* Asking an app server for a tunnel to a node that is gone would leave it
 * a tunnel it retries for ever and sends some of its calls on. The
 * listing may be seconds old, so each node's registry entry is read again
 * first (a node that stopped cleanly has deleted it), and the tunnel found
 * again by id (it may have closed meanwhile). */
typedef struct rebalance_ask {
    hb_cluster_hubs *h;
    char tunnel[24];          /* one tunnel's id, or "" for every tunnel */
    char node[72];
} rebalance_ask;

typedef struct rebalance_target {
    const char *tunnel, *node, *endpoint;
} rebalance_target;

static void rebalance_one(void *ud, hb_tunnel *t) {
    const rebalance_target *r = ud;
    if (r->tunnel[0] != '\0' && strcmp(r->tunnel, hb_azure_tunnel_id(t)) != 0)
        return;
    hb_azure_rebalance(t, r->endpoint, r->node);
}

/* With --public-url the app server is sent to the cluster's one address,
 * with TargetId naming the node: whichever node its request reaches takes
 * it there (bus_route_tunnel). Otherwise straight to the node's address. */
static void on_node_entry(void *ud, const redisReply *reply) {
    rebalance_ask *a = ud;
    if (reply != NULL && reply->type == REDIS_REPLY_STRING && !a->h->stopped &&
        reply->len > 0 && reply->len < 256) {
        char endpoint[300];
        rebalance_target r = {a->tunnel, a->node, endpoint};
        if (a->h->public_url != NULL)
            snprintf(endpoint, sizeof(endpoint), "%s", a->h->public_url);
        else
            snprintf(endpoint, sizeof(endpoint), "http://%.*s", (int)reply->len, reply->str);
        hb_azure_foreach_tunnel(a->h->az, rebalance_one, &r);
    }
    free(a);
}

static void rebalance(hb_cluster_hubs *h, const char *tunnel, const char *node) {
    rebalance_ask *a = calloc(1, sizeof(*a));
    char key[128];
    const char *argv[2] = {"GET", key};
    size_t lens[2] = {3, 0};
    if (a == NULL || strlen(node) >= sizeof(a->node) || strlen(tunnel) >= sizeof(a->tunnel)) {
        free(a);
        return;
    }
    a->h = h;
    snprintf(a->tunnel, sizeof(a->tunnel), "%s", tunnel);
    snprintf(a->node, sizeof(a->node), "%s", node);
    lens[1] = (size_t)snprintf(key, sizeof(key), HB_CLUSTER_NODE_PREFIX "%s", node);
    if (hb_redis_command(h->redis, on_node_entry, a, 2, argv, lens) != 0)
        free(a);
}

static void bus_tunnel(void *ud, hb_tunnel *t) {
    hb_cluster_hubs *h = ud;
    size_t n;
    const hb_cluster_node_info *list = hb_cluster_nodes_list(h->nodes, &n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i].id, h->node_id) != 0)
            rebalance(h, hb_azure_tunnel_id(t), list[i].id);
}

/* Every node asks every app server it has a tunnel of, not only the node
 * the app server first connected to (that one may be gone): the new node
 * keeps one tunnel per app server and closes the others. */
void hb_cluster_hubs_node_joined(hb_cluster_hubs *h, const hb_cluster_node_info *info) {
    if (!h->stopped)
        rebalance(h, "", info->id);
}

/* --- app servers: tunnels routed by target (--public-url) ----------------------------------- */

/* A tunnel request for another node, waiting for that node's registry
 * entry: its address when it lives, nothing when it left. */
typedef struct tunnel_route {
    hb_cluster_hubs *h;
    hb_http_conn *hc;         /* NULL once the app server went away */
    hb_http_request *req;
    char *head;               /* the request, as the target will get it */
    size_t head_len;
    char target[72];
} tunnel_route;

static void tunnel_route_gone(void *ud, hb_http_conn *hc) {
    tunnel_route *tr = ud;
    (void)hc;
    tr->hc = NULL;
}

static void on_target_entry(void *ud, const redisReply *reply) {
    static const hb_relay_refusal unreachable = {
        503, "application/json", "{\"code\":503,\"message\":\"The tunnel's node cannot be reached\"}"};
    tunnel_route *tr = ud;
    hb_http_conn *hc = tr->hc;
    if (hc == NULL) {
        /* gone: nothing to answer */
    } else if (reply == NULL || reply->type == REDIS_REPLY_ERROR || tr->h->stopped) {
        /* The registry cannot say: the app server tries again later. */
        hc->keep_alive = 0;
        hb_http_respond_json_error(hc, 503, 503, "The cluster's registry cannot be read now");
    } else if (reply->type == REDIS_REPLY_STRING && reply->len > 0 && reply->len < 256) {
        char addr[256];
        memcpy(addr, reply->str, reply->len);
        addr[reply->len] = '\0';
        hb_relay_start(tr->h->relays, hc, tr->head, tr->head_len, addr, &unreachable);
        tr->head = NULL;
    } else {
        /* The node left (died, or stopped): its app servers' tunnels to it
         * would be retried for ever and get some of their calls. */
        char message[128];
        snprintf(message, sizeof(message), "node %s left the cluster", tr->target);
        hb_metrics_g.cluster_tunnels_dead_target++;
        hb_log_info("cluster", "an app server's tunnel for node %s, which left the cluster, is "
                    "closed for good (ConnectionClose)", tr->target);
        hb_azure_tunnel_refuse(hc, tr->req, message);
    }
    free(tr->head);
    free(tr);
}

/* A tunnel asked for node target (rebalance with --public-url) reached
 * this node, behind the cluster's one address. */
static int bus_route_tunnel(void *ud, hb_http_conn *hc, hb_http_request *req, const char *target) {
    hb_cluster_hubs *h = ud;
    tunnel_route *tr;
    char key[128];
    const char *argv[2] = {"GET", key};
    size_t lens[2] = {3, 0};
    if (h->public_url == NULL || strcmp(target, h->node_id) == 0)
        return -1; /* ours */
    if (h->stopped || hb_http_request_header(req, HB_FORWARD_HEADER) != NULL) {
        /* Relayed here for a node this one is not: the registry moved
         * under the relaying node. The app server tries again. */
        hc->keep_alive = 0;
        hb_http_respond_json_error(hc, 503, 503, "This node cannot take that tunnel now");
        return 0;
    }
    if (strlen(target) >= sizeof(tr->target) || (tr = calloc(1, sizeof(*tr))) == NULL)
        return -1;
    tr->h = h;
    tr->hc = hc;
    tr->req = req;
    snprintf(tr->target, sizeof(tr->target), "%s", target);
    if ((tr->head = hb_relay_head(req, h->tag, &tr->head_len)) == NULL) {
        free(tr);
        return -1;
    }
    hb_http_hold(hc, tunnel_route_gone, tr);
    lens[1] = (size_t)snprintf(key, sizeof(key), HB_CLUSTER_NODE_PREFIX "%s", target);
    if (hb_redis_command(h->redis, on_target_entry, tr, 2, argv, lens) != 0)
        on_target_entry(tr, NULL);
    return 0;
}

/* --- the directory, and the connections of nodes that died --------------------------------- */

typedef struct batch {
    hb_cluster_hubs *h;
    const char **argv;
    size_t *lens;
    char **owned;
    int argc;
    int failed;
} batch;

static void batch_flush(batch *b) {
    if (b->argc > 2 && hb_redis_command(b->h->redis, NULL, NULL, b->argc, b->argv, b->lens) != 0)
        b->failed = 1;
    for (int i = 2; i < b->argc; i++)
        free(b->owned[i]);
    b->argc = 2;
}

static void batch_add(void *ud, hb_hub *hub, hb_hub_conn *c) {
    batch *b = ud;
    char *value;
    size_t n = strlen(hb_hub_name(hub)) + (c->user_id ? strlen(c->user_id) : 0) + 2;
    if (b->failed || (value = malloc(n)) == NULL)
        return;
    snprintf(value, n, "%s\n%s", hb_hub_name(hub), c->user_id ? c->user_id : "");
    b->owned[b->argc] = NULL;
    b->argv[b->argc] = c->id;
    b->lens[b->argc++] = strlen(c->id);
    b->owned[b->argc] = value;
    b->argv[b->argc] = value;
    b->lens[b->argc++] = strlen(value);
    if (b->argc >= 2 + 2 * DIRECTORY_BATCH)
        batch_flush(b);
}

static void write_directory(hb_cluster_hubs *h) {
    const char *argv[2 + 2 * DIRECTORY_BATCH];
    size_t lens[2 + 2 * DIRECTORY_BATCH];
    char *owned[2 + 2 * DIRECTORY_BATCH];
    batch b = {h, argv, lens, owned, 2, 0};
    argv[0] = "HSET";
    lens[0] = 4;
    argv[1] = h->dir_key;
    lens[1] = strlen(h->dir_key);
    hb_hubs_foreach_conn(h->hubs, batch_add, &b);
    batch_flush(&b);
    if (b.failed)
        hb_log_warn("cluster", "cannot rewrite this node's connection directory in Redis now; "
                    "it is written again when Redis is back");
}

static void collect(void *ud, hb_hub *hub, hb_hub_conn *c) {
    (void)hub;
    hb_group_vec_push(ud, &c->member);
}

/* This node was away from Redis so long that another node reported its
 * connections closed to the app servers: close them, so that their
 * clients connect again and the app servers see them anew. */
static void close_forgotten(hb_cluster_hubs *h) {
    hb_group_vec v = {0};
    hb_hubs_foreach_conn(h->hubs, collect, &v);
    hb_log_warn("cluster", "this node was cut off from Redis for longer than its registry TTL "
                "and another node reported its %zu connection%s closed to the app servers; "
                "closing them so that their clients connect again", v.n, v.n == 1 ? "" : "s");
    for (size_t i = 0; i < v.n; i++) {
        hb_hub_conn *c = hb_hub_conn_of(v.items[i]);
        c->ops->close(c, "this node was cut off from the cluster");
    }
    hb_group_vec_free(&v);
}

static void on_purged_mark(void *ud, const redisReply *reply) {
    hb_cluster_hubs *h = ud;
    int first = !h->ever_up;
    if (h->stopped || reply == NULL)
        return;
    h->ever_up = 1;
    /* A node that starts under the id of one that died finds the mark of
     * that one's purge: nothing of this process was reported. */
    if (!first && reply->type == REDIS_REPLY_INTEGER && reply->integer > 0)
        close_forgotten(h);
    else
        write_directory(h);
}

void hb_cluster_hubs_redis_up(hb_cluster_hubs *h) {
    char key[300];
    const char *argv[2] = {"DEL", key};
    size_t lens[2] = {3, 0};
    if (h->stopped)
        return;
    lens[1] = (size_t)snprintf(key, sizeof(key), "%s%s", purged_prefix, h->node_id);
    /* DEL says whether the mark was there, and clears it. */
    if (hb_redis_command(h->redis, on_purged_mark, h, 2, argv, lens) != 0)
        write_directory(h);
}

typedef struct purge {
    hb_cluster_hubs *h;
    char *node;               /* the dead node's id */
    char *key;                /* its directory */
} purge;

static void purge_free(purge *p) {
    free(p->node);
    free(p->key);
    free(p);
}

static int purge_command(purge *p, hb_redis_reply_cb cb, int argc, const char **argv) {
    size_t lens[6];
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    return hb_redis_command(p->h->redis, cb, p, argc, argv, lens);
}

static void on_purge_list(void *ud, const redisReply *reply) {
    purge *p = ud;
    size_t sent = 0, lost = 0;
    if (reply != NULL && reply->type == REDIS_REPLY_ARRAY && !p->h->stopped) {
        for (size_t i = 0; i + 1 < reply->elements; i += 2) {
            const redisReply *id = reply->element[i], *v = reply->element[i + 1];
            char hub[256], *user;
            size_t hl;
            if (id->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
                continue;
            hl = strcspn(v->str, "\n");
            if (hl >= sizeof(hub) || v->str[hl] != '\n')
                continue;
            memcpy(hub, v->str, hl);
            hub[hl] = '\0';
            user = v->str + hl + 1;
            if (hb_azure_disconnected(p->h->az, hub, id->str, user[0] ? user : NULL,
                                      "transport close") == 0)
                sent++;
            else
                lost++;
        }
        {
            const char *del[2] = {"DEL", p->key};
            char mark[300];
            const char *set[5] = {"SET", mark, p->h->node_id, "EX", PURGED_MARK_S};
            snprintf(mark, sizeof(mark), "%s%s", purged_prefix, p->node);
            purge_command(p, NULL, 2, del);
            purge_command(p, NULL, 5, set);
        }
        hb_log_info("cluster", "node %s left with %zu connection%s: %zu disconnected event%s sent "
                    "to app servers%s",
                    p->node, sent + lost, sent + lost == 1 ? "" : "s", sent, sent == 1 ? "" : "s",
                    lost ? " (the rest had no app server connected here)" : "");
    }
    purge_free(p);
}

static void on_purge_lock(void *ud, const redisReply *reply) {
    purge *p = ud;
    if (reply != NULL && reply->type == REDIS_REPLY_STATUS && !p->h->stopped) {
        const char *argv[2] = {"HGETALL", p->key};
        if (purge_command(p, on_purge_list, 2, argv) == 0)
            return;
    }
    purge_free(p); /* another node took it (nil), or Redis went away */
}

static void on_purge_alive(void *ud, const redisReply *reply) {
    purge *p = ud;
    if (reply != NULL && reply->type == REDIS_REPLY_INTEGER && reply->integer == 0 &&
        !p->h->stopped) {
        char lock[300];
        const char *argv[6] = {"SET", lock, p->h->node_id, "NX", "EX", PURGE_LOCK_S};
        size_t lens[6];
        snprintf(lock, sizeof(lock), HB_HUBS_PREFIX "purge:%s", p->node);
        for (int i = 0; i < 6; i++)
            lens[i] = strlen(argv[i]);
        if (hb_redis_command(p->h->redis, on_purge_lock, p, 6, argv, lens) == 0)
            return;
    }
    purge_free(p);
}

static void on_scan(void *ud, const redisReply *reply) {
    hb_cluster_hubs *h = ud;
    size_t plen = sizeof(dir_prefix) - 1;
    h->purging = 0;
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
        reply->element[1]->type != REDIS_REPLY_ARRAY || h->stopped)
        return;
    for (size_t i = 0; i < reply->element[1]->elements; i++) {
        const redisReply *k = reply->element[1]->element[i];
        char alive[300];
        purge *p;
        if (k->type != REDIS_REPLY_STRING || k->len <= plen || k->len > 200 ||
            strcmp(k->str + plen, h->node_id) == 0)
            continue;
        if ((p = calloc(1, sizeof(*p))) == NULL)
            return;
        p->h = h;
        p->node = strdup(k->str + plen);
        p->key = strdup(k->str);
        snprintf(alive, sizeof(alive), HB_CLUSTER_NODE_PREFIX "%s", k->str + plen);
        {
            const char *argv[2] = {"EXISTS", alive};
            if (p->node == NULL || p->key == NULL || purge_command(p, on_purge_alive, 2, argv) != 0)
                purge_free(p);
        }
    }
    /* Directories are few (one per node): one SCAN round covers them. */
}

static void on_purge_tick(hb_timer *t) {
    hb_cluster_hubs *h = (hb_cluster_hubs *)((char *)t - offsetof(hb_cluster_hubs, purge_timer));
    if (!h->stopped && !h->purging && hb_redis_up(h->redis)) {
        const char *argv[6] = {"SCAN", "0", "MATCH", HB_HUBS_PREFIX "conns:*", "COUNT", "1000"};
        size_t lens[6];
        for (int i = 0; i < 6; i++)
            lens[i] = strlen(argv[i]);
        if (hb_redis_command(h->redis, on_scan, h, 6, argv, lens) == 0)
            h->purging = 1;
    }
    if (!h->stopped)
        hb_loop_timer_start(h->loop, &h->purge_timer, PURGE_EVERY_MS, on_purge_tick);
}

/* --- lifecycle ------------------------------------------------------------------------------------ */

hb_cluster_hubs *hb_cluster_hubs_new(hb_loop *loop, hb_redis *redis, hb_cluster_nodes *nodes,
                                     hb_relays *relays, hb_azure *az, const char *node_id,
                                     const char *tag, const char *public_url) {
    hb_cluster_hubs *h = calloc(1, sizeof(*h));
    if (h == NULL)
        return NULL;
    h->loop = loop;
    h->redis = redis;
    h->nodes = nodes;
    h->relays = relays;
    if (public_url != NULL && (h->public_url = strdup(public_url)) == NULL) {
        free(h);
        return NULL;
    }
    h->az = az;
    h->hubs = hb_azure_hubs(az);
    snprintf(h->tag, sizeof(h->tag), "%s", tag);
    h->node_id = strdup(node_id);
    h->dir_key = malloc(sizeof(dir_prefix) + strlen(node_id));
    if (h->node_id == NULL || h->dir_key == NULL) {
        hb_cluster_hubs_free(h);
        return NULL;
    }
    sprintf(h->dir_key, "%s%s", dir_prefix, node_id);
    return h;
}

void hb_cluster_hubs_start(hb_cluster_hubs *h) {
    hb_azure_bus bus = {bus_rest, bus_tunnel, bus_route_tunnel, h};
    hb_hubs_watch w = {on_conn, on_group, on_user, h};
    char inbox[64];
    int n = snprintf(inbox, sizeof(inbox), HB_HUBS_PREFIX "to:%s", h->tag);
    if (h->started)
        return;
    h->started = 1;
    h->inbox = hb_redis_sub_add(h->redis, inbox, (size_t)n);
    hb_azure_set_bus(h->az, &bus);
    hb_hubs_set_watch(h->hubs, &w);
    hb_loop_timer_start(h->loop, &h->purge_timer, PURGE_EVERY_MS, on_purge_tick);
}

void hb_cluster_hubs_stop(hb_cluster_hubs *h) {
    if (h == NULL || h->stopped)
        return;
    h->stopped = 1;
    hb_timer_stop(&h->purge_timer);
    if (!h->started)
        return;
    hb_azure_set_bus(h->az, NULL);
    hb_hubs_set_watch(h->hubs, NULL);
    /* The calls still waiting are answered from what this node has; an
     * :invoke ends with its local part. */
    for (call *c = h->calls, *next; c != NULL; c = next) {
        next = c->next;
        if (c->kind == CALL_ALL) {
            c->expected = (long)c->finished;
            if (c->local_done)
                all_check(c);
            else
                call_done(c);
        } else {
            call_run_here(c);
        }
    }
    while (h->answers != NULL)
        answer_unlink(h->answers);
    {
        /* This node's connections close by themselves (and tell their app
         * servers): nobody has to purge them. */
        const char *argv[2] = {"DEL", h->dir_key};
        size_t lens[2] = {3, strlen(h->dir_key)};
        hb_redis_command(h->redis, NULL, NULL, 2, argv, lens);
    }
}

void hb_cluster_hubs_free(hb_cluster_hubs *h) {
    if (h == NULL)
        return;
    hb_cluster_hubs_stop(h);
    while (h->hub_subs != NULL) {
        hub_sub *s = h->hub_subs;
        h->hub_subs = s->next;
        free(s);
    }
    free(h->node_id);
    free(h->dir_key);
    free(h->public_url);
    free(h);
}
