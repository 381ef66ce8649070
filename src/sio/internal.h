/* The Socket.IO server's shared state, private to src/sio: what a
 * namespace, a client (one Engine.IO session), a socket (one client in one
 * namespace), an ack and a broadcast are, and the functions the files of
 * the module call across. The public face is include/hubbub/hubbub.h;
 * sio/server.h is what the runtime above uses. */
#ifndef HB_SIO_INTERNAL_H
#define HB_SIO_INTERNAL_H

#include <regex.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/timer.h"
#include "eio/server.h"
#include "groups/groups.h"
#include "hubbub/hubbub.h"
#include "sio/decoder.h"
#include "sio/handlers.h"
#include "sio/packet.h"
#include "sio/recovery.h"
#include "sio/server.h"

#define HB_SIO_MAX_OUT_BINS 64 /* binary arguments per emitted packet */

/* An encoded packet: the text message, then its binary attachments, each
 * an Engine.IO message built once (hb_eio_message_new) and shared by every
 * recipient. */
typedef struct hb_sio_out {
    hb_buf *msgs[1 + HB_SIO_MAX_OUT_BINS];
    size_t n;
} hb_sio_out;

typedef struct hb_sio_middleware {
    hb_middleware_cb cb;
    void *ud;
} hb_sio_middleware;

struct hb_nsp {
    hb_sio_server *srv;
    hb_nsp *next;             /* the server's namespaces, or its dynamic parents */
    char *name;               /* "/chat"; NULL for a dynamic parent */
    hb_nsp *parent;           /* the dynamic parent a child was made by */
    hb_nsp *children;         /* a parent's children, through sibling */
    hb_nsp *sibling;
    hb_nsp_match_cb match;    /* a dynamic parent's test, or ... */
    void *match_ud;
    regex_t *regex;           /* ... its pattern */
    hb_connection_cb on_connection;
    void *connection_ud;
    hb_sio_middleware *mw;
    size_t nmw;
    hb_groups *rooms;         /* every connected socket is a member */
    hb_sio_log *log;          /* connection-state recovery, when on */
    int64_t next_ack_id;      /* shared by emits and broadcasts, as in socket.io */
    struct hb_sio_server_handler *server_handlers; /* hb_nsp_on_server_event */
};

typedef struct hb_sio_handshake {
    char *url;                /* path?query of the Engine.IO handshake */
    char *query;              /* the raw query, "" if none */
    char *address;            /* the peer IP */
    int64_t time_ms;
    size_t nheaders;
    char *headers;            /* read with hb_sio__header_next() */
    struct hb_sio_qcache *qcache; /* decoded query values handed out */
} hb_sio_handshake;

typedef struct hb_sio_client {
    hb_sio_server *srv;
    hb_eio_session *session;  /* NULL once the session has closed */
    hb_sio_decoder dec;
    hb_socket *sockets;       /* connected and connecting, in join order */
    struct hb_sio_client *grave; /* the server's list of clients to free */
    hb_sio_handshake hs;
    hb_timer connect_timer;
    uint8_t closed;
    char hsbuf[];             /* the handshake's strings, in the same allocation */
} hb_sio_client;

enum { HB_SOCK_CONNECTING, HB_SOCK_CONNECTED, HB_SOCK_CLOSING, HB_SOCK_CLOSED };


typedef struct hb_sio_bus_acks hb_sio_bcast_ack; /* server_event.c */
void hb_sio__server_handlers_free(hb_nsp *nsp);

/* bcast.c */

/* A server → client emit waiting for its ack. */
typedef struct hb_sio_pending {
    struct hb_sio_pending *next;
    hb_socket *s;
    int64_t id;
    hb_timer timer;           /* single emits with a timeout */
    hb_ack_cb cb;
    void *ud;
    hb_sio_bcast_ack *col;    /* or the broadcast it belongs to */
} hb_sio_pending;

struct hb_ack {
    hb_socket *s;             /* NULL once the socket is gone */
    int64_t id;
    hb_ack *next, *prev;      /* a socket's kept acks */
    uint8_t kept;             /* copied out by hb_ack_keep */
    uint8_t answered;
};

struct hb_next {
    hb_socket *s;             /* NULL once the socket is gone */
    size_t index;             /* the middleware running */
};

struct hb_socket {
    hb_group_named room;      /* in nsp->rooms, with its own room named by id */
    hb_nsp *nsp;
    hb_sio_client *client;
    hb_socket *cnext;         /* the client's sockets, then the server's grave */
    void *data;
    hb_sio_hnode *handlers;   /* shared with sockets that did the same */
    hb_event_cb any_cb;
    void *any_ud;
    hb_disconnect_cb disconnect_cb;
    void *disconnect_ud;
    hb_sio_pending *pending;  /* acks we wait for */
    hb_ack *kept;             /* client acks the app kept */
    hb_next *next;            /* the middleware chain in progress */
    char *data_json;          /* socket.data for other nodes; NULL: {} */
    char id[21];
    uint8_t state;
    uint8_t recovered;
    /* In the same allocation: the CONNECT payload ("{}" if none), then,
     * with recovery on, the private session id (see hb_sio__socket_pid). */
    char auth[];
};

struct hb_bcast {
    hb_nsp *nsp;
    hb_slice *to, *except;    /* room names, copied into one block each */
    size_t nto, nexcept, capto, capexcept;
    const hb_socket *skip;    /* socket.broadcast */
    unsigned timeout_ms;
    uint8_t is_volatile, is_local, oom;
};

/* Names of hb_socket_on_disconnect()'s reasons, by HB_CLOSE_* and ours. */
enum {
    HB_SIO_CLOSE_CLIENT_NSP = 100,  /* "client namespace disconnect" */
    HB_SIO_CLOSE_SERVER_NSP = 101,  /* "server namespace disconnect" */
};

/* server.c. Objects that calls into the app could free are not freed at
 * once: every entry from outside (an Engine.IO callback, a timer, a public
 * call that disconnects) brackets its work with enter/leave, closed
 * sockets and clients go to the grave, and the last leave frees them. So a
 * pointer taken before a callback is still readable after it. */
void hb_sio__enter(hb_sio_server *srv);
void hb_sio__leave(hb_sio_server *srv);
void hb_sio__bury_socket(hb_sio_server *srv, hb_socket *s);
void hb_sio__bury_client(hb_sio_server *srv, hb_sio_client *c);
void hb_sio__socket_counted(hb_sio_server *srv, int delta);
hb_nsp *hb_sio__nsp_find(hb_sio_server *srv, const char *name, size_t len);
uint64_t hb_sio__now(const hb_sio_server *srv);
hb_loop *hb_sio__loop(const hb_sio_server *srv);
hb_sio_handlers *hb_sio__handlers(const hb_sio_server *srv);
unsigned hb_sio__recovery_ms(const hb_sio_server *srv);
unsigned hb_sio__connect_timeout_ms(const hb_sio_server *srv);
uint32_t hb_sio__max_attachments(const hb_sio_server *srv);
/* The bus other nodes are reached through, or NULL (no cluster). */
const hb_sio_bus *hb_sio__bus(const hb_sio_server *srv);
/* A packet was stored or a session saved: make sure the purge runs. */
void hb_sio__stored(hb_sio_server *srv);
/* The child a dynamic parent makes for name, or NULL when none matches. */
hb_nsp *hb_sio__nsp_dynamic(hb_sio_server *srv, const char *name, const char *auth_json);
/* A growable scratch area for the arguments handed to one event handler.
 * Safe because a handler cannot cause another packet to be decoded. */
char *hb_sio__scratch(hb_sio_server *srv, size_t len);

/* client.c */
void hb_sio__client_open(void *ud, hb_eio_session *session, const hb_http_request *req);
void hb_sio__client_message(void *ud, hb_eio_session *session, int binary, uint8_t *data,
                            size_t len);
void hb_sio__client_closed(void *ud, hb_eio_session *session, int reason);
void hb_sio__client_free(hb_sio_client *c);
/* Walks the handshake's headers: start with p = hs->headers and call it
 * nheaders times; returns a header's name (lower case for the common ones,
 * as received for others; compare without case) and sets *value. */
const char *hb_sio__header_next(const char **p, const char **value);
int hb_sio__client_send(hb_sio_client *c, const hb_sio_out *out);
/* Disconnects every socket of c (DISCONNECT packets, in join order), then
 * closes its Engine.IO session: socket.disconnect(true). */
void hb_sio__client_disconnect_all(hb_sio_client *c);

/* socket.c */
hb_socket *hb_sio__socket_new(hb_sio_client *c, hb_nsp *nsp, const uint8_t *auth, size_t len);
void hb_sio__socket_run_middlewares(hb_socket *s);
/* Restores a recovered session into s (CONNECTING) and connects it;
 * returns 1 if it did, 0 when pid/offset are unknown (connect afresh). */
int hb_sio__socket_restore(hb_socket *s, const char *pid, const char *offset);
int hb_sio__reserved_event(const char *event);
void hb_sio__socket_refuse(hb_socket *s, const char *message, const char *data_json);
void hb_sio__socket_close(hb_socket *s, int reason, int send_disconnect);
void hb_sio__socket_free(hb_socket *s);
/* The private session id (recovery): 20 characters and a NUL, writable;
 * only for sockets of a namespace with a recovery log. */
char *hb_sio__socket_pid(const hb_socket *s);
void hb_sio__socket_packet(hb_socket *s, const hb_sio_packet *p);
const char *hb_sio__reason_name(int reason);
int hb_sio__socket_is_live(const hb_socket *s);
void hb_sio__pending_add(hb_socket *s, hb_sio_pending *p);

/* emit.c */
/* The JSON array of an EVENT (event first; event NULL for an ACK's) from
 * the app's args_json, into a malloc'd *data of *len bytes (NUL-terminated).
 * HB_EINVAL for args_json not an array or a reserved event name. */
int hb_sio__event_data(const char *event, const char *args_json, char **data, size_t *len);
/* Encodes a packet whose JSON array data (len bytes, checked by the caller)
 * is ready; offset, when not NULL, is appended as a last argument. */
int hb_sio__encode_data(const hb_nsp *nsp, int type, const char *data, size_t len,
                        const hb_bin *bins, size_t nbins, int64_t id, const char *offset,
                        hb_sio_out *out);
int hb_sio__encode(const hb_nsp *nsp, int type, const char *event, const char *args_json,
                   const hb_bin *bins, size_t nbins, int64_t id, const char *offset,
                   hb_sio_out *out);
void hb_sio__out_release(hb_sio_out *out);
/* Encodes a packet without attachments and sends it to c. */
int hb_sio__send_packet(hb_sio_client *c, const hb_sio_packet *p);
int hb_sio__send_connect_error(hb_sio_client *c, const char *nsp, const char *message,
                               const char *data_json);
/* Reads a received packet's arguments into the public form: args_text is
 * the packet's comma-joined args (no brackets). */
void hb_sio__args_make(hb_sio_server *srv, hb_slice args_text, hb_buf *const *att, size_t n,
                       hb_args *out, hb_bin *bins);
int64_t hb_sio__next_ack_id(hb_nsp *nsp);
/* s[0..len) as a JSON string, quotes included; malloc'd. */
char *hb_sio__json_string_n(const char *s, size_t len);

/* bcast.c */
void hb_sio__bcast_ack_answer(hb_sio_pending *p, const hb_args *args);
void hb_sio__bcast_ack_gone(hb_sio_pending *p);
/* The connected sockets b selects (the children's too, for a dynamic
 * parent), as a malloc'd array of *n; NULL on ENOMEM. b is not consumed. */
hb_socket **hb_sio__bcast_select(hb_bcast *b, size_t *n);
/* A broadcast of nsp selecting what sel selects (rooms, except), local. */
hb_bcast *hb_sio__bcast_from_req(hb_nsp *nsp, const hb_sio_bus_req *sel);

#endif
