/* Server-side events (socket.io's serverSideEmit): the handlers a
 * namespace has for the events other nodes send it, the replies they
 * answer with, and hb_nsp_server_side_emit(), which hands an event to the
 * bus for the other nodes. Nothing here reaches clients; without a bus
 * (one node) there is nobody to send to or hear from. */
#include <stdlib.h>
#include <string.h>

#include "sio/internal.h"

/* socket.io's requestsTimeout default */
#define EMIT_DEFAULT_TIMEOUT_MS 5000

typedef struct hb_sio_server_handler {
    struct hb_sio_server_handler *next;
    hb_server_event_cb cb;
    void *ud;
    uint8_t any;              /* the handler of events without their own */
    char name[];
} hb_sio_server_handler;

struct hb_server_reply {
    hb_sio_bus_reply bus;
    uint8_t in_call;          /* the handler is running: freed when it returns */
    uint8_t kept;
    uint8_t settled;          /* answered or dropped */
};

/* --- handlers -------------------------------------------------------------------------- */

static hb_sio_server_handler **handler_slot(hb_nsp *nsp, const char *event) {
    hb_sio_server_handler **h;
    for (h = &nsp->server_handlers; *h != NULL; h = &(*h)->next)
        if (event == NULL ? (*h)->any : !(*h)->any && strcmp((*h)->name, event) == 0)
            break;
    return h;
}

int hb_nsp_on_server_event(hb_nsp *nsp, const char *event, hb_server_event_cb cb, void *ud) {
    hb_sio_server_handler **slot = handler_slot(nsp, event), *h = *slot;
    size_t n = event != NULL ? strlen(event) : 0;
    if (cb == NULL) {
        if (h != NULL) {
            *slot = h->next;
            free(h);
        }
        return 0;
    }
    if (h == NULL) {
        if ((h = calloc(1, sizeof(*h) + n + 1)) == NULL)
            return HB_ENOMEM;
        if (event != NULL)
            memcpy(h->name, event, n);
        h->any = event == NULL;
        *slot = h;
    }
    h->cb = cb;
    h->ud = ud;
    return 0;
}

void hb_sio__server_handlers_free(hb_nsp *nsp) {
    while (nsp->server_handlers != NULL) {
        hb_sio_server_handler *h = nsp->server_handlers;
        nsp->server_handlers = h->next;
        free(h);
    }
}

/* The event's own handler (the child's, then its dynamic parent's), else
 * the catch-all one, the same way. */
static hb_sio_server_handler *handler_find(hb_nsp *nsp, const char *event) {
    for (int any = 0; any < 2; any++)
        for (hb_nsp *n = nsp; n != NULL; n = n->parent) {
            hb_sio_server_handler *h = *handler_slot(n, any ? NULL : event);
            if (h != NULL)
                return h;
        }
    return NULL;
}

/* --- replies ------------------------------------------------------------------------------ */

static void reply_free(hb_server_reply *r) {
    r->bus.release(r->bus.ud);
    free(r);
}

int hb_server_reply_send(hb_server_reply *reply, const char *value_json) {
    int err;
    if (reply->settled)
        return UV_ECANCELED;
    err = reply->bus.send(reply->bus.ud, value_json,
                          value_json != NULL ? strlen(value_json) : 0);
    if (err == HB_EINVAL)
        return err; /* nothing went out: the app may answer again */
    reply->settled = 1;
    if (reply->kept && !reply->in_call)
        reply_free(reply);
    return err;
}

hb_server_reply *hb_server_reply_keep(hb_server_reply *reply) {
    reply->kept = 1;
    return reply;
}

void hb_server_reply_drop(hb_server_reply *reply) {
    reply->settled = 1;
    if (!reply->in_call)
        reply_free(reply);
}

void hb_sio_server_server_event(hb_sio_server *srv, const char *nsp, const char *event,
                                const char *args_json, size_t len,
                                const hb_sio_bus_reply *reply) {
    hb_nsp *n = hb_sio__nsp_find(srv, nsp, strlen(nsp));
    hb_sio_server_handler *h = n != NULL ? handler_find(n, event) : NULL;
    hb_args args = {args_json, len, NULL, 0};
    hb_server_reply *r = NULL;
    if (h == NULL) {
        /* Nobody here knows the event. socket.io would stay silent and
         * the sender would wait for its timeout, for every event its own
         * servers exchange; an empty answer lets it go on at once. */
        if (reply != NULL) {
            reply->send(reply->ud, NULL, 0);
            reply->release(reply->ud);
        }
        return;
    }
    if (reply != NULL) {
        if ((r = calloc(1, sizeof(*r))) == NULL) {
            reply->release(reply->ud); /* the sender times out: nothing better to do */
            return;
        }
        r->bus = *reply;
        r->in_call = 1;
    }
    hb_sio__enter(srv);
    h->cb(n, event, &args, r, h->ud);
    hb_sio__leave(srv);
    if (r != NULL) {
        r->in_call = 0;
        if (!r->kept || r->settled)
            reply_free(r);
    }
}

/* --- emitting ----------------------------------------------------------------------------- */

typedef struct emit_ctx {
    hb_sio_server *srv;
    hb_bcast_ack_cb cb;
    void *ud;
} emit_ctx;

static void on_emitted(void *ud, int err, const char *responses_json, size_t n) {
    emit_ctx *x = ud;
    hb_sio__enter(x->srv);
    x->cb(err, responses_json, n, x->ud);
    hb_sio__leave(x->srv);
    free(x);
}

/* socket.io's Namespace RESERVED_EVENTS */
static int reserved(const char *event) {
    return strcmp(event, "connect") == 0 || strcmp(event, "connection") == 0 ||
           strcmp(event, "new_namespace") == 0;
}

int hb_nsp_server_side_emit(hb_nsp *nsp, const char *event, const char *args_json,
                            unsigned timeout_ms, hb_bcast_ack_cb cb, void *ud) {
    const hb_sio_bus *bus = hb_sio__bus(nsp->srv);
    emit_ctx *x = NULL;
    char *args;
    size_t len;
    int err;
    if (nsp->name == NULL || event == NULL || reserved(event))
        return HB_EINVAL;
    /* "[" args "]", checked to be a JSON array */
    if ((err = hb_sio__event_data(NULL, args_json, &args, &len)) != 0)
        return err;
    if (bus == NULL || bus->server_emit == NULL) {
        free(args);
        if (cb != NULL)
            cb(0, "[]", 0, ud); /* no other node: every one of them answered */
        return 0;
    }
    if (cb != NULL) {
        if ((x = malloc(sizeof(*x))) == NULL) {
            free(args);
            return HB_ENOMEM;
        }
        x->srv = nsp->srv;
        x->cb = cb;
        x->ud = ud;
    }
    err = bus->server_emit(bus->ud, nsp->name, event, args, len,
                           timeout_ms ? timeout_ms : EMIT_DEFAULT_TIMEOUT_MS,
                           cb != NULL ? on_emitted : NULL, x);
    free(args);
    if (err == 0)
        return 0;
    free(x);
    if (err != HB_ECLUSTER)
        return err;
    if (cb != NULL)
        cb(HB_ECLUSTER, "[]", 0, ud);
    return 0;
}
