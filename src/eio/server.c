/* Engine.IO v4 sessions and the requests that drive them. Handshake and
 * request checks follow npm engine.io's order and answers (PROTOCOL-NOTES
 * items 1-10); a session's packets wait in one queue of shared frames that
 * a WebSocket writes as they are and a poll GET turns into one payload at
 * the end of the loop turn. One wheel timer per session carries the
 * heartbeat: the next ping, then the pong deadline. */
#include "eio/server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/id.h"
#include "core/log.h"
#include "core/metrics.h"
#include "eio/packet.h"
#include "eio/payload.h"
#include "http/query.h"
#include <llhttp.h>
#include "hubbub/error.h"
#include "ws/conn.h"
#include "ws/frame.h"
#include "ws/handshake.h"

enum {
    ERR_UNKNOWN_TRANSPORT = 0,
    ERR_UNKNOWN_SID = 1,
    ERR_BAD_HANDSHAKE_METHOD = 2,
    ERR_BAD_REQUEST = 3,
    ERR_FORBIDDEN = 4,
    ERR_UNSUPPORTED_PROTOCOL_VERSION = 5,
};

static const char *const error_messages[] = {
    "Transport unknown", "Session ID unknown", "Bad handshake method",
    "Bad request", "Forbidden", "Unsupported protocol version",
};

typedef struct mount {
    hb_eio_server *srv;
    char *path;
    size_t len;
    int hubs;
} mount;

struct hb_eio_session {
    hb_eio_server *srv;
    hb_eio_session *hnext;     /* sid map chain */
    char sid[HB_EIO_PREFIX_MAX + 21]; /* the router's prefix, then 20 random characters */
    uint8_t transport;         /* HB_EIO_POLLING / HB_EIO_WEBSOCKET */
    uint8_t closed;
    uint8_t upgrading;         /* the probe said 2probe, 5 not yet seen */
    uint8_t awaiting_pong;
    uint8_t closing;           /* closed by us; waits for a poll to drain */
    uint8_t deferred;          /* the handler has not accepted it yet */
    uint32_t refs;             /* callbacks in progress; freed at 0 once closed */
    hb_buf **q;                /* packets waiting for a poll GET (or the upgrade) */
    uint32_t q_len, q_cap;
    size_t q_bytes;
    hb_http_conn *get;         /* the pending poll GET */
    hb_http_conn *post;        /* a POST whose body is arriving */
    hb_ws_conn *ws;            /* the WebSocket transport */
    /* A WebSocket handshake held, unanswered, while the handler decides
     * (deferred open): a refusal can then still be an HTTP error, which
     * clients report at once; a close after the 101 leaves socket.io-client
     * waiting for its connect timeout. The request lives as long as hc
     * does not respond. */
    hb_http_conn *upgrade;
    hb_http_request *upgrade_req;
    struct eio_upgrade *up;    /* while a WebSocket is being upgraded to */
    hb_timer heartbeat;
    hb_deferred flush;
    hb_deferred kill;          /* a close put off to the end of the turn */
    char *hub;
    void *data;
};

/* A polling session's upgrade under way: the probe WebSocket and its
 * deadline. Allocated only for it, since most sessions never upgrade
 * (they open on WebSocket) and an idle one should not carry a timer for
 * it. */
typedef struct eio_upgrade {
    hb_timer timer;
    hb_eio_session *s;
    hb_ws_conn *probe;
} eio_upgrade;

struct hb_eio_server {
    hb_loop *loop;
    hb_http_server *http;
    hb_eio_opts opts;
    const hb_eio_handler *handler;
    void *ud;
    mount **mounts;
    size_t nmounts;
    hb_eio_session **buckets;
    size_t nbuckets, count;
    hb_buf *pkt_ping, *pkt_noop, *pkt_close, *pkt_probe;
    char prefix[HB_EIO_PREFIX_MAX + 1]; /* of every sid made here; "" without a router */
    size_t prefix_len;
    hb_eio_router router;      /* forward NULL: none */
};

static void session_close(hb_eio_session *s, int reason, int get_reply);
static void probe_failed(hb_eio_session *s);

/* --- the sid map ---------------------------------------------------------- */

static size_t hash_sid(const char *sid) {
    size_t h = 1469598103934665603ull;
    for (; *sid; sid++)
        h = (h ^ (unsigned char)*sid) * 1099511628211ull;
    return h;
}

static int map_grow(hb_eio_server *srv) {
    size_t n = srv->nbuckets ? srv->nbuckets * 2 : 64;
    hb_eio_session **b = calloc(n, sizeof(*b));
    if (b == NULL)
        return HB_ENOMEM;
    for (size_t i = 0; i < srv->nbuckets; i++) {
        hb_eio_session *s = srv->buckets[i], *next;
        for (; s != NULL; s = next) {
            next = s->hnext;
            s->hnext = b[hash_sid(s->sid) & (n - 1)];
            b[hash_sid(s->sid) & (n - 1)] = s;
        }
    }
    free(srv->buckets);
    srv->buckets = b;
    srv->nbuckets = n;
    return 0;
}

static hb_eio_session *map_find(const hb_eio_server *srv, const char *sid) {
    if (srv->nbuckets == 0)
        return NULL;
    for (hb_eio_session *s = srv->buckets[hash_sid(sid) & (srv->nbuckets - 1)]; s; s = s->hnext)
        if (strcmp(s->sid, sid) == 0)
            return s;
    return NULL;
}

static int map_add(hb_eio_server *srv, hb_eio_session *s) {
    size_t i;
    if (srv->count + 1 > srv->nbuckets && map_grow(srv) != 0)
        return HB_ENOMEM;
    i = hash_sid(s->sid) & (srv->nbuckets - 1);
    s->hnext = srv->buckets[i];
    srv->buckets[i] = s;
    srv->count++;
    return 0;
}

static void map_remove(hb_eio_server *srv, hb_eio_session *s) {
    hb_eio_session **p = &srv->buckets[hash_sid(s->sid) & (srv->nbuckets - 1)];
    for (; *p != NULL; p = &(*p)->hnext) {
        if (*p == s) {
            *p = s->hnext;
            srv->count--;
            return;
        }
    }
}

/* --- packets ------------------------------------------------------------------ */

static hb_buf *control_packet(int type, const char *data) {
    char prefix = (char)('0' + type);
    return hb_ws_frame_new(HB_WS_OP_TEXT, &prefix, 1, data, data ? strlen(data) : 0);
}

hb_buf *hb_eio_message_new(int binary, const void *data, size_t len) {
    if (binary)
        return hb_ws_frame_new(HB_WS_OP_BINARY, NULL, 0, data, len);
    return hb_ws_frame_new(HB_WS_OP_TEXT, "4", 1, data, len);
}

/* --- session lifetime ------------------------------------------------------------ */

static void session_ref(hb_eio_session *s) {
    s->refs++;
}

static void session_free(hb_eio_session *s) {
    for (uint32_t i = 0; i < s->q_len; i++)
        hb_buf_unref(s->q[i]);
    free(s->q);
    free(s->hub);
    free(s);
}

static void session_unref(hb_eio_session *s) {
    if (--s->refs == 0 && s->closed)
        session_free(s);
}

static void on_heartbeat(hb_timer *t);

static void schedule_ping(hb_eio_session *s) {
    if (s->closing)
        return; /* the heartbeat timer is the drain deadline now */
    hb_loop_timer_start(s->srv->loop, &s->heartbeat, s->srv->opts.ping_interval_ms, on_heartbeat);
}

/* --- sending ------------------------------------------------------------------------ */

static void respond_payload(hb_eio_session *s) {
    hb_http_conn *get = s->get;
    size_t len = hb_eio_payload_encoded_len(s->q, s->q_len);
    uint8_t *body = malloc(len ? len : 1);
    if (body == NULL) {
        session_close(s, HB_CLOSE_TRANSPORT_ERROR, 0);
        return;
    }
    hb_eio_payload_encode(body, s->q, s->q_len);
    for (uint32_t i = 0; i < s->q_len; i++)
        hb_buf_unref(s->q[i]);
    s->q_len = 0;
    s->q_bytes = 0;
    if (s->q_cap > 16) {
        free(s->q);
        s->q = NULL;
        s->q_cap = 0;
    }
    s->get = NULL;
    hb_http_respond(get, 200, "text/plain; charset=UTF-8", NULL, body, len);
    free(body);
}

static void on_flush(hb_deferred *d) {
    hb_eio_session *s = (hb_eio_session *)((char *)d - offsetof(hb_eio_session, flush));
    if (!s->closed && s->get != NULL && s->q_len > 0)
        respond_payload(s);
}

/* Answers the pending GET with a single packet, outside the queue. */
static void answer_get(hb_eio_session *s, hb_buf *pkt) {
    hb_http_conn *get = s->get;
    hb_slice p = hb_buf_payload(pkt);
    s->get = NULL;
    hb_http_respond(get, 200, "text/plain; charset=UTF-8", NULL, p.base, p.len);
}

static int enqueue(hb_eio_session *s, hb_buf *pkt) {
    /* Bound what a client that never polls can make us keep. The bound
     * counts what waits behind the first packet, so one packet bigger
     * than it (an app's 20 MB emit) still goes, with what follows it. */
    size_t limit = s->srv->opts.max_payload * 8 + (1u << 20);
    size_t behind = s->q_len > 0 ? s->q_bytes - s->q[0]->len : 0;
    if (s->q_len > 0 && behind + pkt->len > limit)
        return HB_ETOOBIG; /* counted by send_packet */
    if (s->q_len == s->q_cap) {
        uint32_t cap = s->q_cap ? s->q_cap * 2 : 4;
        hb_buf **q = realloc(s->q, cap * sizeof(*q));
        if (q == NULL)
            return HB_ENOMEM;
        s->q = q;
        s->q_cap = cap;
    }
    s->q[s->q_len++] = hb_buf_ref(pkt);
    s->q_bytes += pkt->len;
    if (s->get != NULL)
        hb_loop_defer(s->srv->loop, &s->flush, on_flush);
    return 0;
}

static void on_kill(hb_deferred *d) {
    hb_eio_session *s = (hb_eio_session *)((char *)d - offsetof(hb_eio_session, kill));
    session_close(s, HB_CLOSE_TRANSPORT_ERROR, 1);
}

static int send_packet(hb_eio_session *s, hb_buf *pkt) {
    int err;
    /* Closing: as engine.io's socket once close() was called, nothing more
     * is sent; the next poll gets what was queued before, then the close. */
    if (s->closed || s->closing)
        return UV_ECANCELED;
    if (s->transport == HB_EIO_WEBSOCKET && s->ws != NULL)
        err = hb_ws_conn_send(s->ws, pkt);
    else
        err = enqueue(s, pkt); /* polling, or a WebSocket not accepted yet */
    if (err == HB_ETOOBIG)
        hb_metrics_g.dropped_writes++; /* every refused packet, once */
    if (err == HB_ETOOBIG && !s->kill.queued) {
        /* Closed at the end of the turn, not now: a sender may be walking
         * a list of sessions (a broadcast), and on_close must not run
         * under its feet. */
        hb_log_info("eio", "session %s: send queue full, closing", s->sid);
        hb_loop_defer(s->srv->loop, &s->kill, on_kill);
    }
    return err;
}

int hb_eio_session_writable(const hb_eio_session *s) {
    if (s->closed || s->kill.queued)
        return 0;
    if (s->transport == HB_EIO_WEBSOCKET)
        return s->ws != NULL && hb_ws_conn_http(s->ws)->c.queued_bytes < HB_EIO_WRITABLE_BYTES;
    return s->get != NULL && s->q_bytes < HB_EIO_WRITABLE_BYTES;
}

int hb_eio_session_send(hb_eio_session *s, hb_buf *packet) {
    int err = send_packet(s, packet);
    if (err == 0)
        hb_metrics_g.messages_out++;
    return err;
}

int hb_eio_session_send_message(hb_eio_session *s, int binary, const void *data, size_t len) {
    hb_buf *pkt;
    int err;
    if (s->closed)
        return UV_ECANCELED;
    pkt = hb_eio_message_new(binary, data, len);
    if (pkt == NULL)
        return HB_ENOMEM;
    err = hb_eio_session_send(s, pkt);
    hb_buf_unref(pkt);
    return err;
}

/* --- closing ------------------------------------------------------------------------ */

static void dead_ws_message(void *ud, hb_ws_conn *ws, int binary, uint8_t *data, size_t len) {
    (void)ud, (void)ws, (void)binary, (void)data, (void)len;
}
static void dead_ws_closed(void *ud, hb_ws_conn *ws, int code) {
    (void)ud, (void)ws, (void)code;
}
static const hb_ws_conn_cb dead_ws_cb = {dead_ws_message, dead_ws_closed};

/* get_reply: what a pending poll GET receives: 1 the close packet, 0 a noop
 * (the client asked to close). */
static void session_close(hb_eio_session *s, int reason, int get_reply) {
    hb_eio_server *srv = s->srv;
    if (s->closed)
        return;
    s->closed = 1;
    session_ref(s);
    map_remove(srv, s);
    hb_timer_stop(&s->heartbeat);
    hb_loop_undefer(srv->loop, &s->flush);
    hb_loop_undefer(srv->loop, &s->kill);
    hb_metrics_g.sessions_open[s->transport]--;
    hb_metrics_g.sessions_closed[reason]++;
    hb_log_debug("eio", "session %s closed: %s", s->sid, hb_close_reason_name(reason));
    if (s->get != NULL && get_reply && s->q_len > 0 && enqueue(s, srv->pkt_close) == 0) {
        respond_payload(s); /* what was sent before the close goes first */
        /* enqueue() re-armed the flush (a GET was pending): the session may
         * be freed below, so it must not stay on the loop's list. */
        hb_loop_undefer(srv->loop, &s->flush);
    } else if (s->get != NULL) {
        answer_get(s, get_reply ? srv->pkt_close : srv->pkt_noop);
    }
    if (s->post != NULL) {
        hb_http_watch(s->post, NULL, NULL);
        s->post = NULL;
    }
    if (s->upgrade != NULL) {
        hb_http_conn *hc = s->upgrade;
        s->upgrade = NULL;
        s->upgrade_req = NULL;
        hb_http_respond_json_error(hc, 503, 503, "Session closed");
    }
    if (s->up != NULL)
        probe_failed(s);
    if (s->ws != NULL) {
        hb_ws_conn_retarget(s->ws, &dead_ws_cb, NULL);
        if (reason == HB_CLOSE_SHUTDOWN) {
            hb_ws_conn_send(s->ws, srv->pkt_close);
            hb_ws_conn_close(s->ws, 1001, "server shutting down");
        } else {
            hb_ws_conn_close(s->ws, 0, NULL);
        }
        s->ws = NULL;
    }
    srv->handler->on_close(srv->ud, s, reason);
    session_unref(s);
}

static void on_drain_timeout(hb_timer *t) {
    hb_eio_session *s = (hb_eio_session *)((char *)t - offsetof(hb_eio_session, heartbeat));
    session_close(s, HB_CLOSE_FORCED, 1);
}

void hb_eio_session_close(hb_eio_session *s) {
    if (s->closed || s->closing)
        return;
    if (s->transport == HB_EIO_POLLING && s->up == NULL && !s->deferred &&
        (s->q_len > 0 || s->get == NULL)) {
        /* As engine.io, what was sent before the close is delivered first,
         * and the close packet in a later poll: a client handles a payload's
         * packets before it acts on a close, but Socket.IO clients defer
         * their packets by a tick. A client that never polls again is
         * dropped after pingTimeout. With nothing queued and no poll
         * pending, engine.io too keeps the session for the next poll
         * (which gets the close) rather than answering it 400 "Session ID
         * unknown". */
        if (s->get != NULL) /* at the end of the turn, after a POST's "ok" */
            hb_loop_defer(s->srv->loop, &s->flush, on_flush);
        s->closing = 1;
        hb_loop_timer_start(s->srv->loop, &s->heartbeat, s->srv->opts.ping_timeout_ms,
                            on_drain_timeout);
        return;
    }
    session_close(s, HB_CLOSE_FORCED, 1);
}

static void on_heartbeat(hb_timer *t) {
    hb_eio_session *s = (hb_eio_session *)((char *)t - offsetof(hb_eio_session, heartbeat));
    if (s->awaiting_pong) {
        session_close(s, HB_CLOSE_PING_TIMEOUT, 1);
        return;
    }
    s->awaiting_pong = 1;
    /* The pong deadline counts from when the ping was due, not from when
     * this callback ran (late, on a busy loop). */
    hb_timer_start(s->srv->loop->wheel, &s->heartbeat, t->due + s->srv->opts.ping_timeout_ms,
                   on_heartbeat);
    send_packet(s, s->srv->pkt_ping);
}

/* --- receiving ------------------------------------------------------------------------ */

/* Handles one packet from the client. Returns nonzero when the session is
 * closed (stop reading). */
static int on_packet(hb_eio_session *s, const hb_eio_packet *p) {
    hb_eio_server *srv = s->srv;
    switch (p->type) {
    case HB_EIO_MESSAGE:
        hb_metrics_g.messages_in++;
        srv->handler->on_message(srv->ud, s, p->binary, p->data, p->len);
        break;
    case HB_EIO_PONG:
        if (s->awaiting_pong) {
            s->awaiting_pong = 0;
            schedule_ping(s);
        }
        break;
    case HB_EIO_PING:
        /* v4 heartbeats go server → client only. */
        hb_log_debug("eio", "session %s: client sent a ping (invalid heartbeat direction)", s->sid);
        session_close(s, HB_CLOSE_TRANSPORT_ERROR, 1);
        break;
    case HB_EIO_CLOSE:
        session_close(s, HB_CLOSE_TRANSPORT_CLOSE, 0);
        break;
    default:
        break; /* open, upgrade, noop: nothing to do, as in engine.io */
    }
    return s->closed;
}

static int payload_cb(void *ud, const hb_eio_packet *p) {
    return on_packet(ud, p);
}

static void ws_message(void *ud, hb_ws_conn *ws, int binary, uint8_t *data, size_t len) {
    hb_eio_session *s = ud;
    hb_eio_packet p;
    (void)ws;
    if (binary) {
        p.type = HB_EIO_MESSAGE;
        p.binary = 1;
        p.data = data;
        p.len = len;
    } else if (hb_eio_packet_decode_text(data, len, &p) != 0) {
        session_close(s, HB_CLOSE_PARSE_ERROR, 1);
        return;
    }
    session_ref(s);
    on_packet(s, &p);
    session_unref(s);
}

static void ws_closed(void *ud, hb_ws_conn *ws, int code) {
    hb_eio_session *s = ud;
    (void)code;
    if (s->ws == ws)
        s->ws = NULL;
    session_close(s, HB_CLOSE_TRANSPORT_CLOSE, 1);
}

static const hb_ws_conn_cb session_ws_cb = {ws_message, ws_closed};

/* --- upgrade ------------------------------------------------------------------------------ */

/* Ends the upgrade under way; returns its probe. */
static hb_ws_conn *upgrade_end(hb_eio_session *s) {
    eio_upgrade *up = s->up;
    hb_ws_conn *probe = up->probe;
    hb_timer_stop(&up->timer);
    free(up);
    s->up = NULL;
    s->upgrading = 0;
    return probe;
}

static void probe_failed(hb_eio_session *s) {
    hb_ws_conn *probe = upgrade_end(s);
    hb_ws_conn_retarget(probe, &dead_ws_cb, NULL);
    hb_ws_conn_close(probe, 0, NULL);
}

static void on_upgrade_timeout(hb_timer *t) {
    eio_upgrade *up = (eio_upgrade *)((char *)t - offsetof(eio_upgrade, timer));
    hb_log_debug("eio", "session %s: upgrade timed out", up->s->sid);
    probe_failed(up->s);
}

static void complete_upgrade(hb_eio_session *s) {
    s->ws = upgrade_end(s);
    hb_ws_conn_retarget(s->ws, &session_ws_cb, s);
    hb_metrics_g.sessions_open[HB_EIO_POLLING]--;
    hb_metrics_g.sessions_open[HB_EIO_WEBSOCKET]++;
    s->transport = HB_EIO_WEBSOCKET;
    hb_loop_undefer(s->srv->loop, &s->flush);
    if (s->get != NULL)
        answer_get(s, s->srv->pkt_noop);
    /* What waited for a poll now goes over the WebSocket, in order. */
    for (uint32_t i = 0; i < s->q_len; i++) {
        if (!s->closed && hb_ws_conn_send(s->ws, s->q[i]) == HB_ETOOBIG)
            session_close(s, HB_CLOSE_TRANSPORT_ERROR, 1);
        hb_buf_unref(s->q[i]);
    }
    free(s->q);
    s->q = NULL;
    s->q_len = s->q_cap = 0;
    s->q_bytes = 0;
    hb_log_debug("eio", "session %s upgraded to websocket", s->sid);
}

static void probe_message(void *ud, hb_ws_conn *ws, int binary, uint8_t *data, size_t len) {
    hb_eio_session *s = ud;
    if (!binary && len == 6 && memcmp(data, "2probe", 6) == 0) {
        hb_ws_conn_send(ws, s->srv->pkt_probe);
        s->upgrading = 1;
        /* Release the pending poll so the client can pause polling. */
        if (s->get != NULL)
            answer_get(s, s->srv->pkt_noop);
        return;
    }
    if (!binary && len == 1 && data[0] == '5' && s->upgrading) {
        complete_upgrade(s);
        return;
    }
    hb_log_debug("eio", "session %s: unexpected packet during upgrade", s->sid);
    probe_failed(s);
}

static void probe_closed(void *ud, hb_ws_conn *ws, int code) {
    hb_eio_session *s = ud;
    (void)code;
    if (s->up != NULL && s->up->probe == ws)
        upgrade_end(s);
}

static const hb_ws_conn_cb probe_ws_cb = {probe_message, probe_closed};

/* --- requests -------------------------------------------------------------------------------- */

static void refuse(hb_http_conn *hc, const hb_http_request *req, int code) {
    const char *msg = error_messages[code];
    char peer[64];
    hb_http_conn_peer(hc, peer, sizeof(peer));
    hb_log_info("eio", "refused %s from %s: %s", req->upgrade ? "upgrade" : "request", peer, msg);
    if (req->upgrade) {
        /* engine.io aborts upgrades with a plain-text 400. */
        hc->keep_alive = 0;
        hb_http_respond(hc, 400, "text/html", NULL, msg, strlen(msg));
        return;
    }
    hb_http_respond_json_error(hc, code == ERR_FORBIDDEN ? 403 : 400, code, msg);
}

static hb_eio_session *session_new(hb_eio_server *srv, const char *hub, int transport) {
    hb_eio_session *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->srv = srv;
    s->transport = (uint8_t)transport;
    if (hub != NULL && (s->hub = strdup(hub)) == NULL)
        goto fail;
    /* A collision of 120 random bits is not a real event, but a sid must
     * name one session, so check anyway. */
    memcpy(s->sid, srv->prefix, srv->prefix_len);
    do {
        if (hb_id_new(s->sid + srv->prefix_len) != 0)
            goto fail;
    } while (map_find(srv, s->sid) != NULL);
    if (map_add(srv, s) != 0)
        goto fail;
    hb_metrics_g.sessions_opened++;
    hb_metrics_g.sessions_open[transport]++;
    return s;
fail:
    free(s->hub);
    free(s);
    return NULL;
}

static hb_buf *open_packet(hb_eio_server *srv, const hb_eio_session *s, int upgrades) {
    char json[256];
    snprintf(json, sizeof(json),
             "{\"sid\":\"%s\",\"upgrades\":%s,\"pingInterval\":%u,\"pingTimeout\":%u,"
             "\"maxPayload\":%zu}",
             s->sid, upgrades ? "[\"websocket\"]" : "[]", srv->opts.ping_interval_ms,
             srv->opts.ping_timeout_ms, srv->opts.max_payload);
    return control_packet(HB_EIO_OPEN, json);
}

static void get_gone(void *ud, hb_http_conn *hc) {
    hb_eio_session *s = ud;
    if (s->get != hc)
        return;
    s->get = NULL;
    hb_log_debug("eio", "session %s: poll connection closed prematurely", s->sid);
    session_close(s, HB_CLOSE_TRANSPORT_ERROR, 1);
}

static void poll_get(hb_eio_session *s, hb_http_conn *hc) {
    if (s->get != NULL) {
        /* Overlapping polls: refuse the new one and end the session; the
         * pending GET gets the close packet. */
        hb_log_info("eio", "session %s: overlapping poll, closing", s->sid);
        hb_http_respond(hc, 400, NULL, NULL, NULL, 0);
        session_close(s, HB_CLOSE_TRANSPORT_ERROR, 1);
        return;
    }
    if (s->upgrading) {
        hb_http_respond(hc, 200, "text/plain; charset=UTF-8", NULL, "6", 1);
        return;
    }
    s->get = hc;
    hb_http_hold(hc, get_gone, s);
    if (s->closing && s->q_len == 0) {
        /* The poll after a drained close gets "6\x1e1", as engine.io's
         * polling transport answers it: a noop with the close appended
         * (Azure's Socket.IO suite, close.ts, checks this body). */
        enqueue(s, s->srv->pkt_noop);
        session_close(s, HB_CLOSE_FORCED, 1); /* answers with the close packet */
    } else if (s->q_len > 0) {
        respond_payload(s);
    }
}

static void post_gone(void *ud, hb_http_conn *hc) {
    hb_eio_session *s = ud;
    if (s->post == hc)
        s->post = NULL;
}

/* A POST's head: two uploads at once for one session break the protocol,
 * as two pending polls do. engine.io answers the newer one 400 and drops
 * the older one's connection. */
static void on_head(void *ud, hb_http_conn *hc, const hb_http_request *head) {
    mount *m = ud;
    char sid[64];
    hb_eio_session *s;
    if (head->method != HTTP_POST ||
        hb_http_query_get(head->query, head->query_len, "sid", sid, sizeof(sid)) < 0 ||
        (s = map_find(m->srv, sid)) == NULL || s->transport != HB_EIO_POLLING)
        return;
    if (s->post != NULL && s->post != hc) {
        hb_http_conn *first = s->post;
        s->post = NULL;
        hb_log_info("eio", "session %s: overlapping POST, closing", s->sid);
        hb_http_respond(hc, 400, NULL, NULL, NULL, 0);
        hb_http_watch(first, NULL, NULL);
        hb_conn_close(&first->c);
        session_close(s, HB_CLOSE_TRANSPORT_ERROR, 1);
        return;
    }
    s->post = hc;
    hb_http_watch(hc, post_gone, s);
}

static void poll_post(hb_eio_session *s, hb_http_conn *hc, hb_http_request *req) {
    int r;
    if (s->post == hc)
        s->post = NULL;
    session_ref(s);
    r = hb_eio_payload_decode(req->body, req->body_len, payload_cb, s);
    /* engine.io answers "ok" even when the payload was bad: the session is
     * what pays for it. */
    hb_http_respond(hc, 200, "text/html", NULL, "ok", 2);
    if (r < 0) {
        hb_log_debug("eio", "session %s: bad payload", s->sid);
        session_close(s, HB_CLOSE_PARSE_ERROR, 1);
    }
    session_unref(s);
}

/* Sends the open packet (ahead of anything on_open queued) and starts
 * the heartbeat: right after on_open, or when a handler that deferred the
 * open accepts the session. */
static void open_session(hb_eio_session *s) {
    hb_eio_server *srv = s->srv;
    hb_buf *open = open_packet(srv, s, s->transport == HB_EIO_POLLING);
    if (open == NULL) {
        session_close(s, HB_CLOSE_FORCED, 1);
        return;
    }
    if (s->transport == HB_EIO_POLLING) {
        if (enqueue(s, open) == 0 && s->q_len > 1) {
            memmove(s->q + 1, s->q, (s->q_len - 1) * sizeof(*s->q));
            s->q[0] = open;
        }
        if (s->get != NULL)
            respond_payload(s);
    } else {
        hb_ws_conn_send(s->ws, open);
        /* what was sent while the handshake was held follows the open */
        for (uint32_t i = 0; i < s->q_len; i++) {
            hb_ws_conn_send(s->ws, s->q[i]);
            hb_buf_unref(s->q[i]);
        }
        s->q_len = 0;
        s->q_bytes = 0;
    }
    hb_buf_unref(open);
    schedule_ping(s);
}

/* Answers a held WebSocket handshake with the 101; 0, or -1 when that
 * failed (the session is then closed). */
static int finish_upgrade(hb_eio_session *s) {
    hb_http_conn *hc = s->upgrade;
    hb_ws_conn *ws;
    ws = hb_ws_conn_accept(hc, s->upgrade_req, s->srv->opts.max_payload, &session_ws_cb, s);
    s->upgrade = NULL;
    s->upgrade_req = NULL;
    if (ws == NULL) {
        session_close(s, HB_CLOSE_TRANSPORT_ERROR, 0);
        return -1;
    }
    s->ws = ws;
    return 0;
}

static void upgrade_gone(void *ud, hb_http_conn *hc) {
    hb_eio_session *s = ud;
    if (s->upgrade != hc)
        return;
    s->upgrade = NULL;
    s->upgrade_req = NULL;
    session_close(s, HB_CLOSE_TRANSPORT_CLOSE, 0);
}

static void start_session(hb_eio_server *srv, hb_eio_session *s, hb_http_request *req) {
    session_ref(s);
    srv->handler->on_open(srv->ud, s, req);
    if (!s->closed && !s->deferred)
        open_session(s);
    session_unref(s);
}

void hb_eio_session_defer_open(hb_eio_session *s) {
    s->deferred = 1;
}

void hb_eio_session_accept(hb_eio_session *s) {
    if (s->closed || !s->deferred)
        return;
    s->deferred = 0;
    if (s->upgrade != NULL) {
        hb_ws_conn *ws;
        if (finish_upgrade(s) != 0)
            return;
        ws = s->ws;
        open_session(s);
        if (!s->closed && s->ws == ws)
            hb_ws_conn_feed_rest(ws);
        return;
    }
    open_session(s);
}

void hb_eio_session_refuse(hb_eio_session *s, int status, const char *message) {
    if (s->closed || !s->deferred)
        return;
    hb_log_info("eio", "session %s refused: %s", s->sid, message);
    if (s->get != NULL) {
        hb_http_conn *get = s->get;
        s->get = NULL;
        hb_http_respond_json_error(get, status, status, message);
    } else if (s->upgrade != NULL) {
        hb_http_conn *hc = s->upgrade;
        s->upgrade = NULL;
        s->upgrade_req = NULL;
        hb_http_respond_json_error(hc, status, status, message);
    } else if (s->ws != NULL) {
        hb_ws_conn_retarget(s->ws, &dead_ws_cb, NULL);
        hb_ws_conn_close(s->ws, 1008, message);
        s->ws = NULL;
    }
    session_close(s, HB_CLOSE_FORCED, 0);
}

static void log_opened(const hb_eio_session *s, const char *transport) {
    char peer[64];
    if (!hb_log_enabled(HB_LOG_DEBUG))
        return;
    hb_eio_session_peer(s, peer, sizeof(peer));
    hb_log_debug("eio", "session %s opened (%s) from %s", s->sid, transport, peer);
}

static void handshake_polling(hb_eio_server *srv, hb_http_conn *hc, hb_http_request *req,
                              const char *hub) {
    hb_eio_session *s = session_new(srv, hub, HB_EIO_POLLING);
    if (s == NULL) {
        hb_http_respond_json_error(hc, 500, 500, "Internal error");
        return;
    }
    /* The open packet is the answer to the handshake GET (the request is
     * only valid until that answer, so on_open comes first). */
    s->get = hc;
    log_opened(s, "polling");
    hb_http_hold(hc, get_gone, s);
    start_session(srv, s, req);
}

static void handshake_websocket(hb_eio_server *srv, hb_http_conn *hc, hb_http_request *req,
                                const char *hub) {
    hb_eio_session *s;
    hb_ws_conn *ws;
    if (hb_ws_handshake_check("GET", hb_http_request_header(req, "upgrade"),
                              hb_http_request_header(req, "connection"),
                              hb_http_request_header(req, "sec-websocket-version"),
                              hb_http_request_header(req, "sec-websocket-key"), NULL) != 0) {
        hb_ws_conn_accept(hc, req, srv->opts.max_payload, &dead_ws_cb, NULL); /* answers 400 */
        return;
    }
    s = session_new(srv, hub, HB_EIO_WEBSOCKET);
    if (s == NULL) {
        hb_http_respond_json_error(hc, 500, 500, "Internal error");
        return;
    }
    /* The 101 waits for on_open (and, when it defers, for its accept), so
     * that a refusal is an HTTP error; see the upgrade field. */
    s->upgrade = hc;
    s->upgrade_req = req;
    log_opened(s, "websocket");
    hb_http_hold(hc, upgrade_gone, s);
    session_ref(s);
    srv->handler->on_open(srv->ud, s, req);
    if (!s->closed && !s->deferred && finish_upgrade(s) == 0) {
        ws = s->ws;
        open_session(s);
        if (!s->closed && s->ws == ws)
            hb_ws_conn_feed_rest(ws);
    }
    session_unref(s);
}

static void upgrade(hb_eio_server *srv, hb_eio_session *s, hb_http_conn *hc,
                    hb_http_request *req) {
    hb_ws_conn *ws = hb_ws_conn_accept(hc, req, srv->opts.max_payload, &dead_ws_cb, NULL);
    if (ws == NULL)
        return;
    if (s->transport != HB_EIO_POLLING || s->up != NULL) {
        /* Already upgraded, or an upgrade is in progress: as engine.io,
         * accept and close at once. */
        hb_log_debug("eio", "session %s: refusing second websocket", s->sid);
        hb_ws_conn_close(ws, 0, NULL);
        return;
    }
    if ((s->up = calloc(1, sizeof(*s->up))) == NULL) {
        hb_ws_conn_close(ws, 1011, NULL); /* the session goes on polling */
        return;
    }
    s->up->s = s;
    s->up->probe = ws;
    hb_ws_conn_retarget(ws, &probe_ws_cb, s);
    hb_loop_timer_start(srv->loop, &s->up->timer, srv->opts.upgrade_timeout_ms,
                        on_upgrade_timeout);
    hb_ws_conn_feed_rest(ws);
}

static int valid_hub(const char *hub) {
    size_t n = 0;
    for (; hub[n]; n++) {
        char c = hub[n];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return 0;
    }
    return n > 0 && n <= 128;
}

static void on_request(void *ud, hb_http_conn *hc, hb_http_request *req) {
    mount *m = ud;
    hb_eio_server *srv = m->srv;
    char transport[16], sid[64], eio[8], hub[160];
    const char *hubp = NULL;
    int is_ws;
    hb_eio_session *s;

    if (m->hubs) {
        const char *p = req->path + m->len;
        size_t n = req->path_len - m->len;
        const char *slash = memchr(p, '/', n);
        size_t hlen = slash ? (size_t)(slash - p) : n;
        if (hlen >= sizeof(hub) || (slash && (size_t)(slash - p) + 1 != n)) {
            hb_http_respond_json_error(hc, 404, 404, "Not found");
            return;
        }
        memcpy(hub, p, hlen);
        hub[hlen] = '\0';
        if (!valid_hub(hub)) {
            refuse(hc, req, ERR_BAD_REQUEST);
            return;
        }
        hubp = hub;
    }
    if (hb_http_query_get(req->query, req->query_len, "transport", transport, sizeof(transport)) < 0 ||
        (strcmp(transport, "polling") != 0 && strcmp(transport, "websocket") != 0)) {
        refuse(hc, req, ERR_UNKNOWN_TRANSPORT);
        return;
    }
    is_ws = strcmp(transport, "websocket") == 0;
    if (hb_http_query_get(req->query, req->query_len, "sid", sid, sizeof(sid)) >= 0) {
        s = map_find(srv, sid);
        if (s == NULL && srv->router.forward != NULL &&
            strncmp(sid, srv->prefix, srv->prefix_len) != 0 &&
            srv->router.forward(srv->router.ud, hc, req, sid) == 0)
            return; /* another node's session: the router forwards (or relays) it */
        if (s == NULL) {
            refuse(hc, req, ERR_UNKNOWN_SID);
            return;
        }
        if (s->awaiting_pong && !s->closing && hb_timer_active(&s->heartbeat)) {
            /* A request read after the pong deadline finds the session
             * gone, even when it is read before the timer fires in this
             * turn (as engine.io, whose timer would have run first). */
            uv_update_time(srv->loop->uv);
            if (hb_loop_now(srv->loop) >= s->heartbeat.due) {
                session_close(s, HB_CLOSE_PING_TIMEOUT, 1);
                refuse(hc, req, ERR_UNKNOWN_SID);
                return;
            }
        }
        if (is_ws && req->upgrade) {
            upgrade(srv, s, hc, req);
            return;
        }
        if ((s->transport == HB_EIO_WEBSOCKET) != is_ws || req->upgrade) {
            refuse(hc, req, ERR_BAD_REQUEST);
            return;
        }
        if (req->method == HTTP_GET)
            poll_get(s, hc);
        else if (req->method == HTTP_POST)
            poll_post(s, hc, req);
        else
            hb_http_respond(hc, 500, NULL, NULL, NULL, 0);
        return;
    }
    if (req->method != HTTP_GET) {
        refuse(hc, req, ERR_BAD_HANDSHAKE_METHOD);
        return;
    }
    if (is_ws && !req->upgrade) {
        refuse(hc, req, ERR_BAD_REQUEST);
        return;
    }
    if (hb_http_query_get(req->query, req->query_len, "EIO", eio, sizeof(eio)) < 0 ||
        strcmp(eio, "4") != 0) {
        refuse(hc, req, ERR_UNSUPPORTED_PROTOCOL_VERSION);
        return;
    }
    if (srv->handler->on_check != NULL) {
        char message[256] = "Forbidden";
        int status = srv->handler->on_check(srv->ud, req, hubp, message, sizeof(message));
        if (status != 0) {
            hb_http_respond_json_error(hc, status, status, message);
            return;
        }
    }
    if (is_ws)
        handshake_websocket(srv, hc, req, hubp);
    else
        handshake_polling(srv, hc, req, hubp);
}

/* --- the server ------------------------------------------------------------------------------ */

hb_eio_server *hb_eio_server_new(hb_loop *loop, hb_http_server *http, const hb_eio_opts *opts,
                                 const hb_eio_handler *handler, void *ud) {
    hb_eio_server *srv = calloc(1, sizeof(*srv));
    if (srv == NULL)
        return NULL;
    srv->loop = loop;
    srv->http = http;
    srv->opts = *opts;
    if (srv->opts.ping_interval_ms == 0)
        srv->opts.ping_interval_ms = 25000;
    if (srv->opts.ping_timeout_ms == 0)
        srv->opts.ping_timeout_ms = 20000;
    if (srv->opts.upgrade_timeout_ms == 0)
        srv->opts.upgrade_timeout_ms = 10000;
    if (srv->opts.max_payload == 0)
        srv->opts.max_payload = 1000000;
    srv->handler = handler;
    srv->ud = ud;
    srv->pkt_ping = control_packet(HB_EIO_PING, NULL);
    srv->pkt_noop = control_packet(HB_EIO_NOOP, NULL);
    srv->pkt_close = control_packet(HB_EIO_CLOSE, NULL);
    srv->pkt_probe = control_packet(HB_EIO_PONG, "probe");
    if (!srv->pkt_ping || !srv->pkt_noop || !srv->pkt_close || !srv->pkt_probe) {
        hb_eio_server_free(srv);
        return NULL;
    }
    return srv;
}

int hb_eio_server_set_router(hb_eio_server *srv, const hb_eio_router *router) {
    size_t n;
    if (router == NULL) {
        memset(&srv->router, 0, sizeof(srv->router));
        return 0;
    }
    n = router->prefix != NULL ? strlen(router->prefix) : 0;
    if (n > HB_EIO_PREFIX_MAX)
        return HB_EINVAL;
    for (size_t i = 0; i < n; i++) {
        char c = router->prefix[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return HB_EINVAL;
    }
    memcpy(srv->prefix, router->prefix, n);
    srv->prefix[n] = '\0';
    srv->prefix_len = n;
    srv->router = *router;
    srv->router.prefix = srv->prefix;
    return 0;
}

int hb_eio_server_mount(hb_eio_server *srv, const char *path, int hubs) {
    mount *m = calloc(1, sizeof(*m));
    mount **ms = realloc(srv->mounts, (srv->nmounts + 1) * sizeof(*ms));
    if (m == NULL || ms == NULL || (m->path = strdup(path)) == NULL) {
        free(m);
        if (ms != NULL)
            srv->mounts = ms;
        return HB_ENOMEM;
    }
    srv->mounts = ms;
    m->srv = srv;
    m->len = strlen(path);
    m->hubs = hubs;
    srv->mounts[srv->nmounts++] = m;
    if (hb_http_server_route(srv->http, path, on_request, m) != 0)
        return HB_ENOMEM;
    return hb_http_server_route_head(srv->http, path, on_head);
}

void hb_eio_server_close_all(hb_eio_server *srv, int reason) {
    for (size_t i = 0; i < srv->nbuckets; i++)
        while (srv->buckets[i] != NULL)
            session_close(srv->buckets[i], reason, 1);
}

size_t hb_eio_server_session_count(const hb_eio_server *srv) {
    return srv->count;
}

void hb_eio_server_free(hb_eio_server *srv) {
    if (srv == NULL)
        return;
    for (size_t i = 0; i < srv->nmounts; i++) {
        free(srv->mounts[i]->path);
        free(srv->mounts[i]);
    }
    free(srv->mounts);
    free(srv->buckets);
    hb_buf_unref(srv->pkt_ping);
    hb_buf_unref(srv->pkt_noop);
    hb_buf_unref(srv->pkt_close);
    hb_buf_unref(srv->pkt_probe);
    free(srv);
}

const char *hb_eio_session_id(const hb_eio_session *s) {
    return s->sid;
}

const char *hb_eio_session_hub(const hb_eio_session *s) {
    return s->hub;
}

int hb_eio_session_transport(const hb_eio_session *s) {
    return s->transport;
}

void *hb_eio_session_data(const hb_eio_session *s) {
    return s->data;
}

void hb_eio_session_set_data(hb_eio_session *s, void *data) {
    s->data = data;
}

void hb_eio_session_peer(const hb_eio_session *s, char *out, size_t cap) {
    /* Asked of the connection rather than kept: 48 bytes less per idle
     * session, and only the handshake's handler asks. */
    hb_http_conn *hc = s->ws != NULL      ? hb_ws_conn_http(s->ws)
                       : s->upgrade != NULL ? s->upgrade
                       : s->get != NULL     ? s->get
                                            : s->post;
    if (hc != NULL)
        hb_http_conn_peer(hc, out, cap);
    else
        snprintf(out, cap, "?:0");
}
