/* The protocol reference app: on each connection it emits "auth" with the
 * CONNECT payload, and on "/" it sends "message" back as "message-back" and
 * acknowledges "message-with-ack" with its own arguments. It owns no state:
 * every handler works from its arguments, binary attachments included, which
 * pass through untouched (the library re-encodes them). */
#include "protocol.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Node's socket.emit(event, ..., fn) waits for the client's answer for ever;
 * the C API takes a timeout, so the longest one stands in for "never". */
#define RELAY_TIMEOUT_MS 0

/* socket.emit("auth", socket.handshake.auth): the payload is already JSON
 * object text ("{}" when the CONNECT had none), so it goes in as is.
 *
 * It is sent AUTH_DELAY_MS after the connection rather than in the same
 * loop turn as the CONNECT answer. Socket.IO's official protocol test
 * suite waits for the CONNECT answer, then starts listening for "auth";
 * when both arrive in one TCP read, its WebSocket library delivers them
 * together and the suite misses "auth" (Node's server fails those tests
 * the same way, now and then). A separate write a moment later is what a
 * client reading one message at a time needs. The event goes to the
 * socket's own room, so a socket gone meanwhile simply gets nothing. */
#define AUTH_DELAY_MS 5

typedef struct pending_auth {
    hb_nsp *nsp;
    char *args;      /* "[<auth>]" */
    char id[];       /* the socket's id, its own room */
} pending_auth;

static void send_auth(void *ud) {
    pending_auth *p = ud;
    hb_bcast_emit(hb_to(p->nsp, p->id), "auth", p->args, NULL, 0);
    free(p->args);
    free(p);
}

static void emit_auth(hb_socket *s) {
    const char *auth = hb_socket_auth(s);
    const char *id = hb_socket_id(s);
    size_t cap = strlen(auth) + sizeof("[]");
    pending_auth *p = malloc(sizeof(*p) + strlen(id) + 1);
    char *json = malloc(cap);
    if (p == NULL || json == NULL) {
        free(p);
        free(json);
        return; /* out of memory: the client misses "auth", the socket lives */
    }
    snprintf(json, cap, "[%s]", auth);
    p->nsp = hb_socket_nsp(s);
    p->args = json;
    strcpy(p->id, id);
    if (hb_server_set_timeout(hb_nsp_server(p->nsp), AUTH_DELAY_MS, send_auth, p) != 0) {
        hb_socket_emit(s, "auth", json, NULL, 0);
        free(json);
        free(p);
    }
}

/* The client answered the "message-back" that carried its own ack: Node
 * calls the client's original ack with that answer, so the answer goes on. */
static void on_relayed_answer(hb_socket *s, int err, const hb_args *args, void *ud) {
    hb_ack *original = ud;
    (void)s;
    if (err == 0)
        hb_ack_send(original, args->json, args->bins, args->nbins);
    else
        hb_ack_drop(original); /* no answer (socket gone): Node never calls it */
}

/* socket.on("message", (...args) => socket.emit("message-back", ...args)).
 * When the client asked for an ack, Node's args end with that ack function,
 * and emit() with a function last asks the client for an ack in turn. */
static void on_message(hb_socket *s, const char *event, const hb_args *args, hb_ack *ack,
                       void *ud) {
    (void)event, (void)ud;
    if (ack == NULL) {
        hb_socket_emit(s, "message-back", args->json, args->bins, args->nbins);
        return;
    }
    hb_ack *kept = hb_ack_keep(ack);
    if (kept == NULL) { /* out of memory: the event still goes back, unacked */
        hb_socket_emit(s, "message-back", args->json, args->bins, args->nbins);
        return;
    }
    if (hb_socket_emit_with_ack(s, "message-back", args->json, args->bins, args->nbins,
                                RELAY_TIMEOUT_MS, on_relayed_answer, kept) != 0)
        hb_ack_drop(kept);
}

/* socket.on("message-with-ack", (...args) => ack(...args)); without an ack
 * there is nobody to answer, as in the reference. */
static void on_message_with_ack(hb_socket *s, const char *event, const hb_args *args,
                                hb_ack *ack, void *ud) {
    (void)s, (void)event, (void)ud;
    if (ack != NULL)
        hb_ack_send(ack, args->json, args->bins, args->nbins);
}

static void on_main_connection(hb_socket *s, void *ud) {
    (void)ud;
    emit_auth(s);
    /* A socket without its handlers would silently ignore the tests'
     * messages; disconnecting it makes the failure visible instead. */
    if (hb_socket_on(s, "message", on_message, NULL) != 0 ||
        hb_socket_on(s, "message-with-ack", on_message_with_ack, NULL) != 0)
        hb_socket_disconnect(s, 0);
}

static void on_custom_connection(hb_socket *s, void *ud) {
    (void)ud;
    emit_auth(s);
}

int hb_app_protocol_setup(hb_server *srv) {
    hb_nsp *main_nsp = hb_server_of(srv, "/");
    hb_nsp *custom = hb_server_of(srv, "/custom");
    if (main_nsp == NULL || custom == NULL)
        return HB_ENOMEM;
    hb_nsp_on_connection(main_nsp, on_main_connection, NULL);
    hb_nsp_on_connection(custom, on_custom_connection, NULL);
    return 0;
}
