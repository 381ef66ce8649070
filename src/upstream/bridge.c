/* The clients' side of the Azure-compatible service: the Engine.IO handler
 * of /clients/socketio/hubs/<hub>/. A new session is checked (access_token,
 * or anonymous when allowed), given to one app server of its hub, and held
 * until that app answers the connect event; then its messages are relayed
 * as user events (all those of one loop turn in one Engine.IO payload, as
 * polling batches them), and its close as a disconnected event. The app's
 * REST calls reach the client through the hub connection ops below. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/jwt.h"
#include "core/base64.h"
#include "core/log.h"
#include "core/metrics.h"
#include "http/query.h"
#include "hubbub/error.h"
#include "hub/perm.h"
#include "upstream/internal.h"

/* Acks of :invoke use ids far above what socket.io's own counters reach,
 * so they never collide with the app's acks on the same connection. */
#define INVOKE_ID_BASE 1000000000000ll

/* --- lifetime -------------------------------------------------------------------- */

static void conn_ref(hb_bridge_conn *c) {
    c->refs++;
}

static void conn_unref(hb_bridge_conn *c) {
    if (--c->refs > 0)
        return;
    free(c->batch);
    free(c->user_id);
    free(c->hc.perms);
    free(c->connect_body);
    free(c->ack_text);
    for (size_t i = 0; i < c->ngroups; i++)
        free(c->groups[i]);
    free(c);
}

static void event_answered(void *ud, int status, const uint8_t *body, size_t len) {
    (void)status, (void)body, (void)len;
    conn_unref(ud);
}

/* Sends a CloudEvent of c to its app server; cb (which must drop the
 * reference taken here) gets the answer. Returns 0, or -1 when nothing was
 * sent. */
static int send_event_cb(hb_bridge_conn *c, const char *type, const char *name,
                         const char *ctype, const void *body, size_t len,
                         hb_tunnel_answer_cb cb) {
    json_t *h;
    if (c->tunnel == NULL || c->tunnel->closed)
        return -1;
    h = hb_azure__event_headers(c->az, hb_hub_name(c->hub), c->hc.id, c->user_id, type, name, ctype);
    if (h == NULL)
        return -1;
    conn_ref(c);
    if (hb_tunnel__request(c->tunnel, h, body, len, cb, c) != 0) {
        conn_unref(c);
        return -1;
    }
    return 0;
}

/* Sends a CloudEvent of c to its app server; the answer is not awaited. */
static void send_event(hb_bridge_conn *c, const char *type, const char *name, const char *ctype,
                       const void *body, size_t len) {
    send_event_cb(c, type, name, ctype, body, len, event_answered);
}

static void send_disconnected(hb_bridge_conn *c, int reason) {
    char body[128];
    snprintf(body, sizeof(body), "{\"reason\":\"%s\"}", hb_close_reason_name(reason));
    send_event(c, "azure.webpubsub.sys.disconnected", "disconnected", "application/json", body,
               strlen(body));
}

/* The app answers a user event once engine.io has taken its packets, but
 * handles a disconnected event at once: sent right behind the messages
 * that precede it (a client's DISCONNECT, then its close), it would
 * overtake them, and the app's socket would end with "transport close"
 * instead of "client namespace disconnect". So a closed connection's
 * disconnected event waits for the answers to its messages (as Azure
 * delivers a connection's events one after the other). */
static void message_answered(void *ud, int status, const uint8_t *body, size_t len) {
    hb_bridge_conn *c = ud;
    (void)status, (void)body, (void)len;
    if (--c->messages_out == 0 && c->bye_pending) {
        c->bye_pending = 0;
        send_disconnected(c, c->bye_reason); /* not when the tunnel is gone */
        c->tunnel = NULL;
    }
    conn_unref(c);
}

static void flush_batch(hb_bridge_conn *c) {
    if (c->batch_len == 0)
        return;
    if (send_event_cb(c, "azure.webpubsub.user.message", "message", "text/plain", c->batch,
                      c->batch_len, message_answered) == 0)
        c->messages_out++;
    c->batch_len = 0;
}

static void on_flush(hb_deferred *d) {
    hb_bridge_conn *c = (hb_bridge_conn *)((char *)d - offsetof(hb_bridge_conn, flush));
    flush_batch(c);
}

/* Appends one Engine.IO packet ("4text", "3", or binary as "b<base64>") to
 * this turn's payload. */
static void batch_add(hb_bridge_conn *c, char type, int binary, const uint8_t *data, size_t len) {
    size_t need = c->batch_len + 2 + (binary ? hb_base64_encoded_len(len) : len);
    if (need > c->batch_cap) {
        size_t cap = need * 2;
        char *b = realloc(c->batch, cap);
        if (b == NULL)
            return;
        c->batch = b;
        c->batch_cap = cap;
    }
    if (c->batch_len > 0)
        c->batch[c->batch_len++] = 0x1e;
    if (binary) {
        c->batch[c->batch_len++] = 'b';
        c->batch_len += hb_base64_encode(c->batch + c->batch_len, data, len);
    } else {
        c->batch[c->batch_len++] = type;
        if (len > 0)
            memcpy(c->batch + c->batch_len, data, len);
        c->batch_len += len;
    }
    hb_loop_defer(c->az->loop, &c->flush, on_flush);
}

/* --- the hub's view: what REST calls do to this client ----------------------------- */

static hb_bridge_conn *of(hb_hub_conn *hc) {
    return (hb_bridge_conn *)hc;
}

static int op_send(hb_hub_conn *hc, hb_buf *const *msgs, size_t n) {
    hb_bridge_conn *c = of(hc);
    int err = 0;
    for (size_t i = 0; i < n && err == 0 && c->session != NULL; i++)
        err = hb_eio_session_send(c->session, msgs[i]);
    return err;
}

static void op_ping(hb_hub_conn *hc) {
    /* The app's engine pings; Hubbub keeps its own heartbeat with the
     * client, so it answers for the client. */
    batch_add(of(hc), '3', 0, NULL, 0);
}

static void op_close(hb_hub_conn *hc, const char *reason) {
    hb_bridge_conn *c = of(hc);
    if (c->session != NULL) {
        hb_log_debug("bridge", "closing %s: %s", hc->id, reason);
        hb_eio_session_close(c->session);
    }
}

/* Writes the EVENT text with id inserted after its namespace: "2[..]" →
 * "2<id>[..]", "2/ns,[..]" → "2/ns,<id>[..]", "51-[..]" → "51-<id>[..]". */
static char *with_ack_id(const char *ev, size_t len, int64_t id, size_t *out_len) {
    size_t i = 1;
    char digits[24];
    int nd = snprintf(digits, sizeof(digits), "%lld", (long long)id);
    char *out;
    if (len < 2 || (ev[0] != '2' && ev[0] != '5'))
        return NULL;
    if (ev[0] == '5') {
        while (i < len && ev[i] >= '0' && ev[i] <= '9')
            i++;
        if (i >= len || ev[i] != '-')
            return NULL;
        i++;
    }
    if (i < len && ev[i] == '/') {
        while (i < len && ev[i] != ',')
            i++;
        if (i < len)
            i++;
    }
    if (i < len && ev[i] >= '0' && ev[i] <= '9')
        return NULL; /* it has an id already */
    out = malloc(len + (size_t)nd + 1);
    if (out == NULL)
        return NULL;
    memcpy(out, ev, i);
    memcpy(out + i, digits, (size_t)nd);
    memcpy(out + i + nd, ev + i, len - i);
    *out_len = len + (size_t)nd;
    out[*out_len] = '\0';
    return out;
}

static int op_invoke(hb_hub_conn *hc, hb_hub_invoke *inv, const char *ev, size_t len,
                     hb_buf *const *att, size_t n) {
    hb_bridge_conn *c = of(hc);
    hb_bridge_invoke *bi;
    size_t tlen;
    char *text;
    int err;
    if (c->session == NULL || c->state != HB_BRIDGE_OPEN)
        return UV_ECANCELED;
    bi = calloc(1, sizeof(*bi));
    if (bi == NULL)
        return HB_ENOMEM;
    bi->id = INVOKE_ID_BASE + c->next_invoke++;
    bi->inv = inv;
    text = with_ack_id(ev, len, bi->id, &tlen);
    if (text == NULL) {
        free(bi);
        return HB_EINVAL;
    }
    err = hb_eio_session_send_message(c->session, 0, text, tlen);
    free(text);
    for (size_t i = 0; i < n && err == 0; i++)
        err = hb_eio_session_send(c->session, att[i]);
    if (err != 0) {
        free(bi);
        return err;
    }
    bi->next = c->invokes;
    c->invokes = bi;
    return 0;
}

static void track_client_packet(hb_bridge_conn *c, const uint8_t *t, size_t len);

static void op_relay(hb_hub_conn *hc, const char *packet, size_t len) {
    hb_bridge_conn *c = of(hc);
    if (c->state != HB_BRIDGE_OPEN)
        return;
    track_client_packet(c, (const uint8_t *)packet, len);
    batch_add(c, '4', 0, (const uint8_t *)packet, len);
}

static const hb_hub_conn_ops bridge_ops = {op_send, op_ping, op_close, op_invoke, op_relay};

/* --- client messages -------------------------------------------------------------- */

/* A client's Socket.IO ACK "3[/ns,]<id>[...]" (or "6<n>-...") for one of
 * our :invoke ids: returns it, else NULL. */
static hb_bridge_invoke *take_invoke(hb_bridge_conn *c, const uint8_t *t, size_t len,
                                     size_t *attachments) {
    size_t i = 1;
    long long id = 0;
    hb_bridge_invoke **pp, *bi;
    *attachments = 0;
    if (c->invokes == NULL || len < 2 || (t[0] != '3' && t[0] != '6'))
        return NULL;
    if (t[0] == '6') {
        while (i < len && t[i] >= '0' && t[i] <= '9')
            *attachments = *attachments * 10 + (size_t)(t[i++] - '0');
        if (i >= len || t[i] != '-' || *attachments > 16)
            return NULL;
        i++;
    }
    if (i < len && t[i] == '/') {
        while (i < len && t[i] != ',')
            i++;
        i++;
    }
    if (i >= len || t[i] < '0' || t[i] > '9')
        return NULL;
    while (i < len && t[i] >= '0' && t[i] <= '9' && id < INT64_MAX / 10)
        id = id * 10 + (t[i++] - '0');
    for (pp = &c->invokes; *pp != NULL; pp = &(*pp)->next)
        if ((*pp)->id == id) {
            bi = *pp;
            *pp = bi->next;
            return bi;
        }
    return NULL;
}

static void ack_text_add(hb_bridge_conn *c, char type, int binary, const uint8_t *d, size_t n) {
    size_t need = c->ack_len + 2 + (binary ? hb_base64_encoded_len(n) : n);
    char *b = realloc(c->ack_text, need + 1);
    if (b == NULL)
        return;
    c->ack_text = b;
    if (c->ack_len > 0)
        b[c->ack_len++] = 0x1e;
    if (binary) {
        b[c->ack_len++] = 'b';
        c->ack_len += hb_base64_encode(b + c->ack_len, d, n);
    } else {
        b[c->ack_len++] = type;
        memcpy(b + c->ack_len, d, n);
        c->ack_len += n;
    }
}

static void finish_ack(hb_bridge_conn *c) {
    hb_bridge_invoke *bi = c->ack_in;
    c->ack_in = NULL;
    hb_hub_invoke_answer(bi->inv, c->ack_text ? c->ack_text : "", c->ack_len);
    free(bi);
    c->ack_len = 0;
}

/* Follows a client's namespace DISCONNECT ("1" or "1/ns,") out of the
 * namespace group. */
static void track_client_packet(hb_bridge_conn *c, const uint8_t *t, size_t len) {
    char group[512];
    size_t n = 0, g;
    const char *nsp = "/";
    if (len < 1 || t[0] != '1' || !c->in_hub)
        return;
    if (len > 1 && t[1] == '/') {
        nsp = (const char *)t + 1;
        while (1 + n < len && t[1 + n] != ',')
            n++;
    } else {
        n = 1;
    }
    if (n > 300)
        return;
    memcpy(group, "0~", 2);
    g = 2 + hb_base64url_encode(group + 2, (const uint8_t *)nsp, n);
    group[g++] = '~';
    hb_groups_leave(hb_hub_groups(c->hub), &c->hc.member, group, g);
}

static void on_message(void *ud, hb_eio_session *s, int binary, uint8_t *data, size_t len) {
    hb_bridge_conn *c = hb_eio_session_data(s);
    hb_bridge_invoke *bi;
    size_t natt;
    (void)ud;
    if (c == NULL || c->state != HB_BRIDGE_OPEN)
        return;
    if (c->ack_in != NULL) {
        /* An :invoke answer's attachments come right after its text. */
        if (binary) {
            ack_text_add(c, 0, 1, data, len);
            if (--c->ack_left == 0)
                finish_ack(c);
            return;
        }
        finish_ack(c);
    }
    if (!binary && (bi = take_invoke(c, data, len, &natt)) != NULL) {
        c->ack_len = 0;
        ack_text_add(c, '4', 0, data, len);
        c->ack_in = bi;
        c->ack_left = natt;
        if (natt == 0)
            finish_ack(c);
        return;
    }
    if (!binary)
        track_client_packet(c, data, len);
    batch_add(c, '4', binary, data, len);
}

/* --- opening ---------------------------------------------------------------------- */

static void on_connect_answer(void *ud, int status, const uint8_t *body, size_t len) {
    hb_bridge_conn *c = ud;
    if (c->state == HB_BRIDGE_CONNECTING && c->session != NULL) {
        if (status == 200) {
            c->state = HB_BRIDGE_OPEN;
            hb_hub_add(c->hub, &c->hc);
            c->in_hub = 1;
            /* The groups its token names ("webpubsub.group"). */
            for (size_t i = 0; i < c->ngroups; i++)
                if (c->groups[i] != NULL)
                    hb_groups_join(hb_hub_groups(c->hub), &c->hc.member, c->groups[i],
                                   strlen(c->groups[i]));
            hb_eio_session_accept(c->session);
            send_event(c, "azure.webpubsub.sys.connected", "connected", "application/json",
                       "{}", 2);
        } else {
            char msg[256];
            int n = len > 200 ? 200 : (int)len;
            /* The app's refusal, readable, without what would break JSON. */
            snprintf(msg, sizeof(msg), "%s%.*s", status ? "refused by the app server: "
                                                        : "the app server did not answer",
                     status ? n : 0, body ? (const char *)body : "");
            for (char *p = msg; *p; p++)
                if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20)
                    *p = ' ';
            hb_eio_session_refuse(c->session, status >= 400 && status < 500 ? status : 500, msg);
        }
    }
    conn_unref(c);
}

/* {"claims":..., "query":{k:[v]}, "headers":{k:[v]}, "subprotocols":[], "clientCertificates":[]} */
static char *connect_body(const hb_http_request *req, const hb_jwt_claims *claims) {
    json_t *o = json_object(), *q = json_object(), *h = json_object();
    char *out;
    const char *p = req->query;
    while (p != NULL && *p != '\0') {
        const char *amp = strchr(p, '&');
        size_t n = amp ? (size_t)(amp - p) : strlen(p);
        char *pair = strndup(p, n), *eq = pair ? strchr(pair, '=') : NULL;
        if (pair != NULL) {
            char *v = eq ? eq + 1 : pair + n;
            int kl, vl;
            if (eq)
                *eq = '\0';
            kl = hb_http_pct_decode(pair, strlen(pair), 1);
            vl = hb_http_pct_decode(v, strlen(v), 1);
            if (kl > 0 && vl >= 0 && strncmp(pair, "access_token", (size_t)kl) != 0) {
                json_t *arr;
                pair[kl] = '\0';
                v[vl] = '\0';
                arr = json_object_get(q, pair);
                if (arr == NULL) {
                    arr = json_array();
                    json_object_set_new(q, pair, arr);
                }
                json_array_append_new(arr, json_string(v));
            }
            free(pair);
        }
        p = amp ? amp + 1 : NULL;
    }
    for (size_t i = 0; i < req->nheaders; i++) {
        /* Lower-case names, as Node's request.headers has them, so that an
         * app reading socket.handshake.headers.cookie finds it. */
        char name[128];
        size_t n = 0;
        json_t *arr;
        for (; req->headers[i].name[n] != '\0' && n + 1 < sizeof(name); n++)
            name[n] = (char)tolower((unsigned char)req->headers[i].name[n]);
        name[n] = '\0';
        arr = json_object_get(h, name);
        if (arr == NULL) {
            arr = json_array();
            json_object_set_new(h, name, arr);
        }
        json_array_append_new(arr, json_string(req->headers[i].value));
    }
    if (claims != NULL) {
        char *cj = hb_jwt_claims_azure_json(claims);
        json_t *c = cj ? json_loads(cj, 0, NULL) : NULL;
        free(cj);
        json_object_set_new(o, "claims", c ? c : json_object());
    } else {
        json_object_set_new(o, "claims", json_object());
    }
    json_object_set_new(o, "query", q);
    json_object_set_new(o, "headers", h);
    json_object_set_new(o, "subprotocols", json_array());
    json_object_set_new(o, "clientCertificates", json_array());
    out = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return out;
}

/* A client token must be for this hub's client endpoint: its audience's
 * path ends in /clients/socketio/hubs/<hub> (negotiate() and
 * getClientAccessToken({clientProtocol: "socketio"}) sign
 * "<endpoint>/clients/socketio/hubs/<hub>"), else a token for one hub
 * would open every other hub signed with the same key. Scheme, host and
 * any path prefix are not compared, so a proxy in front does not break it. */
static int audience_ok(const char *aud, const char *hub) {
    static const char mid[] = "/clients/socketio/hubs/";
    const char *p = aud ? strstr(aud, "://") : NULL;
    size_t n, h = strlen(hub);
    if (p == NULL || (p = strchr(p + 3, '/')) == NULL)
        return 0;
    n = strcspn(p, "?#");
    if (n > 0 && p[n - 1] == '/')
        n--; /* a trailing slash */
    return n >= sizeof(mid) - 1 + h && strncmp(p + n - h, hub, h) == 0 &&
           strncmp(p + n - h - (sizeof(mid) - 1), mid, sizeof(mid) - 1) == 0;
}

static void on_open(void *ud, hb_eio_session *s, const hb_http_request *req) {
    hb_azure *az = ud;
    const char *hub_name = hb_eio_session_hub(s);
    hb_jwt_claims claims, *cl = NULL;
    char token[8192];
    const char *why = NULL;
    hb_bridge_conn *c;
    json_t *h;
    hb_hub *hub;
    hb_eio_session_defer_open(s);
    if (hb_http_query_get(req->query, req->query_len, "access_token", token, sizeof(token)) > 0) {
        if (hb_jwt_verify(token, strlen(token), az->opts.keys, az->nkeys, (int64_t)time(NULL), 300,
                          &claims, &why) != 0) {
            hb_log_info("bridge", "refused a client of hub %s: %s", hub_name,
                        why ? why : "invalid token");
            hb_metrics_g.auth_failures++;
            hb_eio_session_refuse(s, 401, "Unauthorized: invalid access token");
            return;
        }
        if (!audience_ok(claims.aud, hub_name)) {
            hb_log_info("bridge", "refused a client of hub %s: the token's audience is '%s'",
                        hub_name, claims.aud ? claims.aud : "(none)");
            hb_metrics_g.auth_failures++;
            hb_jwt_claims_free(&claims);
            hb_eio_session_refuse(s, 401, "Unauthorized: the token is for another audience");
            return;
        }
        cl = &claims;
    } else if (!az->opts.allow_anonymous) {
        hb_log_info("bridge", "refused a client of hub %s: no access_token", hub_name);
        hb_metrics_g.auth_failures++;
        hb_eio_session_refuse(s, 401, "Unauthorized: access_token is required");
        return;
    }
    hub = hb_hubs_get(az->hubs, hub_name, 1);
    c = calloc(1, sizeof(*c));
    if (hub == NULL || c == NULL) {
        free(c);
        if (cl)
            hb_jwt_claims_free(cl);
        hb_eio_session_refuse(s, 503, "Out of memory");
        return;
    }
    c->refs = 1;
    c->az = az;
    c->hub = hub;
    c->session = s;
    /* a copy: events (disconnected) can outlive the session */
    snprintf(c->id, sizeof(c->id), "%s", hb_eio_session_id(s));
    c->hc.id = c->id;
    c->hc.ops = &bridge_ops;
    if (cl != NULL && cl->user_id != NULL)
        c->user_id = strdup(cl->user_id);
    c->hc.user_id = c->user_id;
    c->tunnel = hb_tunnel__pick(hub);
    hb_eio_session_set_data(s, c);
    if (c->tunnel == NULL) {
        if (cl)
            hb_jwt_claims_free(cl);
        hb_log_info("bridge", "refused a client of hub %s: no app server is connected", hub_name);
        hb_eio_session_refuse(s, 503, "No app server is connected to this hub");
        return;
    }
    c->tunnel->clients++;
    c->tnext = NULL;
    c->connect_body = connect_body(req, cl);
    for (size_t i = 0; cl != NULL && i < cl->ngroups && i < HB_BRIDGE_MAX_GROUPS; i++)
        c->groups[c->ngroups++] = strdup(cl->groups[i]);
    for (size_t i = 0; cl != NULL && i < cl->nroles; i++)
        hb_perm_grant_role(&c->hc.perms, cl->roles[i]);
    h = c->connect_body ? hb_azure__event_headers(az, hb_hub_name(c->hub), c->hc.id, c->user_id,
                                                    "azure.webpubsub.sys.connect", "connect",
                                                  "application/json")
                        : NULL;
    conn_ref(c);
    if (h == NULL || hb_tunnel__request(c->tunnel, h, c->connect_body, strlen(c->connect_body),
                                        on_connect_answer, c) != 0) {
        conn_unref(c);
        hb_eio_session_refuse(s, 503, "Cannot reach the app server");
    }
    if (cl)
        hb_jwt_claims_free(cl);
}

static void on_close(void *ud, hb_eio_session *s, int reason) {
    hb_bridge_conn *c = hb_eio_session_data(s);
    (void)ud;
    if (c == NULL)
        return;
    hb_loop_undefer(c->az->loop, &c->flush);
    if (c->state == HB_BRIDGE_OPEN) {
        flush_batch(c);
        if (c->messages_out > 0) {
            c->bye_pending = 1; /* see message_answered() */
            c->bye_reason = reason;
        } else {
            send_disconnected(c, reason);
        }
    }
    if (c->ack_in != NULL)
        finish_ack(c);
    while (c->invokes != NULL) {
        hb_bridge_invoke *bi = c->invokes;
        c->invokes = bi->next;
        hb_hub_invoke_gone(bi->inv);
        free(bi);
    }
    if (c->in_hub)
        hb_hub_remove(c->hub, &c->hc);
    c->in_hub = 0;
    if (c->tunnel != NULL)
        c->tunnel->clients--;
    c->state = HB_BRIDGE_CLOSED;
    c->session = NULL;
    /* Kept for a disconnected event still to send: the tunnel answers (or
     * cancels) every request before it goes, so it outlives the wait. */
    if (!c->bye_pending)
        c->tunnel = NULL;
    conn_unref(c);
}

const hb_eio_handler hb_bridge__handler = {on_open, on_message, on_close, NULL};

void hb_bridge__tunnel_gone(hb_tunnel *t) {
    hb_group_vec v = {0};
    hb_groups_filter f = {0};
    /* Its clients go too: their next connect reaches a live app server. */
    hb_groups_select(hb_hub_groups(t->hub), &f, &v);
    for (size_t i = 0; i < v.n; i++) {
        hb_bridge_conn *c = of(hb_hub_conn_of(v.items[i]));
        if (c->tunnel == t) {
            c->tunnel = NULL;
            t->clients--;
            if (c->session != NULL)
                hb_eio_session_close(c->session);
        }
    }
    hb_group_vec_free(&v);
}
