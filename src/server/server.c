/* hb_server, the public runtime: one libuv loop with the HTTP server, the
 * Engine.IO mounts (the main path and the hubs, served by Socket.IO; an
 * optional raw echo endpoint), the built-in routes (/api/health, /metrics,
 * pages an app serves), and the graceful stop on SIGTERM/SIGINT: stop
 * accepting, close every session with the protocol's goodbye, exit once
 * they are gone or the deadline passes. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <llhttp.h>
#include <uv.h>

#include "core/log.h"
#include "core/metrics.h"
#include "eio/server.h"
#include "http/server.h"
#include "hubbub/hubbub.h"
#include "net/loop.h"
#include "api/jwt.h"
#include "cluster/cluster.h"
#include "server/status.h"
#include "sio/server.h"
#include "upstream/service.h"

/* Written by cmake/embed.cmake into the build directory's status_page.c. */
extern const unsigned char hb_embed_status_html[];
extern const size_t hb_embed_status_html_len;

#define STATUS_MAX_HUBS 1000 /* hubs listed by /api/status; the rest are counted only */

typedef struct page {
    struct page *next;
    hb_server *srv;
    char *path;
    char *content_type;
    const void *body;
    size_t len;
} page;

/* An app's timer (hb_server_set_timeout). */
typedef struct app_timer {
    hb_timer timer;
    struct app_timer *next, *prev;
    hb_server *srv;
    hb_timeout_cb cb;
    void *ud;
} app_timer;

struct hb_server {
    hb_server_opts opts;
    char **strings;           /* the copies opts points to */
    size_t nstrings;
    uv_loop_t uv;
    hb_loop loop;
    hb_http_server *http;
    hb_eio_server *eio;       /* the main path, served by Socket.IO */
    hb_eio_server *echo;      /* --engineio-echo */
    hb_sio_server *sio;
    hb_azure *azure;          /* the hubs, the tunnel and the REST API */
    hb_cluster *cluster;      /* with redis_url: the other nodes, through Redis */
    char generated_key[HB_JWT_KEY_LEN + 1];
    const char *keys[3];
    char endpoint[160];
    page *pages;
    app_timer *timers;
    int freeing;
    uv_signal_t sigterm, sigint;
    uv_timer_t deadline;
    int stopping;
    int ran;
    uint64_t started_ms;      /* the loop's clock when run began */
};

/* --- the echo endpoint: every message goes back as it came ------------------- */

static void echo_open(void *ud, hb_eio_session *s, const hb_http_request *req) {
    (void)ud, (void)s, (void)req;
}
static void echo_message(void *ud, hb_eio_session *s, int binary, uint8_t *data, size_t len) {
    (void)ud;
    hb_eio_session_send_message(s, binary, data, len);
}
static void echo_close(void *ud, hb_eio_session *s, int reason) {
    (void)ud, (void)s, (void)reason;
}
static const hb_eio_handler echo_handler = {echo_open, echo_message, echo_close, NULL};

/* --- built-in routes ----------------------------------------------------------- */

/* Routes match by prefix: the built-in ones answer their exact path only. */
static int exact(hb_http_conn *hc, const hb_http_request *req, const char *path) {
    if (strcmp(req->path, path) != 0) {
        hb_http_respond_json_error(hc, 404, 404, "Not found");
        return 0;
    }
    if (req->method != HTTP_GET && req->method != HTTP_HEAD) {
        hb_http_respond(hc, 405, "application/json", "Allow: GET, HEAD\r\n",
                        "{\"code\":405,\"message\":\"Method not allowed\"}", 43);
        return 0;
    }
    return 1;
}

static void route_health(void *ud, hb_http_conn *hc, hb_http_request *req) {
    hb_server *srv = ud;
    static const char ok[] = "{\"status\":\"ok\"}";
    static const char stopping[] = "{\"status\":\"stopping\"}";
    if (!exact(hc, req, "/api/health"))
        return;
    if (srv->stopping)
        hb_http_respond(hc, 503, "application/json", NULL, stopping, sizeof(stopping) - 1);
    else
        hb_http_respond(hc, 200, "application/json", NULL, ok, sizeof(ok) - 1);
}

static void route_metrics(void *ud, hb_http_conn *hc, hb_http_request *req) {
    size_t len;
    char *text;
    (void)ud;
    if (!exact(hc, req, "/metrics"))
        return;
    text = hb_metrics_render(&len);
    if (text == NULL) {
        hb_http_respond_json_error(hc, 503, 503, "Out of memory");
        return;
    }
    hb_http_respond(hc, 200, "text/plain; version=0.0.4; charset=utf-8", NULL, text, len);
    free(text);
}

/* /api/status: this node at a glance (server/status.h). Any origin may
 * read it: the status page of one node fetches every other node's. */
typedef struct status_hubs {
    hb_status_hub *v;
    size_t n;
} status_hubs;

static void count_tunnel(void *ud, hb_tunnel *t) {
    status_hubs *sh = ud;
    const char *hub = hb_azure_tunnel_hub(t);
    for (size_t i = 0; i < sh->n; i++)
        if (strcmp(sh->v[i].name, hub) == 0) {
            sh->v[i].app_servers++;
            return;
        }
}

static void route_status_api(void *ud, hb_http_conn *hc, hb_http_request *req) {
    hb_server *srv = ud;
    hb_status st = {0};
    hb_status_node *nodes = NULL;
    status_hubs sh = {0};
    hb_hubs *hubs = hb_azure_hubs(srv->azure);
    char *text;
    size_t len;
    if (!exact(hc, req, "/api/status"))
        return;
    st.version = HUBBUB_VERSION;
    st.address = srv->opts.advertise ? srv->opts.advertise
                                     : hb_http_server_listener_name(srv->http, 0);
    st.uptime_s = (hb_loop_now(&srv->loop) - srv->started_ms) / 1000;
    st.stopping = srv->stopping;
    if (srv->cluster != NULL) {
        size_t n;
        const hb_cluster_node_info *info = hb_cluster_nodes_listed(srv->cluster, &n);
        st.node_id = hb_cluster_node_id(srv->cluster);
        st.redis_up = hb_cluster_redis_up(srv->cluster);
        if (n > 0 && (nodes = calloc(n, sizeof(*nodes))) != NULL) {
            for (size_t i = 0; i < n; i++) {
                nodes[i].id = info[i].id;
                nodes[i].address = info[i].addr;
            }
            st.nodes = nodes;
            st.nnodes = n;
        }
    }
    sh.v = calloc(STATUS_MAX_HUBS, sizeof(*sh.v));
    for (hb_hub *h = hb_hubs_next(hubs, NULL); sh.v != NULL && h != NULL && sh.n < STATUS_MAX_HUBS;
         h = hb_hubs_next(hubs, h)) {
        sh.v[sh.n].name = hb_hub_name(h);
        sh.v[sh.n++].connections = hb_hub_count(h);
    }
    hb_azure_foreach_tunnel(srv->azure, count_tunnel, &sh);
    st.hubs = sh.v;
    st.nhubs = sh.n;
    text = hb_status_json(&st, &len);
    free(nodes);
    free(sh.v);
    if (text == NULL) {
        hb_http_respond_json_error(hc, 503, 503, "Out of memory");
        return;
    }
    hb_http_respond(hc, 200, "application/json", "Access-Control-Allow-Origin: *\r\n", text, len);
    free(text);
}

/* /status: the page that shows /api/status of this node and of every
 * other node of its cluster, refreshed every two seconds. */
static void route_status_page(void *ud, hb_http_conn *hc, hb_http_request *req) {
    (void)ud;
    if (!exact(hc, req, "/status"))
        return;
    hb_http_respond(hc, 200, "text/html; charset=utf-8", "Cache-Control: no-cache\r\n",
                    hb_embed_status_html, hb_embed_status_html_len);
}

static void route_page(void *ud, hb_http_conn *hc, hb_http_request *req) {
    page *pg = ud;
    /* Routes match by prefix; a page is served at its exact path only. */
    if (strcmp(req->path, pg->path) != 0) {
        hb_http_respond(hc, 404, "text/plain; charset=utf-8", NULL, "Not Found\n", 10);
        return;
    }
    if (req->method != HTTP_GET && req->method != HTTP_HEAD) {
        hb_http_respond(hc, 405, "text/plain; charset=utf-8", "Allow: GET, HEAD\r\n",
                        "Method Not Allowed\n", 19);
        return;
    }
    hb_http_respond(hc, 200, pg->content_type, NULL, pg->body,
                    req->method == HTTP_HEAD ? 0 : pg->len);
}

int hb_server_serve(hb_server *srv, const char *path, const char *content_type, const void *body,
                    size_t len) {
    page *pg;
    if (srv == NULL || path == NULL || path[0] != '/' || content_type == NULL)
        return HB_EINVAL;
    pg = calloc(1, sizeof(*pg));
    if (pg == NULL)
        return HB_ENOMEM;
    pg->srv = srv;
    pg->path = strdup(path);
    pg->content_type = strdup(content_type);
    pg->body = body;
    pg->len = len;
    pg->next = srv->pages;
    srv->pages = pg;
    if (pg->path == NULL || pg->content_type == NULL)
        return HB_ENOMEM;
    return hb_http_server_route(srv->http, path, route_page, pg);
}

/* --- app timers ------------------------------------------------------------------ */

static void timer_unlink(app_timer *t) {
    if (t->prev)
        t->prev->next = t->next;
    else
        t->srv->timers = t->next;
    if (t->next)
        t->next->prev = t->prev;
}

static void on_app_timer(hb_timer *timer) {
    app_timer *t = (app_timer *)timer;
    timer_unlink(t);
    t->cb(t->ud);
    free(t);
}

int hb_server_set_timeout(hb_server *srv, unsigned ms, hb_timeout_cb cb, void *ud) {
    app_timer *t;
    if (srv == NULL || cb == NULL || srv->freeing)
        return HB_EINVAL;
    t = calloc(1, sizeof(*t));
    if (t == NULL)
        return HB_ENOMEM;
    t->srv = srv;
    t->cb = cb;
    t->ud = ud;
    t->next = srv->timers;
    if (t->next)
        t->next->prev = t;
    srv->timers = t;
    hb_loop_timer_start(&srv->loop, &t->timer, ms, on_app_timer);
    return 0;
}

/* --- creating ------------------------------------------------------------------ */

static const char *keep(hb_server *srv, const char *s) {
    char **v;
    if (s == NULL)
        return NULL;
    v = realloc(srv->strings, (srv->nstrings + 1) * sizeof(*v));
    if (v == NULL)
        return NULL;
    srv->strings = v;
    v[srv->nstrings] = strdup(s);
    return v[srv->nstrings] ? v[srv->nstrings++] : NULL;
}

static const char *const *keep_list(hb_server *srv, const char *const *list) {
    size_t n = 0;
    const char **copy;
    if (list == NULL)
        return NULL;
    while (list[n] != NULL)
        n++;
    copy = calloc(n + 1, sizeof(*copy));
    if (copy == NULL || keep(srv, "") == NULL) {
        free(copy);
        return NULL;
    }
    /* The array itself is kept as one of the strings so one free covers it. */
    free(srv->strings[--srv->nstrings]);
    srv->strings[srv->nstrings++] = (char *)copy;
    for (size_t i = 0; i < n; i++)
        if ((copy[i] = keep(srv, list[i])) == NULL)
            return NULL;
    return copy;
}

static int copy_opts(hb_server *srv, const hb_server_opts *in) {
    static const char *const default_listen[] = {"127.0.0.1:3000", NULL};
    hb_server_opts *o = &srv->opts;
    if (in != NULL)
        *o = *in;
    o->listen = keep_list(srv, o->listen ? o->listen : default_listen);
    o->path = keep(srv, o->path ? o->path : "/socket.io/");
    if (o->listen == NULL || o->path == NULL)
        return HB_ENOMEM;
    if (in != NULL && in->cors_origins != NULL &&
        (o->cors_origins = keep_list(srv, in->cors_origins)) == NULL)
        return HB_ENOMEM;
    if (in != NULL && in->engineio_echo != NULL &&
        (o->engineio_echo = keep(srv, in->engineio_echo)) == NULL)
        return HB_ENOMEM;
    if (in != NULL && in->access_keys != NULL &&
        (o->access_keys = keep_list(srv, in->access_keys)) == NULL)
        return HB_ENOMEM;
    if (in != NULL && in->redis_url != NULL &&
        (o->redis_url = keep(srv, in->redis_url)) == NULL)
        return HB_ENOMEM;
    if (in != NULL && in->node_id != NULL && (o->node_id = keep(srv, in->node_id)) == NULL)
        return HB_ENOMEM;
    if (in != NULL && in->advertise != NULL && (o->advertise = keep(srv, in->advertise)) == NULL)
        return HB_ENOMEM;
    if (in != NULL && in->public_url != NULL &&
        (o->public_url = keep(srv, in->public_url)) == NULL)
        return HB_ENOMEM;
    if (o->max_payload == 0)
        o->max_payload = 1000000;
    if (o->shutdown_timeout_ms == 0)
        o->shutdown_timeout_ms = 5000;
    return 0;
}

/* The Azure-compatible service, with the configured keys or a new one.
 * The endpoint (for token audiences) is the first listen address. */
static int set_up_azure(hb_server *srv, const hb_eio_opts *eopts) {
    hb_azure_opts ao = {0};
    size_t n = 0;
    for (size_t i = 0; srv->opts.access_keys && srv->opts.access_keys[i] && n < 2; i++)
        srv->keys[n++] = srv->opts.access_keys[i];
    if (n == 0) {
        if (hb_jwt_new_key(srv->generated_key) != 0)
            return HB_EINVAL;
        srv->keys[n++] = srv->generated_key;
    }
    srv->keys[n] = NULL;
    snprintf(srv->endpoint, sizeof(srv->endpoint), "http://%s", srv->opts.listen[0]);
    ao.keys = srv->keys;
    ao.allow_anonymous = srv->opts.allow_anonymous;
    ao.endpoint = srv->endpoint;
    ao.eio = *eopts;
    srv->azure = hb_azure_new(&srv->loop, srv->http, &ao);
    return srv->azure ? 0 : HB_ENOMEM;
}

hb_server *hb_server_new(const hb_server_opts *opts) {
    hb_server *srv = calloc(1, sizeof(*srv));
    hb_http_server_opts hopts = {0};
    hb_eio_opts eopts = {0};
    hb_sio_opts sopts = {0};
    if (srv == NULL)
        return NULL;
    if (copy_opts(srv, opts) != 0 || uv_loop_init(&srv->uv) != 0)
        goto fail;
    if (hb_loop_init(&srv->loop, &srv->uv) != 0)
        goto fail_uv;
    hopts.max_body = srv->opts.max_payload;
    hopts.cors_origins = srv->opts.cors_origins;
    eopts.ping_interval_ms = srv->opts.ping_interval_ms;
    eopts.ping_timeout_ms = srv->opts.ping_timeout_ms;
    eopts.max_payload = srv->opts.max_payload;
    sopts.connect_timeout_ms = srv->opts.connect_timeout_ms;
    sopts.recovery_ms = srv->opts.recovery_ms;
    srv->http = hb_http_server_new(&srv->loop, &hopts);
    srv->sio = hb_sio_server_new(&srv->loop, &sopts, srv);
    srv->eio = hb_eio_server_new(&srv->loop, srv->http, &eopts, &hb_sio_eio_handler, srv->sio);
    if (srv->http == NULL || srv->sio == NULL || srv->eio == NULL)
        goto fail_loop;
    if (set_up_azure(srv, &eopts) != 0 || hb_eio_server_mount(srv->eio, srv->opts.path, 0) != 0 ||
        hb_http_server_route(srv->http, "/api/health", route_health, srv) != 0 ||
        hb_http_server_route(srv->http, "/metrics", route_metrics, srv) != 0 ||
        hb_http_server_route(srv->http, "/api/status", route_status_api, srv) != 0 ||
        hb_http_server_route(srv->http, "/status", route_status_page, srv) != 0)
        goto fail_loop;
    if (srv->opts.engineio_echo != NULL) {
        srv->echo = hb_eio_server_new(&srv->loop, srv->http, &eopts, &echo_handler, srv);
        if (srv->echo == NULL || hb_eio_server_mount(srv->echo, srv->opts.engineio_echo, 0) != 0)
            goto fail_loop;
    }
    return srv;
fail_loop:
    srv->ran = 1; /* hb_server_free's teardown covers a partial server */
    hb_server_free(srv);
    return NULL;
fail_uv:
    uv_loop_close(&srv->uv);
fail:
    for (size_t i = 0; i < srv->nstrings; i++)
        free(srv->strings[i]);
    free(srv->strings);
    free(srv);
    return NULL;
}

hb_nsp *hb_server_of(hb_server *srv, const char *name) {
    return hb_sio_server_of(srv->sio, name);
}

hb_nsp *hb_server_of_match(hb_server *srv, hb_nsp_match_cb match, void *ud) {
    return hb_sio_server_of_match(srv->sio, match, ud);
}

hb_nsp *hb_server_of_regex(hb_server *srv, const char *pattern) {
    return hb_sio_server_of_regex(srv->sio, pattern);
}

const char *hb_server_node_id(const hb_server *srv) {
    return srv->cluster != NULL ? hb_cluster_node_id(srv->cluster) : NULL;
}

/* --- stopping -------------------------------------------------------------------- */

static void on_deadline(uv_timer_t *t) {
    hb_server *srv = t->data;
    hb_log_warn("main", "shutdown deadline passed with %zu connections open; closing them",
                hb_http_server_conn_count(srv->http));
    uv_stop(&srv->uv);
}

static void stop(hb_server *srv, const char *why) {
    if (srv->stopping) {
        hb_log_warn("main", "%s again: exiting now", why);
        uv_stop(&srv->uv);
        return;
    }
    srv->stopping = 1;
    hb_log_info("main", "%s: stopping (closing %zu sessions)", why,
                (srv->echo ? hb_eio_server_session_count(srv->echo) : 0) +
                    hb_eio_server_session_count(srv->eio) +
                    hb_azure_session_count(srv->azure));
    hb_http_server_stop_listening(srv->http);
    hb_eio_server_set_router(srv->eio, NULL);
    hb_cluster_stop(srv->cluster); /* leaves the registry; the sessions close locally */
    if (srv->echo)
        hb_eio_server_close_all(srv->echo, HB_CLOSE_SHUTDOWN);
    hb_eio_server_close_all(srv->eio, HB_CLOSE_SHUTDOWN);
    hb_azure_close_all(srv->azure);
    hb_http_server_close_idle(srv->http);
    /* The signal handles stay (a second signal means "now"), but no longer
     * keep the loop alive. */
    uv_unref((uv_handle_t *)&srv->sigterm);
    uv_unref((uv_handle_t *)&srv->sigint);
    uv_timer_start(&srv->deadline, on_deadline, srv->opts.shutdown_timeout_ms, 0);
    uv_unref((uv_handle_t *)&srv->deadline);
}

static void on_signal(uv_signal_t *s, int signum) {
    stop(s->data, signum == SIGTERM ? "SIGTERM" : "SIGINT");
}

void hb_server_stop(hb_server *srv) {
    if (srv != NULL && srv->ran && !srv->stopping)
        stop(srv, "stop requested");
}

/* --- running ---------------------------------------------------------------------- */

static int split_host_port(const char *s, char *host, size_t cap, int *port) {
    const char *colon = strrchr(s, ':');
    const char *h = s;
    size_t hlen;
    char *end;
    long p;
    if (colon == NULL)
        return -1;
    hlen = (size_t)(colon - s);
    if (hlen >= 2 && s[0] == '[' && s[hlen - 1] == ']') {
        h = s + 1;
        hlen -= 2;
    }
    if (hlen == 0 || hlen >= cap)
        return -1;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    p = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || *end != '\0' || p < 0 || p > 65535)
        return -1;
    *port = (int)p;
    return 0;
}

static int listen_all(hb_server *srv) {
    for (size_t i = 0; srv->opts.listen[i] != NULL; i++) {
        const char *addr = srv->opts.listen[i];
        char host[128];
        int port, err;
        if (split_host_port(addr, host, sizeof(host), &port) != 0) {
            hb_log_error("main", "invalid --listen '%s' (expected HOST:PORT, e.g. 127.0.0.1:3000)",
                         addr);
            return HB_EINVAL;
        }
        err = hb_http_server_listen(srv->http, host, port);
        if (err != 0) {
            hb_log_error("main", "cannot listen on %s: %s%s", addr, hb_strerror(err),
                         err == UV_EADDRINUSE ? " (is another server running on that port?)" : "");
            return err;
        }
        hb_log_info("main", "listening on http://%s",
                    hb_http_server_listener_name(srv->http,
                                                 hb_http_server_listener_count(srv->http) - 1));
    }
    /* The endpoint app servers and tokens name is where we really listen
     * (a port 0 is known only now). */
    snprintf(srv->endpoint, sizeof(srv->endpoint), "http://%s",
             hb_http_server_listener_name(srv->http, 0));
    hb_log_info("main", "Socket.IO at %s%s%s; Azure-compatible hubs at "
                "/clients/socketio/hubs/<hub>/ (app servers: /server/tunnel)",
                srv->opts.path, srv->opts.engineio_echo ? ", Engine.IO echo at " : "",
                srv->opts.engineio_echo ? srv->opts.engineio_echo : "");
    hb_log_info("main", "connection string for app servers: Endpoint=%s;AccessKey=%s;Version=1.0;%s",
                srv->endpoint, srv->keys[0],
                srv->keys[0] == srv->generated_key ? " (a new key: set --access-key to keep one)"
                                                   : "");
    hb_log_info("main", "status page: %s/status", srv->endpoint);
    return 0;
}

/* Joins the cluster (redis_url): after listening, so that the advertised
 * address defaults to the real one. */
static int start_cluster(hb_server *srv) {
    hb_cluster_opts co = {0};
    int err;
    co.redis_url = srv->opts.redis_url;
    co.node_id = srv->opts.node_id;
    co.advertise = srv->opts.advertise ? srv->opts.advertise
                                       : hb_http_server_listener_name(srv->http, 0);
    co.node_ttl_s = srv->opts.node_ttl_s;
    co.public_url = srv->opts.public_url;
    /* A forwarded poll may be held by its owner for a ping interval. */
    co.azure = srv->azure;
    co.forward_timeout_ms = (srv->opts.ping_interval_ms ? srv->opts.ping_interval_ms : 25000) +
                            (srv->opts.ping_timeout_ms ? srv->opts.ping_timeout_ms : 20000);
    srv->cluster = hb_cluster_new(&srv->loop, srv->sio, &co, &err);
    if (srv->cluster == NULL) {
        if (err == HB_EINVAL)
            hb_log_error("main", "invalid --node-id '%s' (1 to 64 printable characters, no "
                         "spaces)", srv->opts.node_id ? srv->opts.node_id : "");
        else
            hb_log_error("main", "cannot set up the cluster: %s", hb_strerror(err));
        return err;
    }
    /* Session ids name this node, and polling requests for other nodes'
     * sessions are forwarded to them (no sticky sessions needed). */
    {
        hb_eio_router router;
        hb_cluster_router(srv->cluster, &router);
        if ((err = hb_eio_server_set_router(srv->eio, &router)) != 0 ||
            (err = hb_azure_set_router(srv->azure, &router)) != 0)
            return err;
    }
    hb_cluster_start(srv->cluster);
    return 0;
}

int hb_server_run(hb_server *srv) {
    int err;
    if (srv == NULL || srv->ran)
        return HB_EINVAL;
    srv->ran = 1;
    srv->started_ms = hb_loop_now(&srv->loop);
    signal(SIGPIPE, SIG_IGN);
    uv_signal_init(&srv->uv, &srv->sigterm);
    uv_signal_init(&srv->uv, &srv->sigint);
    uv_timer_init(&srv->uv, &srv->deadline);
    srv->sigterm.data = srv->sigint.data = srv->deadline.data = srv;
    uv_signal_start(&srv->sigterm, on_signal, SIGTERM);
    uv_signal_start(&srv->sigint, on_signal, SIGINT);
    if (srv->opts.redis_url != NULL && !hb_cluster_url_valid(srv->opts.redis_url)) {
        hb_log_error("main", "invalid --redis '%s' (expected redis://HOST:PORT, optionally "
                     "redis://[USER]:PASSWORD@HOST:PORT/DB)", srv->opts.redis_url);
        srv->stopping = 1;
        hb_http_server_stop_listening(srv->http);
        return HB_EINVAL;
    }
    err = listen_all(srv);
    if (err == 0 && srv->opts.redis_url != NULL)
        err = start_cluster(srv);
    if (err != 0) {
        srv->stopping = 1;
        hb_http_server_stop_listening(srv->http);
        return err;
    }
    uv_run(&srv->uv, UV_RUN_DEFAULT);
    hb_log_info("main", "stopped");
    return 0;
}

static void close_walk(uv_handle_t *h, void *arg) {
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

void hb_server_free(hb_server *srv) {
    if (srv == NULL)
        return;
    /* Close whatever is left through the layers that own it, let libuv
     * finish the closes, and only then free, so every byte is released.
     * The cluster goes first: its Redis sockets are hiredis's to close. */
    hb_cluster_free(srv->cluster);
    srv->cluster = NULL;
    if (srv->eio)
        hb_eio_server_close_all(srv->eio, HB_CLOSE_SHUTDOWN);
    if (srv->echo)
        hb_eio_server_close_all(srv->echo, HB_CLOSE_SHUTDOWN);
    if (srv->azure)
        hb_azure_close_all(srv->azure);
    if (srv->http)
        hb_http_server_close_all(srv->http);
    srv->freeing = 1;
    /* Pending app timers run now, so their owners can release what they
     * hold; every session is closed, so what they send goes nowhere. */
    while (srv->timers != NULL) {
        app_timer *t = srv->timers;
        hb_timer_stop(&t->timer);
        timer_unlink(t);
        t->cb(t->ud);
        free(t);
    }
    hb_loop_close(&srv->loop);
    uv_walk(&srv->uv, close_walk, NULL);
    uv_run(&srv->uv, UV_RUN_DEFAULT);
    /* The layers still hold timers on the loop's wheel: free them first. */
    hb_eio_server_free(srv->echo);
    hb_eio_server_free(srv->eio);
    hb_sio_server_free(srv->sio);
    hb_azure_free(srv->azure);
    hb_http_server_free(srv->http);
    hb_loop_free(&srv->loop);
    if (uv_loop_close(&srv->uv) != 0)
        hb_log_warn("main", "event loop closed with handles still open");
    while (srv->pages != NULL) {
        page *pg = srv->pages;
        srv->pages = pg->next;
        free(pg->path);
        free(pg->content_type);
        free(pg);
    }
    for (size_t i = 0; i < srv->nstrings; i++)
        free(srv->strings[i]);
    free(srv->strings);
    free(srv);
}
