/* Hubbub's demo chat, the app behind `hubbub --app demo` (what `make run`
 * shows): a web page and the Socket.IO browser client, embedded in the
 * binary, and a chat with nicknames, rooms, history and typing indicators,
 * written on the public C API only. */
#ifndef HB_EXAMPLES_DEMO_H
#define HB_EXAMPLES_DEMO_H

#include "hubbub/hubbub.h"

/* Sets the demo chat up on srv, before hb_server_run(): the page at "/" and
 * "/index.html", the Socket.IO browser client at "/socket.io/socket.io.js",
 * and the chat's handlers on namespace "/". The chat's rooms and history
 * live in one process-wide state, so one server of the process runs it at a
 * time (a later call succeeds once the earlier server's clients are gone).
 * Returns 0; HB_EINVAL when srv is NULL or another server's chat still has
 * people in it; HB_ENOMEM; or the error of hb_server_serve(). */
int hb_app_demo_setup(hb_server *srv);

#endif
