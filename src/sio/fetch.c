/* fetchSockets across nodes: what a socket looks like to another node
 * (socket.io's {id, handshake, rooms, data}, with the handshake object
 * socket.io builds), the answer this node gives to another node's fetch,
 * and hb_bcast_fetch_sockets_async(), which merges this node's sockets
 * with what the bus brings back from the others. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "http/query.h"
#include "sio/internal.h"

#define FETCH_DEFAULT_TIMEOUT_MS 5000 /* the Redis adapter's requestsTimeout */

/* --- socket.data as JSON --------------------------------------------------------- */

int hb_socket_set_data_json(hb_socket *s, const char *json) {
    json_t *v;
    char *copy;
    if (s == NULL || json == NULL)
        return HB_EINVAL;
    v = json_loads(json, JSON_DECODE_ANY, NULL);
    if (v == NULL)
        return HB_EINVAL;
    json_decref(v);
    if ((copy = strdup(json)) == NULL)
        return HB_ENOMEM;
    free(s->data_json);
    s->data_json = copy;
    return 0;
}

const char *hb_socket_data_json(const hb_socket *s) {
    return s->data_json != NULL ? s->data_json : "{}";
}

/* --- a socket as other nodes see it -------------------------------------------------- */

/* The query string as Node's url.parse(url, true).query: a repeated key
 * becomes an array of its values. */
static json_t *query_json(const char *query) {
    json_t *o = json_object();
    const char *p = query;
    while (o != NULL && *p != '\0') {
        size_t n = strcspn(p, "&");
        const char *eq = memchr(p, '=', n);
        size_t klen = eq ? (size_t)(eq - p) : n, vlen = eq ? n - klen - 1 : 0;
        char *k = malloc(klen + 1), *v = malloc(vlen + 1);
        int kl, vl;
        if (k == NULL || v == NULL) {
            free(k);
            free(v);
            json_decref(o);
            return NULL;
        }
        memcpy(k, p, klen);
        if (eq)
            memcpy(v, eq + 1, vlen);
        kl = hb_http_pct_decode(k, klen, 1);
        vl = hb_http_pct_decode(v, vlen, 1);
        if (klen > 0 && kl >= 0 && vl >= 0) {
            json_t *val = json_stringn(v, (size_t)vl), *old;
            k[kl] = '\0';
            old = json_object_get(o, k);
            if (val == NULL)
                ;
            else if (old == NULL)
                json_object_set_new(o, k, val);
            else if (json_is_array(old))
                json_array_append_new(old, val);
            else {
                json_t *a = json_array();
                json_array_append(a, old);
                json_array_append_new(a, val);
                json_object_set_new(o, k, a);
            }
        }
        free(k);
        free(v);
        p += n;
        if (*p == '&')
            p++;
    }
    return o;
}

/* Header names in lower case, a repeated header's values joined with ", ",
 * as Node's IncomingMessage.headers. */
static json_t *headers_json(const hb_sio_handshake *hs) {
    json_t *o = json_object();
    const char *p = hs->headers, *value, *hname;
    for (size_t i = 0; o != NULL && i < hs->nheaders; i++) {
        size_t nlen;
        char *name;
        json_t *old;
        hname = hb_sio__header_next(&p, &value);
        nlen = strlen(hname);
        if ((name = malloc(nlen + 1)) == NULL) {
            json_decref(o);
            return NULL;
        }
        for (size_t j = 0; j <= nlen; j++)
            name[j] = (char)((hname[j] >= 'A' && hname[j] <= 'Z') ? hname[j] - 'A' + 'a' : hname[j]);
        old = json_object_get(o, name);
        if (old == NULL) {
            json_object_set_new(o, name, json_string(value));
        } else {
            size_t olen = json_string_length(old), vlen = strlen(value);
            char *joined = malloc(olen + 2 + vlen + 1);
            if (joined != NULL) {
                memcpy(joined, json_string_value(old), olen);
                memcpy(joined + olen, ", ", 2);
                memcpy(joined + olen + 2, value, vlen + 1);
                json_object_set_new(o, name, json_string(joined));
                free(joined);
            }
        }
        free(name);
    }
    return o;
}

/* socket.handshake, as socket.io builds it and its adapters send it:
 * { headers, time, address, xdomain, secure, issued, url, query, auth }. */
static json_t *handshake_json(const hb_socket *s) {
    const hb_sio_handshake *hs = &s->client->hs;
    json_t *o = json_object();
    char when[96];
    time_t secs = (time_t)(hs->time_ms / 1000);
    struct tm tm;
    if (o == NULL)
        return NULL;
    /* new Date() + "" on a machine in UTC */
    gmtime_r(&secs, &tm);
    strftime(when, sizeof(when), "%a %b %d %Y %H:%M:%S GMT+0000 (Coordinated Universal Time)", &tm);
    json_object_set_new(o, "headers", headers_json(hs));
    json_object_set_new(o, "time", json_string(when));
    json_object_set_new(o, "address", json_string(hs->address));
    json_object_set_new(o, "xdomain", json_boolean(hb_socket_header(s, "origin") != NULL));
    json_object_set_new(o, "secure", json_false());
    json_object_set_new(o, "issued", json_integer((json_int_t)hs->time_ms));
    json_object_set_new(o, "url", json_string(hs->url));
    json_object_set_new(o, "query", query_json(hs->query));
    json_object_set_new(o, "auth", json_loads(s->auth, 0, NULL));
    if (json_object_get(o, "auth") == NULL)
        json_object_set_new(o, "auth", json_object());
    if (json_object_size(o) != 9) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *rooms_json(const hb_socket *s) {
    json_t *a = json_array();
    hb_group_iter it;
    const char *name;
    size_t nl;
    hb_group_iter_init(&it, &s->room);
    while (a != NULL && (name = hb_group_iter_next(&it, &nl)) != NULL) {
        if (json_array_append_new(a, json_stringn(name, nl)) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

/* { id, handshake, rooms, data }, or NULL on ENOMEM. */
static json_t *socket_json(const hb_socket *s) {
    json_t *o = json_object();
    json_t *data = json_loads(hb_socket_data_json(s), JSON_DECODE_ANY, NULL);
    if (o == NULL || data == NULL || json_object_set_new(o, "id", json_string(s->id)) != 0 ||
        json_object_set_new(o, "handshake", handshake_json(s)) != 0 ||
        json_object_set_new(o, "rooms", rooms_json(s)) != 0 ||
        json_object_set_new(o, "data", data) != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

char *hb_sio_server_sockets_json(hb_sio_server *srv, const hb_sio_bus_req *sel, int ids_only,
                                 size_t *len) {
    hb_nsp *nsp = hb_sio__nsp_find(srv, sel->nsp, strlen(sel->nsp));
    json_t *a = json_array();
    hb_socket **v = NULL;
    size_t n = 0;
    char *out;
    if (a == NULL)
        return NULL;
    if (nsp != NULL) {
        hb_bcast *b = hb_sio__bcast_from_req(nsp, sel);
        v = hb_sio__bcast_select(b, &n);
        hb_bcast_free(b);
        if (v == NULL) {
            json_decref(a);
            return NULL;
        }
    }
    for (size_t i = 0; i < n; i++) {
        json_t *x = ids_only ? json_string(v[i]->id) : socket_json(v[i]);
        if (json_array_append_new(a, x) != 0) {
            free(v);
            json_decref(a);
            return NULL;
        }
    }
    free(v);
    out = json_dumps(a, JSON_COMPACT);
    json_decref(a);
    if (out != NULL)
        *len = strlen(out);
    return out;
}

hb_socket *hb_sio_server_find_socket(hb_sio_server *srv, const char *nsp_name, const char *id) {
    hb_nsp *nsp = hb_sio__nsp_find(srv, nsp_name, strlen(nsp_name));
    hb_slice room = {(const uint8_t *)id, strlen(id)};
    hb_sio_bus_req sel;
    hb_socket **v, *s = NULL;
    hb_bcast *b;
    size_t n = 0;
    if (nsp == NULL)
        return NULL;
    memset(&sel, 0, sizeof(sel));
    sel.nsp = nsp_name;
    sel.rooms = &room;
    sel.nrooms = 1;
    b = hb_sio__bcast_from_req(nsp, &sel);
    v = hb_sio__bcast_select(b, &n);
    hb_bcast_free(b);
    /* The socket's own room holds only the socket (an app may have made
     * others join a room named like an id: match the id). */
    for (size_t i = 0; v != NULL && i < n && s == NULL; i++)
        if (strcmp(v[i]->id, id) == 0)
            s = v[i];
    free(v);
    return s;
}

/* --- hb_bcast_fetch_sockets_async --------------------------------------------------- */

typedef struct fetch_req {
    hb_bcast *b;
    hb_fetch_cb cb;
    void *ud;
} fetch_req;

/* Calls the app with this node's sockets (selected now) and the others'. */
static void fetch_finish(fetch_req *f, int err, const hb_fetched_socket *remote, size_t nremote) {
    hb_sio_server *srv = f->b->nsp->srv;
    hb_fetched_socket *all;
    hb_socket **local;
    char **strings;
    size_t nlocal = 0, n = 0;
    hb_sio__enter(srv);
    local = hb_sio__bcast_select(f->b, &nlocal);
    if (local == NULL)
        err = HB_ENOMEM;
    all = malloc((nlocal + nremote + 1) * sizeof(*all));
    strings = calloc(nlocal * 2 + 1, sizeof(*strings));
    if (all == NULL || strings == NULL) {
        err = HB_ENOMEM;
        nlocal = nremote = 0;
    }
    for (size_t i = 0; i < nlocal; i++) {
        hb_socket *s = local[i];
        json_t *hs = handshake_json(s);
        char *hs_text = hs ? json_dumps(hs, JSON_COMPACT) : NULL;
        char *rooms = hb_socket_rooms_json(s);
        json_decref(hs);
        if (hs_text == NULL || rooms == NULL) {
            free(hs_text);
            free(rooms);
            err = HB_ENOMEM;
            continue;
        }
        strings[2 * i] = hs_text;
        strings[2 * i + 1] = rooms;
        all[n].id = s->id;
        all[n].local = s;
        all[n].handshake_json = hs_text;
        all[n].rooms_json = rooms;
        all[n].data_json = hb_socket_data_json(s);
        n++;
    }
    for (size_t i = 0; i < nremote; i++) {
        all[n] = remote[i];
        all[n].local = NULL;
        n++;
    }
    f->cb(err, all != NULL ? all : (hb_fetched_socket[1]){{0}}, n, f->ud);
    for (size_t i = 0; strings != NULL && i < nlocal * 2; i++)
        free(strings[i]);
    free(strings);
    free(all);
    free(local);
    hb_bcast_free(f->b);
    free(f);
    hb_sio__leave(srv);
}

static void on_bus_fetch(void *ud, int err, const hb_fetched_socket *sockets, size_t n) {
    fetch_finish(ud, err, sockets, n);
}

int hb_bcast_fetch_sockets_async(hb_bcast *b, hb_fetch_cb cb, void *ud) {
    const hb_sio_bus *bus;
    hb_sio_bus_req sel;
    fetch_req *f;
    if (b == NULL)
        return HB_ENOMEM;
    if (b->oom || cb == NULL) {
        int err = b->oom ? HB_ENOMEM : HB_EINVAL;
        hb_bcast_free(b);
        return err;
    }
    if ((f = calloc(1, sizeof(*f))) == NULL) {
        hb_bcast_free(b);
        return HB_ENOMEM;
    }
    f->b = b;
    f->cb = cb;
    f->ud = ud;
    bus = hb_sio__bus(b->nsp->srv);
    if (bus == NULL || bus->fetch == NULL || b->is_local || b->nsp->name == NULL) {
        fetch_finish(f, 0, NULL, 0);
        return 0;
    }
    memset(&sel, 0, sizeof(sel));
    sel.nsp = b->nsp->name;
    sel.rooms = b->to;
    sel.nrooms = b->nto;
    sel.except = b->except;
    sel.nexcept = b->nexcept;
    if (bus->fetch(bus->ud, &sel, b->timeout_ms ? b->timeout_ms : FETCH_DEFAULT_TIMEOUT_MS,
                   on_bus_fetch, f) != 0)
        fetch_finish(f, HB_ECLUSTER, NULL, 0);
    return 0;
}

char *hb_sio_server_rooms_json(hb_sio_server *srv, const char *nsp_name, size_t *len) {
    hb_sio_bus_req sel;
    json_t *set = json_object(), *a = json_array();
    hb_socket **v = NULL;
    hb_nsp *nsp = hb_sio__nsp_find(srv, nsp_name, strlen(nsp_name));
    const char *key;
    json_t *x;
    size_t n = 0;
    char *out = NULL;
    memset(&sel, 0, sizeof(sel));
    sel.nsp = nsp_name;
    if (set == NULL || a == NULL)
        goto done;
    if (nsp != NULL) {
        hb_bcast *b = hb_sio__bcast_from_req(nsp, &sel);
        v = hb_sio__bcast_select(b, &n);
        hb_bcast_free(b);
        if (v == NULL)
            goto done;
    }
    /* Room names as the keys of an object: each once. */
    for (size_t i = 0; i < n; i++) {
        hb_group_iter it;
        const char *name;
        size_t nl;
        hb_group_iter_init(&it, &v[i]->room);
        while ((name = hb_group_iter_next(&it, &nl)) != NULL)
            json_object_setn_new(set, name, nl, json_true());
    }
    json_object_foreach(set, key, x) {
        json_array_append_new(a, json_string(key));
    }
    out = json_dumps(a, JSON_COMPACT);
    if (out != NULL)
        *len = strlen(out);
done:
    free(v);
    json_decref(set);
    json_decref(a);
    return out;
}
