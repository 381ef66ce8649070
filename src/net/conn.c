/* Accepting, reading and batched writing. Reads land in the loop's one
 * buffer. Writes are queued as buffer references and flushed in the check
 * phase: uv_try_write for what the kernel takes at once, one uv_write for
 * the rest, so a connection that receives ten broadcasts in one turn makes
 * one syscall. A connection is freed only from its close callback. */
#include "net/conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hubbub/error.h"

enum { MAX_IOV = 64 };

typedef struct conn_write {
    uv_write_t req;
    hb_conn *conn;
    uint32_t n;
    hb_buf *bufs[]; /* references held until the write completes */
} conn_write;

static void flush(hb_conn *c);

static void drained(hb_conn *c) {
    if (!c->closing && !c->close_after_flush && c->wq_len == 0 && c->inflight == NULL &&
        c->h != NULL && c->h->on_drain != NULL)
        c->h->on_drain(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    hb_conn *c = h->data;
    (void)suggested;
    buf->base = (char *)c->loop->rbuf;
    buf->len = c->loop->rbuf_size;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
    hb_conn *c = s->data;
    (void)buf;
    if (nread > 0) {
        if (!c->closing)
            c->h->on_read(c, c->loop->rbuf, (size_t)nread);
    } else if (nread < 0) {
        hb_conn_read_stop(c);
        if (!c->closing)
            c->h->on_eof(c, (int)nread);
    }
}

/* An empty queue goes back to the inline slot: an idle connection keeps
 * no array, and one frame per loop turn (a paced broadcast) never needs
 * one. */
static void wq_reset(hb_conn *c) {
    if (c->wq != &c->wq_one)
        free(c->wq);
    c->wq = &c->wq_one;
    c->wq_cap = 1;
}

static void on_handle_closed(uv_handle_t *h) {
    hb_conn *c = h->data;
    for (uint32_t i = 0; i < c->wq_len; i++)
        hb_buf_unref(c->wq[i]);
    if (c->wq != &c->wq_one)
        free(c->wq);
    if (c->h != NULL && c->h->on_close != NULL)
        c->h->on_close(c);
    free(c);
}

static void on_connection(uv_stream_t *server, int status) {
    hb_listener *l = server->data;
    hb_conn *c;
    if (status < 0)
        return;
    c = calloc(1, l->conn_size);
    if (c == NULL)
        return; /* the kernel keeps it in the backlog; we retry next time */
    c->loop = l->loop;
    c->wq = &c->wq_one;
    c->wq_cap = 1;
    uv_tcp_init(l->loop->uv, &c->tcp);
    c->tcp.data = c;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    l->on_accept(l, c);
}

int hb_listener_start(hb_listener *l, hb_loop *loop, const char *host, int port,
                      size_t conn_size, hb_accept_cb cb, void *ud) {
    struct sockaddr_storage addr;
    int err;
    if (strcmp(host, "localhost") == 0)
        host = "127.0.0.1";
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)&addr) != 0 &&
        (err = uv_ip6_addr(host, port, (struct sockaddr_in6 *)&addr)) != 0)
        return err;
    l->loop = loop;
    l->conn_size = conn_size;
    l->on_accept = cb;
    l->ud = ud;
    snprintf(l->name, sizeof(l->name), strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
    if ((err = uv_tcp_init(loop->uv, &l->tcp)) != 0)
        return err;
    l->tcp.data = l;
    if ((err = uv_tcp_bind(&l->tcp, (struct sockaddr *)&addr, 0)) != 0 ||
        (err = uv_listen((uv_stream_t *)&l->tcp, 1024, on_connection)) != 0) {
        uv_close((uv_handle_t *)&l->tcp, NULL);
        return err;
    }
    if (port == 0) {
        port = hb_listener_port(l);
        snprintf(l->name, sizeof(l->name), strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
    }
    return 0;
}

int hb_listener_port(const hb_listener *l) {
    struct sockaddr_storage addr;
    int len = sizeof(addr);
    if (uv_tcp_getsockname(&l->tcp, (struct sockaddr *)&addr, &len) != 0)
        return -1;
    if (addr.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&addr)->sin6_port);
    return ntohs(((struct sockaddr_in *)&addr)->sin_port);
}

void hb_listener_stop(hb_listener *l) {
    if (!uv_is_closing((uv_handle_t *)&l->tcp))
        uv_close((uv_handle_t *)&l->tcp, NULL);
}

int hb_conn_read_start(hb_conn *c) {
    if (c->reading || c->closing)
        return 0;
    c->reading = 1;
    return uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

void hb_conn_read_stop(hb_conn *c) {
    if (!c->reading)
        return;
    c->reading = 0;
    uv_read_stop((uv_stream_t *)&c->tcp);
}

int hb_conn_write(hb_conn *c, hb_buf *b) {
    if (c->closing || c->close_after_flush)
        return UV_ECANCELED;
    /* One buffer bigger than the bound alone still goes: the bound is
     * against a reader that never reads, not against big messages. */
    if (c->queued_bytes > 0 && c->queued_bytes + b->len > HB_CONN_MAX_QUEUED)
        return HB_ETOOBIG;
    if (c->wq_len == c->wq_cap) {
        /* Past the inline slot, straight to 16: a burst of broadcasts
         * costs one malloc per turn, not a series of reallocs. */
        int inl = c->wq == &c->wq_one;
        uint32_t cap = inl ? 16 : c->wq_cap * 2;
        hb_buf **wq = inl ? malloc(cap * sizeof(*wq)) : realloc(c->wq, cap * sizeof(*wq));
        if (wq == NULL)
            return HB_ENOMEM;
        if (inl)
            wq[0] = c->wq_one;
        c->wq = wq;
        c->wq_cap = cap;
    }
    c->wq[c->wq_len++] = hb_buf_ref(b);
    c->queued_bytes += b->len;
    if (!c->in_flush_list) {
        /* In order of first write, so that answers leave in the order they
         * were given (a POST's "ok" before the poll answer it caused). */
        c->in_flush_list = 1;
        c->flush_next = NULL;
        if (c->loop->flush_head == NULL)
            c->loop->flush_head = c;
        else
            c->loop->flush_tail->flush_next = c;
        c->loop->flush_tail = c;
    }
    return 0;
}

int hb_conn_write_take(hb_conn *c, hb_buf *b) {
    int err = hb_conn_write(c, b);
    hb_buf_unref(b);
    return err;
}

void hb_conn_close(hb_conn *c) {
    if (c->closing)
        return;
    c->closing = 1;
    hb_conn_read_stop(c);
    uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
}

void hb_conn_close_after_flush(hb_conn *c) {
    if (c->closing)
        return;
    if (c->wq_len == 0 && c->inflight == NULL) {
        hb_conn_close(c);
        return;
    }
    c->close_after_flush = 1;
    hb_conn_read_stop(c);
}

void hb_conn_peer(hb_conn *c, char *out, size_t cap) {
    struct sockaddr_storage addr;
    int len = sizeof(addr);
    char ip[64] = "?";
    int port = 0;
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&addr, &len) == 0) {
        if (addr.ss_family == AF_INET6) {
            uv_ip6_name((struct sockaddr_in6 *)&addr, ip, sizeof(ip));
            port = ntohs(((struct sockaddr_in6 *)&addr)->sin6_port);
        } else {
            uv_ip4_name((struct sockaddr_in *)&addr, ip, sizeof(ip));
            port = ntohs(((struct sockaddr_in *)&addr)->sin_port);
        }
    }
    snprintf(out, cap, "%s:%d", ip, port);
}

/* Drops the first `written` bytes of the queue, releasing whole buffers. */
static void consume(hb_conn *c, size_t written) {
    uint32_t done = 0;
    c->queued_bytes -= written;
    while (written > 0) {
        size_t left = c->wq[done]->len - c->wq_off;
        if (written < left) {
            c->wq_off += written;
            break;
        }
        written -= left;
        c->wq_off = 0;
        hb_buf_unref(c->wq[done++]);
    }
    if (done > 0) {
        memmove(c->wq, c->wq + done, (c->wq_len - done) * sizeof(*c->wq));
        c->wq_len -= done;
    }
    if (c->wq_len == 0)
        wq_reset(c);
}

static void on_write(uv_write_t *req, int status) {
    conn_write *w = (conn_write *)req;
    hb_conn *c = w->conn;
    for (uint32_t i = 0; i < w->n; i++) {
        c->queued_bytes -= w->bufs[i]->len;
        hb_buf_unref(w->bufs[i]);
    }
    free(w);
    c->inflight = NULL;
    if (c->closing)
        return;
    if (status < 0) {
        hb_conn_close(c);
        return;
    }
    if (c->wq_len > 0)
        flush(c);
    else if (c->close_after_flush)
        hb_conn_close(c);
    else
        drained(c);
}

static void flush(hb_conn *c) {
    uv_buf_t iov[MAX_IOV];
    uint32_t n;
    int r;

    if (c->closing || c->inflight != NULL || c->wq_len == 0)
        goto maybe_close;
    /* Hand the kernel as much as it takes right now. */
    while (c->wq_len > 0) {
        n = c->wq_len < MAX_IOV ? c->wq_len : MAX_IOV;
        for (uint32_t i = 0; i < n; i++) {
            size_t off = i == 0 ? c->wq_off : 0;
            iov[i] = uv_buf_init((char *)c->wq[i]->data + off, (unsigned)(c->wq[i]->len - off));
        }
        r = uv_try_write((uv_stream_t *)&c->tcp, iov, n);
        if (r == UV_EAGAIN)
            break;
        if (r < 0) {
            hb_conn_close(c);
            return;
        }
        consume(c, (size_t)r);
        if (c->wq_len > 0 && c->wq_off > 0)
            break; /* partial: the socket buffer is full */
    }
    if (c->wq_len > 0) {
        /* The rest goes through one uv_write that owns the references. */
        conn_write *w;
        uv_buf_t *bufs;
        n = c->wq_len;
        w = malloc(sizeof(*w) + n * sizeof(hb_buf *));
        bufs = malloc(n * sizeof(*bufs));
        if (w == NULL || bufs == NULL) {
            free(w);
            free(bufs);
            hb_conn_close(c);
            return;
        }
        w->conn = c;
        w->n = n;
        for (uint32_t i = 0; i < n; i++) {
            size_t off = i == 0 ? c->wq_off : 0;
            w->bufs[i] = c->wq[i];
            bufs[i] = uv_buf_init((char *)c->wq[i]->data + off, (unsigned)(c->wq[i]->len - off));
        }
        /* consume() already subtracted the written head of the first
         * buffer, and on_write() subtracts whole lengths: add it back. */
        c->queued_bytes += c->wq_off;
        c->wq_len = 0;
        c->wq_off = 0;
        wq_reset(c);
        r = uv_write(&w->req, (uv_stream_t *)&c->tcp, bufs, n, on_write);
        free(bufs); /* libuv copies the buffer array */
        if (r < 0) {
            for (uint32_t i = 0; i < n; i++) {
                c->queued_bytes -= w->bufs[i]->len;
                hb_buf_unref(w->bufs[i]);
            }
            free(w);
            hb_conn_close(c);
            return;
        }
        c->inflight = w;
        return;
    }
maybe_close:
    if (!c->closing && c->close_after_flush && c->wq_len == 0 && c->inflight == NULL)
        hb_conn_close(c);
    else
        drained(c);
}

void hb_conn__flush_all(hb_loop *loop) {
    while (loop->flush_head != NULL) {
        hb_conn *c = loop->flush_head;
        loop->flush_head = c->flush_next;
        c->flush_next = NULL;
        c->in_flush_list = 0;
        flush(c);
    }
}
