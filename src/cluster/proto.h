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
 * (uid is absent in the emitter's). */
#ifndef HB_CLUSTER_PROTO_H
#define HB_CLUSTER_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "sio/server.h"

#define HB_CLUSTER_KEY "socket.io" /* the adapter's default key (channel prefix) */

/* The request types of the adapter protocol this node applies. */
enum {
    HB_CLUSTER_REQ_REMOTE_JOIN = 2,
    HB_CLUSTER_REQ_REMOTE_LEAVE = 3,
    HB_CLUSTER_REQ_REMOTE_DISCONNECT = 4
};

/* The channel of a broadcast of nsp to rooms: a malloc'd NUL-terminated
 * string of *len bytes, NULL on ENOMEM. */
char *hb_cluster_proto_bcast_channel(const char *nsp, const hb_slice *rooms, size_t nrooms,
                                     size_t *len);
/* The request channel of nsp, the same way. */
char *hb_cluster_proto_req_channel(const char *nsp, size_t *len);
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

#endif
