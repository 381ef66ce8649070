/* Random identifiers: Engine.IO session ids, Socket.IO socket ids, private
 * session ids for connection-state recovery. They come from OpenSSL's CSPRNG
 * so that an id cannot be guessed from another one. */
#ifndef HB_CORE_ID_H
#define HB_CORE_ID_H

#define HB_ID_LEN 20 /* characters, without the NUL */

/* Writes 20 characters of base64url (A-Z a-z 0-9 - _, no padding) encoding
 * 15 random bytes (120 bits), then a NUL. Returns 0, or HB_EINVAL if the
 * RNG fails (out is then the empty string). Thread-safe. */
int hb_id_new(char out[21]);

#endif
