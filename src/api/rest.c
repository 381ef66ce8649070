/* The REST data plane. A request is matched against a small route table
 * by method and path segments, then applied to the hub: a send decodes its
 * Engine.IO payload once into shared messages and hands the same buffers
 * to every selected connection; a filter narrows the selection, scanning
 * only the groups it names when it can. */
#include "api/rest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "api/filter.h"
#include "api/jwt.h"
#include "core/base64.h"
#include "core/log.h"
#include "core/metrics.h"
#include "eio/packet.h"
#include "eio/payload.h"
#include "eio/server.h"
#include "http/query.h"
#include "hub/perm.h"
#include "hubbub/error.h"

#define MAX_SEGMENTS 8

/* --- replies ------------------------------------------------------------------ */

static void reply_error(hb_rest_reply *r, int status, const char *message) {
    json_t *o = json_pack("{s:i,s:s}", "code", status, "message", message);
    char *text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    r->send(r, status, "application/json", text ? text : "{}", text ? strlen(text) : 2, 0);
    free(text);
    json_decref(o);
}

static void reply_empty(hb_rest_reply *r, int status) {
    r->send(r, status, NULL, NULL, 0, 0);
}

/* --- Engine.IO payloads to messages ------------------------------------------------ */

/* What an app's payload asks of a connection: messages to queue, a ping
 * to answer, a close. The texts of the messages are kept too, to follow
 * Socket.IO namespace CONNECT/DISCONNECT for the namespace groups.
 * msgs grows as needed: an app's engine.io sends whatever piled up while
 * its previous send was in flight in one payload (a burst of 1,000 emits
 * is one payload of ~1,000 packets), so no fixed cap fits; the body's own
 * size bounds it. */
typedef struct actions {
    hb_buf **msgs;
    size_t n, cap;
    int ping, close, overflow;
    /* DISCONNECT packets of disconnectSockets() (close false) to hand to
     * the app as if the client had sent them, so that its socket goes
     * too: the texts, "1" or "1/ns,". */
    hb_buf *relay[4];
    size_t nrelay;
} actions;

static int push_msg(actions *a, hb_buf *b) {
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 16;
        hb_buf **m = realloc(a->msgs, cap * sizeof(*m));
        if (m == NULL)
            return -1;
        a->msgs = m;
        a->cap = cap;
    }
    a->msgs[a->n++] = b;
    return 0;
}

/* The adapter's disconnectSockets(close) broadcasts a Socket.IO DISCONNECT
 * carrying {"close":true|false}: "1{...}" or "1/ns,{...}". Socket.IO
 * clients refuse a DISCONNECT with data ("parse error", the whole
 * connection drops), and the extension leaves the rest to the service
 * (its adapter does not disconnect the app's sockets itself). So the
 * client gets the bare DISCONNECT; with close the connection closes (the
 * app then sees it go); without, the app is told as if the client had
 * left the namespace. Returns 1 when p was such a packet (handled). */
static int disconnect_sockets(actions *a, const hb_eio_packet *p) {
    const uint8_t *t = p->data;
    size_t i = 1, n = p->len;
    json_t *data, *close;
    hb_buf *b;
    if (p->binary || n < 2 || t[0] != '1')
        return 0;
    if (t[1] == '/') {
        while (i < n && t[i] != ',')
            i++;
        if (i == n)
            return 0;
        i++;
    }
    if (i == n || t[i] != '{')
        return 0;
    data = json_loadb((const char *)t + i, n - i, 0, NULL);
    close = json_object_get(data, "close");
    if (!json_is_boolean(close)) {
        json_decref(data);
        return 0;
    }
    /* the bare DISCONNECT: "1" or "1/ns," as socket.io writes one */
    b = hb_eio_message_new(0, t, i);
    if (b == NULL || push_msg(a, b) != 0) {
        hb_buf_unref(b);
        a->overflow = 1;
    } else if (json_is_true(close)) {
        a->close = 1;
    } else if (a->nrelay < sizeof(a->relay) / sizeof(a->relay[0])) {
        a->relay[a->nrelay++] = hb_buf_ref(b);
    }
    json_decref(data);
    return 1;
}

static int on_payload_packet(void *ud, const hb_eio_packet *p) {
    actions *a = ud;
    hb_buf *b;
    if (p->type == HB_EIO_PING) {
        a->ping = 1;
        return 0;
    }
    if (p->type == HB_EIO_CLOSE) {
        a->close = 1;
        return 0;
    }
    if (p->type != HB_EIO_MESSAGE)
        return 0; /* pong, noop: nothing to relay */
    if (disconnect_sockets(a, p))
        return a->overflow;
    b = hb_eio_message_new(p->binary, p->data, p->len);
    if (b != NULL && p->binary)
        b->flags |= HB_BUF_BINARY;
    if (b == NULL || push_msg(a, b) != 0) {
        hb_buf_unref(b);
        a->overflow = 1;
        return 1;
    }
    return 0;
}

static void actions_release(actions *a) {
    for (size_t i = 0; i < a->n; i++)
        hb_buf_unref(a->msgs[i]);
    for (size_t i = 0; i < a->nrelay; i++)
        hb_buf_unref(a->relay[i]);
    free(a->msgs);
    a->msgs = NULL;
    a->n = a->cap = a->nrelay = 0;
}

/* Turns a send's body into actions by its content type: text/plain is an
 * Engine.IO payload (what the Socket.IO extension sends); octet-stream is
 * one binary message and JSON one text message (plain Web PubSub
 * clients). Returns 0 or a message for a 400. */
static const char *body_actions(const char *ctype, uint8_t *body, size_t len, actions *a) {
    memset(a, 0, sizeof(*a));
    if (ctype != NULL && strncmp(ctype, "application/octet-stream", 24) == 0) {
        hb_eio_packet p = {HB_EIO_MESSAGE, 1, body, len};
        on_payload_packet(a, &p);
    } else if (ctype != NULL && strncmp(ctype, "application/json", 16) == 0) {
        hb_eio_packet p = {HB_EIO_MESSAGE, 0, body, len};
        on_payload_packet(a, &p);
    } else if (len == 0 || hb_eio_payload_decode(body, len, on_payload_packet, a) < 0) {
        actions_release(a);
        return "the body is not an Engine.IO payload";
    }
    if (a->overflow) {
        actions_release(a);
        return "out of memory";
    }
    return NULL;
}

/* The namespace of a Socket.IO packet text ("0/chat,{...}" → "/chat"). */
static size_t packet_nsp(const uint8_t *t, size_t len, const char **nsp) {
    size_t i = 1;
    if (len > 1 && t[1] == '/') {
        while (i < len && t[i] != ',')
            i++;
        *nsp = (const char *)t + 1;
        return i - 1;
    }
    *nsp = "/";
    return 1;
}

/* The group of namespace nsp: "0~" base64url(nsp) "~". */
static size_t nsp_group(char *out, const char *nsp, size_t len) {
    size_t n = 2;
    memcpy(out, "0~", 2);
    n += hb_base64url_encode(out + n, (const uint8_t *)nsp, len);
    out[n++] = '~';
    out[n] = '\0';
    return n;
}

/* Applies actions to one connection. With track, the Socket.IO CONNECT
 * answers and DISCONNECTs it carries move the connection in and out of its
 * namespace groups (only an app's direct sends answer CONNECTs). */
static void apply(hb_hub *hub, hb_hub_conn *c, const actions *a, int track) {
    if (a->n > 0)
        c->ops->send(c, a->msgs, a->n);
    for (size_t i = 0; track && i < a->n; i++) {
        hb_slice t = hb_buf_payload(a->msgs[i]);
        const char *nsp;
        char group[512];
        size_t nlen, glen;
        /* "41" (a DISCONNECT of "/") is 2 bytes: shorter texts only skip */
        if ((a->msgs[i]->flags & HB_BUF_BINARY) || t.len < 2 || t.base[0] != '4' ||
            (t.base[1] != '0' && t.base[1] != '1'))
            continue;
        nlen = packet_nsp(t.base + 1, t.len - 1, &nsp);
        if (nlen > 300)
            continue;
        glen = nsp_group(group, nsp, nlen);
        if (t.base[1] == '0')
            hb_groups_join(hb_hub_groups(hub), &c->member, group, glen);
        else
            hb_groups_leave(hb_hub_groups(hub), &c->member, group, glen);
    }
    for (size_t i = 0; i < a->nrelay; i++) {
        hb_slice t = hb_buf_payload(a->relay[i]); /* "4" + the DISCONNECT */
        c->ops->relay(c, (const char *)t.base + 1, t.len - 1);
    }
    if (a->ping)
        c->ops->ping(c);
    if (a->close)
        c->ops->close(c, "closed by the app server");
}

/* --- selections -------------------------------------------------------------------- */

typedef struct subject_ud {
    hb_hub_conn *c;
} subject_ud;

static int in_group(void *ud, const char *group, size_t len) {
    return hb_groups_has(&((subject_ud *)ud)->c->member, group, len);
}

static int matches(const hb_filter *f, hb_hub_conn *c) {
    subject_ud ud = {c};
    hb_filter_subject s = {c->id, c->user_id, in_group, &ud};
    return f == NULL || hb_filter_match(f, &s);
}

/* The connections of hub in group (every one when group is NULL) that
 * pass filter f, into v. */
static int select_conns(hb_hub *hub, const char *group, const hb_filter *f, hb_group_vec *v) {
    hb_groups_filter gf = {0};
    hb_slice one;
    const hb_slice *cg;
    size_t ncg, kept = 0;
    int err;
    if (group == NULL && f != NULL && hb_filter_candidate_connections(f, &cg, &ncg)) {
        /* "connectionId eq '...'" (what socket.join sends): look the ids
         * up instead of testing every connection of the hub. */
        for (size_t i = 0; i < ncg; i++) {
            char id[128];
            hb_hub_conn *c;
            if (cg[i].len >= sizeof(id))
                continue;
            memcpy(id, cg[i].base, cg[i].len);
            id[cg[i].len] = '\0';
            c = hb_hub_find(hub, id);
            if (c != NULL && matches(f, c) && (err = hb_group_vec_push(v, &c->member)) != 0)
                return err;
        }
        return 0;
    }
    if (group != NULL) {
        one.base = (const uint8_t *)group;
        one.len = strlen(group);
        gf.to = &one;
        gf.nto = 1;
    } else if (f != NULL && hb_filter_candidate_groups(f, &cg, &ncg) && ncg > 0) {
        gf.to = cg;
        gf.nto = ncg;
    }
    if ((err = hb_groups_select(hb_hub_groups(hub), &gf, v)) != 0)
        return err;
    for (size_t i = 0; i < v->n; i++)
        if (matches(f, hb_hub_conn_of(v->items[i])))
            v->items[kept++] = v->items[i];
    v->n = kept;
    return 0;
}

/* --- the routes ---------------------------------------------------------------------- */

typedef struct req {
    const hb_rest_ctx *ctx;
    const char *method;
    const char *path;        /* as requested, not decoded */
    char *seg[MAX_SEGMENTS]; /* decoded path segments after /api/hubs/{hub} */
    size_t nseg;
    hb_hub *hub;
    const char *query;
    const char *ctype;
    uint8_t *body;
    size_t len;
    hb_rest_reply *reply;
    hb_filter *filter;
} req;

static int is(const req *r, size_t i, const char *s) {
    return i < r->nseg && strcmp(r->seg[i], s) == 0;
}

/* Takes out of v the connections the query names with excluded=<id>
 * (repeatable): sendToAll's excludedConnections and the excluded of the
 * close calls. */
static void drop_excluded(const req *r, hb_group_vec *v) {
    const char *q = r->query;
    char id[128];
    if (strstr(q, "excluded=") == NULL)
        return;
    while (*q != '\0') {
        size_t n = strcspn(q, "&");
        if (n > 9 && strncmp(q, "excluded=", 9) == 0 && n - 9 < sizeof(id)) {
            int l;
            memcpy(id, q + 9, n - 9);
            id[n - 9] = '\0';
            l = hb_http_pct_decode(id, n - 9, 1);
            if (l > 0) {
                size_t kept = 0;
                id[l] = '\0';
                for (size_t i = 0; i < v->n; i++)
                    if (strcmp(hb_hub_conn_of(v->items[i])->id, id) != 0)
                        v->items[kept++] = v->items[i];
                v->n = kept;
            }
        }
        q += n;
        if (*q == '&')
            q++;
    }
}

static int query_value(const req *r, const char *key, char *out, size_t cap) {
    return hb_http_query_get(r->query, strlen(r->query), key, out, cap);
}

static void send_to(req *r, const char *group, int track_single) {
    actions a;
    hb_group_vec v = {0};
    const char *why = body_actions(r->ctype, r->body, r->len, &a);
    if (why != NULL) {
        reply_error(r->reply, 400, why);
        return;
    }
    if (select_conns(r->hub, group, r->filter, &v) != 0) {
        actions_release(&a);
        hb_group_vec_free(&v);
        reply_error(r->reply, 500, "out of memory");
        return;
    }
    drop_excluded(r, &v);
    for (size_t i = 0; i < v.n; i++)
        apply(r->hub, hb_hub_conn_of(v.items[i]), &a, track_single);
    hb_group_vec_free(&v);
    actions_release(&a);
    reply_empty(r->reply, 202);
}

static void send_to_conn(req *r, const char *id) {
    actions a;
    hb_hub_conn *c = hb_hub_find(r->hub, id);
    const char *why = body_actions(r->ctype, r->body, r->len, &a);
    if (why != NULL) {
        reply_error(r->reply, 400, why);
        return;
    }
    /* Azure answers 202 for a connection that is gone too: the send is
     * fire-and-forget. */
    if (c != NULL)
        apply(r->hub, c, &a, 1);
    actions_release(&a);
    reply_empty(r->reply, 202);
}

/* The connections of user that pass the request's filter, into v. */
static int select_user(req *r, const char *user, const hb_filter *f, hb_group_vec *v) {
    hb_slice one = {(const uint8_t *)user, strlen(user)};
    hb_groups_filter gf = {0};
    size_t kept = 0;
    int err;
    gf.to = &one;
    gf.nto = 1;
    if ((err = hb_groups_select(hb_hub_users(r->hub), &gf, v)) != 0)
        return err;
    for (size_t i = 0; i < v->n; i++) {
        hb_hub_conn *c = hb_hub_conn_of_user(v->items[i]);
        if (matches(f, c))
            v->items[kept++] = &c->member;
    }
    v->n = kept;
    return 0;
}

static void send_to_user(req *r, const char *user) {
    actions a;
    hb_group_vec v = {0};
    const char *why = body_actions(r->ctype, r->body, r->len, &a);
    if (why != NULL) {
        reply_error(r->reply, 400, why);
        return;
    }
    select_user(r, user, r->filter, &v);
    for (size_t i = 0; i < v.n; i++)
        apply(r->hub, hb_hub_conn_of(v.items[i]), &a, 0);
    hb_group_vec_free(&v);
    actions_release(&a);
    reply_empty(r->reply, 202);
}

/* :addToGroups / :removeFromGroups with {"groups":[...],"filter":"..."}. */
static void groups_op(req *r, int add) {
    json_t *root = json_loadb((const char *)r->body, r->len, 0, NULL);
    json_t *groups = json_object_get(root, "groups"), *filter = json_object_get(root, "filter");
    hb_filter *f = NULL;
    hb_group_vec v = {0};
    char err[256];
    size_t i;
    json_t *g;
    if (!json_is_array(groups) || (filter != NULL && !json_is_string(filter) && !json_is_null(filter))) {
        json_decref(root);
        reply_error(r->reply, 400, "expected {\"groups\":[...],\"filter\":\"...\"}");
        return;
    }
    if (json_is_string(filter) &&
        hb_filter_parse(json_string_value(filter), json_string_length(filter), &f, err,
                        sizeof(err)) != 0) {
        json_decref(root);
        reply_error(r->reply, 400, err);
        return;
    }
    json_array_foreach(groups, i, g) {
        if (!json_is_string(g) || json_string_length(g) == 0 || json_string_length(g) > 1024) {
            hb_filter_free(f);
            json_decref(root);
            reply_error(r->reply, 400, "group names must be non-empty strings");
            return;
        }
    }
    select_conns(r->hub, NULL, f, &v);
    for (size_t k = 0; k < v.n; k++)
        json_array_foreach(groups, i, g) {
            if (add)
                hb_groups_join(hb_hub_groups(r->hub), v.items[k], json_string_value(g),
                               json_string_length(g));
            else
                hb_groups_leave(hb_hub_groups(r->hub), v.items[k], json_string_value(g),
                                json_string_length(g));
        }
    hb_group_vec_free(&v);
    hb_filter_free(f);
    json_decref(root);
    reply_empty(r->reply, 200);
}

static void close_conns(req *r, const char *group, const char *user) {
    hb_group_vec v = {0};
    char reason[256];
    if (query_value(r, "reason", reason, sizeof(reason)) < 0)
        snprintf(reason, sizeof(reason), "closed by the app server");
    if (user != NULL)
        select_user(r, user, NULL, &v);
    else
        select_conns(r->hub, group, NULL, &v);
    drop_excluded(r, &v);
    /* Collected first: closing changes the membership being walked. */
    for (size_t i = 0; i < v.n; i++) {
        hb_hub_conn *c = hb_hub_conn_of(v.items[i]);
        c->ops->close(c, reason);
    }
    hb_group_vec_free(&v);
    reply_empty(r->reply, 204);
}

static void exists(req *r, int found) {
    reply_empty(r->reply, found ? 200 : 404);
}

static int user_exists(hb_hub *hub, const char *user) {
    return hb_groups_size(hb_hub_users(hub), user, strlen(user)) > 0;
}

/* Takes c out of every group (the namespace ones too: Azure removes them
 * all, and so would a client that leaves). */
static void leave_all(hb_hub *hub, hb_hub_conn *c) {
    while (c->member.links != NULL) {
        size_t len;
        const char *g = hb_group_link_name(c->member.links, &len);
        hb_groups_leave(hb_hub_groups(hub), &c->member, g, len);
    }
}

/* PUT/DELETE users/{user}/groups/{group}, DELETE users/{user}/groups:
 * for the user's connections now (Azure keeps no membership for a user's
 * later connections either). */
static void user_groups(req *r, const char *user, const char *group, int add) {
    hb_group_vec v = {0};
    if (select_user(r, user, NULL, &v) != 0) {
        hb_group_vec_free(&v);
        reply_error(r->reply, 500, "out of memory");
        return;
    }
    for (size_t i = 0; i < v.n; i++) {
        hb_hub_conn *c = hb_hub_conn_of(v.items[i]);
        if (group == NULL)
            leave_all(r->hub, c);
        else if (add)
            hb_groups_join(hb_hub_groups(r->hub), &c->member, group, strlen(group));
        else
            hb_groups_leave(hb_hub_groups(r->hub), &c->member, group, strlen(group));
    }
    hb_group_vec_free(&v);
    reply_empty(r->reply, add ? 200 : 204);
}

/* PUT (grant), DELETE (revoke), HEAD/GET (check) of
 * permissions/{perm}/connections/{id}[?targetName=group]. */
static void permission(req *r, const char *perm, const char *id) {
    hb_hub_conn *c = hb_hub_find(r->hub, id);
    char target[1025];
    const char *t = query_value(r, "targetName", target, sizeof(target)) > 0 ? target : NULL;
    int put = strcmp(r->method, "PUT") == 0, del = strcmp(r->method, "DELETE") == 0;
    if (!put && !del && strcmp(r->method, "HEAD") != 0 && strcmp(r->method, "GET") != 0) {
        reply_error(r->reply, 405, "use PUT, DELETE or HEAD");
    } else if (!hb_perm_known(perm)) {
        reply_error(r->reply, 400, "the permission must be sendToGroup or joinLeaveGroup");
    } else if (put) {
        if (c == NULL)
            reply_error(r->reply, 404, "no such connection");
        else if (hb_perm_grant(&c->perms, perm, t) != 0)
            reply_error(r->reply, 500, "out of memory");
        else
            reply_empty(r->reply, 200);
    } else if (del) {
        if (c != NULL)
            hb_perm_revoke(&c->perms, perm, t);
        reply_empty(r->reply, 204);
    } else {
        exists(r, c != NULL && hb_perm_has(c->perms, perm, t));
    }
}

/* --- listing a group's connections, a page at a time ------------------------------------ */

/* A page is the members whose connection id sorts after the continuation
 * token (the last id of the previous page), in id order. A token that is
 * an id keeps paging stateless, so a cluster can ask every node for the
 * same page and merge their answers (hb_rest_list_merge). */
typedef struct page_opts {
    long size;               /* maxpagesize: 1..200, default 200 */
    long top;                /* at most this many in all; -1: no limit */
    char after[256];         /* continuationToken; "" for the first page */
} page_opts;

#define PAGE_MAX 200

static long query_long(const char *q, const char *key, long dflt, long min, long max, int *bad) {
    char v[32], *end;
    long n;
    int l = hb_http_query_get(q, strlen(q), key, v, sizeof(v));
    if (l < 0)
        return dflt;
    n = strtol(v, &end, 10);
    if (l == 0 || *end != '\0' || n < min || n > max)
        *bad = 1;
    return n;
}

static const char *page_opts_of(const char *query, page_opts *o) {
    int bad = 0;
    o->size = query_long(query, "maxpagesize", PAGE_MAX, 1, PAGE_MAX, &bad);
    if (bad)
        return "maxpagesize must be between 1 and 200";
    o->top = query_long(query, "top", -1, 1, 0x7fffffffL, &bad);
    if (bad)
        return "top must be a positive number";
    if (hb_http_query_get(query, strlen(query), "continuationToken", o->after,
                          sizeof(o->after)) < 0)
        o->after[0] = '\0';
    return NULL;
}

static int by_connection_id(const void *a, const void *b) {
    const char *x = json_string_value(json_object_get(*(json_t *const *)a, "connectionId"));
    const char *y = json_string_value(json_object_get(*(json_t *const *)b, "connectionId"));
    return strcmp(x ? x : "", y ? y : "");
}

/* Writes "&key=value" (value %-encoded) at out, which has room for
 * 2 + strlen(key) + 3 * strlen(value) bytes and a NUL; returns the bytes
 * written. */
static size_t query_add(char *out, const char *key, const char *value) {
    static const char hex[] = "0123456789ABCDEF";
    size_t n = (size_t)sprintf(out, "&%s=", key);
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~') {
            out[n++] = (char)*p;
        } else {
            out[n++] = '%';
            out[n++] = hex[*p >> 4];
            out[n++] = hex[*p & 15];
        }
    }
    out[n] = '\0';
    return n;
}

/* path?maxpagesize=..[&top=..]&continuationToken=last[&api-version=..]:
 * the next page's address, relative to the endpoint as Azure's SDKs take
 * it. A new string. */
static char *next_link(const char *path, const char *query, const page_opts *o, size_t taken,
                       const char *last) {
    char num[24], ver[64];
    size_t cap = strlen(path) + 3 * strlen(last) + 3 * sizeof(ver) + 128, n;
    char *link = malloc(cap);
    if (link == NULL)
        return NULL;
    n = (size_t)sprintf(link, "%s?maxpagesize=%ld", path, o->size);
    if (o->top >= 0) {
        snprintf(num, sizeof(num), "%ld", o->top - (long)taken);
        n += query_add(link + n, "top", num);
    }
    n += query_add(link + n, "continuationToken", last);
    if (hb_http_query_get(query, strlen(query), "api-version", ver, sizeof(ver)) > 0)
        query_add(link + n, "api-version", ver);
    return link;
}

/* The page of entries (GroupMember objects, taken), given that some node
 * had more past its own page (more): sorted, cut to the page, with a
 * nextLink on path when anything is left. Returns the JSON text. */
static char *page_body(json_t *entries, int more, const char *path, const char *query,
                       const page_opts *o) {
    size_t n = json_array_size(entries), take;
    long want = o->top >= 0 && o->top < o->size ? o->top : o->size;
    json_t **v = n ? malloc(n * sizeof(*v)) : NULL, *page = json_array(), *root;
    char *text;
    for (size_t i = 0; v != NULL && i < n; i++)
        v[i] = json_array_get(entries, i);
    if (v != NULL)
        qsort(v, n, sizeof(*v), by_connection_id);
    take = n < (size_t)want ? n : (size_t)want;
    for (size_t i = 0; v != NULL && i < take; i++)
        json_array_append(page, v[i]);
    more = more || n > take;
    if (o->top >= 0 && (long)take >= o->top)
        more = 0;
    root = json_pack("{s:o}", "value", page);
    if (root != NULL && more && take > 0) {
        const char *last = json_string_value(json_object_get(v[take - 1], "connectionId"));
        char *link = next_link(path, query, o, take, last ? last : "");
        if (link != NULL)
            json_object_set_new(root, "nextLink", json_string(link));
        free(link);
    }
    text = root ? json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(root);
    json_decref(entries);
    free(v);
    return text;
}

static int by_member_id(const void *a, const void *b) {
    return strcmp(hb_hub_conn_of(*(hb_group_member *const *)a)->id,
                  hb_hub_conn_of(*(hb_group_member *const *)b)->id);
}

/* GET groups/{group}/connections?maxpagesize=&top=&continuationToken=
 * The members past the token are sorted as pointers; only the page's are
 * made into JSON, so a group of a million costs a sort, not a million
 * objects. */
static void list_group(req *r, const char *group, const char *path) {
    page_opts o;
    hb_group_vec v = {0};
    json_t *entries = json_array();
    const char *why = page_opts_of(r->query, &o);
    size_t kept = 0, want;
    char *text;
    if (why != NULL) {
        json_decref(entries);
        reply_error(r->reply, 400, why);
        return;
    }
    want = (size_t)(o.top >= 0 && o.top < o.size ? o.top : o.size);
    select_conns(r->hub, group, NULL, &v);
    for (size_t i = 0; i < v.n; i++)
        if (strcmp(hb_hub_conn_of(v.items[i])->id, o.after) > 0)
            v.items[kept++] = v.items[i];
    if (kept > 1) /* items is NULL for an empty group: qsort wants a pointer */
        qsort(v.items, kept, sizeof(*v.items), by_member_id);
    for (size_t i = 0; i < kept && i < want; i++) {
        hb_hub_conn *c = hb_hub_conn_of(v.items[i]);
        json_t *e = json_pack("{s:s}", "connectionId", c->id);
        if (c->user_id != NULL)
            json_object_set_new(e, "userId", json_string(c->user_id));
        json_array_append_new(entries, e);
    }
    hb_group_vec_free(&v);
    text = page_body(entries, kept > want, path, r->query, &o);
    if (text == NULL) {
        reply_error(r->reply, 500, "out of memory");
        return;
    }
    r->reply->send(r->reply, 200, "application/json", text, strlen(text), 0);
    free(text);
}

int hb_rest_list_merge(const char *path, const char *query, const hb_rest_part *parts, size_t n,
                       char **out) {
    page_opts o;
    json_t *entries = json_array();
    int more = 0;
    if (page_opts_of(query ? query : "", &o) != NULL || entries == NULL) {
        json_decref(entries);
        return HB_EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *root = json_loadb((const char *)parts[i].body, parts[i].len, 0, NULL);
        json_t *value = json_object_get(root, "value"), *e;
        size_t k;
        more |= json_object_get(root, "nextLink") != NULL;
        json_array_foreach(value, k, e) {
            if (json_is_string(json_object_get(e, "connectionId")))
                json_array_append(entries, e);
        }
        json_decref(root);
    }
    *out = page_body(entries, more, path, query ? query : "", &o);
    return *out != NULL ? 0 : HB_ENOMEM;
}

/* :generateToken?userId=&role=&group=&minutesToExpire= → {"token":"..."} */
static void generate_token(req *r) {
    char user[256], minutes[32], value[256];
    json_t *claims = json_object(), *roles = json_array(), *groups = json_array();
    const char *q = r->query;
    long mins = 60;
    int64_t now = (int64_t)time(NULL);
    char aud[1024];
    char *payload, *token;
    if (query_value(r, "minutesToExpire", minutes, sizeof(minutes)) > 0)
        mins = strtol(minutes, NULL, 10) > 0 ? strtol(minutes, NULL, 10) : 60;
    /* Repeated keys: walk the query for every role= and group=. */
    while (q != NULL && *q != '\0') {
        const char *amp = strchr(q, '&');
        size_t n = amp ? (size_t)(amp - q) : strlen(q);
        if (n > 5 && strncmp(q, "role=", 5) == 0 && n - 5 < sizeof(value)) {
            memcpy(value, q + 5, n - 5);
            value[n - 5] = '\0';
            int l = hb_http_pct_decode(value, strlen(value), 1);
            if (l >= 0) {
                value[l] = '\0';
                json_array_append_new(roles, json_string(value));
            }
        } else if (n > 6 && strncmp(q, "group=", 6) == 0 && n - 6 < sizeof(value)) {
            memcpy(value, q + 6, n - 6);
            value[n - 6] = '\0';
            int l = hb_http_pct_decode(value, strlen(value), 1);
            if (l >= 0) {
                value[l] = '\0';
                json_array_append_new(groups, json_string(value));
            }
        }
        q = amp ? amp + 1 : NULL;
    }
    snprintf(aud, sizeof(aud), "%s/clients/socketio/hubs/%s", r->ctx->endpoint,
             hb_hub_name(r->hub));
    json_object_set_new(claims, "iat", json_integer(now));
    json_object_set_new(claims, "exp", json_integer(now + mins * 60));
    json_object_set_new(claims, "aud", json_string(aud));
    if (query_value(r, "userId", user, sizeof(user)) > 0)
        json_object_set_new(claims, "sub", json_string(user));
    if (json_array_size(roles) > 0)
        json_object_set(claims, "role", roles);
    if (json_array_size(groups) > 0)
        json_object_set(claims, "webpubsub.group", groups);
    payload = json_dumps(claims, JSON_COMPACT);
    token = payload ? hb_jwt_sign(r->ctx->keys[0], payload) : NULL;
    free(payload);
    json_decref(claims);
    json_decref(roles);
    json_decref(groups);
    if (token == NULL) {
        reply_error(r->reply, 500, "cannot sign the token");
        return;
    }
    {
        json_t *o = json_pack("{s:s}", "token", token);
        char *text = json_dumps(o, JSON_COMPACT);
        r->reply->send(r->reply, 200, "application/json", text, strlen(text), 0);
        free(text);
        json_decref(o);
    }
    free(token);
}

/* --- :invoke ------------------------------------------------------------------------- */

struct hb_hub_invoke {
    hb_rest_reply *reply;
    hb_timer timer;
    size_t expected, answered;
    int done;
};

static void invoke_end(hb_hub_invoke *inv) {
    if (inv->done)
        return;
    inv->done = 1;
    hb_timer_stop(&inv->timer);
    inv->reply->send(inv->reply, 200, NULL, NULL, 0, 0);
}

static void invoke_unref(hb_hub_invoke *inv) {
    /* Freed when every client answered or went, whichever the deadline
     * saw first; the stream itself ended earlier if the deadline came. */
    if (inv->answered >= inv->expected) {
        invoke_end(inv);
        free(inv);
    }
}

void hb_hub_invoke_answer(hb_hub_invoke *inv, const char *payload, size_t len) {
    if (!inv->done) {
        json_t *o = json_object();
        char *line;
        json_object_set_new(o, "Payload", json_stringn(payload, len));
        line = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        if (line != NULL) {
            size_t n = strlen(line);
            char *l2 = realloc(line, n + 2);
            if (l2 != NULL) {
                l2[n] = '\n';
                inv->reply->send(inv->reply, 200, NULL, l2, n + 1, 1);
                line = l2;
            }
            free(line);
        }
    }
    inv->answered++;
    invoke_unref(inv);
}

void hb_hub_invoke_gone(hb_hub_invoke *inv) {
    inv->answered++;
    invoke_unref(inv);
}

static void on_invoke_deadline(hb_timer *t) {
    hb_hub_invoke *inv = (hb_hub_invoke *)((char *)t - offsetof(hb_hub_invoke, timer));
    invoke_end(inv);
}

static int on_invoke_packet(void *ud, const hb_eio_packet *p) {
    actions *a = ud;
    return on_payload_packet(a, p);
}

static void invoke(req *r) {
    actions a = {0};
    hb_group_vec v = {0};
    hb_hub_invoke *inv;
    hb_slice ev;
    if (r->len == 0 || hb_eio_payload_decode(r->body, r->len, on_invoke_packet, &a) < 0 ||
        a.overflow || a.n == 0 || (a.msgs[0]->flags & HB_BUF_BINARY)) {
        actions_release(&a);
        reply_error(r->reply, 400, "the body must be an Engine.IO payload with one Socket.IO EVENT");
        return;
    }
    ev = hb_buf_payload(a.msgs[0]); /* "4" + the EVENT text */
    inv = calloc(1, sizeof(*inv));
    if (inv == NULL || select_conns(r->hub, NULL, r->filter, &v) != 0) {
        free(inv);
        actions_release(&a);
        hb_group_vec_free(&v);
        reply_error(r->reply, 500, "out of memory");
        return;
    }
    inv->reply = r->reply;
    inv->expected = 1; /* held by this call until the loop below is done */
    r->reply->send(r->reply, 200, "application/x-ndjson", NULL, 0, 1);
    for (size_t i = 0; i < v.n; i++) {
        hb_hub_conn *c = hb_hub_conn_of(v.items[i]);
        inv->expected++;
        if (c->ops->invoke(c, inv, (const char *)ev.base + 1, ev.len - 1, a.msgs + 1,
                           a.n - 1) != 0)
            inv->answered++;
    }
    hb_group_vec_free(&v);
    actions_release(&a);
    hb_loop_timer_start(r->ctx->loop, &inv->timer, r->ctx->invoke_timeout_ms, on_invoke_deadline);
    inv->answered++;
    invoke_unref(inv);
}

/* --- dispatch -------------------------------------------------------------------------- */

static void route(req *r) {
    const char *m = r->method;
    int post = strcmp(m, "POST") == 0, del = strcmp(m, "DELETE") == 0,
        put = strcmp(m, "PUT") == 0, head = strcmp(m, "HEAD") == 0 || strcmp(m, "GET") == 0;
    size_t n = r->nseg;
    if (n == 1 && is(r, 0, ":send"))
        post ? send_to(r, NULL, 0) : reply_error(r->reply, 405, "use POST");
    else if (n == 1 && is(r, 0, ":invoke"))
        post ? invoke(r) : reply_error(r->reply, 405, "use POST");
    else if (n == 1 && (is(r, 0, ":addToGroups") || is(r, 0, ":removeFromGroups")))
        post ? groups_op(r, is(r, 0, ":addToGroups")) : reply_error(r->reply, 405, "use POST");
    else if (n == 1 && is(r, 0, ":closeConnections"))
        post ? close_conns(r, NULL, NULL) : reply_error(r->reply, 405, "use POST");
    else if (n == 1 && is(r, 0, ":generateToken"))
        post ? generate_token(r) : reply_error(r->reply, 405, "use POST");
    else if (n == 3 && is(r, 0, "connections") && is(r, 2, ":send"))
        post ? send_to_conn(r, r->seg[1]) : reply_error(r->reply, 405, "use POST");
    else if (n == 2 && is(r, 0, "connections")) {
        hb_hub_conn *c = hb_hub_find(r->hub, r->seg[1]);
        if (head)
            exists(r, c != NULL);
        else if (del) {
            char reason[256];
            if (query_value(r, "reason", reason, sizeof(reason)) < 0)
                snprintf(reason, sizeof(reason), "closed by the app server");
            if (c != NULL)
                c->ops->close(c, reason);
            reply_empty(r->reply, 204);
        } else
            reply_error(r->reply, 405, "use HEAD or DELETE");
    } else if (n == 3 && is(r, 0, "connections") && is(r, 2, "groups")) {
        hb_hub_conn *c = hb_hub_find(r->hub, r->seg[1]);
        if (!del) {
            reply_error(r->reply, 405, "use DELETE");
        } else {
            if (c != NULL)
                leave_all(r->hub, c);
            /* 204 as Azure: @azure/web-pubsub accepts no other status. */
            reply_empty(r->reply, 204);
        }
    } else if (n == 3 && is(r, 0, "groups") && is(r, 2, ":send"))
        post ? send_to(r, r->seg[1], 0) : reply_error(r->reply, 405, "use POST");
    else if (n == 3 && is(r, 0, "groups") && is(r, 2, ":closeConnections"))
        post ? close_conns(r, r->seg[1], NULL) : reply_error(r->reply, 405, "use POST");
    else if (n == 3 && is(r, 0, "groups") && is(r, 2, "connections"))
        strcmp(m, "GET") == 0 ? list_group(r, r->seg[1], r->path) : reply_error(r->reply, 405, "use GET");
    else if (n == 2 && is(r, 0, "groups"))
        head ? exists(r, hb_groups_size(hb_hub_groups(r->hub), r->seg[1], strlen(r->seg[1])) > 0)
             : reply_error(r->reply, 405, "use HEAD");
    else if (n == 4 && is(r, 0, "groups") && is(r, 2, "connections")) {
        hb_hub_conn *c = hb_hub_find(r->hub, r->seg[3]);
        if (put) {
            if (c == NULL) {
                reply_error(r->reply, 404, "no such connection");
                return;
            }
            hb_groups_join(hb_hub_groups(r->hub), &c->member, r->seg[1], strlen(r->seg[1]));
            reply_empty(r->reply, 200);
        } else if (del) {
            if (c != NULL)
                hb_groups_leave(hb_hub_groups(r->hub), &c->member, r->seg[1], strlen(r->seg[1]));
            /* 204 as Azure: @azure/web-pubsub's removeConnection accepts no
             * other status (the extension takes 200 or 204). */
            reply_empty(r->reply, 204);
        } else {
            reply_error(r->reply, 405, "use PUT or DELETE");
        }
    } else if (n == 3 && is(r, 0, "users") && is(r, 2, ":send"))
        post ? send_to_user(r, r->seg[1]) : reply_error(r->reply, 405, "use POST");
    else if (n == 3 && is(r, 0, "users") && is(r, 2, ":closeConnections"))
        post ? close_conns(r, NULL, r->seg[1]) : reply_error(r->reply, 405, "use POST");
    else if (n == 2 && is(r, 0, "users"))
        head ? exists(r, user_exists(r->hub, r->seg[1])) : reply_error(r->reply, 405, "use HEAD");
    else if (n == 4 && is(r, 0, "permissions") && is(r, 2, "connections"))
        permission(r, r->seg[1], r->seg[3]);
    else if (n == 4 && is(r, 0, "users") && is(r, 2, "groups"))
        put || del ? user_groups(r, r->seg[1], r->seg[3], put)
                   : reply_error(r->reply, 405, "use PUT or DELETE");
    else if (n == 3 && is(r, 0, "users") && is(r, 2, "groups"))
        del ? user_groups(r, r->seg[1], NULL, 0) : reply_error(r->reply, 405, "use DELETE");
    else
        reply_error(r->reply, 404, "no such API");
}

/* Splits path "/api/hubs/{hub}/seg/seg..." in place (copy, a strdup the
 * caller frees) into the hub name and the decoded segments. Returns 0, or
 * -1 when it is no API path. */
static int split_path(const char *path, char **copy, char **hub, char **seg, size_t *nseg) {
    static const char prefix[] = "/api/hubs/";
    char *p, *save = NULL;
    *nseg = 0;
    *copy = NULL;
    if (strncmp(path, prefix, sizeof(prefix) - 1) != 0 ||
        (*copy = strdup(path + sizeof(prefix) - 1)) == NULL)
        return -1;
    *hub = strtok_r(*copy, "/", &save);
    while ((p = strtok_r(NULL, "/", &save)) != NULL) {
        int l = hb_http_pct_decode(p, strlen(p), 0);
        if (*nseg == MAX_SEGMENTS || l < 0)
            return -1;
        p[l] = '\0';
        seg[(*nseg)++] = p;
    }
    return *hub == NULL || *nseg == 0 ? -1 : 0;
}

/* The filter of a request: the query's filter=, or the body's "filter"
 * for the group calls. NULL when there is none or it does not parse. */
static hb_filter *scope_filter(const char *query, const uint8_t *body, size_t len, int in_body) {
    hb_filter *f = NULL;
    char err[64];
    if (in_body) {
        json_t *root = json_loadb((const char *)body, len, 0, NULL);
        json_t *fj = json_object_get(root, "filter");
        if (json_is_string(fj))
            hb_filter_parse(json_string_value(fj), json_string_length(fj), &f, err, sizeof(err));
        json_decref(root);
    } else {
        size_t qlen = strlen(query);
        char *text = malloc(qlen + 1);
        int flen = text ? hb_http_query_get(query, qlen, "filter", text, qlen + 1) : -1;
        if (flen >= 0)
            hb_filter_parse(text, (size_t)flen, &f, err, sizeof(err));
        free(text);
    }
    return f;
}

static void set_target(hb_rest_scope *out, int kind, const char *target) {
    out->kind = kind;
    snprintf(out->target, sizeof(out->target), "%s", target);
}

void hb_rest_scope_of(const char *method, const char *path, const char *query,
                      const uint8_t *body, size_t len, hb_rest_scope *out) {
    char *copy, *hub, *seg[MAX_SEGMENTS];
    size_t n;
    int post = strcmp(method, "POST") == 0;
    int head = strcmp(method, "HEAD") == 0 || strcmp(method, "GET") == 0;
    memset(out, 0, sizeof(*out));
    out->kind = HB_REST_HERE;
    if (query == NULL)
        query = "";
    if (split_path(path, &copy, &hub, seg, &n) != 0 || strlen(hub) >= sizeof(out->hub)) {
        free(copy);
        return;
    }
    snprintf(out->hub, sizeof(out->hub), "%s", hub);
#define SEG(i, s) (strcmp(seg[i], s) == 0)
    if (n == 1 && post && (SEG(0, ":send") || SEG(0, ":closeConnections") ||
                           SEG(0, ":addToGroups") || SEG(0, ":removeFromGroups"))) {
        hb_filter *f = scope_filter(query, body, len, seg[0][1] != 's' && seg[0][1] != 'c');
        const hb_slice *ids;
        size_t nids;
        out->kind = HB_REST_HUB;
        out->membership = SEG(0, ":addToGroups") || SEG(0, ":removeFromGroups");
        if (f != NULL && hb_filter_candidate_connections(f, &ids, &nids) && nids > 0 &&
            nids <= HB_REST_SCOPE_IDS) {
            for (size_t i = 0; i < nids && ids[i].len < sizeof(out->ids[0]); i++) {
                memcpy(out->ids[i], ids[i].base, ids[i].len);
                out->ids[i][ids[i].len] = '\0';
                out->nids++;
            }
            if (out->nids != nids)
                out->nids = 0;
        }
        hb_filter_free(f);
    } else if (n == 1 && post && SEG(0, ":invoke"))
        out->kind = HB_REST_INVOKE;
    else if ((n == 2 && SEG(0, "connections")) ||
             (n == 3 && SEG(0, "connections") && (SEG(2, ":send") || SEG(2, "groups"))))
        set_target(out, HB_REST_CONN, seg[1]);
    else if (n == 4 && (SEG(0, "groups") || SEG(0, "permissions")) && SEG(2, "connections"))
        set_target(out, HB_REST_CONN, seg[3]);
    else if (n == 3 && post && SEG(0, "groups") && (SEG(2, ":send") || SEG(2, ":closeConnections")))
        set_target(out, HB_REST_GROUP, seg[1]);
    else if (n == 3 && post && SEG(0, "users") && (SEG(2, ":send") || SEG(2, ":closeConnections")))
        set_target(out, HB_REST_USER, seg[1]);
    else if (n == 3 && strcmp(method, "GET") == 0 && SEG(0, "groups") && SEG(2, "connections"))
        set_target(out, HB_REST_GROUP_LIST, seg[1]);
    else if ((n == 4 && SEG(0, "users") && SEG(2, "groups") &&
              (strcmp(method, "PUT") == 0 || strcmp(method, "DELETE") == 0)) ||
             (n == 3 && SEG(0, "users") && SEG(2, "groups") && strcmp(method, "DELETE") == 0))
        set_target(out, HB_REST_USER_GROUPS, seg[1]);
    else if (n == 2 && head && SEG(0, "groups"))
        set_target(out, HB_REST_GROUP_EXISTS, seg[1]);
    else if (n == 2 && head && SEG(0, "users"))
        set_target(out, HB_REST_USER_EXISTS, seg[1]);
#undef SEG
    free(copy);
}

void hb_rest_dispatch(const hb_rest_ctx *ctx, const char *method, const char *path,
                      const char *query, const char *content_type, uint8_t *body, size_t len,
                      hb_rest_reply *reply) {
    req r = {0};
    char *copy = NULL, *hub, *filter;
    char err[256];
    size_t qlen;
    int flen;
    hb_metrics_g.rest_requests++;
    r.ctx = ctx;
    r.method = method;
    r.path = path;
    r.query = query ? query : "";
    r.ctype = content_type;
    r.body = body;
    r.len = len;
    r.reply = reply;
    if (split_path(path, &copy, &hub, r.seg, &r.nseg) != 0) {
        free(copy);
        reply_error(reply, 404, "no such API");
        return;
    }
    /* Sized from the query (a decoded value is never longer): the package
     * ORs one term per room, so io.to(rooms) with a hundred rooms already
     * passes 4 KiB; the parser bounds what it accepts (HB_FILTER_MAX_LEN). */
    qlen = strlen(r.query);
    filter = malloc(qlen + 1);
    if (filter == NULL) {
        free(copy);
        reply_error(reply, 500, "out of memory");
        return;
    }
    flen = hb_http_query_get(r.query, qlen, "filter", filter, qlen + 1);
    if (flen == -2) {
        free(filter);
        free(copy);
        reply_error(reply, 400, "the filter is not valid (a bad %-escape)");
        return;
    }
    if (flen >= 0 && hb_filter_parse(filter, (size_t)flen, &r.filter, err, sizeof(err)) != 0) {
        free(filter);
        free(copy);
        reply_error(reply, 400, err);
        return;
    }
    free(filter);
    r.hub = hb_hubs_get(ctx->hubs, hub, 1);
    if (r.hub == NULL) {
        reply_error(reply, 500, "out of memory");
    } else {
        route(&r);
        /* A call on a hub nobody uses must not leave it behind: hub names
         * come from requests. */
        hb_hubs_drop_unused(ctx->hubs, r.hub);
    }
    hb_filter_free(r.filter);
    free(copy);
}
