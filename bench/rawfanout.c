/* rawfanout: the machine's limit for a fan-out. A minimal epoll server that
 * accepts WebSocket clients, answers just enough of Engine.IO and Socket.IO
 * for bench/hubbub-bench to run its scenarios against it, and on each
 * "publish" writes one pre-built "msg" frame to every member with one write()
 * per member, keeping no other per-client state than a socket, a partial
 * input and an output backlog. Its delivered messages per second are the
 * ceiling that Hubbub's fan-out is compared with:
 *  - by default, one write per frame per member, even when several
 *    "publish" packets came in one read: the ceiling of paced broadcasts;
 *  - with --batch, the frames of every "publish" read in one loop turn go out
 *    as one write per member: the ceiling of fast broadcasts.
 *
 *   rawfanout --listen HOST:PORT [--batch]
 *
 * Prints "rawfanout: listening on http://HOST:PORT" on stderr once ready;
 * exits 0 on SIGTERM or SIGINT. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#define READ_CHUNK (256 * 1024)

typedef struct {
    char *p;
    size_t len, cap;
} bytes;

typedef struct client {
    int fd;
    int ws;     /* upgraded */
    int member; /* index in members + 1, 0 when not a member */
    bytes in;   /* an incomplete request or frame */
    bytes out;  /* what the socket did not take yet */
} client;

static client **members;
static size_t nmembers, members_cap;
static bytes batch; /* the "msg" frames of this loop turn */
static size_t *frame_ends; /* where each frame of batch ends */
static size_t nframes, frames_cap;
static int batch_mode; /* --batch: one write per member per turn */
static int ep;
static volatile sig_atomic_t stop;

static void on_signal(int sig) {
    (void)sig;
    stop = 1;
}

static void bytes_add(bytes *b, const void *p, size_t n) {
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2 + 256;
        b->p = realloc(b->p, b->cap);
        if (b->p == NULL)
            abort();
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

static void client_free(client *c) {
    if (c->member) {
        client *last = members[--nmembers];
        members[c->member - 1] = last;
        last->member = c->member;
    }
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->in.p);
    free(c->out.p);
    free(c);
}

/* Writes p to c now, or queues it behind what is already waiting. Returns -1
 * when the connection failed (the caller frees it). */
static int client_write(client *c, const char *p, size_t n) {
    ssize_t k = 0;
    if (c->out.len == 0) {
        k = write(c->fd, p, n);
        if (k < 0 && errno != EAGAIN)
            return -1;
        if (k < 0)
            k = 0;
        if ((size_t)k == n)
            return 0;
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
    }
    bytes_add(&c->out, p + k, n - (size_t)k);
    return 0;
}

static int client_flush(client *c) {
    while (c->out.len > 0) {
        ssize_t k = write(c->fd, c->out.p, c->out.len);
        if (k < 0)
            return errno == EAGAIN ? 0 : -1;
        memmove(c->out.p, c->out.p + k, c->out.len - (size_t)k);
        c->out.len -= (size_t)k;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
    return 0;
}

/* An unmasked server text frame header for n bytes into h; returns its length. */
static size_t frame_header(char *h, size_t n) {
    h[0] = (char)0x81;
    if (n < 126) {
        h[1] = (char)n;
        return 2;
    }
    if (n < 65536) {
        h[1] = 126;
        h[2] = (char)(n >> 8);
        h[3] = (char)n;
        return 4;
    }
    h[1] = 127;
    for (int i = 0; i < 8; i++)
        h[2 + i] = (char)((uint64_t)n >> (56 - 8 * i));
    return 10;
}

static int send_text(client *c, const char *p, size_t n) {
    char h[10];
    size_t hl = frame_header(h, n);
    char *f = malloc(hl + n);
    int r;
    if (f == NULL)
        abort();
    memcpy(f, h, hl);
    memcpy(f + hl, p, n);
    r = client_write(c, f, hl + n);
    free(f);
    return r;
}

/* One Engine.IO packet from a client. Returns -1 to close. */
static int on_packet(client *c, const char *p, size_t n) {
    const char *q, *end = p + n;
    char id[24];
    size_t idl = 0;
    if (n == 0)
        return 0;
    if (p[0] == '1')
        return -1;
    if (p[0] != '4' || n < 2)
        return 0; /* pongs and the rest */
    if (p[1] == '0') {
        char m[64];
        int k = snprintf(m, sizeof(m), "40{\"sid\":\"raw%d\"}", c->fd);
        return send_text(c, m, (size_t)k);
    }
    if (p[1] == '1')
        return -1;
    if (p[1] != '2')
        return 0;
    q = p + 2;
    while (q < end && *q >= '0' && *q <= '9' && idl < sizeof(id) - 1)
        id[idl++] = *q++;
    id[idl] = '\0';
    if (end - q > 11 && memcmp(q, "[\"publish\",", 11) == 0) {
        /* 42["publish","room",PAYLOAD] -> 42["msg",PAYLOAD] to every member */
        const char *room_end, *payload, *last = end - 1;
        char h[10];
        size_t hl, len;
        room_end = memchr(q + 12, '"', (size_t)(end - q - 12));
        if (room_end == NULL || room_end + 2 > last || room_end[1] != ',' || *last != ']')
            return 0;
        payload = room_end + 2;
        len = 9 + (size_t)(last - payload) + 1;
        hl = frame_header(h, len);
        bytes_add(&batch, h, hl);
        bytes_add(&batch, "42[\"msg\",", 9);
        bytes_add(&batch, payload, (size_t)(last - payload) + 1);
        if (nframes == frames_cap) {
            frames_cap = frames_cap ? frames_cap * 2 : 64;
            frame_ends = realloc(frame_ends, frames_cap * sizeof(*frame_ends));
            if (frame_ends == NULL)
                abort();
        }
        frame_ends[nframes++] = batch.len;
        if (idl > 0) {
            char m[32];
            int k = snprintf(m, sizeof(m), "43%s[]", id);
            return send_text(c, m, (size_t)k);
        }
        return 0;
    }
    if (end - q > 8 && memcmp(q, "[\"join\",", 8) == 0) {
        if (!c->member) {
            if (nmembers == members_cap) {
                members_cap = members_cap ? members_cap * 2 : 1024;
                members = realloc(members, members_cap * sizeof(*members));
                if (members == NULL)
                    abort();
            }
            members[nmembers++] = c;
            c->member = (int)nmembers;
        }
        if (idl > 0) {
            char m[32];
            int k = snprintf(m, sizeof(m), "43%s[]", id);
            return send_text(c, m, (size_t)k);
        }
        return 0;
    }
    if (idl > 0 && end - q > 8 && memcmp(q, "[\"echo\",", 8) == 0) {
        /* 42N["echo",ARGS...] -> 43N[ARGS...] */
        bytes m = {0};
        int r;
        bytes_add(&m, "43", 2);
        bytes_add(&m, id, idl);
        bytes_add(&m, "[", 1);
        bytes_add(&m, q + 8, (size_t)(end - q - 8));
        r = send_text(c, m.p, m.len);
        free(m.p);
        return r;
    }
    return 0;
}

static int on_upgrade(client *c, const char *req, size_t n) {
    static const char magic[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    static const char open_pkt[] = "0{\"sid\":\"raw\",\"upgrades\":[],\"pingInterval\":25000,"
                                   "\"pingTimeout\":20000,\"maxPayload\":1000000}";
    const char *k = memmem(req, n, "Sec-WebSocket-Key:", 18);
    const char *e;
    char key[128], resp[256];
    unsigned char sha[SHA_DIGEST_LENGTH];
    unsigned char accept[64];
    size_t kl;
    int rl;
    if (k == NULL)
        return -1;
    k += 18;
    while (*k == ' ')
        k++;
    e = memchr(k, '\r', (size_t)(req + n - k));
    if (e == NULL || (kl = (size_t)(e - k)) > 64)
        return -1;
    memcpy(key, k, kl);
    memcpy(key + kl, magic, sizeof(magic) - 1);
    SHA1((const unsigned char *)key, kl + sizeof(magic) - 1, sha);
    EVP_EncodeBlock(accept, sha, SHA_DIGEST_LENGTH);
    rl = snprintf(resp, sizeof(resp),
                  "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                  "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                  (const char *)accept);
    c->ws = 1;
    if (client_write(c, resp, (size_t)rl) != 0)
        return -1;
    return send_text(c, open_pkt, sizeof(open_pkt) - 1);
}

/* Parses requests and frames of p; returns the bytes used, -1 to close. */
static long parse(client *c, char *p, size_t n) {
    size_t used = 0;
    if (!c->ws) {
        char *e = memmem(p, n, "\r\n\r\n", 4);
        if (e == NULL)
            return n > 16384 ? -1 : 0;
        used = (size_t)(e - p) + 4;
        if (on_upgrade(c, p, used) != 0)
            return -1;
    }
    while (n - used >= 2) {
        uint8_t *f = (uint8_t *)p + used;
        size_t avail = n - used, h = 2;
        uint64_t len = f[1] & 0x7f;
        int op = f[0] & 0x0f, masked = f[1] & 0x80;
        if (len == 126) {
            if (avail < 4)
                break;
            len = ((uint64_t)f[2] << 8) | f[3];
            h = 4;
        } else if (len == 127) {
            if (avail < 10)
                break;
            len = 0;
            for (int i = 0; i < 8; i++)
                len = (len << 8) | f[2 + i];
            h = 10;
        }
        if (masked)
            h += 4;
        if (avail < h || avail - h < len)
            break;
        if (masked) {
            const uint8_t *key = f + h - 4;
            if (key[0] | key[1] | key[2] | key[3])
                for (uint64_t i = 0; i < len; i++)
                    f[h + i] ^= key[i & 3];
        }
        if (op == 8)
            return -1;
        if (op == 1 && on_packet(c, (const char *)f + h, (size_t)len) != 0)
            return -1;
        used += h + (size_t)len;
    }
    return (long)used;
}

static int on_readable(client *c, char *buf) {
    for (;;) {
        ssize_t k = read(c->fd, buf, READ_CHUNK);
        long used;
        if (k == 0)
            return -1;
        if (k < 0)
            return errno == EAGAIN ? 0 : -1;
        if (c->in.len == 0) {
            used = parse(c, buf, (size_t)k);
            if (used < 0)
                return -1;
            if ((size_t)used < (size_t)k)
                bytes_add(&c->in, buf + used, (size_t)k - (size_t)used);
        } else {
            bytes_add(&c->in, buf, (size_t)k);
            used = parse(c, c->in.p, c->in.len);
            if (used < 0)
                return -1;
            memmove(c->in.p, c->in.p + used, c->in.len - (size_t)used);
            c->in.len -= (size_t)used;
        }
        if (k < READ_CHUNK)
            return 0;
    }
}

int main(int argc, char **argv) {
    struct sockaddr_in addr = {.sin_family = AF_INET};
    struct epoll_event evs[256];
    char *buf;
    int lfd, one = 1;
    const char *listen_at = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc)
            listen_at = argv[++i];
        else if (strcmp(argv[i], "--batch") == 0)
            batch_mode = 1;
        else if (strcmp(argv[i], "--app") == 0 && i + 1 < argc)
            i++; /* accepted like hubbub's, ignored */
        else {
            fprintf(stderr, "usage: rawfanout --listen HOST:PORT [--batch]\n");
            return 2;
        }
    }
    if (listen_at == NULL) {
        fprintf(stderr, "usage: rawfanout --listen HOST:PORT [--batch]\n");
        return 2;
    }
    {
        char host[64];
        const char *colon = strrchr(listen_at, ':');
        size_t hl = colon ? (size_t)(colon - listen_at) : 0;
        if (colon == NULL || hl >= sizeof(host)) {
            fprintf(stderr, "rawfanout: --listen wants HOST:PORT\n");
            return 2;
        }
        memcpy(host, listen_at, hl);
        host[hl] = '\0';
        addr.sin_port = htons((uint16_t)atoi(colon + 1));
        if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
            fprintf(stderr, "rawfanout: %s is not an IPv4 address\n", host);
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(lfd, 4096) != 0) {
        fprintf(stderr, "rawfanout: %s: %s\n", listen_at, strerror(errno));
        return 1;
    }
    ep = epoll_create1(EPOLL_CLOEXEC);
    {
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
        epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    }
    buf = malloc(READ_CHUNK);
    if (buf == NULL)
        abort();
    fprintf(stderr, "rawfanout: listening on http://%s\n", listen_at);
    while (!stop) {
        int n = epoll_wait(ep, evs, 256, 1000);
        if (n < 0 && errno == EINTR)
            continue;
        for (int i = 0; i < n; i++) {
            client *c = evs[i].data.ptr;
            if (c == NULL) {
                int fd;
                while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                    client *nc = calloc(1, sizeof(*nc));
                    struct epoll_event ev = {.events = EPOLLIN};
                    if (nc == NULL)
                        abort();
                    nc->fd = fd;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                    ev.data.ptr = nc;
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
                }
                continue;
            }
            if ((evs[i].events & EPOLLOUT) && client_flush(c) != 0) {
                client_free(c);
                continue;
            }
            if ((evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && on_readable(c, buf) != 0)
                client_free(c);
        }
        /* What was published in this turn, after the reads (so that no
         * client is freed while its input is parsed): each frame to every
         * member in turn, or with --batch all of them in one write per
         * member. A member whose write fails is freed at once; the last
         * member takes its slot, so the same index is visited again. */
        for (size_t f = 0, start = 0; f < nframes; f++) {
            size_t end = batch_mode ? batch.len : frame_ends[f];
            for (size_t m = 0; m < nmembers;) {
                client *c = members[m];
                if (client_write(c, batch.p + start, end - start) != 0)
                    client_free(c);
                else
                    m++;
            }
            if (batch_mode)
                break;
            start = end;
        }
        batch.len = 0;
        nframes = 0;
    }
    free(buf);
    return 0;
}
