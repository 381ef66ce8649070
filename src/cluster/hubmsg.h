/* The messages nodes exchange about the Azure-compatible hubs
 * (cluster/hubs.c): a REST call to run on other nodes, and the answers to
 * it. Hubbub's own format (no other software speaks it), kept small and
 * easy to check: a magic, a kind, a status and flags, then seven fields,
 * each a 4-byte big-endian length and its bytes. A codec: no I/O. */
#ifndef HB_CLUSTER_HUBMSG_H
#define HB_CLUSTER_HUBMSG_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

enum {
    HB_HUBMSG_FIRE = 'F',   /* run this call; nobody waits for its answer */
    HB_HUBMSG_CALL = 'Q',   /* run this call and answer on "from"'s channel */
    HB_HUBMSG_ANSWER = 'A'  /* (part of) the answer to call id "call" */
};

/* Each message is at most this big; what a Redis channel carries. */
#define HB_HUBMSG_MAX (64u << 20)

typedef struct hb_hubmsg {
    int kind;               /* HB_HUBMSG_* */
    int status;             /* an answer's HTTP status (0-999) */
    int more;               /* an answer with more parts to come */
    hb_slice from;          /* the sender's node tag */
    hb_slice call;          /* the call's id (CALL, ANSWER) */
    hb_slice method, path, query, ctype; /* the request (FIRE, CALL); ctype also answers */
    hb_slice body;          /* the request's or the answer's body */
} hb_hubmsg;

/* Encodes m into a new buffer (*out, *len; the caller frees it). Returns
 * 0, HB_ETOOBIG past HB_HUBMSG_MAX, or HB_ENOMEM. */
int hb_hubmsg_encode(const hb_hubmsg *m, uint8_t **out, size_t *len);
/* Decodes data into *m, whose slices point into data. Returns 0, or
 * HB_EINVAL for anything malformed (a bad magic or kind, a length past
 * the end, bytes left over). */
int hb_hubmsg_decode(const uint8_t *data, size_t len, hb_hubmsg *m);

#endif
