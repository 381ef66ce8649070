/* HS256 JSON Web Tokens as Azure Web PubSub uses them: verifying the
 * access_token of a tunnel or client connection against the hub's access
 * keys, signing tokens (negotiate, tests), turning claims into the connect
 * CloudEvent's "claims" object, and making new access keys. Built on
 * OpenSSL's HMAC and jansson; no I/O, no global state. */
#ifndef HB_API_JWT_H
#define HB_API_JWT_H

#include <stddef.h>
#include <stdint.h>

/* Longest token hb_jwt_verify() looks at, in bytes. Real ones are under 1 KiB. */
#define HB_JWT_MAX_TOKEN 16384

/* Characters of an access key from hb_jwt_new_key(), without the NUL. */
#define HB_JWT_KEY_LEN 44

typedef struct hb_jwt_claims {
    char *aud;     /* "aud" if a string, or the first string of an "aud" array; else NULL */
    char *sub;     /* "sub" if a string, else NULL */
    char *user_id; /* Azure's rule: a non-empty string "userId", else a non-empty string
                    * "sub", else NULL (anonymous). negotiate() in
                    * @azure/web-pubsub-socket.io sets both, @azure/web-pubsub's
                    * getClientAccessToken() only "sub". */
    char **roles;  /* "role": a string or an array (its non-string items are skipped) */
    size_t nroles;
    char **groups; /* "webpubsub.group": same rule as role */
    size_t ngroups;
    int64_t exp, nbf, iat; /* 0 when absent; fractions cut off (floor), clamped to int64 */
    char *payload_json;    /* the whole payload object as compact JSON, keys in token order */
} hb_jwt_claims;

/* Verifies an HS256 JWT (compact form, token[0..len), no NUL needed) against
 * each of keys[0..nkeys) in turn, so two keys can be live during a rotation.
 * A key is a NUL-terminated AccessKey string whose own bytes are the HMAC
 * secret (not base64-decoded); empty keys are skipped, since anyone could
 * sign with them. Checked in this order, each failure setting *why:
 *   "token too large"              len > HB_JWT_MAX_TOKEN
 *   "malformed token"              not three '.'-separated parts, or a header that is
 *                                  not unpadded base64url of a JSON object
 *   "unsupported algorithm"        header "alg" is not exactly "HS256" ("none" included)
 *   "unsupported critical header"  the header has "crit" (RFC 7515 4.1.11)
 *   "malformed token"              a signature that is not 43 characters of base64url,
 *                                  or a payload that is not unpadded base64url
 *   "no key to verify with"        no non-empty key
 *   "invalid signature"            no key's HMAC matches (compared in constant time)
 *   "malformed token"              the signed payload is not a JSON object
 *   "malformed claims"             exp, nbf or iat present but not a number
 *   "token expired"                now_s >= exp + leeway_s (jsonwebtoken's rule)
 *   "token not yet valid"          now_s + leeway_s < nbf
 * JSON with duplicate keys, a \u0000 in a string or an integer beyond int64 counts
 * as not a JSON object: claims must mean one thing, and be C strings.
 * A token without exp is accepted. aud is returned, not checked: the caller
 * knows which URL the token was for. A negative leeway_s counts as 0.
 * out must not be NULL; it is zeroed first, so hb_jwt_claims_free(out) is
 * safe after any outcome. why may be NULL; on success it is left alone.
 * Returns 0 (the caller owns *out and frees it with hb_jwt_claims_free()),
 * HB_EJWT, or HB_ENOMEM (why = "out of memory"). jansson reports some failed
 * allocations as syntax errors, so running out of memory while parsing can
 * also give HB_EJWT with "malformed token": a refusal either way. */
int hb_jwt_verify(const char *token, size_t len, const char *const *keys, size_t nkeys,
                  int64_t now_s, int64_t leeway_s, hb_jwt_claims *out, const char **why);

/* Frees what *c owns and zeroes it. c may be NULL. */
void hb_jwt_claims_free(hb_jwt_claims *c);

/* Signs payload_json, a NUL-terminated JSON object text used byte for byte,
 * with HS256 under key (its bytes; not decoded) and the header
 * {"alg":"HS256","typ":"JWT"}, the same one jsonwebtoken writes. Returns a
 * malloc'd NUL-terminated token the caller frees, or NULL if key is NULL or
 * empty, payload_json is not a JSON object, or memory ran out. */
char *hb_jwt_sign(const char *key, const char *payload_json);

/* The claims as Azure's connect CloudEvent carries them: a JSON object
 * mapping each claim name of c->payload_json to an array of strings, in
 * token order. Strings are copied; integers are written in decimal, other
 * numbers in their shortest round-trip form; true/false as "true"/"false";
 * arrays are flattened (nested ones too); an object value becomes its
 * compact JSON text; null values and null array items are left out.
 * Example: {"sub":"bob","role":["a","b"],"exp":5} gives
 * {"sub":["bob"],"role":["a","b"],"exp":["5"]}. Returns a malloc'd
 * NUL-terminated text the caller frees, or NULL if c or c->payload_json is
 * NULL, payload_json is not a JSON object, or memory ran out. */
char *hb_jwt_claims_azure_json(const hb_jwt_claims *c);

/* Writes a new access key: 32 bytes from OpenSSL's CSPRNG in standard,
 * padded base64, so 43 significant characters and one '=' (44 in all, the
 * shape of an Azure AccessKey), then a NUL. Returns 0, or HB_EINVAL if the
 * RNG fails (out is then the empty string). Thread-safe. */
int hb_jwt_new_key(char out[HB_JWT_KEY_LEN + 1]);

#endif
