/* hb_conn: one accepted TCP connection with a queue of shared buffers to
 * write. The protocol on top (HTTP, then maybe WebSocket) is a handler that
 * can be swapped; the queue is flushed once per loop turn with one writev.
 * hb_listener accepts connections into blocks of a size the protocol asks
 * for, so protocol state and the TCP handle are one allocation. */
#ifndef HB_NET_CONN_H
#define HB_NET_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "core/buf.h"
#include "net/loop.h"

typedef struct hb_conn_handler {
    /* Bytes arrived. data is the loop's shared buffer, lent for this call
     * only: keep what you need by copying. Mutable (WebSocket unmasks in
     * place). */
    void (*on_read)(hb_conn *c, uint8_t *data, size_t len);
    /* The peer closed (UV_EOF) or the socket failed; call hb_conn_close(). */
    void (*on_eof)(hb_conn *c, int err);
    /* The handle is closed: release protocol state. The connection's memory
     * is freed by net right after this returns. */
    void (*on_close)(hb_conn *c);
    /* Optional: every queued byte has been handed to the kernel (the
     * queue was not empty before). A relay that stopped reading its other
     * side while this one was full resumes here. */
    void (*on_drain)(hb_conn *c);
} hb_conn_handler;

struct hb_conn {
    uv_tcp_t tcp;
    hb_loop *loop;
    const hb_conn_handler *h;
    void *ud;               /* the handler's own pointer */
    hb_conn *flush_next;    /* link in loop->flush_head */
    hb_buf **wq;            /* queued buffers, not yet handed to the kernel:
                               &wq_one, or an array while more wait */
    hb_buf *wq_one;
    uint32_t wq_len, wq_cap;
    size_t wq_off;          /* bytes of wq[0] already written */
    size_t queued_bytes;    /* in wq and in flight, for the limit */
    struct conn_write *inflight; /* the uv_write in progress, if any */
    uint8_t in_flush_list;
    uint8_t closing;
    uint8_t close_after_flush;
    uint8_t reading;
};

typedef struct hb_listener hb_listener;
/* A new connection was accepted into c (handler unset, not reading yet);
 * set c->h and c->ud, then hb_conn_read_start(). */
typedef void (*hb_accept_cb)(hb_listener *l, hb_conn *c);

struct hb_listener {
    uv_tcp_t tcp;
    hb_loop *loop;
    size_t conn_size;   /* bytes to allocate per connection, >= sizeof(hb_conn) */
    hb_accept_cb on_accept;
    void *ud;
    char name[80];      /* "127.0.0.1:3000", for logs */
};

/* Default cap on bytes queued per connection before writes are refused
 * (a single buffer over it is taken when nothing else is queued). */
#define HB_CONN_MAX_QUEUED (32u << 20)

/* Binds and listens on host:port (IPv4 or IPv6 literal, or "localhost").
 * Returns 0 or a UV_E* code (UV_EADDRINUSE, UV_EINVAL...). */
int hb_listener_start(hb_listener *l, hb_loop *loop, const char *host, int port,
                      size_t conn_size, hb_accept_cb cb, void *ud);
/* The port actually bound (useful with port 0). */
int hb_listener_port(const hb_listener *l);
/* Stops accepting and closes the handle; l must stay valid until the loop
 * has run the close. */
void hb_listener_stop(hb_listener *l);

int hb_conn_read_start(hb_conn *c);
void hb_conn_read_stop(hb_conn *c);
/* Queues b (the connection takes its own reference; the caller keeps its
 * one). Returns 0, HB_ETOOBIG when the queue limit would be passed (nothing
 * queued; the caller decides to drop or close), HB_ENOMEM, or UV_ECANCELED
 * on a closing connection. */
int hb_conn_write(hb_conn *c, hb_buf *b);
/* Like hb_conn_write but transfers the caller's reference, also on error. */
int hb_conn_write_take(hb_conn *c, hb_buf *b);
/* Closes now: queued bytes are dropped. Idempotent. */
void hb_conn_close(hb_conn *c);
/* Closes once the queued bytes are written (or failed). Idempotent. */
void hb_conn_close_after_flush(hb_conn *c);
/* The peer's address as "ip:port" into out. */
void hb_conn_peer(hb_conn *c, char *out, size_t cap);

/* Flushes every connection queued on loop; called from the check phase. */
void hb_conn__flush_all(hb_loop *loop);

#endif
