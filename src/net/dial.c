/* Dialling HOST:PORT (net/dial.h). A resolution in progress cannot be
 * stopped by closing the handle, so on_resolved checks whether the caller
 * closed it meanwhile and then reports UV_ECANCELED without connecting. */
#include "net/dial.h"

#include <stdlib.h>
#include <string.h>

#include "hubbub/error.h"

int hb_dial_split(const char *addr, char *host, size_t hcap, char *port, size_t pcap) {
    const char *colon = strrchr(addr, ':');
    const char *h = addr;
    size_t hlen, plen;
    if (colon == NULL)
        return HB_EINVAL;
    plen = strlen(colon + 1);
    if (plen == 0 || plen >= pcap)
        return HB_EINVAL;
    hlen = (size_t)(colon - addr);
    if (hlen >= 2 && addr[0] == '[' && addr[hlen - 1] == ']') {
        h++;
        hlen -= 2;
    }
    if (hlen == 0 || hlen >= hcap)
        return HB_EINVAL;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    memcpy(port, colon + 1, plen + 1);
    return 0;
}

static void on_connected(uv_connect_t *req, int status) {
    hb_dial *d = req->data;
    d->cb(d, status);
}

static int connect_to(hb_dial *d, const struct sockaddr *sa) {
    d->connect.data = d;
    return uv_tcp_connect(&d->connect, d->tcp, sa, on_connected);
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
    hb_dial *d = req->data;
    int err = status < 0 ? status : res == NULL ? UV_EAI_NONAME : 0;
    if (err == 0 && uv_is_closing((uv_handle_t *)d->tcp))
        err = UV_ECANCELED;
    if (err == 0)
        err = connect_to(d, res->ai_addr);
    uv_freeaddrinfo(res);
    if (err != 0)
        d->cb(d, err);
}

int hb_dial_start(hb_dial *d, uv_loop_t *loop, uv_tcp_t *tcp, const char *addr, hb_dial_cb cb) {
    char host[260], port[8];
    struct sockaddr_storage ss;
    struct addrinfo hints;
    int p;
    if (hb_dial_split(addr, host, sizeof(host), port, sizeof(port)) != 0)
        return HB_EINVAL;
    p = atoi(port);
    d->tcp = tcp;
    d->cb = cb;
    if (uv_ip4_addr(host, p, (struct sockaddr_in *)&ss) == 0 ||
        uv_ip6_addr(host, p, (struct sockaddr_in6 *)&ss) == 0)
        return connect_to(d, (const struct sockaddr *)&ss);
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    d->gai.data = d;
    return uv_getaddrinfo(loop, &d->gai, on_resolved, host, port, &hints);
}
