/* hb_strerror(): one place that names every Hubbub error code. libuv's codes
 * are delegated to uv_strerror() so callers never need to know the origin. */
#include "hubbub/error.h"

#include <uv.h>

const char *hb_strerror(int code) {
    switch (code) {
    case 0: return "success";
    case HB_ENOMEM: return "out of memory";
    case HB_EINVAL: return "invalid argument";
    case HB_ETOOBIG: return "size limit exceeded";
    case HB_EAGAIN: return "more input needed";
    case HB_EBADBASE64: return "invalid base64";
    case HB_ETIMEDOUT: return "timed out";
    case HB_EHTTP_PARSE: return "malformed HTTP request";
    case HB_EHTTP_HEADERS_TOO_BIG: return "HTTP headers too large";
    case HB_EHTTP_BODY_TOO_BIG: return "HTTP body too large";
    case HB_EHTTP_TIMEOUT: return "HTTP request headers timed out";
    case HB_EWS_PROTOCOL: return "WebSocket protocol error";
    case HB_EWS_UTF8: return "WebSocket text is not valid UTF-8";
    case HB_EWS_TOO_BIG: return "WebSocket message too big";
    case HB_EWS_HANDSHAKE: return "bad WebSocket handshake";
    case HB_EEIO_PACKET: return "malformed Engine.IO packet";
    case HB_EEIO_PAYLOAD: return "malformed Engine.IO payload";
    case HB_ESIO_PACKET: return "malformed Socket.IO packet";
    case HB_ESIO_ATTACHMENTS: return "bad Socket.IO binary attachments";
    case HB_ETUNNEL_FRAME: return "malformed Azure Web PubSub tunnel frame";
    case HB_EJWT: return "invalid or rejected JWT";
    case HB_ECLUSTER: return "the other nodes of the cluster could not be reached";
    }
    if (code < 0 && code > -4096)
        return uv_strerror(code);
    return "unknown error";
}
