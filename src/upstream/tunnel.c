/* The tunnel: a WebSocket an app server opens to /server/tunnel?hub=<hub>
 * with a JWT signed by an access key. Each message is a tunnel frame
 * (upstream/frame.h). The service sends CloudEvents as HttpRequest frames
 * and matches the app's HttpResponse frames by AckId; the app sends REST
 * calls as HttpRequest frames, which go to the REST dispatcher and come
 * back as HttpResponse frames (several for a streamed :invoke). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/jwt.h"
#include "core/id.h"
#include "core/log.h"
#include "core/metrics.h"
#include "http/query.h"
#include "hubbub/error.h"
#include "upstream/frame.h"
#include "upstream/internal.h"

/* --- sending frames -------------------------------------------------------------- */

static int send_frame_ws(hb_ws_conn *ws, int type, json_t *json, const void *content,
                         size_t len, int has_content) {
    char *text;
    size_t tlen, flen;
    hb_buf *raw, *frame;
    int err;
    json_object_set_new(json, "Type", json_integer(type));
    text = json_dumps(json, JSON_COMPACT);
    if (text == NULL)
        return HB_ENOMEM;
    tlen = strlen(text);
    flen = hb_tunnel_frame_encoded_len(type, tlen, len, has_content);
    raw = hb_buf_new(flen);
    if (raw == NULL) {
        free(text);
        return HB_ENOMEM;
    }
    raw->len = hb_tunnel_frame_write(raw->data, type, text, tlen, content, len, has_content);
    free(text);
    frame = hb_eio_message_new(1, raw->data, raw->len);
    hb_buf_unref(raw);
    if (frame == NULL)
        return HB_ENOMEM;
    err = hb_ws_conn_send(ws, frame);
    hb_buf_unref(frame);
    return err;
}

static int send_frame(hb_tunnel *t, int type, json_t *json, const void *content, size_t len,
                      int has_content) {
    if (t->closed)
        return UV_ECANCELED;
    return send_frame_ws(t->ws, type, json, content, len, has_content);
}

static void unlink_pending(hb_tunnel *t, hb_tunnel_pending *p) {
    hb_tunnel_pending **pp = &t->pending;
    while (*pp != NULL && *pp != p)
        pp = &(*pp)->next;
    if (*pp == p)
        *pp = p->next;
    hb_timer_stop(&p->timer);
}

/* An app that never answers (as Azure, 30 s) must not hold a client's
 * connect for ever. */
static void on_answer_deadline(hb_timer *timer) {
    hb_tunnel_pending *p = (hb_tunnel_pending *)((char *)timer - offsetof(hb_tunnel_pending, timer));
    hb_log_info("tunnel", "hub %s: the app server did not answer event %lld in time",
                hb_hub_name(p->t->hub), (long long)p->ack_id);
    unlink_pending(p->t, p);
    p->cb(p->ud, 0, NULL, 0);
    free(p);
}

int hb_tunnel__request(hb_tunnel *t, json_t *headers, const void *body, size_t len,
                       hb_tunnel_answer_cb cb, void *ud) {
    hb_tunnel_pending *p = calloc(1, sizeof(*p));
    json_t *j = json_object();
    int err;
    if (p == NULL || j == NULL) {
        free(p);
        json_decref(j);
        json_decref(headers);
        return HB_ENOMEM;
    }
    p->ack_id = ++t->next_ack;
    p->cb = cb;
    p->ud = ud;
    json_object_set_new(j, "AckId", json_integer(p->ack_id));
    json_object_set_new(j, "LocalRouting", json_false());
    json_object_set_new(j, "ChannelName", json_string(""));
    json_object_set_new(j, "HttpMethod", json_string("POST"));
    json_object_set_new(j, "Url", json_string("http://127.0.0.1/eventhandler/"));
    json_object_set_new(j, "Headers", headers);
    err = send_frame(t, HB_TUNNEL_HTTP_REQUEST, j, body, len, 1);
    json_decref(j);
    if (err != 0) {
        free(p);
        return err;
    }
    p->t = t;
    p->next = t->pending;
    t->pending = p;
    hb_loop_timer_start(t->az->loop, &p->timer, HB_TUNNEL_ANSWER_MS, on_answer_deadline);
    return 0;
}

/* --- REST calls from the app ------------------------------------------------------- */

typedef struct tunnel_reply {
    hb_rest_reply base;
    hb_azure *az;
    hb_tunnel *t;             /* NULL once the tunnel is gone */
    struct tunnel_reply *next, *prev; /* the tunnel's open replies */
    int64_t ack_id;
    int local_routing;
    int sent;
} tunnel_reply;

static void reply_unlink(hb_azure *az, tunnel_reply *r) {
    if (r->prev)
        r->prev->next = r->next;
    else if (az->replies == r)
        az->replies = r->next;
    if (r->next)
        r->next->prev = r->prev;
    r->next = r->prev = NULL;
}

static void tunnel_send(hb_rest_reply *base, int status, const char *ctype, const void *body,
                        size_t len, int more) {
    tunnel_reply *r = (tunnel_reply *)base;
    if (r->t != NULL && !r->t->closed) {
        json_t *j = json_object(), *h = json_object();
        json_object_set_new(j, "AckId", json_integer(r->ack_id));
        json_object_set_new(j, "LocalRouting", json_boolean(r->local_routing));
        json_object_set_new(j, "StatusCode", json_integer(status));
        json_object_set_new(j, "ChannelName", json_string(""));
        json_object_set_new(j, "NotCompleted", json_boolean(more));
        if (ctype != NULL && !r->sent) {
            json_t *a = json_array();
            json_array_append_new(a, json_string(ctype));
            json_object_set_new(h, "Content-Type", a);
        }
        json_object_set_new(j, "Headers", h);
        send_frame(r->t, HB_TUNNEL_HTTP_RESPONSE, j, body, len, len > 0);
        json_decref(j);
    }
    r->sent = 1;
    if (!more) {
        reply_unlink(r->az, r);
        free(r);
    }
}

static void on_app_request(hb_tunnel *t, json_t *j, const hb_tunnel_frame *f) {
    json_t *h = json_object_get(j, "Headers"), *ct = NULL;
    const char *url = json_string_value(json_object_get(j, "Url"));
    const char *method = json_string_value(json_object_get(j, "HttpMethod"));
    tunnel_reply *r = calloc(1, sizeof(*r));
    const char *p;
    char *path = NULL, *query;
    uint8_t *body = NULL;
    if (r == NULL)
        return;
    r->base.send = tunnel_send;
    r->az = t->az;
    r->t = t;
    r->ack_id = json_integer_value(json_object_get(j, "AckId"));
    r->local_routing = json_is_true(json_object_get(j, "LocalRouting"));
    /* Kept on a list until answered: a streamed answer may outlive the
     * tunnel, and must then stop writing to it. */
    r->next = t->az->replies;
    if (r->next)
        r->next->prev = r;
    t->az->replies = r;
    if (url == NULL || method == NULL) {
        r->base.send(&r->base, 400, NULL, NULL, 0, 0);
        return;
    }
    /* "https://host/api/..." with the literal host "host": route on the
     * path and query only. */
    p = strstr(url, "://");
    p = p ? strchr(p + 3, '/') : url;
    path = strdup(p ? p : "/");
    body = malloc(f->content.len + 1);
    if (path == NULL || body == NULL) {
        free(path);
        free(body);
        r->base.send(&r->base, 500, NULL, NULL, 0, 0);
        return;
    }
    if (f->content.len > 0)
        memcpy(body, f->content.base, f->content.len);
    body[f->content.len] = '\0';
    query = strchr(path, '?');
    if (query != NULL)
        *query++ = '\0';
    if (json_is_object(h)) {
        const char *k;
        json_t *v;
        json_object_foreach(h, k, v) {
            if (strcasecmp(k, "Content-Type") == 0)
                ct = json_is_array(v) ? json_array_get(v, 0) : v;
        }
    }
    hb_azure__rest(t->az, method, path, query ? query : "", json_string_value(ct), body,
                   f->content.len, &r->base);
    free(path);
    free(body);
}

static void on_app_response(hb_tunnel *t, json_t *j, const hb_tunnel_frame *f) {
    int64_t ack = json_integer_value(json_object_get(j, "AckId"));
    hb_tunnel_pending **pp = &t->pending, *p;
    while (*pp != NULL && (*pp)->ack_id != ack)
        pp = &(*pp)->next;
    if ((p = *pp) == NULL)
        return; /* the rest of a streamed answer, or unknown */
    unlink_pending(t, p);
    p->cb(p->ud, (int)json_integer_value(json_object_get(j, "StatusCode")), f->content.base,
          f->content.len);
    free(p);
}

/* --- the WebSocket ----------------------------------------------------------------- */

static void hub_unlink(hb_tunnel *t) {
    hb_hub_tunnels *ts = hb_hub_data(t->hub);
    if (t->prev)
        t->prev->next = t->next;
    else if (ts != NULL && ts->head == t)
        ts->head = t->next;
    if (t->next)
        t->next->prev = t->prev;
    t->next = t->prev = NULL;
}

static void on_ws_message(void *ud, hb_ws_conn *ws, int binary, uint8_t *data, size_t len) {
    hb_tunnel *t = ud;
    hb_tunnel_frame f;
    json_t *j;
    int type;
    (void)ws;
    if (!binary || hb_tunnel_frame_decode(data, len, &f) != 0) {
        hb_log_info("tunnel", "hub %s: a malformed tunnel frame; closing the tunnel",
                    hb_hub_name(t->hub));
        hb_ws_conn_close(t->ws, 1003, "malformed tunnel frame");
        return;
    }
    j = json_loadb((const char *)f.json.base, f.json.len, 0, NULL);
    if (!json_is_object(j)) {
        json_decref(j);
        hb_ws_conn_close(t->ws, 1003, "malformed tunnel message");
        return;
    }
    /* The receiver dispatches on the JSON's Type, as the app's own code does. */
    type = json_is_integer(json_object_get(j, "Type"))
               ? (int)json_integer_value(json_object_get(j, "Type"))
               : f.type;
    if (type == HB_TUNNEL_HTTP_REQUEST)
        on_app_request(t, j, &f);
    else if (type == HB_TUNNEL_HTTP_RESPONSE)
        on_app_response(t, j, &f);
    json_decref(j);
}

static void tunnel_gone(hb_tunnel *t) {
    if (t->closed)
        return;
    t->closed = 1;
    hub_unlink(t);
    for (tunnel_reply *r = t->az->replies; r != NULL; r = r->next)
        if (r->t == t)
            r->t = NULL;
    while (t->pending != NULL) {
        hb_tunnel_pending *p = t->pending;
        unlink_pending(t, p);
        p->cb(p->ud, 0, NULL, 0);
        free(p);
    }
    hb_bridge__tunnel_gone(t);
    hb_metrics_g.tunnels_open--;
    hb_log_info("tunnel", "hub %s: app server tunnel %s closed", hb_hub_name(t->hub), t->id);
}

static void on_ws_closed(void *ud, hb_ws_conn *ws, int code) {
    hb_tunnel *t = ud;
    (void)ws, (void)code;
    tunnel_gone(t);
    free(t->app);
    free(t);
}

static const hb_ws_conn_cb tunnel_ws_cb = {on_ws_message, on_ws_closed};

/* 1 when another open tunnel of t's hub belongs to the same app server. */
static int duplicate(const hb_tunnel *t) {
    hb_hub_tunnels *ts = hb_hub_data(t->hub);
    if (t->app == NULL)
        return 0;
    for (hb_tunnel *o = ts ? ts->head : NULL; o != NULL; o = o->next)
        if (o != t && !o->closed && !o->leaving && o->app != NULL && strcmp(o->app, t->app) == 0)
            return 1;
    return 0;
}

/* The token's audience must be the tunnel URL of this hub. */
static int audience_ok(const char *aud, const char *hub) {
    const char *p = aud ? strstr(aud, "://") : NULL;
    char value[256];
    const char *q;
    if (p == NULL || (p = strchr(p + 3, '/')) == NULL)
        return 0;
    if (strncmp(p, "/server/tunnel", 14) != 0 || (p[14] != '?' && p[14] != '\0'))
        return 0;
    q = p[14] == '?' ? p + 15 : "";
    return hb_http_query_get(q, strlen(q), "hub", value, sizeof(value)) >= 0 &&
           strcmp(value, hub) == 0;
}

void hb_tunnel__route(void *ud, hb_http_conn *hc, hb_http_request *req) {
    hb_azure *az = ud;
    char hub_name[256], token[8192];
    const char *why = NULL;
    hb_jwt_claims claims;
    hb_hub *hub;
    hb_hub_tunnels *ts;
    hb_tunnel *t;
    json_t *j;
    if (strcmp(req->path, "/server/tunnel") != 0) {
        hb_http_respond_json_error(hc, 404, 404, "Not found");
        return;
    }
    if (hb_http_query_get(req->query, req->query_len, "hub", hub_name, sizeof(hub_name)) <= 0) {
        hb_http_respond_json_error(hc, 400, 400, "The hub query parameter is required");
        return;
    }
    /* The names clients can reach (see the Engine.IO hubs mount). */
    for (size_t i = 0; hub_name[i] != '\0'; i++) {
        char c = hub_name[i];
        if (i >= 128 || !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                          (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.')) {
            hb_http_respond_json_error(hc, 400, 400,
                                       "A hub name is 1 to 128 of A-Z a-z 0-9 _ - .");
            return;
        }
    }
    if (hb_http_query_get(req->query, req->query_len, "access_token", token, sizeof(token)) <= 0) {
        hb_log_info("tunnel", "refused a tunnel for hub %s: no access_token", hub_name);
        hb_metrics_g.auth_failures++;
        hb_http_respond_json_error(hc, 401, 401, "Unauthorized: access_token is required");
        return;
    }
    if (hb_jwt_verify(token, strlen(token), az->opts.keys, az->nkeys, (int64_t)time(NULL), 300,
                      &claims, &why) != 0) {
        hb_log_info("tunnel", "refused a tunnel for hub %s: %s", hub_name, why ? why : "bad token");
        hb_metrics_g.auth_failures++;
        hb_http_respond_json_error(hc, 401, 401, "Unauthorized: invalid access token");
        return;
    }
    if (!audience_ok(claims.aud, hub_name)) {
        hb_log_info("tunnel", "refused a tunnel for hub %s: the token's audience is '%s'",
                    hub_name, claims.aud ? claims.aud : "(none)");
        hb_jwt_claims_free(&claims);
        hb_metrics_g.auth_failures++;
        hb_http_respond_json_error(hc, 401, 401, "Unauthorized: the token's audience does not match");
        return;
    }
    if (az->bus.route_tunnel != NULL &&
        hb_http_query_get(req->query, req->query_len, "target", token, sizeof(token)) > 0 &&
        az->bus.route_tunnel(az->bus.ud, hc, req, token) == 0) {
        hb_jwt_claims_free(&claims);
        return; /* another node's tunnel: the cluster takes it there */
    }
    hub = hb_hubs_get(az->hubs, hub_name, 1);
    ts = hub ? hb_hub_data(hub) : NULL;
    if (hub != NULL && ts == NULL && (ts = calloc(1, sizeof(*ts))) != NULL)
        hb_hub_set_data(hub, ts);
    t = calloc(1, sizeof(*t));
    if (hub == NULL || ts == NULL || t == NULL) {
        free(t);
        hb_jwt_claims_free(&claims);
        hb_http_respond_json_error(hc, 503, 503, "Out of memory");
        return;
    }
    t->az = az;
    t->hub = hub;
    hb_id_new(t->id);
    t->app = claims.sub ? strdup(claims.sub) : NULL;
    t->targeted = hb_http_query_get(req->query, req->query_len, "target", token, sizeof(token)) >= 0;
    t->ws = hb_ws_conn_accept(hc, req, HB_TUNNEL_MAX_FRAME, &tunnel_ws_cb, t);
    if (t->ws == NULL) {
        free(t->app);
        free(t);
        hb_jwt_claims_free(&claims);
        return;
    }
    t->next = ts->head;
    if (ts->head)
        ts->head->prev = t;
    ts->head = t;
    j = json_object();
    json_object_set_new(j, "ConnectionId", json_string(t->id));
    if (claims.sub != NULL)
        json_object_set_new(j, "UserId", json_string(claims.sub));
    send_frame(t, HB_TUNNEL_CONNECTION_CONNECTED, j, NULL, 0, 0);
    json_decref(j);
    hb_log_info("tunnel", "hub %s: app server tunnel %s connected%s", hub_name, t->id,
                t->targeted ? " (asked for by a node of the cluster)" : "");
    hb_metrics_g.tunnels_open++;
    hb_jwt_claims_free(&claims);
    hb_ws_conn_feed_rest(t->ws);
    if (t->targeted && duplicate(t)) {
        /* Two nodes asked for the same tunnel (a node that left and came
         * back): one per app server here is enough. */
        json_t *bye = json_pack("{s:s}", "Message", "this app server has a tunnel here already");
        /* Until the app server closes it, no client is given to it: its
         * answers could be lost with it. */
        t->leaving = 1;
        send_frame(t, HB_TUNNEL_CONNECTION_CLOSE, bye, NULL, 0, 0);
        json_decref(bye);
    } else if (!t->targeted && az->bus.tunnel != NULL) {
        az->bus.tunnel(az->bus.ud, t);
    }
}

/* A tunnel refused after its handshake has no state: what it sends is
 * ignored until it closes. */
static void on_refused_message(void *ud, hb_ws_conn *ws, int binary, uint8_t *data, size_t len) {
    (void)ud, (void)ws, (void)binary, (void)data, (void)len;
}

static void on_refused_closed(void *ud, hb_ws_conn *ws, int code) {
    (void)ud, (void)ws, (void)code;
}

static const hb_ws_conn_cb refused_ws_cb = {on_refused_message, on_refused_closed};

void hb_azure_tunnel_refuse(hb_http_conn *hc, hb_http_request *req, const char *message) {
    hb_ws_conn *ws = hb_ws_conn_accept(hc, req, HB_TUNNEL_MAX_FRAME, &refused_ws_cb, NULL);
    char id[HB_ID_LEN + 1];
    json_t *j;
    if (ws == NULL)
        return;
    /* ConnectionConnected first: the app server's client waits for it
     * before it takes anything else as said. */
    hb_id_new(id);
    j = json_pack("{s:s}", "ConnectionId", id);
    if (j != NULL)
        send_frame_ws(ws, HB_TUNNEL_CONNECTION_CONNECTED, j, NULL, 0, 0);
    json_decref(j);
    j = json_pack("{s:s}", "Message", message);
    if (j != NULL)
        send_frame_ws(ws, HB_TUNNEL_CONNECTION_CLOSE, j, NULL, 0, 0);
    json_decref(j);
    /* The close frame follows the two messages, which the client reads
     * first: it has stopped the tunnel by the time it sees the close. */
    hb_ws_conn_close(ws, 1000, "closed");
}

int hb_azure_rebalance(hb_tunnel *t, const char *endpoint, const char *target) {
    json_t *j = json_pack("{s:s,s:s,s:s}", "TargetId", target, "Endpoint", endpoint, "Message",
                          "open a tunnel to every node of the cluster");
    int err = j ? send_frame(t, HB_TUNNEL_CONNECTION_REBALANCE, j, NULL, 0, 0) : HB_ENOMEM;
    json_decref(j);
    return err;
}

const char *hb_azure_tunnel_id(const hb_tunnel *t) {
    return t->id;
}

const char *hb_azure_tunnel_hub(const hb_tunnel *t) {
    return hb_hub_name(t->hub);
}

void hb_azure_foreach_tunnel(hb_azure *az, void (*fn)(void *ud, hb_tunnel *t), void *ud) {
    for (hb_hub *hub = hb_hubs_next(az->hubs, NULL); hub; hub = hb_hubs_next(az->hubs, hub)) {
        hb_hub_tunnels *ts = hb_hub_data(hub);
        for (hb_tunnel *t = ts ? ts->head : NULL; t != NULL; t = t->next)
            if (!t->closed)
                fn(ud, t);
    }
}

hb_tunnel *hb_tunnel__pick(hb_hub *hub) {
    hb_hub_tunnels *ts = hb_hub_data(hub);
    hb_tunnel *best = NULL;
    for (hb_tunnel *t = ts ? ts->head : NULL; t != NULL; t = t->next)
        if (!t->closed && !t->leaving && (best == NULL || t->clients < best->clients))
            best = t;
    return best;
}

void hb_tunnel__close_all(hb_azure *az) {
    /* The service is stopping: "going away" (1001), after which the app
     * server's tunnel client reconnects (to this node once it is back, or
     * it keeps its tunnels to the other nodes). Their close callbacks
     * clean up. */
    for (hb_hub *hub = hb_hubs_next(az->hubs, NULL); hub; hub = hb_hubs_next(az->hubs, hub)) {
        hb_hub_tunnels *ts = hb_hub_data(hub);
        hb_tunnel *next;
        for (hb_tunnel *t = ts ? ts->head : NULL; t != NULL; t = next) {
            next = t->next; /* closing may free t */
            if (!t->closed)
                hb_ws_conn_close(t->ws, 1001, "the service is stopping");
        }
    }
}
