/* The protocol reference app (`hubbub --app protocol`): the server that
 * Socket.IO's own protocol test suite expects, as described in
 * PROTOCOL-NOTES.md ("The protocol reference app") and done by
 * tests/e2e/ref/socketio-protocol.mjs. Written on the public API only. */
#ifndef HB_APP_PROTOCOL_H
#define HB_APP_PROTOCOL_H

#include "hubbub/hubbub.h"

/* Installs the app on srv (before hb_server_run()): namespace "/" answers
 * "auth", "message" and "message-with-ack"; namespace "/custom" answers
 * "auth"; every other namespace is refused by the library with "Invalid
 * namespace". Returns 0 or HB_ENOMEM (a namespace could not be created). */
int hb_app_protocol_setup(hb_server *srv);

#endif
