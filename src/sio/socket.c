/* A socket: one client in one namespace. It goes CONNECTING (middlewares
 * running) → CONNECTED (in the namespace's rooms, events flowing) →
 * CLOSING (its disconnect handler runs; it still sees its rooms but gets
 * nothing more) → CLOSED (buried; freed when no app call is in progress).
 * This file holds that life, events in and out, acks both ways, rooms, and
 * recovery's save and restore. */
#include <stdlib.h>
#include <string.h>

#include "core/id.h"
#include "core/log.h"
#include "core/metrics.h"
#include "sio/internal.h"

static const char *const reserved[] = {
    "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener",
};

int hb_sio__reserved_event(const char *event) {
    for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
        if (strcmp(event, reserved[i]) == 0)
            return 1;
    return 0;
}

const char *hb_sio__reason_name(int reason) {
    switch (reason) {
    case HB_SIO_CLOSE_CLIENT_NSP:
        return "client namespace disconnect";
    case HB_SIO_CLOSE_SERVER_NSP:
        return "server namespace disconnect";
    case HB_CLOSE_SHUTDOWN:
        return "server shutting down";
    default:
        return hb_close_reason_name(reason);
    }
}

/* socket.io's RECOVERABLE_DISCONNECT_REASONS: the client did not mean to
 * leave. */
static int recoverable(int reason) {
    return reason == HB_CLOSE_TRANSPORT_ERROR || reason == HB_CLOSE_TRANSPORT_CLOSE ||
           reason == HB_CLOSE_FORCED || reason == HB_CLOSE_PING_TIMEOUT ||
           reason == HB_CLOSE_SHUTDOWN;
}

int hb_sio__socket_is_live(const hb_socket *s) {
    return s->state == HB_SOCK_CONNECTED;
}

/* --- life ------------------------------------------------------------------------ */

hb_socket *hb_sio__socket_new(hb_sio_client *c, hb_nsp *nsp, const uint8_t *auth, size_t len) {
    /* One allocation: the payload goes at the end of the socket, and the
     * private id after it only where recovery can use it. */
    size_t pid_len = nsp->log != NULL ? HB_ID_LEN + 1 : 0;
    hb_socket *s = calloc(1, offsetof(hb_socket, auth) + (len > 0 ? len + 1 : 3) + pid_len);
    hb_socket **tail;
    if (s == NULL)
        return NULL;
    if (len > 0)
        memcpy(s->auth, auth, len);
    else
        memcpy(s->auth, "{}", 2);
    s->auth[len > 0 ? len : 2] = '\0';
    s->nsp = nsp;
    s->client = c;
    s->state = HB_SOCK_CONNECTING;
    hb_id_new(s->id);
    if (nsp->log != NULL)
        hb_id_new(hb_sio__socket_pid(s));
    for (tail = &c->sockets; *tail != NULL; tail = &(*tail)->cnext)
        ;
    *tail = s;
    return s;
}

char *hb_sio__socket_pid(const hb_socket *s) {
    return (char *)s->auth + strlen(s->auth) + 1;
}

void hb_sio__socket_free(hb_socket *s) {
    hb_sio_handlers_release(hb_sio__handlers(s->nsp->srv), s->handlers);
    free(s->data_json);
    free(s);
}

static void unlink_from_client(hb_socket *s) {
    hb_socket **p = &s->client->sockets;
    while (*p != NULL && *p != s)
        p = &(*p)->cnext;
    if (*p == s)
        *p = s->cnext;
    s->cnext = NULL;
}

static int send_connect_ok(hb_socket *s) {
    char data[80];
    hb_sio_packet p = {0};
    if (s->nsp->log != NULL)
        snprintf(data, sizeof(data), "{\"sid\":\"%s\",\"pid\":\"%s\"}", s->id,
                 hb_sio__socket_pid(s));
    else
        snprintf(data, sizeof(data), "{\"sid\":\"%s\"}", s->id);
    p.type = HB_SIO_CONNECT;
    p.nsp = hb_sio_str(s->nsp->name);
    p.id = -1;
    p.data = hb_sio_str(data);
    return hb_sio__send_packet(s->client, &p);
}

/* Enters the namespace: rooms, the CONNECT answer, then the app. */
static void enter(hb_socket *s) {
    hb_nsp *nsp = s->nsp;
    if (hb_groups_add_named(nsp->rooms, &s->room, s->id, strlen(s->id)) != 0) {
        hb_sio__socket_close(s, HB_CLOSE_TRANSPORT_ERROR, 0); /* never entered */
        return;
    }
    s->state = HB_SOCK_CONNECTED;
    hb_sio__socket_counted(nsp->srv, 1);
    if (send_connect_ok(s) != 0) {
        hb_sio__socket_close(s, HB_CLOSE_TRANSPORT_ERROR, 0);
        return;
    }
    hb_log_debug("sio", "socket %s connected to %s", s->id, nsp->name);
    if (nsp->on_connection != NULL)
        nsp->on_connection(s, nsp->connection_ud);
}

void hb_sio__socket_refuse(hb_socket *s, const char *message, const char *data_json) {
    hb_sio__send_connect_error(s->client, s->nsp->name, message, data_json);
    hb_sio__socket_close(s, HB_SIO_CLOSE_SERVER_NSP, 0);
}

/* --- middlewares -------------------------------------------------------------- */

static void run_next(hb_next *n) {
    hb_socket *s = n->s;
    hb_nsp *nsp = s->nsp;
    if (n->index >= nsp->nmw) {
        s->next = NULL;
        free(n);
        enter(s);
        return;
    }
    nsp->mw[n->index].cb(s, n, nsp->mw[n->index].ud);
}

void hb_sio__socket_run_middlewares(hb_socket *s) {
    hb_next *n;
    if (s->nsp->nmw == 0) {
        enter(s);
        return;
    }
    n = calloc(1, sizeof(*n));
    if (n == NULL) {
        hb_sio__socket_refuse(s, "Internal server error", NULL);
        return;
    }
    n->s = s;
    s->next = n;
    run_next(n);
}

void hb_next_accept(hb_next *next) {
    hb_sio_server *srv;
    if (next->s == NULL) { /* the client went away meanwhile */
        free(next);
        return;
    }
    srv = next->s->nsp->srv;
    hb_sio__enter(srv);
    next->index++;
    run_next(next);
    hb_sio__leave(srv);
}

void hb_next_refuse(hb_next *next, const char *message, const char *data_json) {
    hb_socket *s = next->s;
    hb_sio_server *srv;
    free(next);
    if (s == NULL)
        return;
    s->next = NULL;
    srv = s->nsp->srv;
    hb_sio__enter(srv);
    hb_sio__socket_refuse(s, message ? message : "", data_json);
    hb_sio__leave(srv);
}

/* --- recovery ----------------------------------------------------------------- */

static void save_session(hb_socket *s) {
    hb_slice rooms[64], *r = rooms;
    size_t n = 0, cap = sizeof(rooms) / sizeof(rooms[0]), len;
    hb_group_iter it;
    const char *name;
    hb_group_iter_init(&it, &s->room);
    while (hb_group_iter_next(&it, &len) != NULL)
        n++;
    if (n > cap && (r = malloc(n * sizeof(*r))) == NULL)
        return;
    n = 0;
    hb_group_iter_init(&it, &s->room);
    while ((name = hb_group_iter_next(&it, &len)) != NULL) {
        r[n].base = (const uint8_t *)name;
        r[n].len = len;
        n++;
    }
    hb_sio_log_save(s->nsp->log, hb_sio__now(s->nsp->srv), hb_sio__socket_pid(s), s->id, r, n);
    if (r != rooms)
        free(r);
    hb_sio__stored(s->nsp->srv);
}

int hb_sio__socket_restore(hb_socket *s, const char *pid, const char *offset) {
    hb_sio_restored r;
    hb_nsp *nsp = s->nsp;
    int err = 0;
    if (hb_sio_log_restore(nsp->log, hb_sio__now(nsp->srv), pid, offset, &r) != 1)
        return 0;
    memcpy(s->id, r.sid, sizeof(s->id));
    snprintf(hb_sio__socket_pid(s), sizeof(s->id), "%s", pid);
    s->recovered = 1;
    /* As socket.io: rooms back, missed packets, then the CONNECT answer
     * (the client holds events until it is connected), then the app. */
    if (hb_groups_add_named(nsp->rooms, &s->room, s->id, strlen(s->id)) != 0) {
        hb_sio_restored_free(&r);
        hb_sio__socket_close(s, HB_CLOSE_TRANSPORT_ERROR, 0); /* never entered */
        return 1;
    }
    s->state = HB_SOCK_CONNECTED;
    hb_sio__socket_counted(nsp->srv, 1);
    /* The saved rooms list its own first: joining it again is a no-op. */
    for (size_t i = 0; i < r.nrooms && err == 0; i++)
        err = hb_groups_join(nsp->rooms, &s->room.member, r.rooms[i], r.room_lens[i]);
    for (size_t i = 0; i < r.npackets && err == 0; i++) {
        hb_sio_out out = {0};
        out.n = r.packet_msgs[i] < 1 + HB_SIO_MAX_OUT_BINS ? r.packet_msgs[i]
                                                            : 1 + HB_SIO_MAX_OUT_BINS;
        memcpy(out.msgs, r.packets[i], out.n * sizeof(out.msgs[0]));
        err = hb_sio__client_send(s->client, &out);
    }
    hb_log_debug("sio", "socket %s recovered on %s with %zu missed packets", s->id, nsp->name,
                 r.npackets);
    hb_sio_restored_free(&r);
    if (err != 0 || send_connect_ok(s) != 0) {
        hb_sio__socket_close(s, HB_CLOSE_TRANSPORT_ERROR, 0);
        return 1;
    }
    if (nsp->on_connection != NULL)
        nsp->on_connection(s, nsp->connection_ud);
    return 1;
}

/* --- closing -------------------------------------------------------------------- */

static int send_disconnect(hb_socket *s) {
    hb_sio_packet p = {0};
    p.type = HB_SIO_DISCONNECT;
    p.nsp = hb_sio_str(s->nsp->name);
    p.id = -1;
    return hb_sio__send_packet(s->client, &p);
}

void hb_sio__socket_close(hb_socket *s, int reason, int say_goodbye) {
    hb_sio_server *srv = s->nsp->srv;
    if (s->state == HB_SOCK_CLOSING || s->state == HB_SOCK_CLOSED)
        return;
    hb_sio__enter(srv);
    if (s->state == HB_SOCK_CONNECTING) {
        /* Never connected: no handler to tell; a middleware still holding
         * next finds it orphaned. */
        if (s->next != NULL)
            s->next->s = NULL;
        s->state = HB_SOCK_CLOSED;
        unlink_from_client(s);
        hb_sio__bury_socket(srv, s);
        hb_sio__leave(srv);
        return;
    }
    s->state = HB_SOCK_CLOSING;
    if (say_goodbye)
        send_disconnect(s);
    if (s->nsp->log != NULL && recoverable(reason))
        save_session(s);
    hb_log_debug("sio", "socket %s left %s: %s", s->id, s->nsp->name, hb_sio__reason_name(reason));
    if (s->disconnect_cb != NULL)
        s->disconnect_cb(s, hb_sio__reason_name(reason), s->disconnect_ud);
    while (s->pending != NULL) {
        hb_sio_pending *p = s->pending;
        s->pending = p->next;
        hb_timer_stop(&p->timer);
        if (p->col != NULL)
            hb_sio__bcast_ack_gone(p);
        else if (p->cb != NULL)
            p->cb(s, UV_ECANCELED, NULL, p->ud);
        free(p);
    }
    for (hb_ack *a = s->kept; a != NULL; a = a->next)
        a->s = NULL;
    s->kept = NULL;
    hb_groups_remove_named(s->nsp->rooms, &s->room);
    hb_sio__socket_counted(srv, -1);
    s->state = HB_SOCK_CLOSED;
    unlink_from_client(s);
    hb_sio__bury_socket(srv, s);
    hb_sio__leave(srv);
}

void hb_socket_disconnect(hb_socket *s, int close_transport) {
    hb_sio_server *srv = s->nsp->srv;
    if (s->state != HB_SOCK_CONNECTED)
        return;
    hb_sio__enter(srv);
    if (close_transport)
        hb_sio__client_disconnect_all(s->client);
    else
        hb_sio__socket_close(s, HB_SIO_CLOSE_SERVER_NSP, 1);
    hb_sio__leave(srv);
}

/* --- events in ---------------------------------------------------------------- */

static void on_event(hb_socket *s, const hb_sio_packet *p) {
    hb_bin bins[HB_SIO_MAX_OUT_BINS];
    hb_args args;
    hb_ack ack = {0};
    const hb_sio_hnode *h;
    hb_event_cb cb;
    void *ud;
    char *event = malloc(p->event.len + 1);
    if (event == NULL)
        return;
    memcpy(event, p->event.base, p->event.len);
    event[p->event.len] = '\0';
    h = hb_sio_handlers_find(s->handlers, event, p->event.len);
    cb = h ? h->cb : s->any_cb;
    ud = h ? h->ud : s->any_ud;
    if (cb != NULL) {
        hb_sio__args_make(s->nsp->srv, p->args, p->attachments,
                          p->n_attachments < HB_SIO_MAX_OUT_BINS ? p->n_attachments
                                                                 : HB_SIO_MAX_OUT_BINS,
                          &args, bins);
        ack.s = s;
        ack.id = p->id;
        cb(s, event, &args, p->id >= 0 ? &ack : NULL, ud);
    }
    free(event);
}

static void on_ack(hb_socket *s, const hb_sio_packet *p) {
    hb_bin bins[HB_SIO_MAX_OUT_BINS];
    hb_sio_pending **pp = &s->pending, *pend;
    hb_args args;
    while (*pp != NULL && (*pp)->id != p->id)
        pp = &(*pp)->next;
    if ((pend = *pp) == NULL)
        return; /* late (timed out) or unknown: socket.io ignores it too */
    *pp = pend->next;
    hb_timer_stop(&pend->timer);
    hb_sio__args_make(s->nsp->srv, p->args, p->attachments,
                      p->n_attachments < HB_SIO_MAX_OUT_BINS ? p->n_attachments
                                                             : HB_SIO_MAX_OUT_BINS,
                      &args, bins);
    if (pend->col != NULL)
        hb_sio__bcast_ack_answer(pend, &args);
    else if (pend->cb != NULL)
        pend->cb(s, 0, &args, pend->ud);
    free(pend);
}

void hb_sio__socket_packet(hb_socket *s, const hb_sio_packet *p) {
    switch (p->type) {
    case HB_SIO_DISCONNECT:
        hb_sio__socket_close(s, HB_SIO_CLOSE_CLIENT_NSP, 0);
        break;
    case HB_SIO_EVENT:
    case HB_SIO_BINARY_EVENT:
        on_event(s, p);
        break;
    case HB_SIO_ACK:
    case HB_SIO_BINARY_ACK:
        on_ack(s, p);
        break;
    default:
        break;
    }
}

int hb_socket_on(hb_socket *s, const char *event, hb_event_cb cb, void *ud) {
    return hb_sio_handlers_set(hb_sio__handlers(s->nsp->srv), &s->handlers, event,
                               strlen(event), cb, ud);
}

void hb_socket_on_any(hb_socket *s, hb_event_cb cb, void *ud) {
    s->any_cb = cb;
    s->any_ud = ud;
}

void hb_socket_on_disconnect(hb_socket *s, hb_disconnect_cb cb, void *ud) {
    s->disconnect_cb = cb;
    s->disconnect_ud = ud;
}

/* --- events out ----------------------------------------------------------------- */

/* Sends one event to s; with recovery on, a plain event is stored with the
 * socket's own room, as socket.io does, so a reconnect can replay it. */
static int emit(hb_socket *s, const char *event, const char *args_json, const hb_bin *bins,
                size_t nbins, int64_t id) {
    hb_nsp *nsp = s->nsp;
    char offset[HB_SIO_OFFSET_LEN + 1];
    int store = nsp->log != NULL && id < 0;
    hb_sio_out out = {0};
    int err;
    if (s->state != HB_SOCK_CONNECTED)
        return UV_ECANCELED;
    if (store)
        hb_sio_log_next_offset(nsp->log, offset);
    err = hb_sio__encode(nsp, HB_SIO_EVENT, event, args_json, bins, nbins, id,
                         store ? offset : NULL, &out);
    if (err != 0)
        return err;
    if (store) {
        hb_slice room = hb_sio_str(s->id);
        hb_sio_log_store(nsp->log, hb_sio__now(nsp->srv), &room, 1, NULL, 0, out.msgs, out.n);
        hb_sio__stored(nsp->srv);
    }
    err = hb_sio__client_send(s->client, &out);
    hb_sio__out_release(&out);
    return err;
}

int hb_socket_emit(hb_socket *s, const char *event, const char *args_json, const hb_bin *bins,
                   size_t nbins) {
    return emit(s, event, args_json, bins, nbins, -1);
}

void hb_sio__pending_add(hb_socket *s, hb_sio_pending *p) {
    p->s = s;
    p->next = s->pending;
    s->pending = p;
}

static void on_ack_timeout(hb_timer *t) {
    hb_sio_pending *p = (hb_sio_pending *)((char *)t - offsetof(hb_sio_pending, timer));
    hb_socket *s = p->s;
    hb_sio_pending **pp = &s->pending;
    hb_sio_server *srv = s->nsp->srv;
    while (*pp != p)
        pp = &(*pp)->next;
    *pp = p->next;
    hb_sio__enter(srv);
    p->cb(s, HB_ETIMEDOUT, NULL, p->ud);
    free(p);
    hb_sio__leave(srv);
}

int hb_socket_emit_with_ack(hb_socket *s, const char *event, const char *args_json,
                            const hb_bin *bins, size_t nbins, unsigned timeout_ms, hb_ack_cb cb,
                            void *ud) {
    hb_sio_pending *p;
    int64_t id;
    int err;
    if (cb == NULL)
        return HB_EINVAL;
    if (s->state != HB_SOCK_CONNECTED)
        return UV_ECANCELED;
    p = calloc(1, sizeof(*p));
    if (p == NULL)
        return HB_ENOMEM;
    id = hb_sio__next_ack_id(s->nsp);
    err = emit(s, event, args_json, bins, nbins, id);
    if (err != 0) {
        free(p);
        return err;
    }
    p->id = id;
    p->cb = cb;
    p->ud = ud;
    hb_sio__pending_add(s, p);
    if (timeout_ms > 0)
        hb_loop_timer_start(hb_sio__loop(s->nsp->srv), &p->timer, timeout_ms, on_ack_timeout);
    return 0;
}

/* --- acks the client asked for ------------------------------------------------- */

static void ack_forget(hb_ack *a) {
    if (!a->kept)
        return;
    if (a->s != NULL) {
        if (a->prev)
            a->prev->next = a->next;
        else
            a->s->kept = a->next;
        if (a->next)
            a->next->prev = a->prev;
    }
    free(a);
}

int hb_ack_send(hb_ack *ack, const char *args_json, const hb_bin *bins, size_t nbins) {
    hb_socket *s = ack->s;
    hb_sio_out out = {0};
    int err;
    if (s == NULL || ack->answered || s->state != HB_SOCK_CONNECTED) {
        err = UV_ECANCELED;
        goto done;
    }
    ack->answered = 1;
    err = hb_sio__encode(s->nsp, HB_SIO_ACK, NULL, args_json, bins, nbins, ack->id, NULL, &out);
    if (err == 0) {
        err = hb_sio__client_send(s->client, &out);
        hb_sio__out_release(&out);
    }
done:
    ack_forget(ack);
    return err;
}

hb_ack *hb_ack_keep(hb_ack *ack) {
    hb_ack *k;
    if (ack->kept)
        return ack;
    k = malloc(sizeof(*k));
    if (k == NULL)
        return NULL;
    *k = *ack;
    k->kept = 1;
    k->prev = NULL;
    k->next = NULL;
    if (k->s != NULL) {
        k->next = k->s->kept;
        if (k->next)
            k->next->prev = k;
        k->s->kept = k;
    }
    ack->answered = 1; /* the stack copy is spent */
    return k;
}

void hb_ack_drop(hb_ack *ack) {
    ack->answered = 1;
    ack_forget(ack);
}

/* --- rooms and accessors ------------------------------------------------------- */

int hb_socket_join(hb_socket *s, const char *room) {
    if (s->state != HB_SOCK_CONNECTED)
        return UV_ECANCELED;
    return hb_groups_join(s->nsp->rooms, &s->room.member, room, strlen(room));
}

int hb_socket_leave(hb_socket *s, const char *room) {
    if (s->state != HB_SOCK_CONNECTED)
        return UV_ECANCELED;
    hb_groups_leave(s->nsp->rooms, &s->room.member, room, strlen(room));
    return 0;
}

int hb_socket_in_room(const hb_socket *s, const char *room) {
    return hb_groups_named_has(&s->room, room, strlen(room));
}

char *hb_socket_rooms_json(const hb_socket *s) {
    size_t len = 2, n = 0, nl;
    char *out, *p;
    hb_group_iter it;
    const char *name;
    hb_group_iter_init(&it, &s->room);
    while ((name = hb_group_iter_next(&it, &nl)) != NULL) {
        char *q = hb_sio__json_string_n(name, nl);
        if (q == NULL)
            return NULL;
        len += strlen(q) + 1;
        free(q);
    }
    out = malloc(len + 1);
    if (out == NULL)
        return NULL;
    p = out;
    *p++ = '[';
    hb_group_iter_init(&it, &s->room);
    while ((name = hb_group_iter_next(&it, &nl)) != NULL) {
        char *q = hb_sio__json_string_n(name, nl);
        if (q == NULL) {
            free(out);
            return NULL;
        }
        if (n++ > 0)
            *p++ = ',';
        strcpy(p, q);
        p += strlen(q);
        free(q);
    }
    *p++ = ']';
    *p = '\0';
    return out;
}

const char *hb_socket_id(const hb_socket *s) {
    return s->id;
}

hb_nsp *hb_socket_nsp(const hb_socket *s) {
    return s->nsp;
}

void *hb_socket_data(const hb_socket *s) {
    return s->data;
}

void hb_socket_set_data(hb_socket *s, void *data) {
    s->data = data;
}

int hb_socket_recovered(const hb_socket *s) {
    return s->recovered;
}

const char *hb_socket_auth(const hb_socket *s) {
    return s->auth;
}
