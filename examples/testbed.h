/* The testbed app (`hubbub --app testbed`): every part of the Socket.IO
 * server API behind an event, specified at the top of
 * tests/e2e/ref/socketio-testbed.mjs, whose Node reference it must match
 * so that the same end-to-end tests pass against both. Written on the
 * public API only. */
#ifndef HB_APP_TESTBED_H
#define HB_APP_TESTBED_H

#include "hubbub/hubbub.h"

/* Installs the app on srv (before hb_server_run()): namespace "/" with its
 * token middleware and events, "/secure" with its own middleware, and the
 * dynamic namespaces /^\/dyn-[0-9]+$/. Connection-state recovery is the
 * server's option (hb_server_opts.recovery_ms), not the app's. Returns 0,
 * HB_ENOMEM, or an error of hb_nsp_use(). */
int hb_app_testbed_setup(hb_server *srv);

#endif
