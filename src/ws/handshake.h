/* The server side of the RFC 6455 opening handshake: checking a client's
 * upgrade request and computing Sec-WebSocket-Accept. Header values come in
 * as strings; the HTTP layer owns parsing and writing the 101 response. */
#ifndef HB_WS_HANDSHAKE_H
#define HB_WS_HANDSHAKE_H

#include <stddef.h>

/* Validates an upgrade request. Each argument is a NUL-terminated header
 * value, or NULL when the header is absent; nothing is kept. Rules: method
 * is "GET"; Upgrade is a comma list holding the token "websocket" and
 * Connection one holding "upgrade" (both case-insensitive, optional spaces
 * and tabs around items); Sec-WebSocket-Version is exactly "13";
 * Sec-WebSocket-Key is the base64 of 16 bytes: 22 base64 characters and
 * "==" (the bits the padding hides are not checked, as in npm's ws).
 * Returns 0, or HB_EWS_HANDSHAKE with *why set to a static English reason
 * (why may be NULL). A failed version check deserves a 426 with
 * "Sec-WebSocket-Version: 13"; *why then starts with "unsupported". */
int hb_ws_handshake_check(const char *method, const char *upgrade, const char *connection,
                          const char *version, const char *key, const char **why);

/* Writes base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")) to out:
 * 28 characters and a NUL. key need not be NUL-terminated. If OpenSSL
 * fails (out of memory), out is the empty string. */
void hb_ws_accept_key(const char *key, size_t key_len, char out[29]);

#endif
