/* One Engine.IO session seen by Socket.IO: its handshake data, its packet
 * decoder, the sockets it has in each namespace, and the connect timeout.
 * It routes each decoded packet to the socket of its namespace and applies
 * socket.io's rules for the rest: CONNECT opens a namespace, anything else
 * for a namespace not joined (or a CONNECT_ERROR from a client) closes the
 * session. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "core/log.h"
#include "core/metrics.h"
#include "http/query.h"
#include "sio/internal.h"

/* --- handshake -------------------------------------------------------------- */

static int64_t wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Header names every client sends, kept as one byte (their index + 1)
 * instead of their text, as HPACK's static table does: a WebSocket
 * handshake's names alone are 60 bytes, a browser's several hundred. A
 * name not here is kept as a 0 byte and its text. */
#define H(s) {s, sizeof(s) - 1}
static const struct {
    const char *name;
    size_t len;
} common_headers[] = {
    H("host"), H("connection"), H("upgrade"), H("sec-websocket-key"),
    H("sec-websocket-version"), H("sec-websocket-extensions"), H("sec-websocket-protocol"),
    H("user-agent"), H("accept"), H("accept-encoding"), H("accept-language"), H("origin"),
    H("cookie"), H("cache-control"), H("pragma"), H("referer"), H("content-type"),
    H("content-length"), H("authorization"), H("x-forwarded-for"), H("x-forwarded-proto"),
    H("x-forwarded-host"), H("x-forwarded-port"), H("x-real-ip"), H("forwarded"), H("via"),
    H("dnt"), H("te"), H("priority"), H("sec-fetch-site"), H("sec-fetch-mode"),
    H("sec-fetch-dest"), H("sec-ch-ua"), H("sec-ch-ua-mobile"), H("sec-ch-ua-platform"),
};
#undef H
enum { N_COMMON = sizeof(common_headers) / sizeof(common_headers[0]) };

/* The common name's index + 1, or 0. */
static unsigned common_header(const char *name, size_t len) {
    for (unsigned i = 0; i < N_COMMON; i++)
        if (common_headers[i].len == len && strncasecmp(common_headers[i].name, name, len) == 0)
            return i + 1;
    return 0;
}

const char *hb_sio__header_next(const char **p, const char **value) {
    const char *s = *p;
    unsigned code = (unsigned char)*s++;
    const char *name = code ? common_headers[code - 1].name : s;
    if (!code)
        s += strlen(s) + 1;
    *value = s;
    *p = s + strlen(s) + 1;
    return name;
}

/* Bytes the handshake's strings take (see handshake_copy). */
static size_t handshake_size(const hb_http_request *req, const char *peer) {
    size_t n = req->path_len + 1 + req->query_len + 1 + strlen(peer) + 1;
    for (size_t i = 0; i < req->nheaders; i++) {
        n += 1 + req->headers[i].value_len + 1;
        if (!common_header(req->headers[i].name, req->headers[i].name_len))
            n += req->headers[i].name_len + 1;
    }
    return n;
}

static char *put(char *p, const char *s, size_t n) {
    memcpy(p, s, n);
    p[n] = '\0';
    return p + n + 1;
}

/* Copies what handlers may ask of the handshake into buf (handshake_size
 * bytes): one block in the client's own allocation, since an idle client
 * should cost one allocation, not one per header. */
static void handshake_copy(hb_sio_handshake *hs, char *buf, const hb_http_request *req,
                           const char *peer) {
    const char *colon = strrchr(peer, ':');
    size_t plen = colon ? (size_t)(colon - peer) : strlen(peer);
    char *p = buf;
    hs->url = p;
    memcpy(p, req->path, req->path_len);
    p += req->path_len;
    /* The query is the url's tail, not a second copy: "" when there is
     * none (the url's own terminator). */
    hs->query = p;
    if (req->query_len) {
        *p++ = '?';
        hs->query = p;
        memcpy(p, req->query, req->query_len);
        p += req->query_len;
    }
    *p++ = '\0';
    /* The peer "ip:port" or "[v6]:port" without the port. */
    if (plen >= 2 && peer[0] == '[' && peer[plen - 1] == ']')
        peer++, plen -= 2;
    hs->address = p;
    p = put(p, peer, plen);
    hs->headers = p;
    for (size_t i = 0; i < req->nheaders; i++) {
        unsigned code = common_header(req->headers[i].name, req->headers[i].name_len);
        *p++ = (char)code;
        if (!code)
            p = put(p, req->headers[i].name, req->headers[i].name_len);
        p = put(p, req->headers[i].value, req->headers[i].value_len);
    }
    hs->nheaders = req->nheaders;
    hs->time_ms = wall_ms();
}

typedef struct hb_sio_qcache {
    struct hb_sio_qcache *next;
    char *key;
    char value[];
} qcache;

static void handshake_free(hb_sio_handshake *hs) {
    while (hs->qcache != NULL) {
        qcache *q = hs->qcache;
        hs->qcache = q->next;
        free(q->key);
        free(q);
    }
}

const char *hb_socket_header(const hb_socket *s, const char *name) {
    const hb_sio_handshake *hs = &s->client->hs;
    const char *p = hs->headers, *value;
    for (size_t i = 0; i < hs->nheaders; i++)
        if (strcasecmp(hb_sio__header_next(&p, &value), name) == 0)
            return value;
    return NULL;
}

const char *hb_socket_query(const hb_socket *s, const char *name) {
    hb_sio_handshake *hs = &s->client->hs;
    size_t cap = strlen(hs->query) + 1;
    qcache *q;
    int n;
    /* Decoded values are kept for the client's lifetime so the pointer
     * handed out stays valid; asking twice reuses the first copy. */
    for (q = hs->qcache; q != NULL; q = q->next)
        if (strcmp(q->key, name) == 0)
            return q->value;
    q = malloc(sizeof(*q) + cap);
    if (q == NULL)
        return NULL;
    n = hb_http_query_get(hs->query, strlen(hs->query), name, q->value, cap);
    if (n < 0 || (q->key = strdup(name)) == NULL) {
        free(q);
        return NULL;
    }
    q->next = hs->qcache;
    hs->qcache = q;
    return q->value;
}

const char *hb_socket_address(const hb_socket *s) {
    return s->client->hs.address;
}

int64_t hb_socket_time_ms(const hb_socket *s) {
    return s->client->hs.time_ms;
}

const char *hb_socket_url(const hb_socket *s) {
    return s->client->hs.url;
}

/* --- lifetime --------------------------------------------------------------- */

static hb_sio_server *server_of(void *ud) {
    return ud;
}

static void on_connect_timeout(hb_timer *t) {
    hb_sio_client *c = (hb_sio_client *)((char *)t - offsetof(hb_sio_client, connect_timer));
    for (hb_socket *s = c->sockets; s != NULL; s = s->cnext)
        if (s->state == HB_SOCK_CONNECTED)
            return;
    if (c->session != NULL) {
        hb_log_debug("sio", "session %s joined no namespace in time, closing",
                     hb_eio_session_id(c->session));
        hb_sio__enter(c->srv);
        hb_eio_session_close(c->session);
        hb_sio__leave(c->srv);
    }
}

void hb_sio__client_open(void *ud, hb_eio_session *session, const hb_http_request *req) {
    hb_sio_server *srv = server_of(ud);
    char peer[64];
    hb_sio_client *c;
    hb_eio_session_peer(session, peer, sizeof(peer));
    c = calloc(1, offsetof(hb_sio_client, hsbuf) + handshake_size(req, peer));
    if (c == NULL) {
        hb_log_warn("sio", "out of memory opening a client; closing its session");
        hb_eio_session_close(session);
        return;
    }
    handshake_copy(&c->hs, c->hsbuf, req, peer);
    c->srv = srv;
    c->session = session;
    hb_sio_decoder_init(&c->dec, hb_sio__max_attachments(srv));
    hb_eio_session_set_data(session, c);
    hb_loop_timer_start(hb_sio__loop(srv), &c->connect_timer, hb_sio__connect_timeout_ms(srv),
                        on_connect_timeout);
}

void hb_sio__client_free(hb_sio_client *c) {
    hb_timer_stop(&c->connect_timer);
    hb_sio_decoder_free(&c->dec);
    handshake_free(&c->hs);
    free(c);
}

/* Socket.IO's names for why an Engine.IO session ended. */
static int socket_reason(int eio_reason) {
    return eio_reason == HB_CLOSE_CLIENT ? HB_CLOSE_TRANSPORT_CLOSE : eio_reason;
}

void hb_sio__client_closed(void *ud, hb_eio_session *session, int reason) {
    hb_sio_server *srv = server_of(ud);
    hb_sio_client *c = hb_eio_session_data(session);
    if (c == NULL)
        return;
    hb_sio__enter(srv);
    c->closed = 1;
    c->session = NULL;
    hb_timer_stop(&c->connect_timer);
    while (c->sockets != NULL)
        hb_sio__socket_close(c->sockets, socket_reason(reason), 0);
    hb_sio__bury_client(srv, c);
    hb_sio__leave(srv);
}

int hb_sio__client_send(hb_sio_client *c, const hb_sio_out *out) {
    int err = 0;
    if (c->session == NULL)
        return UV_ECANCELED;
    for (size_t i = 0; i < out->n && err == 0; i++)
        err = hb_eio_session_send(c->session, out->msgs[i]);
    return err;
}

void hb_sio__client_disconnect_all(hb_sio_client *c) {
    hb_sio__enter(c->srv);
    while (c->sockets != NULL)
        hb_sio__socket_close(c->sockets, HB_SIO_CLOSE_SERVER_NSP, 1);
    if (c->session != NULL)
        hb_eio_session_close(c->session);
    hb_sio__leave(c->srv);
}

/* --- packets ------------------------------------------------------------------ */

static void close_session(hb_sio_client *c, const char *why) {
    if (c->session == NULL)
        return;
    hb_log_info("sio", "session %s: %s; closing it", hb_eio_session_id(c->session), why);
    hb_eio_session_close(c->session);
}

static hb_socket *find_socket(hb_sio_client *c, hb_slice nsp) {
    for (hb_socket *s = c->sockets; s != NULL; s = s->cnext)
        if (strlen(s->nsp->name) == nsp.len && memcmp(s->nsp->name, nsp.base, nsp.len) == 0)
            return s;
    return NULL;
}

/* Reads {pid, offset} from a CONNECT payload when both are strings. */
static int recovery_auth(hb_slice data, char pid[32], char offset[HB_SIO_OFFSET_LEN + 8]) {
    json_t *root, *p, *o;
    int ok = 0;
    if (data.len == 0)
        return 0;
    root = json_loadb((const char *)data.base, data.len, 0, NULL);
    p = json_object_get(root, "pid");
    o = json_object_get(root, "offset");
    if (json_is_string(p) && json_is_string(o) && json_string_length(p) < 32 &&
        json_string_length(o) < HB_SIO_OFFSET_LEN + 8) {
        strcpy(pid, json_string_value(p));
        strcpy(offset, json_string_value(o));
        ok = 1;
    }
    json_decref(root);
    return ok;
}

static void do_connect(hb_sio_client *c, const hb_sio_packet *p) {
    hb_sio_server *srv = c->srv;
    char *name = malloc(p->nsp.len + 1);
    char *auth = NULL;
    hb_nsp *nsp;
    hb_socket *s;
    char pid[32], offset[HB_SIO_OFFSET_LEN + 8];
    if (name == NULL) {
        close_session(c, "out of memory");
        return;
    }
    memcpy(name, p->nsp.base, p->nsp.len);
    name[p->nsp.len] = '\0';
    nsp = hb_sio__nsp_find(srv, name, p->nsp.len);
    if (nsp == NULL) {
        auth = malloc(p->data.len + 3);
        if (auth != NULL) {
            if (p->data.len > 0)
                memcpy(auth, p->data.base, p->data.len);
            else
                memcpy(auth, "{}", 2);
            auth[p->data.len > 0 ? p->data.len : 2] = '\0';
            nsp = hb_sio__nsp_dynamic(srv, name, auth);
        }
        free(auth);
    }
    if (nsp == NULL) {
        hb_sio__send_connect_error(c, name, "Invalid namespace", NULL);
        free(name);
        return;
    }
    free(name);
    s = hb_sio__socket_new(c, nsp, p->data.base, p->data.len);
    if (s == NULL) {
        close_session(c, "out of memory");
        return;
    }
    if (nsp->log != NULL && recovery_auth(p->data, pid, offset) &&
        hb_sio__socket_restore(s, pid, offset))
        return;
    hb_sio__socket_run_middlewares(s);
}

static void on_packet(hb_sio_client *c, const hb_sio_packet *p) {
    hb_socket *s = find_socket(c, p->nsp);
    if (p->type == HB_SIO_CONNECT) {
        if (s != NULL)
            close_session(c, "CONNECT to a namespace it is already in");
        else
            do_connect(c, p);
    } else if (s != NULL && s->state == HB_SOCK_CONNECTED && p->type != HB_SIO_CONNECT_ERROR) {
        hb_sio__socket_packet(s, p);
    } else {
        close_session(c, s == NULL ? "a packet for a namespace it has not joined"
                                   : "a packet out of turn");
    }
}

void hb_sio__client_message(void *ud, hb_eio_session *session, int binary, uint8_t *data,
                            size_t len) {
    hb_sio_server *srv = server_of(ud);
    hb_sio_client *c = hb_eio_session_data(session);
    hb_sio_packet p;
    int r;
    if (c == NULL || c->closed)
        return;
    hb_sio__enter(srv);
    r = hb_sio_decoder_feed(&c->dec, binary, data, len, &p);
    if (r < 0) {
        hb_log_info("sio", "session %s sent a bad packet (%s); closing it",
                    hb_eio_session_id(session), hb_strerror(r));
        hb_eio_session_close(session);
    } else if (r == 1) {
        on_packet(c, &p);
    }
    hb_sio__leave(srv);
}
