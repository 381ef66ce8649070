/* The HTTP/1.1 server. Per connection it keeps a parser only while a request
 * is in flight, one wheel timer (request deadline, then keep-alive idle),
 * and nothing else, so an idle keep-alive connection costs its struct. A
 * held request (a long-poll GET) keeps reading so that a client that goes
 * away is noticed at once; bytes that arrive meanwhile wait in a backlog. */
#include "http/server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "core/metrics.h"
#include "http/response.h"
#include <llhttp.h>
#include "hubbub/error.h"

enum { MAX_LISTENERS = 8, MAX_BACKLOG = 64 * 1024 };

typedef struct route {
    char *prefix;
    size_t len;
    hb_http_route_cb cb;
    hb_http_head_cb head_cb;
    void *ud;
} route;

struct hb_http_server {
    hb_loop *loop;
    hb_http_server_opts opts;
    hb_listener listeners[MAX_LISTENERS];
    size_t nlisteners;
    int listening;
    route *routes;
    size_t nroutes;
    hb_http_conn *conns;
    size_t nconns;
};

static void process(hb_http_conn *hc, uint8_t *data, size_t len);

static void on_read(hb_conn *c, uint8_t *data, size_t len);
static void on_eof(hb_conn *c, int err);
static void on_close(hb_conn *c);
static const hb_conn_handler http_handler = {on_read, on_eof, on_close, NULL};

/* --- timers ------------------------------------------------------------- */

static void on_request_timeout(hb_timer *t) {
    hb_http_conn *hc = (hb_http_conn *)((char *)t - offsetof(hb_http_conn, u.http.timer));
    if (hc->held || hc->upgraded || hc->c.closing)
        return;
    if (hc->draining) {
        hb_conn_close(&hc->c);
        return;
    }
    if (hc->parser != NULL && hb_http_parser_busy(hc->parser)) {
        hb_log_debug("http", "request deadline passed, answering 408");
        hc->keep_alive = 0;
        hb_http_respond(hc, 408, "application/json", NULL,
                        "{\"code\":408,\"message\":\"Request timeout\"}", 39);
        return;
    }
    hb_conn_close(&hc->c); /* idle keep-alive connection */
}

static void arm_timer(hb_http_conn *hc, unsigned ms) {
    hb_loop_timer_start(hc->c.loop, &hc->u.http.timer, ms, on_request_timeout);
}

/* --- accepting ---------------------------------------------------------- */

static void on_accept(hb_listener *l, hb_conn *c) {
    hb_http_server *srv = l->ud;
    hb_http_conn *hc = (hb_http_conn *)c;
    hc->srv = srv;
    c->h = &http_handler;
    c->ud = hc;
    hc->next = srv->conns;
    if (srv->conns != NULL)
        srv->conns->prev = hc;
    srv->conns = hc;
    srv->nconns++;
    hb_metrics_g.http_connections++;
    arm_timer(hc, srv->opts.request_timeout_ms);
    if (hb_conn_read_start(c) != 0)
        hb_conn_close(c);
}

hb_http_server *hb_http_server_new(hb_loop *loop, const hb_http_server_opts *opts) {
    hb_http_server *srv = calloc(1, sizeof(*srv));
    if (srv == NULL)
        return NULL;
    srv->loop = loop;
    srv->opts = *opts;
    if (srv->opts.max_header_bytes == 0)
        srv->opts.max_header_bytes = 16 * 1024;
    if (srv->opts.max_body == 0)
        srv->opts.max_body = 1000000;
    if (srv->opts.request_timeout_ms == 0)
        srv->opts.request_timeout_ms = 10000;
    if (srv->opts.idle_timeout_ms == 0)
        srv->opts.idle_timeout_ms = 60000;
    return srv;
}

int hb_http_server_listen(hb_http_server *srv, const char *host, int port) {
    int err;
    if (srv->nlisteners == MAX_LISTENERS)
        return HB_EINVAL;
    err = hb_listener_start(&srv->listeners[srv->nlisteners], srv->loop, host, port,
                            sizeof(hb_http_conn), on_accept, srv);
    if (err == 0) {
        srv->nlisteners++;
        srv->listening = 1;
    }
    return err;
}

const char *hb_http_server_listener_name(hb_http_server *srv, size_t i) {
    return i < srv->nlisteners ? srv->listeners[i].name : NULL;
}

size_t hb_http_server_listener_count(hb_http_server *srv) {
    return srv->nlisteners;
}

size_t hb_http_server_conn_count(const hb_http_server *srv) {
    return srv->nconns;
}

int hb_http_server_route(hb_http_server *srv, const char *prefix, hb_http_route_cb cb, void *ud) {
    route *r = realloc(srv->routes, (srv->nroutes + 1) * sizeof(*r));
    if (r == NULL)
        return HB_ENOMEM;
    srv->routes = r;
    r[srv->nroutes].prefix = strdup(prefix);
    if (r[srv->nroutes].prefix == NULL)
        return HB_ENOMEM;
    r[srv->nroutes].len = strlen(prefix);
    r[srv->nroutes].cb = cb;
    r[srv->nroutes].head_cb = NULL;
    r[srv->nroutes].ud = ud;
    srv->nroutes++;
    return 0;
}

int hb_http_server_route_head(hb_http_server *srv, const char *prefix, hb_http_head_cb cb) {
    for (size_t i = 0; i < srv->nroutes; i++) {
        if (strcmp(srv->routes[i].prefix, prefix) == 0) {
            srv->routes[i].head_cb = cb;
            return 0;
        }
    }
    return HB_EINVAL;
}

void hb_http_server_stop_listening(hb_http_server *srv) {
    if (!srv->listening)
        return;
    srv->listening = 0;
    for (size_t i = 0; i < srv->nlisteners; i++)
        hb_listener_stop(&srv->listeners[i]);
}

void hb_http_server_close_idle(hb_http_server *srv) {
    hb_http_conn *hc, *next;
    for (hc = srv->conns; hc != NULL; hc = next) {
        next = hc->next;
        if (hc->upgraded)
            continue;
        if (hc->held && hc->u.http.gone_cb != NULL) {
            hb_http_gone_cb gone = hc->u.http.gone_cb;
            hc->u.http.gone_cb = NULL;
            gone(hc->u.http.gone_ud, hc);
        }
        hb_conn_close_after_flush(&hc->c);
    }
}

void hb_http_server_close_all(hb_http_server *srv) {
    hb_http_server_stop_listening(srv);
    for (hb_http_conn *hc = srv->conns; hc != NULL; hc = hc->next)
        hb_conn_close(&hc->c);
}

void hb_http_server_free(hb_http_server *srv) {
    if (srv == NULL)
        return;
    for (size_t i = 0; i < srv->nroutes; i++)
        free(srv->routes[i].prefix);
    free(srv->routes);
    free(srv);
}

/* --- CORS ----------------------------------------------------------------- */

/* Builds the CORS header lines for a request the way npm's `cors` package
 * does with Engine.IO's usual options, so browsers see what they would see
 * from Node: "*" allows any origin without credentials; a list of origins
 * echoes a listed Origin, and always says credentials are allowed and that
 * the answer varies by Origin. A preflight also varies by the requested
 * headers. */
static char *cors_headers(const hb_http_server *srv, const hb_http_request *req, int preflight) {
    const char *origin = hb_http_request_header(req, "origin");
    const char *const *o = srv->opts.cors_origins;
    const char *allowed = NULL;
    char *out;
    size_t cap;
    if (o == NULL || o[0] == NULL)
        return NULL;
    for (; *o != NULL; o++) {
        if (strcmp(*o, "*") == 0)
            return strdup(preflight ? "Access-Control-Allow-Origin: *\r\n"
                                      "Vary: Access-Control-Request-Headers\r\n"
                                    : "Access-Control-Allow-Origin: *\r\n");
        if (origin != NULL && strcmp(*o, origin) == 0)
            allowed = origin;
    }
    cap = (allowed ? strlen(allowed) : 0) + 192;
    out = malloc(cap);
    if (out != NULL)
        snprintf(out, cap, "%s%s%sVary: Origin%s\r\nAccess-Control-Allow-Credentials: true\r\n",
                 allowed ? "Access-Control-Allow-Origin: " : "", allowed ? allowed : "",
                 allowed ? "\r\n" : "", preflight ? ", Access-Control-Request-Headers" : "");
    return out;
}

static int is_preflight(const hb_http_server *srv, const hb_http_request *req) {
    return req->method == HTTP_OPTIONS && srv->opts.cors_origins != NULL &&
           srv->opts.cors_origins[0] != NULL;
}

static void respond_preflight(hb_http_conn *hc, const hb_http_request *req) {
    const char *want = hb_http_request_header(req, "access-control-request-headers");
    char extra[1024];
    if (want != NULL && strlen(want) < 800)
        snprintf(extra, sizeof(extra),
                 "Access-Control-Allow-Methods: GET,HEAD,PUT,PATCH,POST,DELETE\r\n"
                 "Access-Control-Allow-Headers: %s\r\n",
                 want);
    else
        snprintf(extra, sizeof(extra),
                 "Access-Control-Allow-Methods: GET,HEAD,PUT,PATCH,POST,DELETE\r\n");
    hb_http_respond(hc, 204, NULL, extra, NULL, 0);
}

/* --- built-in routes -------------------------------------------------------- */

static const route *find_route(const hb_http_server *srv, const hb_http_request *req) {
    const route *best = NULL;
    for (size_t i = 0; i < srv->nroutes; i++) {
        const route *r = &srv->routes[i];
        if (req->path_len >= r->len && memcmp(req->path, r->prefix, r->len) == 0 &&
            (best == NULL || r->len > best->len))
            best = r;
    }
    return best;
}

static void on_head(hb_http_conn *hc, const hb_http_request *head) {
    const route *r;
    if (head->method == HTTP_GET || head->method == HTTP_HEAD || head->method == HTTP_OPTIONS)
        return;
    r = find_route(hc->srv, head);
    if (r == NULL || r->head_cb == NULL)
        return;
    free(hc->u.http.cors);
    hc->u.http.cors = cors_headers(hc->srv, head, 0);
    r->head_cb(r->ud, hc, head);
}

static void dispatch(hb_http_conn *hc, hb_http_request *req) {
    hb_http_server *srv = hc->srv;
    const route *best;
    hb_metrics_g.http_requests++;
    hc->u.http.gone_cb = NULL; /* an upload watched since its head is complete */
    hc->keep_alive = (uint8_t)req->keep_alive;
    hc->head_only = req->method == HTTP_HEAD;
    hc->responded = 0;
    free(hc->u.http.cors);
    hc->u.http.cors = cors_headers(srv, req, is_preflight(srv, req));
    if (is_preflight(srv, req)) {
        respond_preflight(hc, req);
        return;
    }
    best = find_route(srv, req);
    if (best == NULL) {
        hb_http_respond_json_error(hc, 404, 404, "Not found");
        return;
    }
    best->cb(best->ud, hc, req);
}

/* --- reading ---------------------------------------------------------------- */

static void fail_request(hb_http_conn *hc, int err) {
    int status = 400;
    const char *msg = "Bad request";
    if (err == HB_EHTTP_HEADERS_TOO_BIG) {
        status = 431;
        msg = "Request header fields too large";
    } else if (err == HB_EHTTP_BODY_TOO_BIG) {
        status = 413;
        msg = "Payload too large";
    } else if (err == HB_ENOMEM) {
        status = 503;
        msg = "Out of memory";
    }
    hb_log_debug("http", "refusing request: %s (%d)", hb_strerror(err), status);
    hc->keep_alive = 0;
    hc->responded = 0;
    if (hc->parser != NULL && hb_http_parser_head(hc->parser) != NULL) {
        free(hc->u.http.cors);
        hc->u.http.cors = cors_headers(hc->srv, hb_http_parser_head(hc->parser), 0);
    }
    if (status == 413) {
        /* Like Node: an empty 413. The client may still be sending the body;
         * closing now would reset the connection before it reads our answer,
         * so keep reading (and dropping) until it hangs up or a short
         * deadline passes. */
        hc->draining = 1;
        hb_http_respond(hc, 413, NULL, NULL, NULL, 0);
        return;
    }
    {
        char body[128];
        int n = snprintf(body, sizeof(body), "{\"code\":%d,\"message\":\"%s\"}", status, msg);
        hb_http_respond(hc, status, "application/json", NULL, body, (size_t)n);
    }
}

static void backlog_append(hb_http_conn *hc, const uint8_t *data, size_t len) {
    uint8_t *b;
    if (len == 0)
        return;
    if (hc->u.http.backlog_len + len > MAX_BACKLOG) {
        hb_log_debug("http", "client pipelined too much behind a held request; closing");
        hb_conn_close(&hc->c);
        return;
    }
    b = realloc(hc->u.http.backlog, hc->u.http.backlog_len + len);
    if (b == NULL) {
        hb_conn_close(&hc->c);
        return;
    }
    memcpy(b + hc->u.http.backlog_len, data, len);
    hc->u.http.backlog = b;
    hc->u.http.backlog_len += len;
}

static void process(hb_http_conn *hc, uint8_t *data, size_t len) {
    hb_http_server *srv = hc->srv;
    while (len > 0 && !hc->held && !hc->upgraded && !hc->c.closing && !hc->c.close_after_flush) {
        size_t consumed = 0;
        int r;
        if (hc->parser == NULL) {
            hc->parser = hb_http_parser_new(srv->opts.max_header_bytes, srv->opts.max_body);
            if (hc->parser == NULL) {
                hb_conn_close(&hc->c);
                return;
            }
            hb_http_parser_notify_head(hc->parser, 1);
            arm_timer(hc, srv->opts.request_timeout_ms);
            hc->responded = 0; /* a new request: the last one's answer is done */
        }
        r = hb_http_parser_feed(hc->parser, data, len, &consumed);
        if (r < 0) {
            fail_request(hc, r);
            return;
        }
        if (r == 0)
            return;
        if (r == 2) {
            data += consumed;
            len -= consumed;
            on_head(hc, hb_http_parser_head(hc->parser));
            if (hc->responded) {
                /* Answered before its body: nothing more is read. */
                hc->keep_alive = 0;
                hb_conn_close_after_flush(&hc->c);
                return;
            }
            continue;
        }
        data += consumed;
        len -= consumed;
        hc->rest = data;
        hc->rest_len = len;
        dispatch(hc, hb_http_parser_request(hc->parser));
        if (hc->upgraded) {
            hb_http_parser_free(hc->parser);
            hc->parser = NULL;
        }
        data = hc->rest;
        len = hc->rest_len;
        hc->rest = NULL;
        hc->rest_len = 0;
        if (hc->held) {
            backlog_append(hc, data, len);
            return;
        }
    }
}

static void on_read(hb_conn *c, uint8_t *data, size_t len) {
    hb_http_conn *hc = (hb_http_conn *)c;
    hb_metrics_g.bytes_in += len;
    if (hc->draining)
        return; /* the rest of a refused request: read and forget */
    if (hc->held) {
        backlog_append(hc, data, len);
        return;
    }
    process(hc, data, len);
}

static void on_eof(hb_conn *c, int err) {
    hb_http_conn *hc = (hb_http_conn *)c;
    (void)err;
    if (hc->u.http.gone_cb != NULL) {
        hb_http_gone_cb gone = hc->u.http.gone_cb;
        hc->u.http.gone_cb = NULL;
        gone(hc->u.http.gone_ud, hc);
    }
    hb_conn_close(c);
}

static void on_close(hb_conn *c) {
    hb_http__release((hb_http_conn *)c);
}

void hb_http__release(hb_http_conn *hc) {
    hb_http_server *srv = hc->srv;
    if (!hc->upgraded) { /* else u is the upgraded protocol's */
        if (hc->u.http.gone_cb != NULL) {
            hb_http_gone_cb gone = hc->u.http.gone_cb;
            hc->u.http.gone_cb = NULL;
            gone(hc->u.http.gone_ud, hc);
        }
        hb_timer_stop(&hc->u.http.timer);
        free(hc->u.http.backlog);
        free(hc->u.http.cors);
    }
    hb_http_parser_free(hc->parser);
    if (hc->prev != NULL)
        hc->prev->next = hc->next;
    else
        srv->conns = hc->next;
    if (hc->next != NULL)
        hc->next->prev = hc->prev;
    srv->nconns--;
    hb_metrics_g.http_connections--;
}

/* --- answering ---------------------------------------------------------------- */

void hb_http_respond(hb_http_conn *hc, int status, const char *ctype, const char *extra,
                     const void *body, size_t len) {
    char head[1024];
    int n;
    hb_buf *b;
    int was_held = hc->held;

    if (hc->responded || hc->upgraded)
        return;
    hc->responded = 1;
    hc->held = 0;
    hc->u.http.gone_cb = NULL;
    if (status >= 400 && status < 600)
        hb_metrics_g.http_errors[status / 100]++;
    /* A HEAD answer says how long the body would be, and sends none
     * (RFC 9110 9.3.2): a client reads no body after it. */
    if (hc->head_only)
        body = NULL;
    n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\n%s%s%sContent-Length: %zu\r\n%s%s\r\n",
                 status, hb_http_status_text(status), ctype ? "Content-Type: " : "",
                 ctype ? ctype : "", ctype ? "\r\n" : "", len,
                 hc->keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n",
                 hc->u.http.cors ? hc->u.http.cors : "");
    if (n < 0 || (size_t)n >= sizeof(head)) {
        hb_conn_close(&hc->c);
        return;
    }
    {
        size_t elen = extra ? strlen(extra) : 0;
        /* extra header lines go before the blank line that ends the head */
        b = hb_buf_new((size_t)n + elen + len);
        if (b == NULL) {
            hb_conn_close(&hc->c);
            return;
        }
        memcpy(b->data, head, (size_t)n - 2);
        if (elen)
            memcpy(b->data + n - 2, extra, elen);
        memcpy(b->data + n - 2 + elen, "\r\n", 2);
        if (body != NULL && len)
            memcpy(b->data + n + elen, body, len);
        b->len = (size_t)n + elen + (body != NULL ? len : 0);
    }
    hb_metrics_g.bytes_out += b->len;
    if (hb_conn_write_take(&hc->c, b) != 0) {
        hb_conn_close(&hc->c);
        return;
    }
    free(hc->u.http.cors);
    hc->u.http.cors = NULL;
    if (hc->parser != NULL)
        hb_http_parser_reset(hc->parser);
    /* An idle connection keeps no parser. */
    hb_http_parser_free(hc->parser);
    hc->parser = NULL;
    if (hc->draining) {
        arm_timer(hc, 2000);
        return;
    }
    if (!hc->keep_alive) {
        hb_conn_close_after_flush(&hc->c);
        return;
    }
    arm_timer(hc, hc->srv->opts.idle_timeout_ms);
    if (was_held && hc->u.http.backlog_len > 0) {
        uint8_t *bl = hc->u.http.backlog;
        size_t bl_len = hc->u.http.backlog_len;
        hc->u.http.backlog = NULL;
        hc->u.http.backlog_len = 0;
        process(hc, bl, bl_len);
        free(bl);
    }
}

void hb_http_respond_json_error(hb_http_conn *hc, int status, int code, const char *message) {
    char body[512];
    int n = snprintf(body, sizeof(body), "{\"code\":%d,\"message\":\"", code);
    /* The message is plain text: what would break the JSON becomes a
     * space, and it is cut to fit. */
    for (const char *m = message; *m != '\0' && n < (int)sizeof(body) - 3; m++)
        body[n++] = *m == '"' || *m == '\\' || (unsigned char)*m < 0x20 ? ' ' : *m;
    body[n++] = '"';
    body[n++] = '}';
    hb_http_respond(hc, status, "application/json", NULL, body, (size_t)n);
}

void hb_http_hold(hb_http_conn *hc, hb_http_gone_cb gone, void *ud) {
    hc->held = 1;
    hc->u.http.gone_cb = gone;
    hc->u.http.gone_ud = ud;
    hb_timer_stop(&hc->u.http.timer); /* the route owns the deadline now */
}

void hb_http_watch(hb_http_conn *hc, hb_http_gone_cb gone, void *ud) {
    hc->u.http.gone_cb = gone;
    hc->u.http.gone_ud = ud;
}

void *hb_http__detach(hb_http_conn *hc) {
    hc->upgraded = 1;
    hc->held = 0;
    hb_timer_stop(&hc->u.http.timer);
    /* The parser (and so the request the route holds) lives until the
     * route returns; process() frees it then. Bytes held back meanwhile
     * came before the upgrade's answer, which no client sends. */
    free(hc->u.http.cors);
    free(hc->u.http.backlog);
    memset(&hc->u, 0, sizeof(hc->u));
    return hc->u.upgraded;
}

void hb_http_conn_peer(hb_http_conn *hc, char *out, size_t cap) {
    hb_conn_peer(&hc->c, out, cap);
}
