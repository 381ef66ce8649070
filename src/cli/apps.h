/* The built-in apps linked into hubbub (examples/), as rows of main.c's
 * --app table: name, setup function, a line for the log. An app is added
 * here and to HUBBUB_APPS in CMakeLists.txt together. */
#ifndef HB_CLI_APPS_H
#define HB_CLI_APPS_H

#include "bench.h"
#include "demo.h"
#include "protocol.h"
#include "testbed.h"

#define HB_CLI_APPS \
    {"demo", hb_app_demo_setup, "a chat at / with rooms, nicknames and typing indicators"}, \
    {"protocol", hb_app_protocol_setup, "the reference behaviour of Socket.IO's protocol tests"}, \
    {"testbed", hb_app_testbed_setup, "every API of Socket.IO's server, for tests"}, \
    {"bench", hb_app_bench_setup, "the server side of bench/hubbub-bench: join, publish to a room, echo"},
#endif
