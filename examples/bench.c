/* The benchmark app: joins rooms, broadcasts what a publisher sends to a
 * room, and echoes acks, exactly as bench/ref/socketio-bench-server.mjs does
 * with npm's socket.io. It keeps no state of its own: rooms are the
 * library's, and every handler works from its arguments. */
#include "bench.h"

#include <stdlib.h>
#include <string.h>

/* Room names are short in the benchmarks; a longer one is refused rather
 * than truncated into another room. */
#define ROOM_MAX 128

/* socket.on("join", (room, ack) => { socket.join(room); ack?.(); }) */
static void on_join(hb_socket *s, const char *event, const hb_args *args, hb_ack *ack,
                    void *ud) {
    char room[ROOM_MAX];
    (void)event, (void)ud;
    if (hb_args_string(args, 0, room, sizeof(room)) < 0)
        return; /* not a string: Node's join() would throw inside the handler */
    if (hb_socket_join(s, room) != 0)
        return;
    if (ack != NULL)
        hb_ack_send(ack, NULL, NULL, 0);
}

/* socket.on("publish", (room, payload, ack) => {
 *   io.to(room).emit("msg", payload); ack?.(); })
 * The payload is passed on as the JSON text it arrived in, wrapped in the
 * argument array; the broadcast encodes the packet once for every member. */
static void on_publish(hb_socket *s, const char *event, const hb_args *args, hb_ack *ack,
                       void *ud) {
    char room[ROOM_MAX], small[1024], *json;
    const char *payload;
    size_t len;
    hb_bcast *b;
    (void)event, (void)ud;
    if (hb_args_string(args, 0, room, sizeof(room)) < 0 ||
        (payload = hb_args_at(args, 1, &len)) == NULL)
        return;
    json = len + 3 <= sizeof(small) ? small : malloc(len + 3);
    if (json == NULL)
        return; /* out of memory: this message is lost, as a dropped packet */
    json[0] = '[';
    memcpy(json + 1, payload, len);
    json[len + 1] = ']';
    json[len + 2] = '\0';
    b = hb_to(hb_socket_nsp(s), room);
    if (b != NULL)
        hb_bcast_emit(b, "msg", json, args->bins, args->nbins);
    if (json != small)
        free(json);
    if (ack != NULL)
        hb_ack_send(ack, NULL, NULL, 0);
}

/* socket.on("echo", (...args) => { const ack = args.pop(); ack(...args); }) */
static void on_echo(hb_socket *s, const char *event, const hb_args *args, hb_ack *ack,
                    void *ud) {
    (void)s, (void)event, (void)ud;
    if (ack != NULL)
        hb_ack_send(ack, args->json, args->bins, args->nbins);
}

static void on_connection(hb_socket *s, void *ud) {
    (void)ud;
    /* A socket without its handlers would ignore the benchmark silently;
     * disconnecting it makes the failure show in the generator's counts. */
    if (hb_socket_on(s, "join", on_join, NULL) != 0 ||
        hb_socket_on(s, "publish", on_publish, NULL) != 0 ||
        hb_socket_on(s, "echo", on_echo, NULL) != 0)
        hb_socket_disconnect(s, 1);
}

int hb_app_bench_setup(hb_server *srv) {
    hb_nsp *nsp = hb_server_of(srv, "/");
    if (nsp == NULL)
        return HB_ENOMEM;
    hb_nsp_on_connection(nsp, on_connection, NULL);
    return 0;
}
