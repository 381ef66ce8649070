/* The REST data plane of the Azure-compatible service (Azure Web PubSub's
 * /api/hubs/{hub}/... for Socket.IO hubs): sends, groups, connection
 * management, existence checks, :invoke and :generateToken. It is one
 * dispatcher over already-authorised requests, shared by plain HTTP and
 * the tunnel; answers go through an hb_rest_reply, which can stream. */
#ifndef HB_API_REST_H
#define HB_API_REST_H

#include <stddef.h>
#include <stdint.h>

#include "hub/hub.h"
#include "net/loop.h"

typedef struct hb_rest_reply hb_rest_reply;
struct hb_rest_reply {
    /* The answer: once with more = 0, or (only :invoke) a first call with
     * the status and more = 1, chunks with more = 1, then one with more = 0.
     * The reply must stay valid until the call with more = 0. */
    void (*send)(hb_rest_reply *r, int status, const char *content_type, const void *body,
                 size_t len, int more);
};

typedef struct hb_rest_ctx {
    hb_loop *loop;
    hb_hubs *hubs;
    const char *const *keys;  /* access keys, NULL-terminated; keys[0] signs tokens */
    const char *endpoint;     /* e.g. "http://127.0.0.1:3000", for token audiences */
    unsigned invoke_timeout_ms; /* when an :invoke stream ends at the latest */
} hb_rest_ctx;

/* Where a call acts, so that a cluster (cluster/hubs.c) can take it to
 * the nodes holding what it names; hb_rest_dispatch() then runs it on
 * each of them, for their own connections. */
enum {
    HB_REST_HERE,         /* answered by one node alone: tokens, bad calls */
    HB_REST_CONN,         /* one connection (target): its node answers */
    HB_REST_HUB,          /* every node with connections in the hub */
    HB_REST_GROUP,        /* every node with members in group target */
    HB_REST_USER,         /* every node with connections of user target */
    HB_REST_GROUP_EXISTS, /* 200 when any node has a member in group target */
    HB_REST_USER_EXISTS,  /* 200 when any node has a connection of user target */
    HB_REST_INVOKE,       /* every node of the hub; the answers streamed back */
    HB_REST_USER_GROUPS,  /* a membership change of user target's connections:
                           * every node with some, answered once all applied */
    HB_REST_GROUP_LIST    /* a page of group target's members: every node with
                           * some answers, merged by hb_rest_list_merge() */
};
#define HB_REST_SCOPE_IDS 8
typedef struct hb_rest_scope {
    int kind;             /* HB_REST_* */
    char hub[129];
    char target[1025];    /* decoded; "" when the kind names none */
    /* HB_REST_HUB whose filter selects only these connection ids (what
     * socket.join() sends: "connectionId eq '...'"); n is 0 otherwise. */
    char ids[HB_REST_SCOPE_IDS][64];
    size_t nids;
    int membership;       /* HB_REST_HUB: :addToGroups or :removeFromGroups */
} hb_rest_scope;

/* Classifies a request (the arguments of hb_rest_dispatch). Anything it
 * cannot place (an unknown path, a malformed filter) is HB_REST_HERE,
 * where the dispatcher gives the error. */
void hb_rest_scope_of(const char *method, const char *path, const char *query,
                      const uint8_t *body, size_t len, hb_rest_scope *out);

/* One node's answer to a HB_REST_GROUP_LIST call. */
typedef struct hb_rest_part {
    const uint8_t *body;
    size_t len;
} hb_rest_part;

/* The one page of a group listing (path and query of the call) made of
 * the pages several nodes answered: *out, a new JSON string. Returns 0,
 * HB_EINVAL for a query no node would have answered 200, HB_ENOMEM. */
int hb_rest_list_merge(const char *path, const char *query, const hb_rest_part *parts, size_t n,
                       char **out);

/* Answers one request. path is "/api/..." (not decoded), query the raw
 * query string, body the request body (writable; it may be decoded in
 * place). Unknown paths get 404, known paths with another method 405, bad
 * input 400 with a JSON {"code","message"} body. */
void hb_rest_dispatch(const hb_rest_ctx *ctx, const char *method, const char *path,
                      const char *query, const char *content_type, uint8_t *body, size_t len,
                      hb_rest_reply *reply);

#endif
