/* Hubbub error codes.
 *
 * Every fallible function returns 0 or a negative code. libuv's UV_E* codes
 * pass through unchanged (they are negated errno values, all above -4096 on
 * Linux, so Hubbub's own codes start at -10000 to never collide). Codes are
 * grouped by layer in hundreds so a number alone says where it came from. */
#ifndef HUBBUB_ERROR_H
#define HUBBUB_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define HB_EXPORT __attribute__((visibility("default")))
#else
#define HB_EXPORT
#endif

enum {
    /* core: -100xx */
    HB_ENOMEM = -10001,     /* an allocation failed */
    HB_EINVAL = -10002,     /* an argument is out of its domain */
    HB_ETOOBIG = -10003,    /* a size limit was exceeded */
    HB_EAGAIN = -10004,     /* more input is needed */
    HB_EBADBASE64 = -10005, /* not valid base64 */
    HB_ETIMEDOUT = -10006,  /* no answer in time (acks) */

    /* http: -101xx */
    HB_EHTTP_PARSE = -10101,        /* the request does not parse */
    HB_EHTTP_HEADERS_TOO_BIG = -10102, /* headers over the limit (431) */
    HB_EHTTP_BODY_TOO_BIG = -10103, /* body over the limit (413) */
    HB_EHTTP_TIMEOUT = -10104,      /* headers did not arrive in time */

    /* ws: -102xx */
    HB_EWS_PROTOCOL = -10201,   /* a frame breaks RFC 6455 (close 1002) */
    HB_EWS_UTF8 = -10202,       /* text is not UTF-8 (close 1007) */
    HB_EWS_TOO_BIG = -10203,    /* message over the limit (close 1009) */
    HB_EWS_HANDSHAKE = -10204,  /* the upgrade request is not valid (400) */

    /* eio: -103xx */
    HB_EEIO_PACKET = -10301,  /* an Engine.IO packet does not decode */
    HB_EEIO_PAYLOAD = -10302, /* a polling payload does not decode */

    /* sio: -104xx */
    HB_ESIO_PACKET = -10401,      /* a Socket.IO packet does not decode */
    HB_ESIO_ATTACHMENTS = -10402, /* attachments missing, extra or too many */

    /* upstream: -105xx */
    HB_ETUNNEL_FRAME = -10501, /* an Azure Web PubSub tunnel frame does not decode */

    /* api: -106xx */
    HB_EJWT = -10601, /* a JWT is malformed, badly signed, expired or not yet valid */

    /* cluster: -107xx */
    HB_ECLUSTER = -10701, /* the other nodes could not be reached (Redis away) */
};

/* A static English description of code (HB_E* or UV_E*). Never NULL. */
HB_EXPORT const char *hb_strerror(int code);

#ifdef __cplusplus
}
#endif
#endif
