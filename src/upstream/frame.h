/* The Azure Web PubSub tunnel frame, sans-IO: one binary WebSocket message
 * holding a uint32 little-endian length N, then N bytes of a MessagePack
 * array [type, json, content] (docs: AZURE-WIRE.md section 3). This file
 * owns the hand-written MessagePack subset that reads and writes it; the
 * JSON inside is the caller's business. No I/O, no allocation. */
#ifndef HB_UPSTREAM_FRAME_H
#define HB_UPSTREAM_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* The largest body (N) hb_tunnel_frame_decode() accepts, and the largest
 * tunnel message. The Azure client names 1 MiB but enforces nothing: an
 * app's socket.emit() of 20 MB is one tunnel message, and over the limit
 * the tunnel closes (1009) and the package sends it again on its next
 * tunnel, for ever. 100 MiB is the default maxPayload of npm's ws (what
 * the app server and Node clients read with), while bounding what a peer,
 * one that holds the access key, can make us hold. */
#define HB_TUNNEL_MAX_FRAME (100u << 20)

/* Frame types (the array's first element; the JSON repeats it as "Type"). */
enum {
    HB_TUNNEL_HTTP_REQUEST = 1,
    HB_TUNNEL_HTTP_RESPONSE = 2,
    HB_TUNNEL_SERVICE_STATUS = 5,
    HB_TUNNEL_CONNECTION_RECONNECT = 6,
    HB_TUNNEL_CONNECTION_CLOSE = 7,
    HB_TUNNEL_CONNECTION_REBALANCE = 8,
    HB_TUNNEL_CONNECTION_CONNECTED = 10
};

/* One decoded frame. Slices borrow the input of hb_tunnel_frame_decode()
 * and are valid as long as it is. */
typedef struct hb_tunnel_frame {
    int type;         /* 0..INT32_MAX; not limited to the enum above */
    hb_slice json;    /* the JSON object text, undecoded and unchecked */
    hb_slice content; /* the body bytes; {NULL, 0} when absent */
    int has_content;  /* 1 for bin (or str) content, even empty; 0 for nil
                         or a 2-element array */
} hb_tunnel_frame;

/* Decodes the one message of data (len bytes, a whole WebSocket message)
 * into *out, which then borrows from data. Every encoding a conforming
 * MessagePack writer may choose is accepted: the array as fix/16/32 with at
 * least 2 elements (elements past the third must be nil, bool, int, str or
 * bin and are skipped), type as any integer encoding whose value is in
 * 0..INT32_MAX, json as any str, content as any bin or str, or nil. Bytes
 * after the N-byte body are ignored, as the Azure client does.
 *
 * Returns 0, or HB_ETUNNEL_FRAME when data is shorter than 4 + N, N is over
 * HB_TUNNEL_MAX_FRAME, the body is not exactly one such array (truncated,
 * wrong element types, type out of range, bytes left inside the N), and
 * *out is then untouched. Never reads outside data[0..len). */
int hb_tunnel_frame_decode(const uint8_t *data, size_t len, hb_tunnel_frame *out);

/* The number of bytes hb_tunnel_frame_write() produces for these arguments,
 * length prefix included; content_len is ignored when has_content is 0.
 * Returns 0 when they cannot be encoded: type outside 0..INT32_MAX, or a
 * body over the format's UINT32_MAX bytes. (Peers, this decoder included,
 * refuse bodies over HB_TUNNEL_MAX_FRAME: split big HTTP bodies into
 * NotCompleted frames.) */
size_t hb_tunnel_frame_encoded_len(int type, size_t json_len, size_t content_len, int has_content);

/* Writes the frame [type, json, content] into dst, which must have room for
 * hb_tunnel_frame_encoded_len() bytes, and returns that count (0, writing
 * nothing, when it is 0). Always a 3-element array; content is nil when
 * has_content is 0 (content may then be NULL), else bin of content_len bytes
 * (content may be NULL when content_len is 0). Uses the smallest encodings,
 * as @msgpack/msgpack does: positive fixint or uint8/16/32 for type,
 * fixstr/str8/16/32 for json, bin8/16/32 for content. json is copied as is
 * (it should be UTF-8 JSON carrying "Type"). */
size_t hb_tunnel_frame_write(uint8_t *dst, int type, const char *json, size_t json_len,
                             const uint8_t *content, size_t content_len, int has_content);

#endif
