/* Long-polling without sticky sessions: a polling request that reaches a
 * node which does not hold its Engine.IO session is forwarded over HTTP
 * to the node that does, and the owner's answer goes back to the client;
 * a WebSocket upgrade for such a session is relayed to the owner
 * (cluster/relay.h) once its address is known.
 * A session id starts with its node's tag (HB_CLUSTER_TAG_LEN characters);
 * the tag's address is in Redis, "hubbub:route:<tag>" (cluster/node.h),
 * looked up once and reused for a while. One TCP connection per forwarded
 * request; a bounded number at once, each with a deadline. When the owner
 * is gone (no route, connection refused) the client gets Engine.IO's
 * "Session ID unknown" (400), as from the owner itself, and reconnects. */
#ifndef HB_CLUSTER_FORWARD_H
#define HB_CLUSTER_FORWARD_H

#include <stddef.h>

#include "cluster/redis.h"
#include "cluster/relay.h"
#include "http/server.h"
#include "net/loop.h"

/* A forwarded request carries this header; a node never forwards such a
 * request again (an outdated route cannot make a loop). */
#define HB_FORWARD_HEADER "X-Hubbub-Forwarded"

typedef struct hb_forward hb_forward;

typedef struct hb_forward_opts {
    unsigned timeout_ms;      /* a forwarded request's whole life; 0: 60000 */
    size_t max_in_flight;     /* forwarded requests at once; 0: 1024 */
    unsigned route_ttl_ms;    /* a looked-up address is reused this long; 0: 10000 */
} hb_forward_opts;

/* A forwarder on loop, redis and relays (all borrowed; relays may be NULL:
 * upgrades are then not taken) for the node whose tag is self_tag
 * (copied). NULL on ENOMEM. */
hb_forward *hb_forward_new(hb_loop *loop, hb_redis *redis, hb_relays *relays,
                           const char *self_tag, const hb_forward_opts *opts);
/* Takes the polling request or WebSocket upgrade req, received on hc for
 * session sid, to the node sid names: 0 when it did (hc is held and
 * answered, or relayed, later; req is copied), or HB_EINVAL when sid
 * names no other node or req was forwarded already (the caller answers
 * "Session ID unknown"). Too many forwards at once are answered 503 here
 * (0 is returned). An upgrade whose owner is not found gets engine.io's
 * plain-text 400 "Session ID unknown". */
int hb_forward_request(hb_forward *f, hb_http_conn *hc, const hb_http_request *req,
                       const char *sid);
/* Answers every forward in progress 503 (the node is stopping) and closes
 * their connections to the owners; new ones are refused. Idempotent. */
void hb_forward_stop(hb_forward *f);
/* Stops, then frees f; forwards still closing free themselves when libuv
 * is done with them (run the loop afterwards). NULL is accepted. */
void hb_forward_free(hb_forward *f);

#endif
