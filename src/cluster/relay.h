/* WebSocket upgrades that belong to another node: a byte relay. The node
 * a client's (or an app server's) upgrade request reached opens TCP to the
 * node it belongs to, sends it the request's head again (with
 * X-Hubbub-Forwarded, so that it is never relayed twice) and then copies
 * bytes both ways, without reading the WebSocket frames, until either side
 * closes, which closes the other. The owner sees a normal upgrade and
 * answers it (101, or its refusal) through the relay. Each direction holds
 * at most HB_RELAY_MAX_BUFFERED unwritten bytes: past that, the other side
 * is not read until they are written. */
#ifndef HB_CLUSTER_RELAY_H
#define HB_CLUSTER_RELAY_H

#include <stddef.h>

#include "http/request.h"
#include "http/server.h"
#include "net/loop.h"

#define HB_RELAY_MAX_BUFFERED (256u * 1024)
/* Relays at once on a node; each holds two sockets of the process's open
 * files (often 20,000 at most), so past this a new one is refused (503)
 * rather than starving the node's own clients. */
#define HB_RELAY_MAX 4096

typedef struct hb_relays hb_relays;

/* What the client gets when the owner cannot be reached (before any byte
 * of the owner's): status, content type and body, all static strings. */
typedef struct hb_relay_refusal {
    int status;
    const char *ctype;
    const char *body;
} hb_relay_refusal;

/* The relays of a node on loop (borrowed). NULL on ENOMEM. */
hb_relays *hb_relays_new(hb_loop *loop);
/* The head of req as the owner should get it: request line, every header
 * as received, then "X-Hubbub-Forwarded: <tag>" (tag: the relaying node's,
 * for the owner's logs). A malloc'd string the caller owns, *len set; NULL
 * on ENOMEM. No body is carried (an upgrade request has none). */
char *hb_relay_head(const hb_http_request *req, const char *tag, size_t *len);
/* Takes the upgrade request held on hc to the node at addr ("HOST:PORT",
 * copied): connects, sends head (malloc'd, ownership transferred, also on
 * failure) and the bytes the client sent behind it, then relays. When the
 * connection cannot be made (or not within 10 s) the client gets
 * refusal, and the failure is counted and logged. The caller must hold
 * hc (hb_http_hold) and answer nothing more: hc belongs to the relay. */
void hb_relay_start(hb_relays *rs, hb_http_conn *hc, char *head, size_t head_len,
                    const char *addr, const hb_relay_refusal *refusal);
/* Closes every relay (the node is stopping): both sides of a relaying
 * one, and the client of one still connecting gets 503. New ones are
 * refused with 503. Idempotent. */
void hb_relays_stop(hb_relays *rs);
/* Stops, then frees rs; relays still closing free themselves when libuv
 * is done with them (run the loop afterwards). NULL is accepted. */
void hb_relays_free(hb_relays *rs);

#endif
