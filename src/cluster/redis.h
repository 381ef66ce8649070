/* An asynchronous Redis client for the cluster bus, on hiredis and the
 * node's libuv loop. It holds two connections to one Redis: one for
 * commands and publishes, one for subscriptions (patterns, and channels
 * that can be added at any time). Each is
 * reconnected with exponential backoff whenever it fails, the subscriptions
 * are renewed on every new connection, and a command connection that stops
 * answering is dropped and reconnected. Outgoing bytes are bounded: a
 * publish that cannot be sent now (Redis away, or too many bytes already
 * waiting for replies) is dropped and counted, never queued without bound.
 * Errors are logged readably once per outage and counted, with the state of
 * each connection, in /metrics (hb_metrics_g.redis_*). */
#ifndef HB_CLUSTER_REDIS_H
#define HB_CLUSTER_REDIS_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "net/loop.h"

struct redisReply;
typedef struct hb_redis hb_redis;
typedef struct hb_redis_sub hb_redis_sub;

/* Where Redis is, from a URL. */
typedef struct hb_redis_addr {
    char host[256];     /* a name or an IP, without IPv6 brackets */
    int port;           /* default 6379 */
    char user[128];     /* "" unless the URL names one (Redis 6 ACL) */
    char password[256]; /* "" for none */
    int db;             /* default 0; used by commands, not by pub/sub */
} hb_redis_addr;

/* Parses "redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]" into *out (HOST may
 * be an IPv6 address in brackets). Returns 0, or HB_EINVAL for anything
 * else (another scheme, a missing host, a bad port or db, fields too
 * long); *out is then unspecified. */
int hb_redis_parse_url(const char *url, hb_redis_addr *out);

typedef struct hb_redis_cbs {
    /* A message on one of the subscriptions (pattern or channel). channel
     * and data are borrowed for the call. */
    void (*message)(void *ud, const char *channel, size_t chlen, const uint8_t *data, size_t len);
    /* Called with 1 once both connections are up and subscribed, and with 0
     * when one of them goes down. May be NULL. */
    void (*state)(void *ud, int up);
    void *ud;
} hb_redis_cbs;

typedef struct hb_redis_opts {
    size_t max_pending;        /* bytes sent and not yet answered; 0: 32 MiB */
    unsigned reply_timeout_ms; /* a command unanswered this long drops the
                                  connections; 0: 10000 */
    unsigned backoff_min_ms;   /* first reconnection delay; 0: 100 */
    unsigned backoff_max_ms;   /* largest one; 0: 5000 */
} hb_redis_opts;

/* A client for addr (copied) on loop (borrowed), not connecting yet. NULL
 * on ENOMEM. */
hb_redis *hb_redis_new(hb_loop *loop, const hb_redis_addr *addr, const hb_redis_opts *opts,
                       const hb_redis_cbs *cbs);
/* Adds a pattern subscription, kept for every connection of the
 * subscriber. Call it before hb_redis_start(). Returns 0 or HB_ENOMEM. */
int hb_redis_psubscribe(hb_redis *r, const char *pattern);
/* Adds a channel subscription (SUBSCRIBE channel, len bytes, copied),
 * kept for every connection of the subscriber; sent at once when the
 * subscriber is connected or connecting. Subscribing twice to a channel
 * is once. Any time, before or after hb_redis_start(). Returns 0 or
 * HB_ENOMEM. */
int hb_redis_subscribe(hb_redis *r, const char *channel, size_t len);
/* The same for a subscription that can be removed: the caller keeps the
 * handle and does not add a channel twice. NULL on ENOMEM. */
hb_redis_sub *hb_redis_sub_add(hb_redis *r, const char *channel, size_t len);
/* UNSUBSCRIBEs and frees sub (NULL is accepted). Messages already on
 * their way may still arrive. */
void hb_redis_sub_remove(hb_redis *r, hb_redis_sub *sub);
/* Calls cb(ud) once Redis has answered every SUBSCRIBE and UNSUBSCRIBE
 * sent so far (at once when none is waiting, and when the subscriber
 * connection is lost: its successor subscribes anew). A node answers a
 * join this way only once the group's channel really is subscribed, so
 * the broadcast that follows it cannot miss this node. Returns 0 or
 * HB_ENOMEM (cb not called). */
int hb_redis_sub_barrier(hb_redis *r, void (*cb)(void *ud), void *ud);
/* Connects both connections (and keeps them connected until
 * hb_redis_shutdown or hb_redis_free). Never fails: a Redis that cannot be
 * reached is retried. */
void hb_redis_start(hb_redis *r);
/* 1 when the command connection is up. */
int hb_redis_up(const hb_redis *r);
/* "HOST:PORT", for logs. */
const char *hb_redis_name(const hb_redis *r);

/* PUBLISH channel data: the bytes are copied into the connection's buffer.
 * Returns 0, or HB_EAGAIN when the message was dropped (counted in
 * hb_metrics_g.redis_dropped) because the command connection is down or
 * max_pending bytes already wait for replies. */
int hb_redis_publish(hb_redis *r, const char *channel, size_t chlen, const void *data,
                     size_t len);

/* A command's reply, or NULL when the connection went away first. reply is
 * borrowed for the call. */
typedef void (*hb_redis_reply_cb)(void *ud, const struct redisReply *reply);
/* Sends a command (argv[i] of lens[i] bytes, copied). cb (may be NULL) is
 * then called exactly once, later. Error replies are counted and logged
 * here as well. Returns 0, or HB_EAGAIN (not sent, cb never called) when
 * the command connection is down or over max_pending, HB_ENOMEM. */
int hb_redis_command(hb_redis *r, hb_redis_reply_cb cb, void *ud, int argc, const char **argv,
                     const size_t *lens);

/* Stops reconnecting and closes both connections, the command connection
 * once the commands already sent are answered (at most one second). Reply
 * callbacks still run. The loop stays alive until it is done. */
void hb_redis_shutdown(hb_redis *r);
/* Closes what is still open at once (pending reply callbacks run with
 * NULL) and frees r. Not from inside one of r's callbacks. NULL is
 * accepted. Run the loop afterwards so the socket handles finish closing. */
void hb_redis_free(hb_redis *r);

#endif
