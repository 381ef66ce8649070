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

/* Answers one request. path is "/api/..." (not decoded), query the raw
 * query string, body the request body (writable; it may be decoded in
 * place). Unknown paths get 404, known paths with another method 405, bad
 * input 400 with a JSON {"code","message"} body. */
void hb_rest_dispatch(const hb_rest_ctx *ctx, const char *method, const char *path,
                      const char *query, const char *content_type, uint8_t *body, size_t len,
                      hb_rest_reply *reply);

#endif
