/* The cluster's Redis client: two hiredis async contexts (commands,
 * subscriber) on the node's libuv loop, their reconnection with backoff,
 * the bound on bytes waiting for replies, and the logs and counters a
 * person reads when Redis goes away.
 *
 * hiredis calls back on its own schedule: a context is freed by hiredis
 * right after a failed connect callback or a disconnect callback, and
 * pending reply callbacks then run with a NULL reply. So a context pointer
 * is forgotten (rc->ac = NULL) before anything can free it, and every
 * callback checks that it still belongs to the live context. */
#include "cluster/redis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "core/log.h"
#include "core/metrics.h"
#include "hubbub/error.h"

enum { ROLE_CMD = 0, ROLE_SUB = 1 };

#define CONNECT_TIMEOUT_MS 5000   /* TCP connect plus AUTH/SELECT/PSUBSCRIBE */
#define WATCHDOG_MS 1000
#define SHUTDOWN_GRACE_MS 1000
#define STILL_DOWN_LOG_MS 30000   /* "still cannot reach" at most this often */
#define DROP_LOG_MS 10000         /* "dropping messages" at most this often */
#define CMD_OVERHEAD 40           /* RESP framing of a 3-argument command, and its reply */

static const char *const role_names[2] = {"commands", "subscriber"};

typedef struct rconn {
    hb_redis *r;
    int role;
    redisAsyncContext *ac;    /* NULL while down */
    int connected;            /* TCP connected */
    int up;                   /* ready: connected and, for the subscriber, subscribed */
    size_t confirmed;         /* subscriptions confirmed on this connection */
    size_t expected;          /* ... of those sent when it connected */
    uint64_t sub_sent;        /* (UN)SUBSCRIBEs sent on it, one channel each */
    uint64_t sub_answered;    /* ... and answered, in order */
    unsigned attempts;        /* failed attempts since it was last up */
    uint64_t down_since;      /* loop ms */
    uint64_t last_warn;
    int ever_up;
    char last_error[128];
    hb_timer timer;           /* the connect deadline, or the next attempt */
} rconn;

struct hb_redis_sub {
    hb_redis_sub *next, *prev;
    size_t len;
    char channel[];
};

struct hb_redis {
    hb_loop *loop;
    hb_redis_addr addr;
    char name[300];
    hb_redis_opts opts;
    hb_redis_cbs cbs;
    rconn conn[2];
    char **patterns;
    size_t npatterns;
    hb_slice *channels;       /* exact subscriptions, added at any time */
    size_t nchannels, capchannels;
    hb_redis_sub *subs;       /* ... and those that can be removed too */
    size_t nsubs;
    size_t pending_bytes;     /* sent on the command connection, not answered */
    size_t pending_cmds;
    uint64_t last_progress;   /* last reply, or the send that made pending_cmds 1 */
    uint64_t dropped_outage;  /* publishes dropped while the command connection was down */
    uint64_t last_drop_warn;
    int started, closing, both_up;
    hb_timer watchdog;
    hb_timer shutdown_timer;
    hb_deferred flush;        /* this turn's commands, written before the clients' */
    struct barrier *barriers; /* waiting for (UN)SUBSCRIBEs to be answered */
};

/* hb_redis_sub_barrier()'s waiter: cb once sub_answered reaches target. */
typedef struct barrier {
    struct barrier *next;
    uint64_t target;
    void (*cb)(void *ud);
    void *ud;
} barrier;

/* Runs the waiters whose (UN)SUBSCRIBEs are answered (all of them with
 * all set: the connection is gone, its successor subscribes anew). */
static void barriers_run(hb_redis *r, int all) {
    rconn *rc = &r->conn[ROLE_SUB];
    barrier **pp = &r->barriers;
    while (*pp != NULL) {
        barrier *b = *pp;
        if (all || rc->sub_answered >= b->target) {
            *pp = b->next;
            b->cb(b->ud);
            free(b);
            pp = &r->barriers; /* cb may have added or run others */
        } else {
            pp = &b->next;
        }
    }
}

static void conn_connect(rconn *rc);
static void on_flush(hb_deferred *d);
static void barriers_run(hb_redis *r, int all);

/* --- URL ------------------------------------------------------------------------ */

static int copy_part(char *dst, size_t cap, const char *s, size_t len) {
    if (len >= cap)
        return HB_EINVAL;
    memcpy(dst, s, len);
    dst[len] = '\0';
    return 0;
}

static int parse_int(const char *s, size_t len, long min, long max, int *out) {
    long v = 0;
    if (len == 0 || len > 9)
        return HB_EINVAL;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return HB_EINVAL;
        v = v * 10 + (s[i] - '0');
    }
    if (v < min || v > max)
        return HB_EINVAL;
    *out = (int)v;
    return 0;
}

int hb_redis_parse_url(const char *url, hb_redis_addr *out) {
    const char *p, *end, *at, *slash, *hostend;
    memset(out, 0, sizeof(*out));
    out->port = 6379;
    if (url == NULL || strncmp(url, "redis://", 8) != 0)
        return HB_EINVAL;
    p = url + 8;
    end = p + strlen(p);
    slash = memchr(p, '/', (size_t)(end - p));
    if (slash == NULL)
        slash = end;
    at = NULL;
    for (const char *q = p; q < slash; q++)
        if (*q == '@')
            at = q; /* the last one: a password may hold '@' */
    if (at != NULL) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (colon == NULL) {
            /* redis://PASSWORD@host, as some clients accept */
            if (copy_part(out->password, sizeof(out->password), p, (size_t)(at - p)) != 0)
                return HB_EINVAL;
        } else if (copy_part(out->user, sizeof(out->user), p, (size_t)(colon - p)) != 0 ||
                   copy_part(out->password, sizeof(out->password), colon + 1,
                             (size_t)(at - colon - 1)) != 0) {
            return HB_EINVAL;
        }
        p = at + 1;
    }
    if (p < slash && *p == '[') {
        const char *close = memchr(p, ']', (size_t)(slash - p));
        if (close == NULL || copy_part(out->host, sizeof(out->host), p + 1,
                                       (size_t)(close - p - 1)) != 0)
            return HB_EINVAL;
        hostend = close + 1;
        if (hostend < slash && *hostend != ':')
            return HB_EINVAL;
    } else {
        hostend = memchr(p, ':', (size_t)(slash - p));
        if (hostend == NULL)
            hostend = slash;
        if (copy_part(out->host, sizeof(out->host), p, (size_t)(hostend - p)) != 0)
            return HB_EINVAL;
    }
    if (out->host[0] == '\0')
        return HB_EINVAL;
    if (hostend < slash &&
        parse_int(hostend + 1, (size_t)(slash - hostend - 1), 1, 65535, &out->port) != 0)
        return HB_EINVAL;
    if (slash < end && slash + 1 < end &&
        parse_int(slash + 1, (size_t)(end - slash - 1), 0, 1000000, &out->db) != 0)
        return HB_EINVAL;
    return 0;
}

/* --- the libuv adapter -----------------------------------------------------------
 * hiredis's own adapters/libuv.h (0.14, Debian 12) ignores a poll callback
 * whose status is an error: libuv reports a refused connect or a reset
 * connection that way (POLLERR), so the connection would hang, never failed
 * and never retried. This one lets hiredis read and write, which makes it
 * find the error, as hiredis 1.x's adapter does. */

typedef struct uv_events {
    redisAsyncContext *ac;    /* NULL once hiredis cleaned up */
    uv_poll_t poll;
    int events;
} uv_events;

static void ev_on_poll(uv_poll_t *h, int status, int events) {
    uv_events *e = h->data;
    if (status < 0)
        events = e->events;
    if (e->ac != NULL && (events & UV_READABLE))
        redisAsyncHandleRead(e->ac);
    if (e->ac != NULL && (events & UV_WRITABLE))
        redisAsyncHandleWrite(e->ac);
    /* libuv stops a poll that reported an error: watch again if still in use. */
    if (status < 0 && e->ac != NULL && e->events != 0)
        uv_poll_start(&e->poll, e->events, ev_on_poll);
}

static void ev_set(uv_events *e, int events) {
    if (e == NULL || e->ac == NULL)
        return;
    e->events = events;
    if (events != 0)
        uv_poll_start(&e->poll, events, ev_on_poll);
    else
        uv_poll_stop(&e->poll);
}

static void ev_add_read(void *p) {
    uv_events *e = p;
    if (e != NULL)
        ev_set(e, e->events | UV_READABLE);
}

static void ev_del_read(void *p) {
    uv_events *e = p;
    if (e != NULL)
        ev_set(e, e->events & ~UV_READABLE);
}

static void ev_add_write(void *p) {
    uv_events *e = p;
    if (e != NULL)
        ev_set(e, e->events | UV_WRITABLE);
}

static void ev_del_write(void *p) {
    uv_events *e = p;
    if (e != NULL)
        ev_set(e, e->events & ~UV_WRITABLE);
}

static void ev_on_close(uv_handle_t *h) {
    free(h->data);
}

static void ev_cleanup(void *p) {
    uv_events *e = p;
    if (e == NULL || e->ac == NULL)
        return;
    e->ac->ev.data = NULL; /* hiredis 0.14 may call cleanup twice */
    e->ac = NULL;
    uv_close((uv_handle_t *)&e->poll, ev_on_close);
}

static int ev_attach(redisAsyncContext *ac, uv_loop_t *loop) {
    uv_events *e;
    if (ac->ev.data != NULL)
        return HB_EINVAL;
    e = calloc(1, sizeof(*e));
    if (e == NULL)
        return HB_ENOMEM;
    if (uv_poll_init(loop, &e->poll, ac->c.fd) != 0) {
        free(e);
        return HB_EINVAL;
    }
    e->ac = ac;
    e->poll.data = e;
    ac->ev.data = e;
    ac->ev.addRead = ev_add_read;
    ac->ev.delRead = ev_del_read;
    ac->ev.addWrite = ev_add_write;
    ac->ev.delWrite = ev_del_write;
    ac->ev.cleanup = ev_cleanup;
    return 0;
}

/* --- state ------------------------------------------------------------------------- */

static uint64_t now(const hb_redis *r) {
    return hb_loop_now(r->loop);
}

static rconn *rconn_of_timer(hb_timer *t) {
    return (rconn *)((char *)t - offsetof(rconn, timer));
}

static void set_state(hb_redis *r) {
    int both = r->conn[ROLE_CMD].up && r->conn[ROLE_SUB].up;
    hb_metrics_g.redis_connected[ROLE_CMD] = r->conn[ROLE_CMD].up;
    hb_metrics_g.redis_connected[ROLE_SUB] = r->conn[ROLE_SUB].up;
    if (both == r->both_up)
        return;
    r->both_up = both;
    if (r->cbs.state != NULL && !r->closing)
        r->cbs.state(r->cbs.ud, both);
}

/* Forgets rc's context and frees it (running its pending callbacks with
 * NULL). Not for a context inside one of its own callbacks. */
static void conn_drop(rconn *rc) {
    redisAsyncContext *ac = rc->ac;
    rc->ac = NULL;
    rc->connected = 0;
    rc->up = 0;
    hb_timer_stop(&rc->timer);
    if (ac != NULL)
        redisAsyncFree(ac);
    if (rc->role == ROLE_SUB)
        barriers_run(rc->r, 1);
}

static void on_retry(hb_timer *t) {
    conn_connect(rconn_of_timer(t));
}

static unsigned backoff(const hb_redis *r, unsigned attempts) {
    uint64_t d = r->opts.backoff_min_ms;
    for (unsigned i = 1; i < attempts && d < r->opts.backoff_max_ms; i++)
        d *= 2;
    if (d > r->opts.backoff_max_ms)
        d = r->opts.backoff_max_ms;
    /* +-20% so that many nodes do not come back in lockstep */
    d = d * (80 + (uint64_t)(rand() % 41)) / 100;
    return d > 0 ? (unsigned)d : 1;
}

static void schedule_retry(rconn *rc) {
    hb_redis *r = rc->r;
    if (r->closing)
        return;
    hb_loop_timer_start(r->loop, &rc->timer, backoff(r, rc->attempts), on_retry);
}

/* An attempt failed before the connection was up. */
static void conn_failed(rconn *rc, const char *why) {
    hb_redis *r = rc->r;
    uint64_t t = now(r);
    rc->connected = 0;
    rc->up = 0;
    if (rc->role == ROLE_SUB)
        barriers_run(r, 1);
    hb_metrics_g.redis_errors++;
    snprintf(rc->last_error, sizeof(rc->last_error), "%s", why ? why : "unknown error");
    if (rc->attempts++ == 0) {
        rc->last_warn = t;
        if (rc->ever_up)
            hb_log_warn("redis", "cannot reconnect to %s (%s connection): %s; retrying",
                        r->name, role_names[rc->role], rc->last_error);
        else
            hb_log_warn("redis", "cannot connect to %s (%s connection): %s; retrying (the node "
                        "serves its own clients meanwhile)",
                        r->name, role_names[rc->role], rc->last_error);
    } else if (t - rc->last_warn >= STILL_DOWN_LOG_MS) {
        rc->last_warn = t;
        hb_log_warn("redis", "still cannot reach %s (%s connection) after %u attempts over %.0f s: "
                    "%s",
                    r->name, role_names[rc->role], rc->attempts,
                    (double)(t - rc->down_since) / 1000.0, rc->last_error);
    } else {
        hb_log_debug("redis", "attempt %u to reach %s (%s connection) failed: %s", rc->attempts,
                     r->name, role_names[rc->role], rc->last_error);
    }
    set_state(r);
    schedule_retry(rc);
}

static void conn_is_up(rconn *rc) {
    hb_redis *r = rc->r;
    hb_timer_stop(&rc->timer);
    rc->up = 1;
    if (rc->ever_up)
        hb_log_info("redis", "connected to %s again (%s connection) after %.1f s%s", r->name,
                    role_names[rc->role], (double)(now(r) - rc->down_since) / 1000.0,
                    rc->role == ROLE_SUB ? "; subscriptions renewed" : "");
    else if (rc->attempts > 0)
        hb_log_info("redis", "connected to %s (%s connection) after %.1f s and %u failed "
                    "attempts", r->name, role_names[rc->role],
                    (double)(now(r) - rc->down_since) / 1000.0, rc->attempts);
    else
        hb_log_info("redis", "connected to %s (%s connection)", r->name, role_names[rc->role]);
    if (rc->role == ROLE_CMD && r->dropped_outage > 0) {
        hb_log_warn("redis", "%llu messages for other nodes were dropped while Redis was away",
                    (unsigned long long)r->dropped_outage);
        r->dropped_outage = 0;
    }
    rc->attempts = 0;
    rc->ever_up = 1;
    set_state(r);
}

/* A connection that was up (or connecting) is gone. */
static void conn_lost(rconn *rc, const char *why) {
    hb_redis *r = rc->r;
    int was_up = rc->up;
    rc->connected = 0;
    rc->up = 0;
    if (rc->role == ROLE_SUB)
        barriers_run(r, 1);
    rc->down_since = now(r);
    rc->attempts = 0;
    if (r->closing) {
        set_state(r);
        return;
    }
    hb_metrics_g.redis_errors++;
    snprintf(rc->last_error, sizeof(rc->last_error), "%s", why ? why : "unknown error");
    hb_log_warn("redis", "lost the %s connection to %s: %s; reconnecting%s", role_names[rc->role],
                r->name, rc->last_error,
                was_up && rc->role == ROLE_CMD ? " (messages for other nodes are dropped "
                                                 "until then)" : "");
    set_state(r);
    /* Straight away (plus jitter) the first time: Redis may just have restarted. */
    rc->attempts = 1;
    schedule_retry(rc);
    rc->attempts = 0;
}

/* --- hiredis callbacks --------------------------------------------------------------- */

static void on_connect_timeout(hb_timer *t) {
    rconn *rc = rconn_of_timer(t);
    conn_drop(rc);
    conn_failed(rc, "no answer in time (connect timeout)");
}

static void on_connect(const redisAsyncContext *ac, int status) {
    rconn *rc = ac->data;
    if (rc == NULL || rc->ac != ac)
        return;
    if (status != REDIS_OK) {
        /* hiredis frees the context when this returns. */
        char why[128];
        snprintf(why, sizeof(why), "%s", ac->errstr[0] ? ac->errstr : "connection failed");
        rc->ac = NULL;
        hb_timer_stop(&rc->timer);
        conn_failed(rc, why);
        return;
    }
    rc->connected = 1;
    redisEnableKeepAlive((redisContext *)&ac->c);
    /* Up once Redis answers: the command connection's PING, the
     * subscriber's subscriptions. A hung Redis still accepts connections. */
}

static void on_disconnect(const redisAsyncContext *ac, int status) {
    rconn *rc = ac->data;
    char why[128];
    if (rc == NULL || rc->ac != ac)
        return; /* a context we dropped ourselves */
    snprintf(why, sizeof(why), "%s",
             status == REDIS_OK ? "closed" : ac->errstr[0] ? ac->errstr : "connection lost");
    rc->ac = NULL; /* hiredis frees it when this returns */
    hb_timer_stop(&rc->timer);
    conn_lost(rc, why);
}

static void count_error_reply(hb_redis *r, const redisReply *reply, const char *what) {
    if (reply == NULL || reply->type != REDIS_REPLY_ERROR)
        return;
    hb_metrics_g.redis_errors++;
    hb_log_warn("redis", "%s answered by %s with an error: %.*s", what, r->name,
                (int)(reply->len > 200 ? 200 : reply->len), reply->str ? reply->str : "");
}

/* AUTH and SELECT, sent first on each new connection. */
static void on_setup_reply(redisAsyncContext *ac, void *reply, void *privdata) {
    rconn *rc = ac->data;
    if (rc != NULL && reply != NULL)
        count_error_reply(rc->r, reply, (const char *)privdata);
}

/* Every reply on the subscriber: confirmations of PSUBSCRIBE and
 * SUBSCRIBE, and the messages of both kinds. */
static void on_sub_reply(redisAsyncContext *ac, void *reply_, void *privdata) {
    rconn *rc = ac->data;
    const redisReply *reply = reply_;
    const char *kind;
    hb_redis *r;
    (void)privdata;
    if (rc == NULL || rc->ac != ac || reply == NULL)
        return;
    r = rc->r;
    if (reply->type == REDIS_REPLY_ERROR) {
        count_error_reply(r, reply, "SUBSCRIBE");
        return;
    }
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 3 ||
        reply->element[0]->type != REDIS_REPLY_STRING)
        return;
    kind = reply->element[0]->str;
    if (strcasecmp(kind, "pmessage") == 0 && reply->elements == 4) {
        const redisReply *ch = reply->element[2], *msg = reply->element[3];
        if (ch->type == REDIS_REPLY_STRING && msg->type == REDIS_REPLY_STRING &&
            r->cbs.message != NULL && !r->closing)
            r->cbs.message(r->cbs.ud, ch->str, ch->len, (const uint8_t *)msg->str, msg->len);
    } else if (strcasecmp(kind, "message") == 0) {
        const redisReply *ch = reply->element[1], *msg = reply->element[2];
        if (ch->type == REDIS_REPLY_STRING && msg->type == REDIS_REPLY_STRING &&
            r->cbs.message != NULL && !r->closing)
            r->cbs.message(r->cbs.ud, ch->str, ch->len, (const uint8_t *)msg->str, msg->len);
    } else if (strcasecmp(kind, "psubscribe") == 0 || strcasecmp(kind, "subscribe") == 0) {
        rc->sub_answered++;
        if (++rc->confirmed >= rc->expected && !rc->up)
            conn_is_up(rc);
        barriers_run(r, 0);
    } else if (strcasecmp(kind, "unsubscribe") == 0) {
        rc->sub_answered++;
        barriers_run(r, 0);
    }
}

/* SUBSCRIBE channel on the subscriber connection in progress. */
static int send_subscribe(rconn *rc, const hb_slice *ch) {
    const char *argv[2] = {"SUBSCRIBE", (const char *)ch->base};
    size_t lens[2] = {9, ch->len};
    if (redisAsyncCommandArgv(rc->ac, on_sub_reply, NULL, 2, argv, lens) != REDIS_OK)
        return HB_ENOMEM;
    rc->sub_sent++;
    return 0;
}

/* The command connection's first PING. An error (NOAUTH...) means this
 * connection cannot be used: drop it and retry later. */
static void on_ping_reply(redisAsyncContext *ac, void *reply_, void *privdata) {
    rconn *rc = ac->data;
    const redisReply *reply = reply_;
    (void)privdata;
    if (rc == NULL || rc->ac != ac || reply == NULL)
        return;
    if (reply->type == REDIS_REPLY_ERROR) {
        char why[160];
        snprintf(why, sizeof(why), "Redis answered %.*s", (int)(reply->len > 120 ? 120 : reply->len),
                 reply->str ? reply->str : "an error");
        conn_drop(rc); /* inside its callback: hiredis frees it when this returns */
        conn_failed(rc, why);
        return;
    }
    rc->r->last_progress = now(rc->r);
    conn_is_up(rc);
}

/* A reply on the command connection: privdata is the command's size. */
static void settle(hb_redis *r, size_t bytes, int answered) {
    r->pending_bytes -= bytes < r->pending_bytes ? bytes : r->pending_bytes;
    if (r->pending_cmds > 0)
        r->pending_cmds--;
    if (answered)
        r->last_progress = now(r);
}

static void on_publish_reply(redisAsyncContext *ac, void *reply, void *privdata) {
    rconn *rc = ac->data;
    hb_redis *r;
    if (rc == NULL)
        return;
    r = rc->r;
    settle(r, (size_t)(uintptr_t)privdata, reply != NULL);
    count_error_reply(r, reply, "PUBLISH");
}

typedef struct cmd_req {
    size_t bytes;
    hb_redis_reply_cb cb;
    void *ud;
    char what[24];
} cmd_req;

static void on_command_reply(redisAsyncContext *ac, void *reply, void *privdata) {
    rconn *rc = ac->data;
    cmd_req *q = privdata;
    if (rc != NULL) {
        settle(rc->r, q->bytes, reply != NULL);
        count_error_reply(rc->r, reply, q->what);
    }
    if (q->cb != NULL)
        q->cb(q->ud, reply);
    free(q);
}

/* --- connecting ------------------------------------------------------------------ */

static void conn_connect(rconn *rc) {
    hb_redis *r = rc->r;
    redisAsyncContext *ac;
    if (r->closing || rc->ac != NULL)
        return;
    if (rc->attempts == 0 && !rc->ever_up)
        rc->down_since = now(r);
    /* hiredis resolves the name synchronously: an IP or /etc/hosts name is
     * immediate, a DNS name blocks the loop for the lookup. */
    ac = redisAsyncConnect(r->addr.host, r->addr.port);
    if (ac == NULL) {
        conn_failed(rc, "out of memory");
        return;
    }
    if (ac->err) {
        char why[128];
        snprintf(why, sizeof(why), "%s", ac->errstr);
        redisAsyncFree(ac);
        conn_failed(rc, why);
        return;
    }
    if (ev_attach(ac, r->loop->uv) != 0) {
        redisAsyncFree(ac);
        conn_failed(rc, "cannot watch the socket");
        return;
    }
    ac->data = rc;
    rc->ac = ac;
    rc->confirmed = 0;
    rc->sub_sent = rc->sub_answered = 0;
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    /* Pipelined: hiredis sends them once connected. */
    if (r->addr.password[0] != '\0') {
        if (r->addr.user[0] != '\0')
            redisAsyncCommand(ac, on_setup_reply, "AUTH", "AUTH %s %s", r->addr.user,
                              r->addr.password);
        else
            redisAsyncCommand(ac, on_setup_reply, "AUTH", "AUTH %s", r->addr.password);
    }
    if (rc->role == ROLE_CMD && r->addr.db != 0)
        redisAsyncCommand(ac, on_setup_reply, "SELECT", "SELECT %d", r->addr.db);
    if (rc->role == ROLE_CMD)
        redisAsyncCommand(ac, on_ping_reply, NULL, "PING");
    if (rc->role == ROLE_SUB) {
        /* Up once every one of these is confirmed; channels added later
         * are sent on their own (hb_redis_subscribe). */
        rc->expected = r->npatterns + r->nchannels + r->nsubs;
        for (size_t i = 0; i < r->nchannels; i++)
            send_subscribe(rc, &r->channels[i]);
        for (hb_redis_sub *sub = r->subs; sub != NULL; sub = sub->next) {
            hb_slice ch = {(const uint8_t *)sub->channel, sub->len};
            send_subscribe(rc, &ch);
        }
        for (size_t i = 0; i < r->npatterns; i++)
            if (redisAsyncCommand(ac, on_sub_reply, NULL, "PSUBSCRIBE %s", r->patterns[i]) ==
                REDIS_OK)
                rc->sub_sent++;
    }
    hb_loop_timer_start(r->loop, &rc->timer, CONNECT_TIMEOUT_MS, on_connect_timeout);
}

/* Drops both connections when the command connection stopped answering:
 * Redis (or the path to it) is stuck, and the subscriber with it. */
static void on_watchdog(hb_timer *t) {
    hb_redis *r = (hb_redis *)((char *)t - offsetof(hb_redis, watchdog));
    rconn *cmd = &r->conn[ROLE_CMD];
    if (r->closing)
        return;
    if (cmd->up && r->pending_cmds > 0 && now(r) - r->last_progress > r->opts.reply_timeout_ms) {
        char why[96];
        snprintf(why, sizeof(why), "no reply in %.0f s", r->opts.reply_timeout_ms / 1000.0);
        for (int i = 0; i < 2; i++) {
            if (r->conn[i].ac == NULL)
                continue;
            conn_drop(&r->conn[i]);
            conn_lost(&r->conn[i], why);
        }
    }
    hb_loop_timer_start(r->loop, &r->watchdog, WATCHDOG_MS, on_watchdog);
}

/* --- public -------------------------------------------------------------------------- */

hb_redis *hb_redis_new(hb_loop *loop, const hb_redis_addr *addr, const hb_redis_opts *opts,
                       const hb_redis_cbs *cbs) {
    hb_redis *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return NULL;
    r->loop = loop;
    r->addr = *addr;
    if (strchr(addr->host, ':') != NULL)
        snprintf(r->name, sizeof(r->name), "[%s]:%d", addr->host, addr->port);
    else
        snprintf(r->name, sizeof(r->name), "%s:%d", addr->host, addr->port);
    if (opts != NULL)
        r->opts = *opts;
    if (r->opts.max_pending == 0)
        r->opts.max_pending = 32u << 20;
    if (r->opts.reply_timeout_ms == 0)
        r->opts.reply_timeout_ms = 10000;
    if (r->opts.backoff_min_ms == 0)
        r->opts.backoff_min_ms = 100;
    if (r->opts.backoff_max_ms == 0)
        r->opts.backoff_max_ms = 5000;
    if (r->opts.backoff_max_ms < r->opts.backoff_min_ms)
        r->opts.backoff_max_ms = r->opts.backoff_min_ms;
    if (cbs != NULL)
        r->cbs = *cbs;
    for (int i = 0; i < 2; i++) {
        r->conn[i].r = r;
        r->conn[i].role = i;
    }
    return r;
}

int hb_redis_psubscribe(hb_redis *r, const char *pattern) {
    char **p = realloc(r->patterns, (r->npatterns + 1) * sizeof(*p));
    if (p == NULL)
        return HB_ENOMEM;
    r->patterns = p;
    if ((p[r->npatterns] = strdup(pattern)) == NULL)
        return HB_ENOMEM;
    r->npatterns++;
    return 0;
}

int hb_redis_subscribe(hb_redis *r, const char *channel, size_t len) {
    rconn *rc = &r->conn[ROLE_SUB];
    char *copy;
    for (size_t i = 0; i < r->nchannels; i++)
        if (r->channels[i].len == len && memcmp(r->channels[i].base, channel, len) == 0)
            return 0;
    if (r->nchannels == r->capchannels) {
        size_t cap = r->capchannels ? r->capchannels * 2 : 8;
        hb_slice *v = realloc(r->channels, cap * sizeof(*v));
        if (v == NULL)
            return HB_ENOMEM;
        r->channels = v;
        r->capchannels = cap;
    }
    if ((copy = malloc(len + 1)) == NULL)
        return HB_ENOMEM;
    memcpy(copy, channel, len);
    copy[len] = '\0';
    r->channels[r->nchannels].base = (const uint8_t *)copy;
    r->channels[r->nchannels].len = len;
    r->nchannels++;
    /* A connection in progress sent the list it had: send this one now. */
    if (rc->ac != NULL && !r->closing)
        send_subscribe(rc, &r->channels[r->nchannels - 1]);
    return 0;
}

hb_redis_sub *hb_redis_sub_add(hb_redis *r, const char *channel, size_t len) {
    rconn *rc = &r->conn[ROLE_SUB];
    hb_redis_sub *sub = malloc(sizeof(*sub) + len + 1);
    if (sub == NULL)
        return NULL;
    sub->len = len;
    memcpy(sub->channel, channel, len);
    sub->channel[len] = '\0';
    sub->prev = NULL;
    sub->next = r->subs;
    if (r->subs != NULL)
        r->subs->prev = sub;
    r->subs = sub;
    r->nsubs++;
    if (rc->ac != NULL && !r->closing) {
        hb_slice ch = {(const uint8_t *)sub->channel, len};
        send_subscribe(rc, &ch);
        hb_loop_defer(r->loop, &r->flush, on_flush);
    }
    return sub;
}

void hb_redis_sub_remove(hb_redis *r, hb_redis_sub *sub) {
    rconn *rc = &r->conn[ROLE_SUB];
    if (sub == NULL)
        return;
    /* A connection still being set up has sent the list it had, this
     * channel included: UNSUBSCRIBE goes after it in the same stream. The
     * channel may be added again before Redis answers: hiredis (0.14.1 and
     * later) counts the SUBSCRIBEs still pending per channel and keeps the
     * new one's callback when that UNSUBSCRIBE is answered
     * (tests/unit/cluster/redis_test.c checks it against Redis). */
    if (rc->ac != NULL && !r->closing) {
        const char *argv[2] = {"UNSUBSCRIBE", sub->channel};
        size_t lens[2] = {11, sub->len};
        if (redisAsyncCommandArgv(rc->ac, on_sub_reply, NULL, 2, argv, lens) == REDIS_OK)
            rc->sub_sent++;
        hb_loop_defer(r->loop, &r->flush, on_flush);
    }
    if (sub->prev != NULL)
        sub->prev->next = sub->next;
    else
        r->subs = sub->next;
    if (sub->next != NULL)
        sub->next->prev = sub->prev;
    r->nsubs--;
    free(sub);
}

void hb_redis_start(hb_redis *r) {
    if (r->started || r->closing)
        return;
    r->started = 1;
    hb_metrics_g.cluster_on = 1;
    conn_connect(&r->conn[ROLE_CMD]);
    if (r->npatterns > 0 || r->nchannels > 0 || r->nsubs > 0)
        conn_connect(&r->conn[ROLE_SUB]);
    else
        r->conn[ROLE_SUB].up = 1; /* nothing to subscribe to */
    hb_loop_timer_start(r->loop, &r->watchdog, WATCHDOG_MS, on_watchdog);
}

int hb_redis_up(const hb_redis *r) {
    return r->conn[ROLE_CMD].up;
}

const char *hb_redis_name(const hb_redis *r) {
    return r->name;
}

/* Whether size more bytes may be sent now; counts and logs a drop if not. */
static int may_send(hb_redis *r, size_t size, const char *what) {
    const char *why = NULL;
    int away = r->closing || !r->conn[ROLE_CMD].up || r->conn[ROLE_CMD].ac == NULL;
    if (away)
        why = "Redis is away";
    else if (r->pending_bytes + size > r->opts.max_pending)
        why = "too many bytes already wait for Redis";
    if (why == NULL)
        return 1;
    hb_metrics_g.redis_dropped++;
    if (away)
        r->dropped_outage++;
    if (now(r) - r->last_drop_warn >= DROP_LOG_MS || r->last_drop_warn == 0) {
        r->last_drop_warn = now(r);
        hb_log_warn("redis", "dropping %s for other nodes: %s (counted in "
                    "hubbub_redis_dropped_total)", what, why);
    }
    return 0;
}

/* Writes what this turn queued, at the end of the turn but before the
 * loop flushes the clients' sockets: a broadcast's PUBLISH then leaves
 * before this node's own fan-out is written (tens of thousands of writes),
 * so the other nodes deliver at the same time rather than after it; and a
 * turn's commands still go out in one write per connection. */
static void on_flush(hb_deferred *d) {
    hb_redis *r = (hb_redis *)((char *)d - offsetof(hb_redis, flush));
    /* The subscriber first: a SUBSCRIBE a node's answer depends on goes
     * out before that answer. */
    for (int i = 1; i >= 0; i--) {
        rconn *rc = &r->conn[i];
        if (rc->ac != NULL && rc->connected && !r->closing)
            redisAsyncHandleWrite(rc->ac);
    }
}

int hb_redis_sub_barrier(hb_redis *r, void (*cb)(void *ud), void *ud) {
    rconn *rc = &r->conn[ROLE_SUB];
    barrier *b;
    if (rc->ac == NULL || rc->sub_answered >= rc->sub_sent || r->closing) {
        cb(ud);
        return 0;
    }
    if ((b = malloc(sizeof(*b))) == NULL)
        return HB_ENOMEM;
    b->target = rc->sub_sent;
    b->cb = cb;
    b->ud = ud;
    b->next = r->barriers;
    r->barriers = b;
    return 0;
}

static void sent(hb_redis *r, size_t size) {
    if (r->pending_cmds++ == 0)
        r->last_progress = now(r);
    r->pending_bytes += size;
    hb_loop_defer(r->loop, &r->flush, on_flush);
}

int hb_redis_publish(hb_redis *r, const char *channel, size_t chlen, const void *data,
                     size_t len) {
    const char *argv[3] = {"PUBLISH", channel, data};
    size_t lens[3] = {7, chlen, len};
    size_t size = chlen + len + CMD_OVERHEAD;
    if (!may_send(r, size, "a message"))
        return HB_EAGAIN;
    if (redisAsyncCommandArgv(r->conn[ROLE_CMD].ac, on_publish_reply, (void *)(uintptr_t)size, 3,
                              argv, lens) != REDIS_OK) {
        hb_metrics_g.redis_dropped++;
        return HB_EAGAIN;
    }
    sent(r, size);
    return 0;
}

int hb_redis_command(hb_redis *r, hb_redis_reply_cb cb, void *ud, int argc, const char **argv,
                     const size_t *lens) {
    size_t size = CMD_OVERHEAD;
    cmd_req *q;
    for (int i = 0; i < argc; i++)
        size += lens[i] + 16;
    if (r->closing || !r->conn[ROLE_CMD].up || r->conn[ROLE_CMD].ac == NULL ||
        r->pending_bytes + size > r->opts.max_pending)
        return HB_EAGAIN;
    if ((q = calloc(1, sizeof(*q))) == NULL)
        return HB_ENOMEM;
    q->bytes = size;
    q->cb = cb;
    q->ud = ud;
    snprintf(q->what, sizeof(q->what), "%.*s", (int)(lens[0] < 20 ? lens[0] : 20), argv[0]);
    if (redisAsyncCommandArgv(r->conn[ROLE_CMD].ac, on_command_reply, q, argc, argv, lens) !=
        REDIS_OK) {
        free(q);
        return HB_EAGAIN;
    }
    sent(r, size);
    return 0;
}

static void on_shutdown_deadline(hb_timer *t) {
    hb_redis *r = (hb_redis *)((char *)t - offsetof(hb_redis, shutdown_timer));
    for (int i = 0; i < 2; i++)
        conn_drop(&r->conn[i]);
    set_state(r);
}

void hb_redis_shutdown(hb_redis *r) {
    if (r == NULL || r->closing)
        return;
    r->closing = 1;
    hb_timer_stop(&r->watchdog);
    for (int i = 0; i < 2; i++) {
        rconn *rc = &r->conn[i];
        hb_timer_stop(&rc->timer);
        if (rc->ac != NULL && rc->connected && i == ROLE_CMD)
            redisAsyncDisconnect(rc->ac); /* after the replies still due */
        else
            conn_drop(rc);
    }
    set_state(r);
    if (r->conn[ROLE_CMD].ac != NULL)
        hb_loop_timer_start(r->loop, &r->shutdown_timer, SHUTDOWN_GRACE_MS, on_shutdown_deadline);
}

void hb_redis_free(hb_redis *r) {
    if (r == NULL)
        return;
    r->closing = 1;
    hb_timer_stop(&r->watchdog);
    hb_timer_stop(&r->shutdown_timer);
    hb_loop_undefer(r->loop, &r->flush);
    for (int i = 0; i < 2; i++)
        conn_drop(&r->conn[i]);
    hb_metrics_g.redis_connected[0] = hb_metrics_g.redis_connected[1] = 0;
    for (size_t i = 0; i < r->npatterns; i++)
        free(r->patterns[i]);
    free(r->patterns);
    for (size_t i = 0; i < r->nchannels; i++)
        free((void *)r->channels[i].base);
    free(r->channels);
    while (r->subs != NULL) {
        hb_redis_sub *next = r->subs->next;
        free(r->subs);
        r->subs = next;
    }
    free(r);
}
