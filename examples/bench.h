/* The benchmark app (`hubbub --app bench`): the server side of the scenarios
 * of bench/hubbub-bench.c, mirrored exactly by the Node reference
 * bench/ref/socketio-bench-server.mjs so that both servers do the same work
 * per message. Written on the public API only. */
#ifndef HB_APP_BENCH_H
#define HB_APP_BENCH_H

#include "hubbub/hubbub.h"

/* Installs the app on srv (before hb_server_run()). On namespace "/":
 *  - "join" (room[, ack]): joins room, then acks with no arguments;
 *  - "publish" (room, payload[, ack]): broadcasts "msg" with payload to
 *    every socket in room (the publisher too if it is a member), then acks;
 *  - "echo" (...args, ack): acks with the same arguments.
 * Returns 0 or HB_ENOMEM. */
int hb_app_bench_setup(hb_server *srv);

#endif
