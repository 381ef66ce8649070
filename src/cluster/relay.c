/* The byte relay of WebSocket upgrades between nodes (cluster/relay.h).
 *
 * The client's side stays the hb_conn that HTTP accepted: once the owner
 * is connected, HTTP lets go of it (hb_http__detach) and the relay's
 * handler reads it; what the owner sends is queued on it as shared
 * buffers, flushed like any connection's. The owner's side is a uv_tcp_t
 * of the relay's, written with uv_try_write and, for what the kernel does
 * not take at once, one copied uv_write per chunk.
 *
 * Backpressure, both ways: while more than HB_RELAY_MAX_BUFFERED bytes
 * wait to go to the owner, the client is not read (resumed from the write
 * callbacks once half of it is written); while the client's queue holds
 * more than that, the owner is not read (resumed by the connection's
 * on_drain). So a relay never holds much more than twice the limit.
 *
 * A relay lives until the client's connection and the owner's handle are
 * closed and its dial has called back: each holds one reference. */
#include "cluster/relay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llhttp.h>
#include <uv.h>

#include "cluster/forward.h"
#include "core/log.h"
#include "core/metrics.h"
#include "hubbub/error.h"
#include "net/dial.h"

#define CONNECT_MS 10000
#define ERR_LOG_MS 10000

typedef struct relay relay;

struct hb_relays {
    hb_loop *loop;
    relay *live;
    size_t nlive;
    int stopped;
    uint64_t last_err_log;
};

struct relay {
    relay *next, *prev;
    hb_relays *rs;            /* NULL once the relays were freed */
    hb_loop *loop;
    hb_http_conn *hc;         /* the client; NULL once it is closed or answered */
    uv_tcp_t tcp;             /* to the owner */
    hb_dial dial;
    uv_shutdown_t shutdown;
    hb_timer timer;           /* the connect deadline */
    hb_relay_refusal refusal;
    char *head;
    size_t head_len;
    size_t to_owner;          /* bytes in writes to the owner not done yet */
    unsigned refs;            /* the client, the owner's handle, the dial */
    uint8_t relaying, tcp_closing, shutting_down, client_paused, owner_paused;
    char addr[300];
};

typedef struct owner_write {
    uv_write_t req;
    relay *r;
    size_t len;
    char data[];
} owner_write;

static void on_client_read(hb_conn *c, uint8_t *data, size_t len);
static void on_client_eof(hb_conn *c, int err);
static void on_client_close(hb_conn *c);
static void on_client_drain(hb_conn *c);
static const hb_conn_handler client_handler = {on_client_read, on_client_eof, on_client_close,
                                               on_client_drain};

/* --- bookkeeping -------------------------------------------------------------------------- */

/* Counts a relay that could not be made and says why, at most once every
 * ERR_LOG_MS as a warning (the rest at debug level). */
static void log_error(hb_relays *rs, const char *why) {
    uint64_t now;
    hb_metrics_g.cluster_relay_errors++;
    if (rs == NULL)
        return;
    now = hb_loop_now(rs->loop);
    if (rs->last_err_log == 0 || now - rs->last_err_log >= ERR_LOG_MS) {
        rs->last_err_log = now;
        hb_log_warn("cluster", "cannot relay a WebSocket upgrade to the node it belongs to: %s "
                    "(counted in hubbub_cluster_relay_errors_total)", why);
    } else {
        hb_log_debug("cluster", "cannot relay a WebSocket upgrade: %s", why);
    }
}

static void relay_unref(relay *r) {
    if (--r->refs > 0)
        return;
    if (r->rs != NULL) {
        if (r->prev != NULL)
            r->prev->next = r->next;
        else
            r->rs->live = r->next;
        if (r->next != NULL)
            r->next->prev = r->prev;
        r->rs->nlive--;
    }
    hb_timer_stop(&r->timer);
    free(r->head);
    free(r);
}

static void on_tcp_closed(uv_handle_t *h) {
    relay_unref(h->data); /* the handle's */
}

static void close_owner(relay *r) {
    if (r->tcp_closing)
        return;
    r->tcp_closing = 1;
    uv_close((uv_handle_t *)&r->tcp, on_tcp_closed);
}

/* Both sides, now. */
static void end(relay *r) {
    if (r->hc != NULL)
        hb_conn_close(&r->hc->c);
    close_owner(r);
}

/* Before any byte of the owner's: the client gets an HTTP answer. */
static void refuse(relay *r, int status, const char *ctype, const char *body) {
    hb_http_conn *hc = r->hc;
    r->hc = NULL;
    hb_timer_stop(&r->timer);
    close_owner(r);
    if (hc != NULL) {
        hc->keep_alive = 0;
        hb_http_respond(hc, status, ctype, NULL, body, strlen(body));
        relay_unref(r); /* the client's */
    }
}

static void refuse_as_asked(relay *r, const char *why) {
    log_error(r->rs, why);
    refuse(r, r->refusal.status, r->refusal.ctype, r->refusal.body);
}

/* --- the owner's side ------------------------------------------------------------------------ */

static void on_owner_written(uv_write_t *req, int status) {
    owner_write *w = (owner_write *)req;
    relay *r = w->r;
    r->to_owner -= w->len;
    free(w);
    if (status < 0) {
        end(r);
        return;
    }
    if (r->client_paused && r->to_owner <= HB_RELAY_MAX_BUFFERED / 2 && r->hc != NULL &&
        !r->hc->c.close_after_flush) {
        r->client_paused = 0;
        hb_conn_read_start(&r->hc->c);
    }
}

/* Sends len bytes of data (borrowed) to the owner: what the kernel takes
 * now, and a copy of the rest. Returns 0 or a UV_E* code. */
static int to_owner(relay *r, const void *data, size_t len) {
    uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
    owner_write *w;
    int n = 0, err;
    if (r->to_owner == 0) {
        n = uv_try_write((uv_stream_t *)&r->tcp, &b, 1);
        if (n == UV_EAGAIN)
            n = 0;
        else if (n < 0)
            return n;
    }
    if ((size_t)n == len)
        return 0;
    if ((w = malloc(sizeof(*w) + len - (size_t)n)) == NULL)
        return UV_ENOMEM;
    w->r = r;
    w->len = len - (size_t)n;
    memcpy(w->data, (const char *)data + n, w->len);
    b = uv_buf_init(w->data, (unsigned)w->len);
    if ((err = uv_write(&w->req, (uv_stream_t *)&r->tcp, &b, 1, on_owner_written)) != 0) {
        free(w);
        return err;
    }
    r->to_owner += w->len;
    if (r->to_owner > HB_RELAY_MAX_BUFFERED && r->hc != NULL && !r->client_paused) {
        r->client_paused = 1;
        hb_conn_read_stop(&r->hc->c);
    }
    return 0;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    relay *r = h->data;
    (void)suggested;
    buf->base = (char *)r->loop->rbuf;
    buf->len = r->loop->rbuf_size;
}

static void on_owner_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
    relay *r = s->data;
    if (nread > 0) {
        hb_buf *b;
        if (r->hc == NULL)
            return;
        b = hb_buf_from(buf->base, (size_t)nread);
        if (b == NULL || hb_conn_write_take(&r->hc->c, b) != 0) {
            end(r);
            return;
        }
        if (r->hc->c.queued_bytes > HB_RELAY_MAX_BUFFERED) {
            r->owner_paused = 1;
            uv_read_stop(s);
        }
    } else if (nread < 0) {
        /* The owner closed (or failed): the client gets what is queued
         * for it (a WebSocket close frame, say), then is closed. */
        if (r->hc != NULL)
            hb_conn_close_after_flush(&r->hc->c);
        close_owner(r);
    }
}

static void on_shutdown(uv_shutdown_t *req, int status) {
    (void)status;
    close_owner(req->data);
}

/* --- the client's side ------------------------------------------------------------------------ */

static void on_client_read(hb_conn *c, uint8_t *data, size_t len) {
    relay *r = c->ud;
    hb_metrics_g.bytes_in += len;
    if (r->tcp_closing || r->shutting_down)
        return;
    if (to_owner(r, data, len) != 0)
        end(r);
}

/* The client closed: the owner gets what is on its way to it (a
 * WebSocket close frame, say), then a FIN. */
static void on_client_eof(hb_conn *c, int err) {
    relay *r = c->ud;
    (void)err;
    hb_conn_close(c);
    if (r->tcp_closing || r->shutting_down)
        return;
    r->shutdown.data = r;
    if (uv_shutdown(&r->shutdown, (uv_stream_t *)&r->tcp, on_shutdown) == 0)
        r->shutting_down = 1;
    else
        close_owner(r);
}

static void on_client_close(hb_conn *c) {
    relay *r = c->ud;
    hb_http__release(r->hc);
    r->hc = NULL;
    hb_metrics_g.cluster_relays_open--;
    if (!r->shutting_down)
        close_owner(r);
    relay_unref(r); /* the client's */
}

static void on_client_drain(hb_conn *c) {
    relay *r = c->ud;
    if (r->owner_paused && !r->tcp_closing) {
        r->owner_paused = 0;
        uv_read_start((uv_stream_t *)&r->tcp, on_alloc, on_owner_read);
    }
}

/* --- connecting ------------------------------------------------------------------------------------ */

/* The owner is connected: HTTP lets go of the client, the head and what
 * the client sent behind it go to the owner, and bytes flow. */
static void begin(relay *r) {
    hb_http_conn *hc = r->hc;
    uint8_t *backlog = hc->u.http.backlog;
    size_t backlog_len = hc->u.http.backlog_len;
    int err;
    hc->u.http.backlog = NULL;
    hc->u.http.backlog_len = 0;
    hb_timer_stop(&r->timer);
    hb_http__detach(hc);
    hc->c.h = &client_handler;
    hc->c.ud = r;
    r->relaying = 1;
    hb_metrics_g.cluster_relays++;
    hb_metrics_g.cluster_relays_open++;
    err = to_owner(r, r->head, r->head_len);
    if (err == 0 && backlog_len > 0)
        err = to_owner(r, backlog, backlog_len);
    free(backlog);
    free(r->head);
    r->head = NULL;
    if (err == 0)
        err = uv_read_start((uv_stream_t *)&r->tcp, on_alloc, on_owner_read);
    if (err == 0)
        err = hb_conn_read_start(&hc->c);
    if (err != 0)
        end(r);
}

static void on_dialed(hb_dial *d, int status) {
    relay *r = d->data;
    if (r->hc != NULL && !r->relaying) {
        if (status < 0) {
            char why[512];
            snprintf(why, sizeof(why), "%s at %s", uv_strerror(status), r->addr);
            refuse_as_asked(r, why);
        } else {
            begin(r);
        }
    }
    relay_unref(r); /* the dial's */
}

static void on_deadline(hb_timer *t) {
    relay *r = (relay *)((char *)t - offsetof(relay, timer));
    char why[512];
    snprintf(why, sizeof(why), "no connection in time to %s", r->addr);
    refuse_as_asked(r, why);
}

/* The client left before the owner was connected. */
static void on_client_gone(void *ud, hb_http_conn *hc) {
    relay *r = ud;
    (void)hc;
    if (r->hc == NULL)
        return;
    r->hc = NULL;
    hb_timer_stop(&r->timer);
    close_owner(r);
    relay_unref(r); /* the client's */
}

void hb_relay_start(hb_relays *rs, hb_http_conn *hc, char *head, size_t head_len,
                    const char *addr, const hb_relay_refusal *refusal) {
    relay *r;
    int err;
    if (rs->stopped || rs->nlive >= HB_RELAY_MAX || (r = calloc(1, sizeof(*r))) == NULL) {
        free(head);
        hc->keep_alive = 0;
        hb_metrics_g.cluster_relay_errors += !rs->stopped;
        hb_http_respond_json_error(hc, 503, 503,
                                   rs->stopped              ? "Server shutting down"
                                   : rs->nlive >= HB_RELAY_MAX ? "Too many relayed connections"
                                                            : "Out of memory");
        return;
    }
    r->rs = rs;
    r->loop = rs->loop;
    r->hc = hc;
    r->head = head;
    r->head_len = head_len;
    r->refusal = *refusal;
    snprintf(r->addr, sizeof(r->addr), "%s", addr);
    r->refs = 1; /* the client's */
    r->next = rs->live;
    if (r->next != NULL)
        r->next->prev = r;
    rs->live = r;
    rs->nlive++;
    hb_http_hold(hc, on_client_gone, r);
    hb_loop_timer_start(rs->loop, &r->timer, CONNECT_MS, on_deadline);
    if ((err = uv_tcp_init(rs->loop->uv, &r->tcp)) != 0) {
        r->tcp_closing = 1; /* never opened */
        refuse_as_asked(r, uv_strerror(err));
        return;
    }
    r->tcp.data = r;
    r->refs++; /* the handle's, until its close callback */
    uv_tcp_nodelay(&r->tcp, 1);
    r->dial.data = r;
    r->refs++;
    if ((err = hb_dial_start(&r->dial, rs->loop->uv, &r->tcp, r->addr, on_dialed)) != 0) {
        char why[512];
        r->refs--;
        snprintf(why, sizeof(why), "%s at '%s'",
                 err == HB_EINVAL ? "a malformed address" : uv_strerror(err), r->addr);
        refuse_as_asked(r, why);
    }
}

/* --- the head --------------------------------------------------------------------------------- */

char *hb_relay_head(const hb_http_request *req, const char *tag, size_t *len) {
    const char *method = llhttp_method_name((llhttp_method_t)req->method);
    size_t cap = strlen(method) + req->path_len + req->query_len + strlen(tag) + 64;
    size_t n;
    char *out;
    for (size_t i = 0; i < req->nheaders; i++)
        cap += req->headers[i].name_len + req->headers[i].value_len + 4;
    if ((out = malloc(cap)) == NULL)
        return NULL;
    n = (size_t)snprintf(out, cap, "%s %.*s%s%.*s HTTP/1.1\r\n", method, (int)req->path_len,
                         req->path, req->query_len ? "?" : "", (int)req->query_len, req->query);
    for (size_t i = 0; i < req->nheaders; i++) {
        const hb_http_header *h = &req->headers[i];
        memcpy(out + n, h->name, h->name_len);
        n += h->name_len;
        memcpy(out + n, ": ", 2);
        memcpy(out + n + 2, h->value, h->value_len);
        n += 2 + h->value_len;
        memcpy(out + n, "\r\n", 2);
        n += 2;
    }
    n += (size_t)snprintf(out + n, cap - n, HB_FORWARD_HEADER ": %s\r\n\r\n", tag);
    *len = n;
    return out;
}

/* --- the relays ---------------------------------------------------------------------------------- */

hb_relays *hb_relays_new(hb_loop *loop) {
    hb_relays *rs = calloc(1, sizeof(*rs));
    if (rs != NULL)
        rs->loop = loop;
    return rs;
}

void hb_relays_stop(hb_relays *rs) {
    relay *r, *next;
    if (rs == NULL)
        return;
    rs->stopped = 1;
    for (r = rs->live; r != NULL; r = next) {
        next = r->next; /* r may be freed */
        if (r->relaying)
            end(r);
        else if (r->hc != NULL)
            refuse(r, 503, "application/json", "{\"code\":503,\"message\":\"Server shutting down\"}");
    }
}

void hb_relays_free(hb_relays *rs) {
    if (rs == NULL)
        return;
    hb_relays_stop(rs);
    for (relay *r = rs->live; r != NULL; r = r->next)
        r->rs = NULL;
    free(rs);
}
