/* The Azure-compatible service object: it mounts the clients' Engine.IO
 * endpoint (served by bridge.c), the tunnel (tunnel.c) and the REST API
 * over plain HTTP with a bearer JWT, and builds the CloudEvent headers
 * every event carries, ce-signature included. */
#include "upstream/service.h"

#include <llhttp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uv.h>

#include "api/jwt.h"
#include "core/log.h"
#include "core/metrics.h"
#include "hubbub/error.h"
#include "upstream/internal.h"

/* --- CloudEvent headers --------------------------------------------------------- */

static void add(json_t *h, const char *name, const char *value) {
    json_t *a = json_array();
    json_array_append_new(a, json_string(value));
    json_object_set_new(h, name, a);
}

/* "sha256=<hex HMAC(key, connectionId)>" for each key, comma-joined, as
 * Azure signs so a handler can check the event came from the service. */
static char *signature(const hb_azure *az, const char *connection_id) {
    size_t n = az->nkeys, cap = n * (7 + 64 + 1) + 1, off = 0;
    char *out = malloc(cap);
    if (out == NULL)
        return NULL;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        unsigned char mac[32];
        unsigned int mlen = 0;
        HMAC(EVP_sha256(), az->opts.keys[i], (int)strlen(az->opts.keys[i]),
             (const unsigned char *)connection_id, strlen(connection_id), mac, &mlen);
        off += (size_t)snprintf(out + off, cap - off, "%ssha256=", i ? "," : "");
        for (unsigned k = 0; k < mlen; k++)
            off += (size_t)snprintf(out + off, cap - off, "%02x", mac[k]);
    }
    return out;
}

json_t *hb_azure__event_headers(hb_azure *az, const char *hub, const char *conn_id,
                                const char *user_id, const char *type, const char *event_name,
                                const char *content_type) {
    json_t *h = json_object();
    char buf[512], when[64];
    time_t now = time(NULL);
    struct tm tm;
    char *sig;
    if (h == NULL)
        return NULL;
    gmtime_r(&now, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    add(h, "Content-Type", content_type);
    add(h, "ce-specversion", "1.0");
    add(h, "ce-awpsversion", "1.0");
    add(h, "webhook-request-origin", "hubbub");
    add(h, "ce-type", type);
    snprintf(buf, sizeof(buf), "/hubs/%s/client/%s", hub, conn_id);
    add(h, "ce-source", buf);
    snprintf(buf, sizeof(buf), "%lld", (long long)++az->next_event);
    add(h, "ce-id", buf);
    add(h, "ce-time", when);
    add(h, "ce-hub", hub);
    add(h, "ce-connectionid", conn_id);
    if (user_id != NULL)
        add(h, "ce-userid", user_id);
    if (event_name != NULL)
        add(h, "ce-eventname", event_name);
    sig = signature(az, conn_id);
    if (sig != NULL)
        add(h, "ce-signature", sig);
    free(sig);
    return h;
}

/* --- REST over plain HTTP --------------------------------------------------------- */

/* Answers an HTTP request, collecting a streamed (:invoke) answer first:
 * plain HTTP gets it whole, when the stream ends. The connection is held
 * meanwhile. */
typedef struct http_reply {
    hb_rest_reply base;
    hb_http_conn *hc;         /* NULL once the client went away */
    int status;
    char *ctype;
    char *body;
    size_t len;
} http_reply;

static void http_gone(void *ud, hb_http_conn *hc) {
    (void)hc;
    ((http_reply *)ud)->hc = NULL;
}

static void http_send(hb_rest_reply *base, int status, const char *ctype, const void *body,
                      size_t len, int more) {
    http_reply *r = (http_reply *)base;
    if (r->ctype == NULL) {
        r->status = status;
        r->ctype = ctype ? strdup(ctype) : NULL;
    }
    if (len > 0) {
        char *b = realloc(r->body, r->len + len);
        if (b != NULL) {
            memcpy(b + r->len, body, len);
            r->body = b;
            r->len += len;
        }
    }
    if (more)
        return;
    if (r->hc != NULL)
        hb_http_respond(r->hc, r->status, r->ctype, NULL, r->body, r->len);
    free(r->ctype);
    free(r->body);
    free(r);
}

/* The bearer token's audience must be this request's URL (the SDK signs
 * the full URL); scheme and host are not compared, so a proxy in front
 * does not break it. */
static int audience_ok(const char *aud, const hb_http_request *req) {
    const char *p = aud ? strstr(aud, "://") : NULL;
    size_t plen;
    if (p == NULL)
        return 0;
    p = strchr(p + 3, '/');
    if (p == NULL)
        return 0;
    plen = strcspn(p, "?");
    if (plen != req->path_len || strncmp(p, req->path, plen) != 0)
        return 0;
    return 1;
}

static void route_api(void *ud, hb_http_conn *hc, hb_http_request *req) {
    hb_azure *az = ud;
    const char *auth = hb_http_request_header(req, "authorization");
    const char *why = NULL;
    hb_jwt_claims claims;
    http_reply *r;
    static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "DELETE"};
    const char *method = NULL;
    int m = req->method;
    method = m == HTTP_GET      ? methods[0]
             : m == HTTP_HEAD   ? methods[1]
             : m == HTTP_POST   ? methods[2]
             : m == HTTP_PUT    ? methods[3]
             : m == HTTP_DELETE ? methods[4]
                                : NULL;
    if (method == NULL) {
        hb_http_respond_json_error(hc, 405, 405, "Method not allowed");
        return;
    }
    if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0) {
        hb_log_info("api", "refused %s %s: no bearer token", method, req->path);
        hb_metrics_g.auth_failures++;
        hb_http_respond_json_error(hc, 401, 401, "Unauthorized: a bearer token is required");
        return;
    }
    if (hb_jwt_verify(auth + 7, strlen(auth + 7), az->opts.keys, az->nkeys, (int64_t)time(NULL),
                      300, &claims, &why) != 0) {
        hb_log_info("api", "refused %s %s: %s", method, req->path, why ? why : "bad token");
        hb_metrics_g.auth_failures++;
        hb_http_respond_json_error(hc, 401, 401, "Unauthorized: invalid token");
        return;
    }
    if (!audience_ok(claims.aud, req)) {
        hb_log_info("api", "refused %s %s: the token's audience is '%s'", method, req->path,
                    claims.aud ? claims.aud : "(none)");
        hb_jwt_claims_free(&claims);
        hb_metrics_g.auth_failures++;
        hb_http_respond_json_error(hc, 401, 401, "Unauthorized: the token's audience does not match");
        return;
    }
    hb_jwt_claims_free(&claims);
    r = calloc(1, sizeof(*r));
    if (r == NULL) {
        hb_http_respond_json_error(hc, 503, 503, "Out of memory");
        return;
    }
    r->base.send = http_send;
    r->hc = hc;
    hb_http_hold(hc, http_gone, r);
    hb_azure__rest(az, method, req->path, req->query, hb_http_request_header(req, "content-type"),
                   req->body, req->body_len, &r->base);
}

void hb_azure__rest(hb_azure *az, const char *method, const char *path, const char *query,
                    const char *ctype, uint8_t *body, size_t len, hb_rest_reply *reply) {
    if (az->bus.rest != NULL)
        az->bus.rest(az->bus.ud, method, path, query, ctype, body, len, reply);
    else
        hb_rest_dispatch(&az->rest, method, path, query, ctype, body, len, reply);
}

void hb_azure_rest_local(hb_azure *az, const char *method, const char *path, const char *query,
                         const char *ctype, uint8_t *body, size_t len, hb_rest_reply *reply) {
    hb_rest_dispatch(&az->rest, method, path, query, ctype, body, len, reply);
}

/* --- the service ------------------------------------------------------------------ */

hb_azure *hb_azure_new(hb_loop *loop, hb_http_server *http, const hb_azure_opts *opts) {
    hb_azure *az = calloc(1, sizeof(*az));
    if (az == NULL)
        return NULL;
    az->loop = loop;
    az->http = http;
    az->opts = *opts;
    while (opts->keys[az->nkeys] != NULL)
        az->nkeys++;
    az->hubs = hb_hubs_new();
    az->eio = hb_eio_server_new(loop, http, &opts->eio, &hb_bridge__handler, az);
    if (az->hubs == NULL || az->eio == NULL ||
        hb_eio_server_mount(az->eio, "/clients/socketio/hubs/", 1) != 0 ||
        hb_http_server_route(http, "/server/tunnel", hb_tunnel__route, az) != 0 ||
        hb_http_server_route(http, "/api/hubs/", route_api, az) != 0) {
        hb_azure_free(az);
        return NULL;
    }
    az->rest.loop = loop;
    az->rest.hubs = az->hubs;
    az->rest.keys = opts->keys;
    az->rest.endpoint = opts->endpoint;
    az->rest.invoke_timeout_ms = 60000;
    return az;
}

void hb_azure_close_all(hb_azure *az) {
    hb_eio_server_close_all(az->eio, HB_CLOSE_SHUTDOWN);
    hb_tunnel__close_all(az);
}

size_t hb_azure_session_count(const hb_azure *az) {
    return hb_eio_server_session_count(az->eio);
}

void hb_azure_set_bus(hb_azure *az, const hb_azure_bus *bus) {
    if (bus != NULL)
        az->bus = *bus;
    else
        memset(&az->bus, 0, sizeof(az->bus));
}

hb_hubs *hb_azure_hubs(hb_azure *az) {
    return az->hubs;
}

int hb_azure_set_router(hb_azure *az, const hb_eio_router *router) {
    return hb_eio_server_set_router(az->eio, router);
}

static void ignore_answer(void *ud, int status, const uint8_t *body, size_t len) {
    (void)ud, (void)status, (void)body, (void)len;
}

int hb_azure_disconnected(hb_azure *az, const char *hub_name, const char *conn_id,
                          const char *user_id, const char *reason) {
    hb_hub *hub = hb_hubs_get(az->hubs, hub_name, 0);
    hb_tunnel *t = hub ? hb_tunnel__pick(hub) : NULL;
    char body[128];
    json_t *h;
    if (t == NULL)
        return UV_ENOENT;
    h = hb_azure__event_headers(az, hub_name, conn_id, user_id, "azure.webpubsub.sys.disconnected",
                                "disconnected", "application/json");
    if (h == NULL)
        return HB_ENOMEM;
    snprintf(body, sizeof(body), "{\"reason\":\"%s\"}", reason);
    return hb_tunnel__request(t, h, body, strlen(body), ignore_answer, NULL);
}

void hb_azure_free(hb_azure *az) {
    if (az == NULL)
        return;
    hb_eio_server_free(az->eio);
    hb_hubs_free(az->hubs, free); /* each hub's data is its hb_hub_tunnels */
    free(az);
}
