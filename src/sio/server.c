/* The Socket.IO server object: its namespaces (static by name, dynamic by
 * a parent that matches names), the grave that defers frees until no call
 * into the app is in progress, the recovery purge timer, and the public
 * namespace functions. */
#include "sio/server.h"

#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "sio/internal.h"

#define PURGE_MIN_MS 1000

struct hb_sio_server {
    hb_loop *loop;
    hb_sio_opts opts;
    hb_server *owner;
    hb_nsp *nsps;             /* static namespaces and dynamic children */
    hb_nsp *parents;          /* dynamic parents, in the order added */
    char *scratch;
    size_t scratch_cap;
    uint32_t busy;
    hb_socket *grave_sockets;
    hb_sio_client *grave_clients;
    size_t sockets;
    hb_timer purge;
    hb_sio_bus bus;           /* publish NULL: no bus */
    hb_sio_handlers *handlers; /* the sockets' shared handler lists */
};

const hb_eio_handler hb_sio_eio_handler = {
    hb_sio__client_open,
    hb_sio__client_message,
    hb_sio__client_closed,
    NULL,
};

static void on_purge(hb_timer *t);

static void arm_purge(hb_sio_server *srv) {
    unsigned every = srv->opts.recovery_ms > PURGE_MIN_MS ? srv->opts.recovery_ms : PURGE_MIN_MS;
    hb_loop_timer_start(srv->loop, &srv->purge, every, on_purge);
}

static void on_purge(hb_timer *t) {
    hb_sio_server *srv = (hb_sio_server *)((char *)t - offsetof(hb_sio_server, purge));
    uint64_t now = hb_loop_now(srv->loop);
    int any = 0;
    for (hb_nsp *n = srv->nsps; n != NULL; n = n->next)
        if (n->log != NULL) {
            hb_sio_log_purge(n->log, now);
            any |= hb_sio_log_packets(n->log) > 0 || hb_sio_log_sessions(n->log) > 0;
        }
    /* Re-armed only while there is something to expire, so an idle server
     * has no timer keeping its loop alive. */
    if (any)
        arm_purge(srv);
}

hb_sio_server *hb_sio_server_new(hb_loop *loop, const hb_sio_opts *opts, hb_server *owner) {
    hb_sio_server *srv = calloc(1, sizeof(*srv));
    if (srv == NULL)
        return NULL;
    if ((srv->handlers = hb_sio_handlers_new()) == NULL) {
        free(srv);
        return NULL;
    }
    srv->loop = loop;
    srv->owner = owner;
    if (opts != NULL)
        srv->opts = *opts;
    if (srv->opts.connect_timeout_ms == 0)
        srv->opts.connect_timeout_ms = 45000;
    if (srv->opts.max_attachments == 0)
        srv->opts.max_attachments = HB_SIO_MAX_ATTACHMENTS_DEFAULT;
    return srv;
}

static void nsp_free(hb_nsp *n) {
    hb_sio__server_handlers_free(n);
    free(n->name);
    free(n->mw);
    if (n->regex != NULL) {
        regfree(n->regex);
        free(n->regex);
    }
    hb_groups_free(n->rooms);
    hb_sio_log_free(n->log);
    free(n);
}

void hb_sio_server_free(hb_sio_server *srv) {
    if (srv == NULL)
        return;
    hb_timer_stop(&srv->purge);
    srv->busy = 1;
    hb_sio__leave(srv);
    while (srv->nsps != NULL) {
        hb_nsp *n = srv->nsps;
        srv->nsps = n->next;
        nsp_free(n);
    }
    while (srv->parents != NULL) {
        hb_nsp *n = srv->parents;
        srv->parents = n->next;
        nsp_free(n);
    }
    hb_sio_handlers_free(srv->handlers);
    free(srv->scratch);
    free(srv);
}

hb_sio_handlers *hb_sio__handlers(const hb_sio_server *srv) {
    return srv->handlers;
}

/* --- deferred frees ---------------------------------------------------------- */

void hb_sio__enter(hb_sio_server *srv) {
    srv->busy++;
}

void hb_sio__leave(hb_sio_server *srv) {
    if (--srv->busy > 0)
        return;
    /* Freeing runs no app code, so nothing is buried meanwhile. */
    while (srv->grave_sockets != NULL) {
        hb_socket *s = srv->grave_sockets;
        srv->grave_sockets = s->cnext;
        hb_sio__socket_free(s);
    }
    while (srv->grave_clients != NULL) {
        hb_sio_client *c = srv->grave_clients;
        srv->grave_clients = c->grave;
        hb_sio__client_free(c);
    }
}

void hb_sio__bury_socket(hb_sio_server *srv, hb_socket *s) {
    s->cnext = srv->grave_sockets;
    srv->grave_sockets = s;
}

void hb_sio__bury_client(hb_sio_server *srv, hb_sio_client *c) {
    c->grave = srv->grave_clients;
    srv->grave_clients = c;
}

void hb_sio__socket_counted(hb_sio_server *srv, int delta) {
    srv->sockets += (size_t)(ptrdiff_t)delta;
}

size_t hb_sio_server_socket_count(const hb_sio_server *srv) {
    return srv->sockets;
}

/* --- small shared services --------------------------------------------------- */

uint64_t hb_sio__now(const hb_sio_server *srv) {
    return hb_loop_now(srv->loop);
}

hb_loop *hb_sio__loop(const hb_sio_server *srv) {
    return srv->loop;
}

unsigned hb_sio__recovery_ms(const hb_sio_server *srv) {
    return srv->opts.recovery_ms;
}

unsigned hb_sio__connect_timeout_ms(const hb_sio_server *srv) {
    return srv->opts.connect_timeout_ms;
}

uint32_t hb_sio__max_attachments(const hb_sio_server *srv) {
    return srv->opts.max_attachments;
}

void hb_sio_server_set_bus(hb_sio_server *srv, const hb_sio_bus *bus) {
    if (bus == NULL) {
        memset(&srv->bus, 0, sizeof(srv->bus));
        return;
    }
    srv->bus = *bus;
    if (bus->nsp_added != NULL)
        for (hb_nsp *n = srv->nsps; n != NULL; n = n->next)
            bus->nsp_added(bus->ud, n->name);
}

const hb_sio_bus *hb_sio__bus(const hb_sio_server *srv) {
    return srv->bus.publish != NULL ? &srv->bus : NULL;
}

char *hb_sio__scratch(hb_sio_server *srv, size_t len) {
    if (len > srv->scratch_cap) {
        size_t cap = len < 4096 ? 4096 : len;
        char *p = realloc(srv->scratch, cap);
        if (p == NULL)
            return NULL;
        srv->scratch = p;
        srv->scratch_cap = cap;
    }
    return srv->scratch;
}

void hb_sio__stored(hb_sio_server *srv) {
    if (!hb_timer_active(&srv->purge))
        arm_purge(srv);
}

/* --- namespaces ------------------------------------------------------------------ */

static hb_nsp *nsp_new(hb_sio_server *srv, const char *name, size_t len) {
    hb_nsp *n = calloc(1, sizeof(*n));
    if (n == NULL)
        return NULL;
    n->srv = srv;
    if (name != NULL) {
        n->name = malloc(len + 1);
        n->rooms = hb_groups_new();
        if (srv->opts.recovery_ms > 0)
            n->log = hb_sio_log_new(srv->opts.recovery_ms);
        if (n->name == NULL || n->rooms == NULL ||
            (srv->opts.recovery_ms > 0 && n->log == NULL)) {
            nsp_free(n);
            return NULL;
        }
        memcpy(n->name, name, len);
        n->name[len] = '\0';
    }
    return n;
}

hb_nsp *hb_sio__nsp_find(hb_sio_server *srv, const char *name, size_t len) {
    for (hb_nsp *n = srv->nsps; n != NULL; n = n->next)
        if (strlen(n->name) == len && memcmp(n->name, name, len) == 0)
            return n;
    return NULL;
}

hb_nsp *hb_sio_server_of(hb_sio_server *srv, const char *name) {
    hb_nsp *n, **tail;
    if (name == NULL || name[0] != '/' || strchr(name, ',') != NULL)
        return NULL;
    n = hb_sio__nsp_find(srv, name, strlen(name));
    if (n != NULL)
        return n;
    n = nsp_new(srv, name, strlen(name));
    if (n == NULL)
        return NULL;
    for (tail = &srv->nsps; *tail != NULL; tail = &(*tail)->next)
        ;
    *tail = n;
    if (srv->bus.publish != NULL && srv->bus.nsp_added != NULL)
        srv->bus.nsp_added(srv->bus.ud, n->name);
    return n;
}

static hb_nsp *add_parent(hb_sio_server *srv, hb_nsp *n) {
    hb_nsp **tail;
    for (tail = &srv->parents; *tail != NULL; tail = &(*tail)->next)
        ;
    *tail = n;
    return n;
}

hb_nsp *hb_sio_server_of_match(hb_sio_server *srv, hb_nsp_match_cb match, void *ud) {
    hb_nsp *n;
    if (match == NULL || (n = nsp_new(srv, NULL, 0)) == NULL)
        return NULL;
    n->match = match;
    n->match_ud = ud;
    return add_parent(srv, n);
}

hb_nsp *hb_sio_server_of_regex(hb_sio_server *srv, const char *pattern) {
    hb_nsp *n;
    if (pattern == NULL || (n = nsp_new(srv, NULL, 0)) == NULL)
        return NULL;
    n->regex = malloc(sizeof(*n->regex));
    if (n->regex == NULL || regcomp(n->regex, pattern, REG_EXTENDED | REG_NOSUB) != 0) {
        hb_log_error("sio", "invalid namespace pattern '%s'", pattern);
        free(n->regex);
        n->regex = NULL;
        nsp_free(n);
        return NULL;
    }
    return add_parent(srv, n);
}

hb_nsp *hb_sio__nsp_dynamic(hb_sio_server *srv, const char *name, const char *auth_json) {
    for (hb_nsp *p = srv->parents; p != NULL; p = p->next) {
        int ok = p->match ? p->match(p->match_ud, name, auth_json)
                          : regexec(p->regex, name, 0, NULL, 0) == 0;
        hb_sio_middleware *mw = NULL;
        hb_nsp *child;
        if (!ok)
            continue;
        /* As socket.io's createChild: the child starts with the parent's
         * middlewares and connection handler. They are copied before the
         * child exists, so that a child without them (which would let
         * anyone in) can never be registered. */
        if (p->nmw > 0 && (mw = malloc(p->nmw * sizeof(*mw))) == NULL)
            return NULL;
        child = hb_sio_server_of(srv, name);
        if (child == NULL) {
            free(mw);
            return NULL;
        }
        if (p->nmw > 0)
            memcpy(mw, p->mw, p->nmw * sizeof(*mw));
        child->mw = mw;
        child->nmw = p->nmw;
        child->parent = p;
        child->sibling = p->children;
        p->children = child;
        child->on_connection = p->on_connection;
        child->connection_ud = p->connection_ud;
        return child;
    }
    return NULL;
}

hb_server *hb_sio_server_owner(const hb_sio_server *srv) {
    return srv->owner;
}

/* --- the public namespace functions -------------------------------------------- */

const char *hb_nsp_name(const hb_nsp *nsp) {
    return nsp->name ? nsp->name : "";
}

hb_server *hb_nsp_server(const hb_nsp *nsp) {
    return nsp->srv->owner;
}

void hb_nsp_on_connection(hb_nsp *nsp, hb_connection_cb cb, void *ud) {
    nsp->on_connection = cb;
    nsp->connection_ud = ud;
}

int hb_nsp_use(hb_nsp *nsp, hb_middleware_cb cb, void *ud) {
    hb_sio_middleware *mw;
    if (cb == NULL)
        return HB_EINVAL;
    mw = realloc(nsp->mw, (nsp->nmw + 1) * sizeof(*mw));
    if (mw == NULL)
        return HB_ENOMEM;
    mw[nsp->nmw].cb = cb;
    mw[nsp->nmw].ud = ud;
    nsp->mw = mw;
    nsp->nmw++;
    return 0;
}

size_t hb_nsp_count(const hb_nsp *nsp) {
    size_t n = nsp->rooms ? hb_groups_count(nsp->rooms) : 0;
    for (const hb_nsp *c = nsp->children; c != NULL; c = c->sibling)
        n += hb_groups_count(c->rooms);
    return n;
}
