/* hb_dial: connecting a TCP handle to "HOST:PORT", as the cluster reaches
 * other nodes (forwarded polling requests, relayed WebSocket upgrades).
 * An IPv4 or [IPv6] literal connects at once; a name is resolved with
 * uv_getaddrinfo first, off the loop thread. The caller owns the handle
 * and closes it however the dial ends. */
#ifndef HB_NET_DIAL_H
#define HB_NET_DIAL_H

#include <stddef.h>
#include <uv.h>

typedef struct hb_dial hb_dial;
/* The dial ended: status 0 when tcp is connected, else a UV_E* code
 * (UV_ECANCELED when tcp was closed meanwhile, UV_EAI_* when the name did
 * not resolve, UV_ECONNREFUSED...). */
typedef void (*hb_dial_cb)(hb_dial *d, int status);

struct hb_dial {
    uv_getaddrinfo_t gai;
    uv_connect_t connect;
    uv_tcp_t *tcp;
    hb_dial_cb cb;
    void *data;               /* the caller's */
};

/* Splits "HOST:PORT" or "[V6]:PORT" into host (brackets removed) and port
 * text, NUL-terminated. Returns 0, or HB_EINVAL when addr has no port, an
 * empty host, or a part longer than its buffer (hcap, pcap with the NUL). */
int hb_dial_split(const char *addr, char *host, size_t hcap, char *port, size_t pcap);

/* Connects tcp (initialised with uv_tcp_init, not connected; borrowed) to
 * addr (copied as needed). Returns 0, after which cb(d, status) is called
 * exactly once, with d and tcp valid until then; or an error, and cb is
 * never called: HB_EINVAL for a malformed addr, or libuv's code. */
int hb_dial_start(hb_dial *d, uv_loop_t *loop, uv_tcp_t *tcp, const char *addr, hb_dial_cb cb);

#endif
