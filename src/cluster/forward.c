/* The forwarder of long-polling requests (cluster/forward.h): the route
 * lookups in Redis and their cache, and a small HTTP/1.1 client on libuv
 * (connect, one request with "Connection: close", the answer read with
 * llhttp) whose answer is copied back to the client's held request.
 *
 * A forward lives until the client has its answer (or is gone) and every
 * asynchronous operation it started has called back: the Redis GET, the
 * DNS lookup, the TCP handle's close. Each holds one reference. */
#include "cluster/forward.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <llhttp.h>
#include <uv.h>

#include "cluster/node.h"
#include "cluster/relay.h"
#include "core/log.h"
#include "core/metrics.h"
#include "hubbub/error.h"
#include "net/dial.h"

#define CACHE_MAX 256
#define MAX_ANSWER (16u << 20) /* an owner's answer is at most this big */
#define ERR_LOG_MS 10000

typedef struct route {
    char tag[HB_CLUSTER_TAG_LEN + 1];
    char addr[300];
    uint64_t expires;
} route;

typedef struct fwd fwd;

struct hb_forward {
    hb_loop *loop;
    hb_redis *redis;
    hb_relays *relays;        /* for WebSocket upgrades */
    hb_forward_opts opts;
    char self[HB_CLUSTER_TAG_LEN + 1];
    route cache[CACHE_MAX];
    size_t ncache;
    fwd *live;                /* forwards whose client waits */
    size_t nlive;
    int stopped;
    uint64_t last_err_log;
};

struct fwd {
    fwd *next, *prev;
    hb_forward *f;            /* NULL once answered (or the forwarder left) */
    hb_http_conn *hc;         /* the client's held request; NULL once answered or gone */
    unsigned refs;            /* the client, a GET, the dial, the TCP handle */
    uint8_t upgrade;          /* a WebSocket upgrade: relayed once the owner is known */
    char tag[HB_CLUSTER_TAG_LEN + 1];
    char addr[300];
    char *out;                /* the request to send: head and body */
    size_t out_len;
    hb_timer timer;
    hb_dial dial;
    uv_write_t write;
    uv_tcp_t tcp;
    uint8_t tcp_open, closing, complete;
    llhttp_t parser;
    char field[32];           /* the header being read, lower case, truncated */
    size_t field_len;
    int in_ctype;
    char ctype[128];
    char *body;
    size_t body_len, body_cap;
    int too_big;
};

static void fwd_unref(fwd *w);
static void on_tcp_closed(uv_handle_t *h);

/* --- answering the client --------------------------------------------------------- */

/* Counts a failed forward and says why, at most once every ERR_LOG_MS as a
 * warning (the rest at debug level). A WebSocket upgrade whose owner is
 * not found counts as a relay that failed. */
static void log_error(hb_forward *f, int upgrade, const char *why) {
    uint64_t now;
    if (upgrade)
        hb_metrics_g.cluster_relay_errors++;
    else
        hb_metrics_g.cluster_forward_errors++;
    if (f == NULL)
        return;
    now = hb_loop_now(f->loop);
    if (f->last_err_log == 0 || now - f->last_err_log >= ERR_LOG_MS) {
        f->last_err_log = now;
        hb_log_warn("cluster", "cannot forward a %s to the node holding its session: %s "
                    "(counted in hubbub_cluster_%s_errors_total)",
                    upgrade ? "WebSocket upgrade" : "polling request", why,
                    upgrade ? "relay" : "forward");
    } else {
        hb_log_debug("cluster", "cannot forward a %s: %s",
                     upgrade ? "WebSocket upgrade" : "polling request", why);
    }
}

/* Ends the client's side: its answer (status 0: none, it is gone) and the
 * forward's place among the live ones. The connection to the owner, if
 * any, is closed. */
static void finish(fwd *w, int status, const char *ctype, const void *body, size_t len) {
    hb_forward *f = w->f;
    hb_http_conn *hc = w->hc;
    w->hc = NULL;
    hb_timer_stop(&w->timer);
    if (f != NULL) {
        if (w->prev != NULL)
            w->prev->next = w->next;
        else
            f->live = w->next;
        if (w->next != NULL)
            w->next->prev = w->prev;
        f->nlive--;
        hb_metrics_g.cluster_forwards_in_flight--;
        w->f = NULL;
    }
    if (hc != NULL && status != 0) {
        if (w->upgrade)
            hc->keep_alive = 0;
        hb_http_respond(hc, status, ctype, NULL, body, len);
    }
    if (w->tcp_open && !w->closing) {
        w->closing = 1;
        uv_close((uv_handle_t *)&w->tcp, on_tcp_closed);
    }
    if (hc != NULL)
        fwd_unref(w); /* the client's reference */
}

static void answer_json(fwd *w, int status, int code, const char *message) {
    char body[256];
    int n = snprintf(body, sizeof(body), "{\"code\":%d,\"message\":\"%s\"}", code, message);
    finish(w, status, "application/json", body, (size_t)n);
}

/* The owner is gone or unknown: what the owner itself would say of a sid
 * it does not have, so that the client starts a new session. */
static void answer_unknown(fwd *w, const char *why) {
    static const char text[] = "Session ID unknown";
    log_error(w->f, w->upgrade, why);
    if (w->upgrade) /* engine.io aborts an upgrade with a plain-text 400 */
        finish(w, 400, "text/html", text, sizeof(text) - 1);
    else
        answer_json(w, 400, 1, text);
}

/* --- reading the owner's answer ---------------------------------------------------- */

static fwd *fwd_of_parser(llhttp_t *p) {
    return (fwd *)((char *)p - offsetof(fwd, parser));
}

static int on_header_field(llhttp_t *p, const char *at, size_t n) {
    fwd *w = fwd_of_parser(p);
    for (size_t i = 0; i < n && w->field_len < sizeof(w->field) - 1; i++) {
        char c = at[i];
        w->field[w->field_len++] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    w->field[w->field_len] = '\0';
    return 0;
}

static int on_header_field_complete(llhttp_t *p) {
    fwd *w = fwd_of_parser(p);
    w->in_ctype = strcmp(w->field, "content-type") == 0;
    if (w->in_ctype)
        w->ctype[0] = '\0';
    w->field_len = 0;
    return 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t n) {
    fwd *w = fwd_of_parser(p);
    size_t have = strlen(w->ctype);
    if (w->in_ctype && have + n < sizeof(w->ctype)) {
        memcpy(w->ctype + have, at, n);
        w->ctype[have + n] = '\0';
    }
    return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t n) {
    fwd *w = fwd_of_parser(p);
    if (w->body_len + n > MAX_ANSWER) {
        w->too_big = 1;
        return -1;
    }
    if (w->body_len + n > w->body_cap) {
        size_t cap = (w->body_len + n) * 2;
        char *b = realloc(w->body, cap);
        if (b == NULL) {
            w->too_big = 1;
            return -1;
        }
        w->body = b;
        w->body_cap = cap;
    }
    memcpy(w->body + w->body_len, at, n);
    w->body_len += n;
    return 0;
}

static int on_message_complete(llhttp_t *p) {
    fwd_of_parser(p)->complete = 1;
    return HPE_PAUSED;
}

static const llhttp_settings_t SETTINGS = {
    .on_header_field = on_header_field,
    .on_header_field_complete = on_header_field_complete,
    .on_header_value = on_header_value,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

static void relay_answer(fwd *w) {
    int status = (int)w->parser.status_code;
    hb_metrics_g.cluster_forwards++;
    finish(w, status, w->ctype[0] ? w->ctype : NULL, w->body, w->body_len);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    fwd *w = h->data;
    hb_loop *loop = w->f != NULL ? w->f->loop : NULL;
    (void)suggested;
    if (loop == NULL) {
        buf->base = NULL;
        buf->len = 0;
        return;
    }
    buf->base = (char *)loop->rbuf;
    buf->len = loop->rbuf_size;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
    fwd *w = s->data;
    if (w->hc == NULL)
        return; /* answered already; the handle is closing */
    if (nread > 0) {
        llhttp_errno_t e = llhttp_execute(&w->parser, buf->base, (size_t)nread);
        if (w->complete)
            relay_answer(w);
        else if (e != HPE_OK)
            answer_json(w, 502, 502, w->too_big ? "The answer of the session's node is too big"
                                                 : "The session's node answered garbage");
        return;
    }
    if (nread < 0) {
        if (nread == UV_EOF && llhttp_finish(&w->parser) == HPE_OK && w->complete) {
            relay_answer(w);
            return;
        }
        char why[512];
        snprintf(why, sizeof(why), "the connection to %s closed before the answer: %s",
                 w->addr, uv_strerror((int)nread));
        log_error(w->f, 0, why);
        answer_json(w, 502, 502, "The session's node closed the connection");
    }
}

static void on_written(uv_write_t *req, int status) {
    fwd *w = req->data;
    free(w->out);
    w->out = NULL;
    if (status < 0 && w->hc != NULL)
        answer_unknown(w, uv_strerror(status));
    fwd_unref(w); /* the write's */
}

static void on_dialed(hb_dial *d, int status) {
    fwd *w = d->data;
    uv_buf_t b;
    if (w->hc == NULL)
        goto done; /* the client left meanwhile; the handle is closing */
    if (status < 0) {
        char why[512];
        snprintf(why, sizeof(why), "%s at %s", uv_strerror(status), w->addr);
        answer_unknown(w, why);
        goto done;
    }
    b = uv_buf_init(w->out, (unsigned)w->out_len);
    w->write.data = w;
    w->refs++;
    if (uv_write(&w->write, (uv_stream_t *)&w->tcp, &b, 1, on_written) != 0) {
        w->refs--;
        answer_unknown(w, "cannot write");
        goto done;
    }
    uv_read_start((uv_stream_t *)&w->tcp, on_alloc, on_read);
done:
    fwd_unref(w); /* the dial's */
}

static void on_tcp_closed(uv_handle_t *h) {
    fwd *w = h->data;
    w->tcp_open = 0;
    fwd_unref(w); /* the handle's */
}

/* --- where the owner is -------------------------------------------------------------- */

/* A WebSocket upgrade goes on as a byte relay (cluster/relay.h), which
 * takes the client over; the forward ends here without an answer. */
static void relay_upgrade(fwd *w) {
    static const hb_relay_refusal unknown = {400, "text/html", "Session ID unknown"};
    hb_forward *f = w->f;
    hb_http_conn *hc = w->hc;
    char *head = w->out;
    size_t head_len = w->out_len;
    char addr[sizeof(w->addr)];
    memcpy(addr, w->addr, sizeof(addr));
    w->out = NULL;
    finish(w, 0, NULL, NULL, 0); /* may free w */
    hb_relay_start(f->relays, hc, head, head_len, addr, &unknown);
}

static void go(fwd *w) {
    hb_loop *loop = w->f->loop;
    int err;
    if (w->upgrade) {
        relay_upgrade(w);
        return;
    }
    if ((err = uv_tcp_init(loop->uv, &w->tcp)) != 0) {
        answer_unknown(w, uv_strerror(err));
        return;
    }
    w->tcp.data = w;
    w->tcp_open = 1;
    w->refs++; /* the handle's: whatever closes it, the reference goes */
    w->closing = 0;
    uv_tcp_nodelay(&w->tcp, 1);
    w->dial.data = w;
    w->refs++;
    if ((err = hb_dial_start(&w->dial, loop->uv, &w->tcp, w->addr, on_dialed)) != 0) {
        char why[512];
        w->refs--;
        snprintf(why, sizeof(why), "%s at '%s'",
                 err == HB_EINVAL ? "a malformed address in the registry" : uv_strerror(err),
                 w->addr);
        answer_unknown(w, why);
    }
}

static route *cache_find(hb_forward *f, const char *tag) {
    uint64_t now = hb_loop_now(f->loop);
    for (size_t i = 0; i < f->ncache; i++)
        if (strcmp(f->cache[i].tag, tag) == 0)
            return f->cache[i].expires > now ? &f->cache[i] : NULL;
    return NULL;
}

static void cache_put(hb_forward *f, const char *tag, const char *addr) {
    size_t at = f->ncache, oldest = 0;
    for (size_t i = 0; i < f->ncache; i++) {
        if (strcmp(f->cache[i].tag, tag) == 0) {
            at = i;
            break;
        }
        if (f->cache[i].expires < f->cache[oldest].expires)
            oldest = i;
    }
    if (at == f->ncache) {
        if (f->ncache == CACHE_MAX)
            at = oldest;
        else
            f->ncache++;
    }
    snprintf(f->cache[at].tag, sizeof(f->cache[at].tag), "%s", tag);
    snprintf(f->cache[at].addr, sizeof(f->cache[at].addr), "%s", addr);
    f->cache[at].expires = hb_loop_now(f->loop) + f->opts.route_ttl_ms;
}

static void on_route(void *ud, const redisReply *reply) {
    fwd *w = ud;
    if (w->hc != NULL) {
        if (reply == NULL || reply->type != REDIS_REPLY_STRING || reply->len == 0) {
            answer_unknown(w, reply == NULL ? "Redis is away" : "no node has that tag (gone?)");
        } else {
            size_t n = strcspn(reply->str, " ");
            snprintf(w->addr, sizeof(w->addr), "%.*s", (int)n, reply->str);
            if (w->f != NULL)
                cache_put(w->f, w->tag, w->addr);
            go(w);
        }
    }
    fwd_unref(w); /* the GET's */
}

/* --- the forward ------------------------------------------------------------------------ */

static void fwd_unref(fwd *w) {
    if (--w->refs > 0)
        return;
    free(w->out);
    free(w->body);
    free(w);
}

static void on_client_gone(void *ud, hb_http_conn *hc) {
    fwd *w = ud;
    (void)hc;
    if (w->hc == NULL)
        return;
    w->hc = NULL; /* not answered: its connection is closing */
    finish(w, 0, NULL, NULL, 0);
    fwd_unref(w); /* the client's (finish saw no client) */
}

static void on_deadline(hb_timer *t) {
    fwd *w = (fwd *)((char *)t - offsetof(fwd, timer));
    char why[512];
    snprintf(why, sizeof(why), "no answer in time from %s",
             w->addr[0] ? w->addr : "(address not known yet)");
    log_error(w->f, w->upgrade, why);
    answer_json(w, 504, 504, "The session's node did not answer in time");
}

/* The request to send: the same target, the body and its type. */
static char *build_request(const hb_http_request *req, const char *self, const char *addr_hint,
                           size_t *len) {
    const char *ctype = hb_http_request_header(req, "content-type");
    const char *method = req->method == HTTP_POST ? "POST" : "GET";
    size_t cap = 256 + req->path_len + req->query_len + (ctype ? strlen(ctype) : 0) +
                 strlen(addr_hint) + req->body_len;
    char *out = malloc(cap);
    int n;
    if (out == NULL)
        return NULL;
    n = snprintf(out, cap,
                 "%s %.*s%s%.*s HTTP/1.1\r\nHost: %s\r\n" HB_FORWARD_HEADER ": %s\r\n"
                 "%s%s%sContent-Length: %zu\r\nConnection: close\r\n\r\n",
                 method, (int)req->path_len, req->path, req->query_len ? "?" : "",
                 (int)req->query_len, req->query, addr_hint, self, ctype ? "Content-Type: " : "",
                 ctype ? ctype : "", ctype ? "\r\n" : "", req->body_len);
    if (n < 0 || (size_t)n + req->body_len >= cap) {
        free(out);
        return NULL;
    }
    memcpy(out + n, req->body, req->body_len);
    *len = (size_t)n + req->body_len;
    return out;
}

int hb_forward_request(hb_forward *f, hb_http_conn *hc, const hb_http_request *req,
                       const char *sid) {
    fwd *w;
    route *r;
    if (strlen(sid) <= HB_CLUSTER_TAG_LEN || strncmp(sid, f->self, HB_CLUSTER_TAG_LEN) == 0 ||
        hb_http_request_header(req, HB_FORWARD_HEADER) != NULL ||
        (req->method != HTTP_GET && req->method != HTTP_POST) ||
        (req->upgrade && f->relays == NULL))
        return HB_EINVAL;
    if (f->stopped) {
        log_error(NULL, req->upgrade, "");
        hb_http_respond_json_error(hc, 503, 503, "Server shutting down");
        return 0;
    }
    if (f->nlive >= f->opts.max_in_flight) {
        log_error(f, req->upgrade, "too many forwarded requests at once (answered 503)");
        hb_http_respond_json_error(hc, 503, 503, "Too many forwarded requests");
        return 0;
    }
    if ((w = calloc(1, sizeof(*w))) == NULL)
        return HB_EINVAL;
    memcpy(w->tag, sid, HB_CLUSTER_TAG_LEN);
    r = cache_find(f, w->tag);
    if (r != NULL)
        snprintf(w->addr, sizeof(w->addr), "%s", r->addr);
    w->upgrade = (uint8_t)(req->upgrade != 0);
    w->out = w->upgrade ? hb_relay_head(req, f->self, &w->out_len)
                        : build_request(req, f->self, "hubbub", &w->out_len);
    if (w->out == NULL) {
        free(w);
        return HB_EINVAL;
    }
    llhttp_init(&w->parser, HTTP_RESPONSE, &SETTINGS);
    w->f = f;
    w->hc = hc;
    w->refs = 1; /* the client's */
    w->next = f->live;
    if (w->next != NULL)
        w->next->prev = w;
    f->live = w;
    f->nlive++;
    hb_metrics_g.cluster_forwards_in_flight++;
    hb_http_hold(hc, on_client_gone, w);
    hb_loop_timer_start(f->loop, &w->timer, f->opts.timeout_ms, on_deadline);
    if (r != NULL) {
        go(w);
    } else {
        char key[64];
        const char *argv[2] = {"GET", key};
        size_t lens[2];
        snprintf(key, sizeof(key), HB_CLUSTER_ROUTE_PREFIX "%s", w->tag);
        lens[0] = 3;
        lens[1] = strlen(key);
        w->refs++;
        if (hb_redis_command(f->redis, on_route, w, 2, argv, lens) != 0) {
            w->refs--;
            answer_unknown(w, "Redis is away");
        }
    }
    return 0;
}

hb_forward *hb_forward_new(hb_loop *loop, hb_redis *redis, hb_relays *relays,
                           const char *self_tag, const hb_forward_opts *opts) {
    hb_forward *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return NULL;
    f->loop = loop;
    f->redis = redis;
    f->relays = relays;
    snprintf(f->self, sizeof(f->self), "%s", self_tag);
    if (opts != NULL)
        f->opts = *opts;
    if (f->opts.timeout_ms == 0)
        f->opts.timeout_ms = 60000;
    if (f->opts.max_in_flight == 0)
        f->opts.max_in_flight = 1024;
    if (f->opts.route_ttl_ms == 0)
        f->opts.route_ttl_ms = 10000;
    return f;
}

void hb_forward_stop(hb_forward *f) {
    if (f == NULL)
        return;
    f->stopped = 1;
    while (f->live != NULL)
        answer_json(f->live, 503, 503, "Server shutting down");
}

void hb_forward_free(hb_forward *f) {
    if (f == NULL)
        return;
    hb_forward_stop(f);
    free(f);
}
