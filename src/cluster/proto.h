/* The wire format of socket.io's Redis adapter (@socket.io/redis-adapter
 * 8, @socket.io/redis-emitter 5), which the cluster speaks so that those
 * npm packages and Hubbub nodes understand each other. Sans-IO: bytes in,
 * values out, and back.
 *
 * A broadcast is published on "<key>#<nsp>#", or "<key>#<nsp>#<room>#"
 * when it goes to exactly one room, as the MessagePack array
 *   [uid, {type: 2, data: ["event", args...], nsp}, {rooms: [...],
 *    except: [...], flags: {volatile?: true, ...}}]
 * where binary arguments are MessagePack bin values in place (no
 * placeholders). Hubbub holds arguments as JSON text with placeholders
 * (sio/server.h, hb_sio_bus_msg); this file converts between the two.
 *
 * Join, leave and disconnect go on "<key>-request#<nsp>#" as JSON:
 *   {"uid": ..., "type": 2|3|4, "opts": {"rooms": [...], "except": [...]},
 *    "rooms": [...] (2, 3), "close": bool (4)}
 * (uid is absent in the emitter's). The requests that want answers carry
 * a "requestId"; the answers go on "<key>-response#<nsp>#" as JSON
 * {"requestId", ...}, except a broadcast with acks, which is MessagePack
 * both ways:
 *   request  {uid, requestId, type: 7, packet: {type: 2, data, nsp},
 *             opts: {rooms, except, flags: {timeout?, volatile?}}}
 *   answers  {"type": 8, "requestId", "clientCount": n} (JSON), then per
 *            recipient {type: 9, requestId, packet: first ack argument}.
 * serverSideEmit is JSON both ways (JSON.stringify, so no binary):
 *   request  {"uid", "requestId" (only when an ack is wanted), "type": 6,
 *             "data": ["event", args...]}
 *   answer   {"type": 6, "requestId", "data": the ack's one argument}, on
 *            "<key>-response#<nsp>#", "data" left out for none. */
#ifndef HB_CLUSTER_PROTO_H
#define HB_CLUSTER_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "sio/server.h"

struct json_t;

#define HB_CLUSTER_KEY "socket.io" /* the adapter's default key (channel prefix) */

/* The request types of the adapter protocol. */
enum {
    HB_CLUSTER_REQ_SOCKETS = 0,
    HB_CLUSTER_REQ_ALL_ROOMS = 1,
    HB_CLUSTER_REQ_REMOTE_JOIN = 2,
    HB_CLUSTER_REQ_REMOTE_LEAVE = 3,
    HB_CLUSTER_REQ_REMOTE_DISCONNECT = 4,
    HB_CLUSTER_REQ_REMOTE_FETCH = 5,
    HB_CLUSTER_REQ_SERVER_SIDE_EMIT = 6,
    HB_CLUSTER_REQ_BROADCAST = 7,
    HB_CLUSTER_REQ_BROADCAST_CLIENT_COUNT = 8,
    HB_CLUSTER_REQ_BROADCAST_ACK = 9
};

/* The channel of a broadcast of nsp to rooms: a malloc'd NUL-terminated
 * string of *len bytes, NULL on ENOMEM. */
char *hb_cluster_proto_bcast_channel(const char *nsp, const hb_slice *rooms, size_t nrooms,
                                     size_t *len);
/* The request channel of nsp, the same way. */
char *hb_cluster_proto_req_channel(const char *nsp, size_t *len);
/* The response channel of nsp, "<key>-response#<nsp>#", or with uid the
 * one of that node only, "<key>-response#<nsp>#<uid>#"; the same way. */
char *hb_cluster_proto_resp_channel(const char *nsp, const char *uid, size_t *len);
/* The namespace a request channel is for, as a malloc'd string; NULL when
 * channel is not "<key>-request#<nsp>#" or on ENOMEM. */
char *hb_cluster_proto_req_channel_nsp(const char *channel, size_t len);

/* Encodes m from node uid into a malloc'd MessagePack message (*out, *len).
 * Returns 0, HB_EINVAL (m->data does not parse as a JSON array, or holds
 * invalid UTF-8) or HB_ENOMEM. */
int hb_cluster_proto_encode_bcast(const char *uid, const hb_sio_bus_msg *m, uint8_t **out,
                                  size_t *len);

/* A decoded broadcast: msg is ready for hb_sio_server_deliver(). It borrows
 * the input bytes (rooms, bins, uid) and owns the rest; release it with
 * hb_cluster_proto_bcast_release(). */
typedef struct hb_cluster_bcast {
    hb_slice uid;
    hb_slice req_id;          /* a broadcast with acks: its requestId */
    unsigned timeout_ms;      /* ... and its flags.timeout, 0 if none */
    hb_sio_bus_msg msg;
    /* storage */
    char *nsp;
    hb_slice *rooms;
    char *json;
    hb_bin bins[64];
    void *unpacked;
} hb_cluster_bcast;

/* Decodes a broadcast message. Arguments become JSON text (numbers in
 * their shortest round-trip form, invalid UTF-8 replaced by U+FFFD, bin
 * values by placeholders). Returns 0, HB_EINVAL (not a broadcast this node
 * can deliver: malformed, not an EVENT, more than 64 binary arguments) or
 * HB_ENOMEM; b needs releasing only after 0. */
int hb_cluster_proto_decode_bcast(const uint8_t *data, size_t len, hb_cluster_bcast *b);
void hb_cluster_proto_bcast_release(hb_cluster_bcast *b);

/* A broadcast with acks (type 7) from node uid, with request id req_id and
 * its timeout (0: none), as MessagePack. Returns as
 * hb_cluster_proto_encode_bcast(). */
int hb_cluster_proto_encode_bcast_req(const char *uid, const char *req_id,
                                      const hb_sio_bus_msg *m, unsigned timeout_ms, uint8_t **out,
                                      size_t *len);
/* Decodes a broadcast with acks into b (req_id, timeout_ms set). Returns
 * 0, HB_EINVAL (not a type 7 request this node can deliver) or HB_ENOMEM;
 * release b after 0. */
int hb_cluster_proto_decode_bcast_req(const uint8_t *data, size_t len, hb_cluster_bcast *b);
/* One recipient's answer to broadcast req_id: json (jlen bytes, its first
 * argument, binary parts as placeholders into bins) as the MessagePack
 * {type: 9, requestId, packet}. Returns 0, HB_EINVAL (json does not parse)
 * or HB_ENOMEM. */
int hb_cluster_proto_encode_ack(const char *req_id, const char *json, size_t jlen,
                                const hb_bin *bins, size_t nbins, uint8_t **out, size_t *len);
/* {"type":8,"requestId":req_id,"clientCount":count}, malloc'd (*len
 * bytes); NULL on ENOMEM. */
char *hb_cluster_proto_encode_count(const char *req_id, size_t count, size_t *len);
/* {"requestId":req_id}, or with key {"requestId":req_id,"<key>":value}
 * (value: vlen bytes of JSON), malloc'd; NULL on ENOMEM. */
char *hb_cluster_proto_encode_answer(const char *req_id, const char *key, const char *value,
                                     size_t vlen, size_t *len);
/* A fetch (REMOTE_FETCH) of the sockets sel selects (rooms, except) from
 * node uid, as JSON; malloc'd, NULL on ENOMEM. */
char *hb_cluster_proto_encode_fetch_req(const char *uid, const char *req_id,
                                        const hb_sio_bus_req *sel, size_t *len);
/* s as a JSON string, quotes included; malloc'd, NULL on ENOMEM. */
char *hb_cluster__json_quote(const char *s);

/* Encodes r from node uid as the request JSON, malloc'd (*out, *len).
 * Returns 0, HB_EINVAL (a type that has no request) or HB_ENOMEM. */
int hb_cluster_proto_encode_req(const char *uid, const hb_sio_bus_req *r, char **out,
                                size_t *len);

/* A decoded request: req.nsp is the nsp given to the decoder (borrowed);
 * the rest is owned until hb_cluster_proto_req_release(). */
typedef struct hb_cluster_req {
    char *uid;                /* "" when the request has none (the emitter) */
    hb_sio_bus_req req;
    /* storage */
    void *json;
    hb_slice *slices;
} hb_cluster_req;

/* Decodes a request for namespace nsp. Returns 0, HB_EINVAL (malformed, or
 * a request type other than join, leave or disconnect with opts: answered
 * by nobody here) or HB_ENOMEM; q needs releasing only after 0. */
int hb_cluster_proto_decode_req(const uint8_t *data, size_t len, const char *nsp,
                                hb_cluster_req *q);
void hb_cluster_proto_req_release(hb_cluster_req *q);

/* A JSON request that wants an answer, or one for a single socket. */
typedef struct hb_cluster_ask {
    int type;                 /* HB_CLUSTER_REQ_*: SOCKETS, ALL_ROOMS, REMOTE_FETCH,
                                 SERVER_SIDE_EMIT, or JOIN/LEAVE/DISCONNECT of sid */
    const char *uid;          /* "" when absent */
    const char *req_id;       /* "" when absent */
    const char *sid, *room;   /* one socket's join, leave (room) or disconnect */
    int close;
    hb_sio_bus_req sel;       /* SOCKETS, REMOTE_FETCH: the sockets (nsp, rooms, except) */
    /* storage */
    void *json;
    hb_slice *slices;
} hb_cluster_ask;

/* Decodes such a request for namespace nsp (borrowed). Returns 0, HB_EINVAL
 * (malformed, or not one of those) or HB_ENOMEM; release a after 0. */
int hb_cluster_proto_decode_ask(const uint8_t *data, size_t len, const char *nsp,
                                hb_cluster_ask *a);
void hb_cluster_proto_ask_release(hb_cluster_ask *a);

/* An answer on a response channel. */
typedef struct hb_cluster_resp {
    int type;                 /* BROADCAST_CLIENT_COUNT, BROADCAST_ACK, or the
                                 "type" of another answer (often absent: 0) */
    hb_slice req_id;
    size_t client_count;      /* BROADCAST_CLIENT_COUNT */
    char *ack_json;           /* BROADCAST_ACK, SERVER_SIDE_EMIT: the answer as JSON
                                 text ("null" for a serverSideEmit ack without one) */
    size_t ack_len;
    struct json_t *sockets;   /* a fetch's answer: the array, or NULL */
    /* storage */
    struct json_t *json;
    void *unpacked;
} hb_cluster_resp;

/* Decodes an answer (JSON, or MessagePack for acks). Returns 0, HB_EINVAL
 * (no requestId, malformed) or HB_ENOMEM; release r after 0. */
int hb_cluster_proto_decode_resp(const uint8_t *data, size_t len, hb_cluster_resp *r);
void hb_cluster_proto_resp_release(hb_cluster_resp *r);

/* --- serverSideEmit ---------------------------------------------------------- */

/* The request for event with args_json (a JSON array of args_len bytes)
 * from node uid; with req_id (NULL: no ack wanted) the nodes answer. As
 * malloc'd JSON (*out, *len). Returns 0, HB_EINVAL (args_json is not a JSON
 * array) or HB_ENOMEM. */
int hb_cluster_proto_encode_sse(const char *uid, const char *req_id, const char *event,
                                const char *args_json, size_t args_len, char **out,
                                size_t *len);

/* A decoded serverSideEmit request. Everything is owned until
 * hb_cluster_proto_sse_release(). */
typedef struct hb_cluster_sse {
    const char *uid;          /* "" when absent */
    const char *req_id;       /* NULL: no ack wanted */
    const char *event;        /* data[0] */
    char *args;               /* data[1...] as a JSON array, NUL-terminated */
    size_t args_len;
    /* storage */
    void *json;
} hb_cluster_sse;

/* Decodes a serverSideEmit request (numbers become the shortest text that
 * reads back as JavaScript read them). Returns 0, HB_EINVAL (not type 6,
 * malformed, or data[0] not a string) or HB_ENOMEM; release e after 0. */
int hb_cluster_proto_decode_sse(const uint8_t *data, size_t len, hb_cluster_sse *e);
void hb_cluster_proto_sse_release(hb_cluster_sse *e);
/* The answer to serverSideEmit req_id: value (vlen bytes of JSON) or, when
 * NULL, none. Malloc'd JSON (*out, *len). Returns 0, HB_EINVAL (value is
 * not JSON) or HB_ENOMEM. */
int hb_cluster_proto_encode_sse_answer(const char *req_id, const char *value, size_t vlen,
                                       char **out, size_t *len);

#endif
