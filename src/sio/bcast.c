/* Broadcasts: the operators (to, except, volatile, local, timeout) and the
 * terminal calls. An emit encodes its packet once and queues the same
 * Engine.IO messages to every selected socket; an emit with acks gives
 * every recipient one shared ack id and collects the answers. A broadcast
 * on a dynamic parent reaches the sockets of all its children. */
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "sio/internal.h"

/* The answers to one broadcast with acks: this node's recipients, and,
 * when the broadcast crossed nodes, what the bus reports from the others.
 * It also carries the answers of a broadcast another node sent (relay). */
struct hb_sio_bus_acks {
    hb_timer timer;
    hb_sio_server *srv;
    size_t expected, received;
    size_t refs;              /* pending entries, plus one until it completes */
    uint8_t done;
    uint8_t nodes_known;      /* the bus said how many other nodes report */
    uint8_t partial;          /* the other nodes could not be asked */
    void *token;              /* the bus holds us (other nodes may report) */
    size_t nodes, counted;    /* other nodes that will report, that did */
    char *json;               /* "[a,b" while collecting */
    size_t len, cap;
    hb_bcast_ack_cb cb;       /* the app's callback, or ... */
    hb_sio_bus_relay relay;   /* ... where a relay's answers go */
    void *ud;
};

/* Without a timeout of its own, a broadcast with acks that crossed nodes
 * (or one relayed for another node) waits this long at most: nobody tells
 * this node when a recipient on another node leaves. */
#define BUS_ACK_MAX_MS 60000

static hb_bcast *bcast_new(hb_nsp *nsp) {
    hb_bcast *b = calloc(1, sizeof(*b));
    if (b != NULL)
        b->nsp = nsp;
    return b;
}

hb_bcast *hb_nsp_bcast(hb_nsp *nsp) {
    return bcast_new(nsp);
}

hb_bcast *hb_to(hb_nsp *nsp, const char *room) {
    return hb_bcast_to(bcast_new(nsp), room);
}

hb_bcast *hb_socket_bcast(hb_socket *s) {
    /* socket.broadcast: every socket but this one, i.e. except its own room */
    return hb_bcast_except(bcast_new(s->nsp), s->id);
}

static void add_room_n(hb_bcast *b, hb_slice **list, size_t *n, size_t *cap, const char *room,
                       size_t len) {
    char *copy;
    if (b == NULL || b->oom)
        return;
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 4;
        hb_slice *l = realloc(*list, c * sizeof(*l));
        if (l == NULL) {
            b->oom = 1;
            return;
        }
        *list = l;
        *cap = c;
    }
    copy = malloc(len + 1);
    if (copy == NULL) {
        b->oom = 1;
        return;
    }
    memcpy(copy, room, len);
    copy[len] = '\0';
    (*list)[*n].base = (const uint8_t *)copy;
    (*list)[*n].len = len;
    (*n)++;
}

static void add_room(hb_bcast *b, hb_slice **list, size_t *n, size_t *cap, const char *room) {
    add_room_n(b, list, n, cap, room, strlen(room));
}

hb_bcast *hb_bcast_to(hb_bcast *b, const char *room) {
    if (b != NULL)
        add_room(b, &b->to, &b->nto, &b->capto, room);
    return b;
}

hb_bcast *hb_bcast_except(hb_bcast *b, const char *room) {
    if (b != NULL)
        add_room(b, &b->except, &b->nexcept, &b->capexcept, room);
    return b;
}

hb_bcast *hb_bcast_volatile(hb_bcast *b) {
    if (b != NULL)
        b->is_volatile = 1;
    return b;
}

hb_bcast *hb_bcast_local(hb_bcast *b) {
    if (b != NULL)
        b->is_local = 1;
    return b;
}

hb_bcast *hb_bcast_timeout(hb_bcast *b, unsigned ms) {
    if (b != NULL)
        b->timeout_ms = ms;
    return b;
}

void hb_bcast_free(hb_bcast *b) {
    if (b == NULL)
        return;
    for (size_t i = 0; i < b->nto; i++)
        free((void *)b->to[i].base);
    for (size_t i = 0; i < b->nexcept; i++)
        free((void *)b->except[i].base);
    free(b->to);
    free(b->except);
    free(b);
}

/* --- selection ------------------------------------------------------------------ */

static hb_socket *socket_of(hb_group_member *m) {
    return (hb_socket *)((char *)m - offsetof(hb_socket, room.member));
}

/* The connected sockets b reaches, into v (sockets as members). */
static int select_sockets(hb_bcast *b, hb_group_vec *v) {
    hb_groups_filter f = {b->to, b->nto, b->except, b->nexcept, NULL};
    int err = 0;
    if (b->nsp->rooms != NULL)
        err = hb_groups_select(b->nsp->rooms, &f, v);
    for (hb_nsp *c = b->nsp->children; c != NULL && err == 0; c = c->sibling)
        err = hb_groups_select(c->rooms, &f, v);
    return err;
}

/* --- emit --------------------------------------------------------------------------- */

/* A dynamic parent's broadcast is one per child, since each child writes
 * its own name into the packet. */
static int emit_children(hb_bcast *b, const char *event, const char *args_json,
                         const hb_bin *bins, size_t nbins) {
    int err = 0;
    for (hb_nsp *c = b->nsp->children; c != NULL && err == 0; c = c->sibling) {
        hb_bcast *cb = bcast_new(c);
        for (size_t i = 0; i < b->nto; i++)
            hb_bcast_to(cb, (const char *)b->to[i].base);
        for (size_t i = 0; i < b->nexcept; i++)
            hb_bcast_except(cb, (const char *)b->except[i].base);
        if (cb != NULL) {
            cb->is_volatile = b->is_volatile;
            cb->is_local = b->is_local;
        }
        err = hb_bcast_emit(cb, event, args_json, bins, nbins);
    }
    hb_bcast_free(b);
    return err;
}

/* The local fan-out of a broadcast whose JSON array is built: stored for
 * recovery (unless volatile), encoded once, queued to every selected
 * socket. b is not consumed. */
static int fan_out(hb_bcast *b, const char *data, size_t len, const hb_bin *bins, size_t nbins) {
    hb_group_vec v = {0};
    hb_sio_out out = {0};
    hb_nsp *nsp = b->nsp;
    hb_sio_server *srv = nsp->srv;
    char offset[HB_SIO_OFFSET_LEN + 1];
    int err, store;
    store = nsp->log != NULL && !b->is_volatile;
    if (store)
        hb_sio_log_next_offset(nsp->log, offset);
    err = hb_sio__encode_data(nsp, HB_SIO_EVENT, data, len, bins, nbins, -1,
                              store ? offset : NULL, &out);
    if (err == 0 && store) {
        hb_sio_log_store(nsp->log, hb_sio__now(srv), b->to, b->nto, b->except, b->nexcept,
                         out.msgs, out.n);
        hb_sio__stored(srv);
    }
    if (err == 0)
        err = select_sockets(b, &v);
    if (err == 0) {
        hb_sio__enter(srv);
        for (size_t i = 0; i < v.n; i++) {
            hb_socket *s = socket_of(v.items[i]);
            if (s->state != HB_SOCK_CONNECTED || s->client->session == NULL)
                continue;
            if (b->is_volatile && !hb_eio_session_writable(s->client->session))
                continue;
            hb_sio__client_send(s->client, &out);
        }
        hb_sio__leave(srv);
    }
    hb_group_vec_free(&v);
    hb_sio__out_release(&out);
    return err;
}

/* The bus's view of broadcast b carrying the packet text data. */
static void bus_msg(const hb_bcast *b, const char *data, size_t len, const hb_bin *bins,
                    size_t nbins, hb_sio_bus_msg *m) {
    memset(m, 0, sizeof(*m));
    m->nsp = b->nsp->name;
    m->rooms = b->to;
    m->nrooms = b->nto;
    m->except = b->except;
    m->nexcept = b->nexcept;
    m->is_volatile = b->is_volatile;
    m->data.base = (const uint8_t *)data;
    m->data.len = len;
    m->bins = bins;
    m->nbins = nbins;
}

/* Hands the broadcast to the other nodes, when there is a bus and the
 * broadcast is not local. */
static void publish(const hb_bcast *b, const char *data, size_t len, const hb_bin *bins,
                    size_t nbins) {
    const hb_sio_bus *bus = hb_sio__bus(b->nsp->srv);
    hb_sio_bus_msg m;
    if (bus == NULL || b->is_local)
        return;
    bus_msg(b, data, len, bins, nbins, &m);
    bus->publish(bus->ud, &m);
}

int hb_bcast_emit(hb_bcast *b, const char *event, const char *args_json, const hb_bin *bins,
                  size_t nbins) {
    char *data = NULL;
    size_t len = 0;
    int err;
    if (b == NULL)
        return HB_ENOMEM;
    if (b->oom) {
        hb_bcast_free(b);
        return HB_ENOMEM;
    }
    if (b->nsp->name == NULL)
        return emit_children(b, event, args_json, bins, nbins);
    if (nbins > HB_SIO_MAX_OUT_BINS)
        err = HB_ETOOBIG;
    else if (event == NULL)
        err = HB_EINVAL;
    else
        err = hb_sio__event_data(event, args_json, &data, &len);
    if (err == 0)
        err = fan_out(b, data, len, bins, nbins);
    if (err == 0)
        publish(b, data, len, bins, nbins);
    free(data);
    hb_bcast_free(b);
    return err;
}

/* The local broadcast another node's message asks for: its rooms, excepts
 * and flags, never published again. NULL on ENOMEM (b->oom is checked by
 * the caller). */
static hb_bcast *bcast_of_msg(hb_nsp *nsp, const hb_sio_bus_msg *m) {
    hb_bcast *b = bcast_new(nsp);
    if (b == NULL)
        return NULL;
    for (size_t i = 0; i < m->nrooms; i++)
        add_room_n(b, &b->to, &b->nto, &b->capto, (const char *)m->rooms[i].base,
                   m->rooms[i].len);
    for (size_t i = 0; i < m->nexcept; i++)
        add_room_n(b, &b->except, &b->nexcept, &b->capexcept, (const char *)m->except[i].base,
                   m->except[i].len);
    b->is_volatile = m->is_volatile != 0;
    b->is_local = 1;
    return b;
}

int hb_sio_server_room_idle(hb_sio_server *srv, const char *nsp, size_t nsp_len,
                            const char *room, size_t room_len) {
    hb_nsp *n = hb_sio__nsp_find(srv, nsp, nsp_len);
    if (n == NULL)
        return -1;
    return n->log == NULL && hb_groups_size(n->rooms, room, room_len) == 0;
}

int hb_sio_server_deliver(hb_sio_server *srv, const hb_sio_bus_msg *m) {
    hb_nsp *nsp = hb_sio__nsp_find(srv, m->nsp, strlen(m->nsp));
    hb_bcast *b;
    int err;
    if (nsp == NULL)
        return 0;
    if (m->nbins > HB_SIO_MAX_OUT_BINS)
        return HB_EINVAL;
    if ((b = bcast_of_msg(nsp, m)) == NULL)
        return HB_ENOMEM;
    err = b->oom ? HB_ENOMEM : fan_out(b, (const char *)m->data.base, m->data.len, m->bins,
                                       m->nbins);
    hb_bcast_free(b);
    return err;
}

/* --- emit with acks ------------------------------------------------------------------ */

static void col_unref(hb_sio_bcast_ack *col) {
    if (--col->refs > 0)
        return;
    hb_timer_stop(&col->timer);
    free(col->json);
    free(col);
}

static void col_finish(hb_sio_bcast_ack *col, int err) {
    if (col->done)
        return;
    col->done = 1;
    hb_timer_stop(&col->timer);
    if (col->token != NULL) {
        const hb_sio_bus *bus = hb_sio__bus(col->srv);
        void *token = col->token;
        col->token = NULL;
        if (bus != NULL && bus->cancel_acks != NULL)
            bus->cancel_acks(bus->ud, token);
    }
    hb_sio__enter(col->srv);
    if (col->cb == NULL) {
        col->relay.done(col->relay.ud);
    } else {
        if (col->json != NULL) {
            col->json[col->len] = ']';
            col->json[col->len + 1] = '\0';
        }
        if (err == 0 && col->partial)
            err = HB_ECLUSTER;
        col->cb(err, col->json ? col->json : "[]", col->received, col->ud);
    }
    hb_sio__leave(col->srv);
    col_unref(col);
}

static void check_complete(hb_sio_bcast_ack *col) {
    if (!col->done && col->received >= col->expected &&
        (col->token == NULL || (col->nodes_known && col->counted >= col->nodes)))
        col_finish(col, 0);
}

static void on_col_timeout(hb_timer *t) {
    col_finish((hb_sio_bcast_ack *)((char *)t - offsetof(hb_sio_bcast_ack, timer)), HB_ETIMEDOUT);
}

/* Appends one answer (JSON text) to the collected array. An answer that
 * does not fit in memory is counted but left out. */
static void col_append(hb_sio_bcast_ack *col, const char *first, size_t len) {
    size_t need = col->len + len + 3;
    if (need > col->cap) {
        size_t cap = need * 2;
        char *j = realloc(col->json, cap);
        if (j != NULL) {
            col->json = j;
            col->cap = cap;
        }
    }
    if (need <= col->cap) {
        col->json[col->len] = col->len == 0 ? '[' : ',';
        col->len++;
        memcpy(col->json + col->len, first, len);
        col->len += len;
    }
}

void hb_sio__bcast_ack_answer(hb_sio_pending *p, const hb_args *args) {
    hb_sio_bcast_ack *col = p->col;
    if (!col->done) {
        size_t len = 0;
        const char *first = hb_args_at(args, 0, &len);
        if (first == NULL)
            first = "null", len = 4;
        if (col->cb == NULL) {
            hb_sio__enter(col->srv);
            col->relay.answer(col->relay.ud, first, len, args->bins, args->nbins);
            hb_sio__leave(col->srv);
        } else {
            col_append(col, first, len);
        }
        col->received++;
        check_complete(col);
    }
    col_unref(col);
}

void hb_sio__bcast_ack_gone(hb_sio_pending *p) {
    hb_sio_bcast_ack *col = p->col;
    /* A recipient that went away will not answer: stop waiting for it. */
    if (!col->done && col->expected > 0) {
        col->expected--;
        check_complete(col);
    }
    col_unref(col);
}

/* --- what the bus reports from the other nodes ------------------------------------- */

void hb_sio_bus_acks_nodes(hb_sio_bus_acks *col, size_t nodes) {
    if (col->done || col->token == NULL)
        return;
    col->nodes_known = 1;
    col->nodes = nodes;
    check_complete(col);
}

void hb_sio_bus_acks_count(hb_sio_bus_acks *col, size_t clients) {
    if (col->done || col->token == NULL)
        return;
    col->counted++;
    col->expected += clients;
    check_complete(col);
}

void hb_sio_bus_acks_answer(hb_sio_bus_acks *col, const char *json, size_t len) {
    if (col->done || col->token == NULL)
        return;
    col_append(col, json, len);
    col->received++;
    check_complete(col);
}

void hb_sio_bus_acks_release(hb_sio_bus_acks *col) {
    if (col->done || col->token == NULL)
        return;
    /* Whatever the other nodes were still to report will not come. */
    col->token = NULL;
    col->partial = 1;
    check_complete(col);
}

/* --- emitting with acks ------------------------------------------------------------- */

/* Sends the encoded packet (ack id id) to every socket b selects, each
 * answer going to col. Returns 0 or an error from the selection. */
static int fan_out_acks(hb_bcast *b, const hb_sio_out *out, int64_t id, hb_sio_bcast_ack *col) {
    hb_group_vec v = {0};
    int err = select_sockets(b, &v);
    if (err != 0) {
        hb_group_vec_free(&v);
        return err;
    }
    for (size_t i = 0; i < v.n; i++) {
        hb_socket *s = socket_of(v.items[i]);
        hb_sio_pending *p;
        if (s->state != HB_SOCK_CONNECTED || s->client->session == NULL)
            continue;
        if (b->is_volatile && !hb_eio_session_writable(s->client->session))
            continue;
        p = calloc(1, sizeof(*p));
        if (p == NULL)
            continue;
        if (hb_sio__client_send(s->client, out) != 0) {
            free(p);
            continue;
        }
        p->id = id;
        p->col = col;
        col->refs++;
        col->expected++;
        hb_sio__pending_add(s, p);
    }
    hb_group_vec_free(&v);
    return 0;
}

static hb_sio_bcast_ack *col_new(hb_sio_server *srv) {
    hb_sio_bcast_ack *col = calloc(1, sizeof(*col));
    if (col != NULL) {
        col->srv = srv;
        col->refs = 1;
    }
    return col;
}

/* Hands a broadcast with acks to the other nodes; col then also waits for
 * what they report. */
static void publish_acks(hb_bcast *b, const char *data, size_t len, const hb_bin *bins,
                         size_t nbins, hb_sio_bcast_ack *col) {
    const hb_sio_bus *bus = hb_sio__bus(b->nsp->srv);
    hb_sio_bus_msg m;
    if (bus == NULL || bus->publish_acks == NULL || b->is_local)
        return;
    bus_msg(b, data, len, bins, nbins, &m);
    /* The other nodes wait for their recipients as long as this one does. */
    col->token = bus->publish_acks(bus->ud, &m, b->timeout_ms ? b->timeout_ms : BUS_ACK_MAX_MS,
                                   col);
    col->partial = col->token == NULL;
}

int hb_bcast_emit_with_ack(hb_bcast *b, const char *event, const char *args_json,
                           const hb_bin *bins, size_t nbins, hb_bcast_ack_cb cb, void *ud) {
    hb_sio_out out = {0};
    hb_sio_bcast_ack *col;
    hb_nsp *nsp;
    hb_sio_server *srv;
    char *data = NULL;
    size_t len = 0;
    unsigned timeout_ms;
    int64_t id;
    int err;
    if (b == NULL)
        return HB_ENOMEM;
    if (b->oom || cb == NULL || b->nsp->name == NULL || event == NULL) {
        /* Acks from a dynamic parent's children are not collected. */
        err = b->oom ? HB_ENOMEM : HB_EINVAL;
        hb_bcast_free(b);
        return err;
    }
    if (nbins > HB_SIO_MAX_OUT_BINS) {
        hb_bcast_free(b);
        return HB_ETOOBIG;
    }
    nsp = b->nsp;
    srv = nsp->srv;
    if ((col = col_new(srv)) == NULL) {
        hb_bcast_free(b);
        return HB_ENOMEM;
    }
    col->cb = cb;
    col->ud = ud;
    id = hb_sio__next_ack_id(nsp);
    err = hb_sio__event_data(event, args_json, &data, &len);
    if (err == 0)
        err = hb_sio__encode_data(nsp, HB_SIO_EVENT, data, len, bins, nbins, id, NULL, &out);
    hb_sio__enter(srv);
    if (err == 0)
        err = fan_out_acks(b, &out, id, col);
    if (err != 0) {
        hb_sio__leave(srv);
        free(data);
        free(col);
        hb_sio__out_release(&out);
        hb_bcast_free(b);
        return err;
    }
    publish_acks(b, data, len, bins, nbins, col);
    timeout_ms = b->timeout_ms;
    if (timeout_ms == 0 && col->token != NULL)
        timeout_ms = BUS_ACK_MAX_MS;
    if (timeout_ms > 0)
        hb_loop_timer_start(hb_sio__loop(srv), &col->timer, timeout_ms, on_col_timeout);
    check_complete(col); /* nobody to wait for: answered at once, as socket.io does */
    hb_sio__leave(srv);
    free(data);
    hb_sio__out_release(&out);
    hb_bcast_free(b);
    return 0;
}

int hb_sio_server_deliver_with_acks(hb_sio_server *srv, const hb_sio_bus_msg *m,
                                    unsigned timeout_ms, const hb_sio_bus_relay *relay,
                                    size_t *count) {
    hb_nsp *nsp = hb_sio__nsp_find(srv, m->nsp, strlen(m->nsp));
    hb_sio_out out = {0};
    hb_sio_bcast_ack *col;
    hb_bcast *b;
    int64_t id;
    int err;
    *count = 0;
    if (m->nbins > HB_SIO_MAX_OUT_BINS)
        return HB_EINVAL;
    if ((col = col_new(srv)) == NULL)
        return HB_ENOMEM;
    col->relay = *relay;
    if (nsp == NULL) {
        /* No such namespace here: nobody got it. */
        check_complete(col);
        return 0;
    }
    if ((b = bcast_of_msg(nsp, m)) == NULL) {
        free(col);
        return HB_ENOMEM;
    }
    id = hb_sio__next_ack_id(nsp);
    err = b->oom ? HB_ENOMEM
                 : hb_sio__encode_data(nsp, HB_SIO_EVENT, (const char *)m->data.base, m->data.len,
                                       m->bins, m->nbins, id, NULL, &out);
    hb_sio__enter(srv);
    if (err == 0)
        err = fan_out_acks(b, &out, id, col);
    hb_sio__out_release(&out);
    hb_bcast_free(b);
    if (err != 0) {
        hb_sio__leave(srv);
        free(col);
        return err;
    }
    *count = col->expected;
    hb_loop_timer_start(hb_sio__loop(srv), &col->timer, timeout_ms > 0 ? timeout_ms : BUS_ACK_MAX_MS,
                        on_col_timeout);
    check_complete(col);
    hb_sio__leave(srv);
    return 0;
}

/* --- utility operations ----------------------------------------------------------------- */

hb_socket **hb_sio__bcast_select(hb_bcast *b, size_t *n) {
    hb_group_vec v = {0};
    hb_socket **out = NULL;
    *n = 0;
    if (b == NULL || b->oom)
        goto done;
    if (select_sockets(b, &v) != 0)
        goto done;
    out = malloc((v.n + 1) * sizeof(*out));
    if (out == NULL)
        goto done;
    for (size_t i = 0; i < v.n; i++) {
        hb_socket *s = socket_of(v.items[i]);
        if (s->state == HB_SOCK_CONNECTED)
            out[(*n)++] = s;
    }
done:
    hb_group_vec_free(&v);
    return out;
}

/* The selected sockets as a plain array (the caller frees it); b is
 * consumed. */
static hb_socket **collect(hb_bcast *b, size_t *n) {
    hb_socket **out = hb_sio__bcast_select(b, n);
    hb_bcast_free(b);
    return out;
}

hb_socket **hb_bcast_fetch_sockets(hb_bcast *b, size_t *n) {
    return collect(b, n);
}

/* Hands a join, leave or disconnect to the other nodes (one request per
 * child of a dynamic parent), when there is a bus and b is not local. */
static void publish_req(const hb_bcast *b, int type, const char *room, int close) {
    const hb_sio_bus *bus;
    hb_sio_bus_req r;
    hb_slice target;
    if (b == NULL || b->oom || b->is_local || (bus = hb_sio__bus(b->nsp->srv)) == NULL ||
        bus->request == NULL)
        return;
    memset(&r, 0, sizeof(r));
    r.type = type;
    r.rooms = b->to;
    r.nrooms = b->nto;
    r.except = b->except;
    r.nexcept = b->nexcept;
    if (room != NULL) {
        target.base = (const uint8_t *)room;
        target.len = strlen(room);
        r.targets = &target;
        r.ntargets = 1;
    }
    r.close = close;
    if (b->nsp->name != NULL) {
        r.nsp = b->nsp->name;
        bus->request(bus->ud, &r);
        return;
    }
    for (const hb_nsp *c = b->nsp->children; c != NULL; c = c->sibling) {
        r.nsp = c->name;
        bus->request(bus->ud, &r);
    }
}

void hb_bcast_sockets_join(hb_bcast *b, const char *room) {
    size_t n;
    hb_socket **v;
    publish_req(b, HB_SIO_BUS_JOIN, room, 0);
    v = collect(b, &n);
    for (size_t i = 0; i < n; i++)
        hb_socket_join(v[i], room);
    free(v);
}

void hb_bcast_sockets_leave(hb_bcast *b, const char *room) {
    size_t n;
    hb_socket **v;
    publish_req(b, HB_SIO_BUS_LEAVE, room, 0);
    v = collect(b, &n);
    for (size_t i = 0; i < n; i++)
        hb_socket_leave(v[i], room);
    free(v);
}

void hb_bcast_disconnect_sockets(hb_bcast *b, int close_transport) {
    size_t n;
    hb_sio_server *srv = b ? b->nsp->srv : NULL;
    hb_socket **v;
    if (srv == NULL)
        return;
    publish_req(b, HB_SIO_BUS_DISCONNECT, NULL, close_transport);
    /* Entered before collecting: a socket disconnected early stays readable
     * (buried, not freed) while the rest of the list is walked. */
    hb_sio__enter(srv);
    v = collect(b, &n);
    for (size_t i = 0; i < n; i++)
        hb_socket_disconnect(v[i], close_transport);
    free(v);
    hb_sio__leave(srv);
}

/* --- operations from other nodes ------------------------------------------------ */

hb_bcast *hb_sio__bcast_from_req(hb_nsp *nsp, const hb_sio_bus_req *r) {
    hb_bcast *b = bcast_new(nsp);
    if (b == NULL)
        return NULL;
    for (size_t i = 0; i < r->nrooms; i++)
        add_room_n(b, &b->to, &b->nto, &b->capto, (const char *)r->rooms[i].base,
                   r->rooms[i].len);
    for (size_t i = 0; i < r->nexcept; i++)
        add_room_n(b, &b->except, &b->nexcept, &b->capexcept, (const char *)r->except[i].base,
                   r->except[i].len);
    b->is_local = 1; /* never handed back to the bus */
    return b;
}

void hb_sio_server_deliver_req(hb_sio_server *srv, const hb_sio_bus_req *r) {
    hb_nsp *nsp = hb_sio__nsp_find(srv, r->nsp, strlen(r->nsp));
    if (nsp == NULL)
        return;
    if (r->type == HB_SIO_BUS_DISCONNECT) {
        hb_bcast_disconnect_sockets(hb_sio__bcast_from_req(nsp, r), r->close);
        return;
    }
    if (r->type != HB_SIO_BUS_JOIN && r->type != HB_SIO_BUS_LEAVE)
        return;
    for (size_t i = 0; i < r->ntargets; i++) {
        char *room = malloc(r->targets[i].len + 1);
        hb_bcast *b;
        if (room == NULL)
            return;
        memcpy(room, r->targets[i].base, r->targets[i].len);
        room[r->targets[i].len] = '\0';
        b = hb_sio__bcast_from_req(nsp, r);
        if (r->type == HB_SIO_BUS_JOIN)
            hb_bcast_sockets_join(b, room);
        else
            hb_bcast_sockets_leave(b, room);
        free(room);
    }
}
