/* Tests for src/api/jwt.c: tokens from hb_jwt_sign() and from Node's
 * jsonwebtoken 9 (the exact calls of @azure/web-pubsub-socket.io), key
 * rotation, every rejection with its reason, the claim accessors, the
 * connect CloudEvent claims, new keys, and jansson running out of memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "api/jwt.h"
#include "core/base64.h"
#include "hubbub/error.h"

/* What Node printed for
 *   jwt.sign({}, KEY, {subject: GUID, audience: AUD, expiresIn: "1h", algorithm: "HS256"})
 * which is signJwtToken() of WebPubSubTunnelClient.js, the tunnel's token. */
#define KEY "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGH="
#define NODE_IAT 1795655347
#define NODE_TUNNEL_PAYLOAD                                                                      \
    "{\"iat\":1795655347,\"exp\":1795658947,\"aud\":\"ws://127.0.0.1:39990/server/"             \
    "tunnel?hub=wire_hub\",\"sub\":\"1f8a6c2e-3b4d-4e5f-9a0b-7c6d5e4f3a2b\"}"
static const char node_tunnel[] =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJpYXQiOjE3OTU2NTUzNDcsImV4cCI6MTc5NTY1ODk0NywiYXVkIjoid3M6Ly8xMjcuMC4wLjE6Mzk5OTAvc2Vydm"
    "VyL3R1bm5lbD9odWI9d2lyZV9odWIiLCJzdWIiOiIxZjhhNmMyZS0zYjRkLTRlNWYtOWEwYi03YzZkNWU0ZjNhMmIi"
    "fQ.ITxKHnDRjXbCQmpkx5ats_2Toy8uyJyWODgblY44caQ";

/* jwt.sign({role, "webpubsub.group", userId: "bob"}, KEY, {audience, expiresIn: "60m",
 * algorithm: "HS256", subject: "bob"}): negotiate() in rest-service-client.js. */
static const char node_negotiate[] =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJyb2xlIjpbIndlYnB1YnN1Yi5zZW5kVG9Hcm91cCIsIndlYnB1YnN1Yi5qb2luTGVhdmVHcm91cCJdLCJ3ZWJwdWJ"
    "zdWIuZ3JvdXAiOlsicm9vbTEiXSwidXNlcklkIjoiYm9iIiwiaWF0IjoxNzk1NjU1MzQ3LCJleHAiOjE3OTU2NTg5ND"
    "csImF1ZCI6Imh0dHA6Ly8xMjcuMC4wLjE6MzAwMC9jbGllbnRzL3NvY2tldGlvL2h1YnMvZWlvX2h1YiIsInN1YiI6I"
    "mJvYiJ9.HbLuG5Kxma1DKMKvO9PzVBwIciYJF7S4vhOWVv2HnvY";

#define NOW 1795655357 /* NODE_IAT + 10 */

static const char *const one_key[] = {KEY};

/* base64url of s[0..n), malloc'd and NUL-terminated. */
static char *b64url(const void *s, size_t n) {
    char *out = malloc(hb_base64_encoded_len(n) + 1);
    assert_non_null(out);
    out[hb_base64url_encode(out, s, n)] = '\0';
    return out;
}

/* A token with any header and payload text, signed with md (NULL: no
 * signature, as for "alg":"none") under key. */
static char *forge(const char *header, const char *payload, const EVP_MD *md, const char *key) {
    char *h = b64url(header, strlen(header)), *p = b64url(payload, strlen(payload)), *sig = NULL;
    size_t n = strlen(h) + strlen(p) + 200;
    char *tok = malloc(n);

    assert_non_null(tok);
    snprintf(tok, n, "%s.%s", h, p);
    if (md != NULL) {
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned int maclen = 0;
        assert_non_null(HMAC(md, key, (int)strlen(key), (unsigned char *)tok, strlen(tok), mac,
                             &maclen));
        sig = b64url(mac, maclen);
    }
    snprintf(tok + strlen(tok), n - strlen(tok), ".%s", sig != NULL ? sig : "");
    free(h);
    free(p);
    free(sig);
    return tok;
}

static char *hs256(const char *payload) {
    return forge("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", payload, EVP_sha256(), KEY);
}

static void expect_fail_keys(const char *tok, size_t len, const char *const *keys, size_t nkeys,
                             int64_t now, int64_t leeway, const char *want) {
    hb_jwt_claims c;
    const char *why = NULL;

    memset(&c, 0x5A, sizeof(c));
    assert_int_equal(hb_jwt_verify(tok, len, keys, nkeys, now, leeway, &c, &why), HB_EJWT);
    assert_non_null(why);
    assert_string_equal(why, want);
    /* Nothing is left for the caller to free. */
    assert_null(c.aud);
    assert_null(c.sub);
    assert_null(c.user_id);
    assert_null(c.roles);
    assert_null(c.groups);
    assert_null(c.payload_json);
    hb_jwt_claims_free(&c);
}

static void expect_fail(const char *tok, int64_t now, int64_t leeway, const char *want) {
    expect_fail_keys(tok, strlen(tok), one_key, 1, now, leeway, want);
}

static void expect_ok(const char *tok, int64_t now, int64_t leeway, hb_jwt_claims *c) {
    const char *why = "untouched";
    int rc = hb_jwt_verify(tok, strlen(tok), one_key, 1, now, leeway, c, &why);
    if (rc != 0)
        fail_msg("rejected (%s): %s", why, tok);
    assert_string_equal(why, "untouched");
}

static void test_sign_then_verify(void **state) {
    const char *payload = "{\"sub\":\"alice\",\"aud\":\"http://h/x\",\"iat\":100,\"exp\":200,"
                          "\"nbf\":90,\"role\":[\"r1\",\"r2\"],\"webpubsub.group\":\"g\"}";
    char *tok = hb_jwt_sign(KEY, payload);
    hb_jwt_claims c;

    (void)state;
    assert_non_null(tok);
    assert_non_null(strstr(tok, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.")); /* jsonwebtoken's header */
    assert_ptr_equal(strstr(tok, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."), tok);
    expect_ok(tok, 150, 0, &c);
    assert_string_equal(c.aud, "http://h/x");
    assert_string_equal(c.sub, "alice");
    assert_string_equal(c.user_id, "alice");
    assert_int_equal(c.nroles, 2);
    assert_string_equal(c.roles[0], "r1");
    assert_string_equal(c.roles[1], "r2");
    assert_int_equal(c.ngroups, 1);
    assert_string_equal(c.groups[0], "g");
    assert_int_equal(c.iat, 100);
    assert_int_equal(c.exp, 200);
    assert_int_equal(c.nbf, 90);
    assert_string_equal(c.payload_json, payload); /* already compact, order kept */
    hb_jwt_claims_free(&c);
    assert_null(c.aud);
    hb_jwt_claims_free(&c); /* twice is harmless */
    hb_jwt_claims_free(NULL);
    free(tok);

    /* Whitespace in the payload is signed as given and compacted on the way out. */
    tok = hb_jwt_sign(KEY, "{ \"sub\" : \"x\" }");
    assert_non_null(tok);
    expect_ok(tok, 0, 0, &c);
    assert_string_equal(c.payload_json, "{\"sub\":\"x\"}");
    assert_int_equal(c.exp, 0); /* no exp: accepted, and 0 */
    assert_null(c.aud);
    hb_jwt_claims_free(&c);
    free(tok);
}

static void test_node_tunnel_token(void **state) {
    hb_jwt_claims c;
    char *ours;

    (void)state;
    expect_ok(node_tunnel, NOW, 0, &c);
    assert_string_equal(c.aud, "ws://127.0.0.1:39990/server/tunnel?hub=wire_hub");
    assert_string_equal(c.sub, "1f8a6c2e-3b4d-4e5f-9a0b-7c6d5e4f3a2b");
    assert_string_equal(c.user_id, "1f8a6c2e-3b4d-4e5f-9a0b-7c6d5e4f3a2b");
    assert_int_equal(c.iat, NODE_IAT);
    assert_int_equal(c.exp, NODE_IAT + 3600);
    assert_int_equal(c.nbf, 0);
    assert_int_equal(c.nroles, 0);
    assert_null(c.roles);
    assert_int_equal(c.ngroups, 0);
    assert_string_equal(c.payload_json, NODE_TUNNEL_PAYLOAD);
    hb_jwt_claims_free(&c);

    /* Our signer writes the very same bytes for the same payload text. */
    ours = hb_jwt_sign(KEY, NODE_TUNNEL_PAYLOAD);
    assert_non_null(ours);
    assert_string_equal(ours, node_tunnel);
    free(ours);

    /* An hour later it has expired. */
    expect_fail(node_tunnel, NODE_IAT + 3600, 0, "token expired");
}

static void test_node_negotiate_token(void **state) {
    hb_jwt_claims c;

    (void)state;
    expect_ok(node_negotiate, NOW, 0, &c);
    assert_string_equal(c.aud, "http://127.0.0.1:3000/clients/socketio/hubs/eio_hub");
    assert_string_equal(c.sub, "bob");
    assert_string_equal(c.user_id, "bob");
    assert_int_equal(c.nroles, 2);
    assert_string_equal(c.roles[0], "webpubsub.sendToGroup");
    assert_string_equal(c.roles[1], "webpubsub.joinLeaveGroup");
    assert_int_equal(c.ngroups, 1);
    assert_string_equal(c.groups[0], "room1");
    hb_jwt_claims_free(&c);
}

static void test_keys(void **state) {
    const char *wrong[] = {"not-the-key"};
    const char *rotated[] = {"not-the-key", KEY};
    const char *with_empty[] = {"", NULL, KEY};
    const char *only_empty[] = {"", NULL};
    const char *base64_decoded_key[] = {"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGH"};
    hb_jwt_claims c;
    size_t n = strlen(node_tunnel);
    char *signed_empty;

    (void)state;
    expect_fail_keys(node_tunnel, n, wrong, 1, NOW, 0, "invalid signature");
    /* Without its '=' the key is another key: the string's bytes are the secret. */
    expect_fail_keys(node_tunnel, n, base64_decoded_key, 1, NOW, 0, "invalid signature");

    assert_int_equal(hb_jwt_verify(node_tunnel, n, rotated, 2, NOW, 0, &c, NULL), 0);
    assert_string_equal(c.sub, "1f8a6c2e-3b4d-4e5f-9a0b-7c6d5e4f3a2b");
    hb_jwt_claims_free(&c);
    assert_int_equal(hb_jwt_verify(node_tunnel, n, with_empty, 3, NOW, 0, &c, NULL), 0);
    hb_jwt_claims_free(&c);

    expect_fail_keys(node_tunnel, n, only_empty, 2, NOW, 0, "no key to verify with");
    expect_fail_keys(node_tunnel, n, NULL, 0, NOW, 0, "no key to verify with");

    /* A token made with an empty secret (by someone else's library) never passes. */
    signed_empty = forge("{\"alg\":\"HS256\"}", "{}", EVP_sha256(), "");
    expect_fail_keys(signed_empty, strlen(signed_empty), only_empty, 2, 0, 0,
                     "no key to verify with");
    free(signed_empty);
}

static void test_algorithms(void **state) {
    const char *headers[] = {
        "{\"alg\":\"none\",\"typ\":\"JWT\"}", "{\"alg\":\"None\"}", "{\"alg\":\"hs256\"}",
        "{\"typ\":\"JWT\"}", "{\"alg\":null}", "{\"alg\":256}", "{\"alg\":\"HS256 \"}",
        "{\"alg\":[\"HS256\"]}", "{\"alg\":\"RS256\"}",
    };
    char *tok;

    (void)state;
    for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
        /* Unsigned, as "none" would be, and signed with the right key anyway. */
        tok = forge(headers[i], "{\"sub\":\"x\"}", NULL, KEY);
        expect_fail(tok, 0, 0, "unsupported algorithm");
        free(tok);
        tok = forge(headers[i], "{\"sub\":\"x\"}", EVP_sha256(), KEY);
        expect_fail(tok, 0, 0, "unsupported algorithm");
        free(tok);
    }
    tok = forge("{\"alg\":\"HS512\",\"typ\":\"JWT\"}", "{\"sub\":\"x\"}", EVP_sha512(), KEY);
    expect_fail(tok, 0, 0, "unsupported algorithm");
    free(tok);
    tok = forge("{\"alg\":\"HS384\"}", "{\"sub\":\"x\"}", EVP_sha384(), KEY);
    expect_fail(tok, 0, 0, "unsupported algorithm");
    free(tok);

    tok = forge("{\"alg\":\"HS256\",\"crit\":[\"b64\"],\"b64\":false}", "{}", EVP_sha256(), KEY);
    expect_fail(tok, 0, 0, "unsupported critical header");
    free(tok);

    /* Extra header fields are fine. */
    tok = forge("{\"typ\":\"JWT\",\"kid\":\"k1\",\"alg\":\"HS256\"}", "{}", EVP_sha256(), KEY);
    {
        hb_jwt_claims c;
        expect_ok(tok, 0, 0, &c);
        hb_jwt_claims_free(&c);
    }
    free(tok);
}

static void test_tampering(void **state) {
    char *tok = strdup(node_tunnel), *other, *payload, *spliced;
    size_t n = strlen(tok), hl;
    const char *dot2 = strrchr(node_tunnel, '.');

    (void)state;
    assert_non_null(tok);
    /* Last signature character: 'Q' (0b010000) carries 2 bits that matter and 4
     * that must be zero; 'R' differs only in an unused bit and still fails. */
    assert_int_equal(tok[n - 1], 'Q');
    tok[n - 1] = 'R';
    expect_fail(tok, NOW, 0, "invalid signature");
    tok[n - 1] = 'Q';
    tok[n - 5] ^= 1;
    expect_fail(tok, NOW, 0, "invalid signature");
    tok[n - 5] ^= 1;
    /* One character of the payload. */
    tok[40] = tok[40] == 'A' ? 'B' : 'A';
    expect_fail(tok, NOW, 0, "invalid signature");
    free(tok);

    /* Another subject, spliced between the original header and signature. */
    other = hs256("{\"iat\":1795655347,\"exp\":1795658947,\"aud\":\"ws://127.0.0.1:39990/server/"
                  "tunnel?hub=wire_hub\",\"sub\":\"admin\"}");
    {
        const char *p = "{\"iat\":1795655347,\"exp\":1795658947,\"sub\":\"admin\"}";
        payload = b64url(p, strlen(p));
    }
    hl = (size_t)(strchr(node_tunnel, '.') - node_tunnel);
    spliced = malloc(strlen(node_tunnel) + strlen(payload) + strlen(other) + 2);
    assert_non_null(spliced);
    sprintf(spliced, "%.*s.%s%s", (int)hl, node_tunnel, payload, dot2);
    expect_fail(spliced, NOW, 0, "invalid signature");
    /* The other token's signature on the original payload. */
    sprintf(spliced, "%.*s%s", (int)(dot2 - node_tunnel), node_tunnel, strrchr(other, '.'));
    expect_fail(spliced, NOW, 0, "invalid signature");
    free(spliced);
    free(payload);
    free(other);
}

static void test_times(void **state) {
    hb_jwt_claims c;
    char *tok;

    (void)state;
    tok = hs256("{\"exp\":1000}");
    expect_ok(tok, 999, 0, &c);
    hb_jwt_claims_free(&c);
    expect_fail(tok, 1000, 0, "token expired"); /* jsonwebtoken: now >= exp */
    expect_fail(tok, 1001, 0, "token expired");
    expect_ok(tok, 1004, 5, &c); /* leeway */
    hb_jwt_claims_free(&c);
    expect_fail(tok, 1005, 5, "token expired");
    expect_fail(tok, 1000, -30, "token expired"); /* a negative leeway is 0 */
    expect_ok(tok, 990, -30, &c);
    hb_jwt_claims_free(&c);
    free(tok);

    tok = hs256("{\"nbf\":2000,\"exp\":3000}");
    expect_fail(tok, 1990, 0, "token not yet valid");
    expect_fail(tok, 1990, 9, "token not yet valid");
    expect_ok(tok, 1990, 10, &c);
    assert_int_equal(c.nbf, 2000);
    hb_jwt_claims_free(&c);
    expect_ok(tok, 2000, 0, &c);
    hb_jwt_claims_free(&c);
    free(tok);

    /* Fractions and extremes. */
    tok = hs256("{\"exp\":1000.9,\"iat\":-5,\"nbf\":1e300}");
    expect_fail(tok, 0, 0, "token not yet valid");
    expect_ok(tok, 999, INT64_MAX, &c); /* leeway saturates, no overflow */
    assert_int_equal(c.exp, 1000);
    assert_int_equal(c.iat, -5);
    assert_int_equal(c.nbf, INT64_MAX);
    hb_jwt_claims_free(&c);
    free(tok);
    tok = hs256("{\"exp\":9223372036854775807}");
    expect_ok(tok, INT64_MAX - 1, INT64_MAX, &c);
    hb_jwt_claims_free(&c);
    free(tok);

    /* A time claim that is not a number. */
    const char *bad[] = {"{\"exp\":\"2000\"}", "{\"nbf\":null}", "{\"iat\":true}",
                         "{\"exp\":[1]}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        tok = hs256(bad[i]);
        expect_fail(tok, 0, 0, "malformed claims");
        free(tok);
    }
}

static void test_malformed(void **state) {
    char buf[HB_JWT_MAX_TOKEN + 64];
    hb_jwt_claims c;
    const char *why = NULL;
    char *tok;

    (void)state;
    expect_fail("", 0, 0, "malformed token");
    expect_fail("abc", 0, 0, "malformed token");
    expect_fail("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.e30", 0, 0, "malformed token");
    expect_fail("..", 0, 0, "malformed token");
    snprintf(buf, sizeof(buf), "%s.x", node_tunnel); /* four parts */
    expect_fail(buf, NOW, 0, "malformed token");
    snprintf(buf, sizeof(buf), "%s=", node_tunnel); /* padding */
    expect_fail(buf, NOW, 0, "malformed token");
    snprintf(buf, sizeof(buf), " %s", node_tunnel);
    expect_fail(buf, NOW, 0, "malformed token");
    snprintf(buf, sizeof(buf), "%.*s", (int)strlen(node_tunnel) - 1, node_tunnel);
    expect_fail(buf, NOW, 0, "malformed token"); /* 42-character signature */
    strcpy(buf, node_tunnel);
    buf[strlen(buf) - 3] = '+'; /* standard base64, not base64url */
    expect_fail(buf, NOW, 0, "malformed token");
    expect_fail("!!!.e30.ITxKHnDRjXbCQmpkx5ats_2Toy8uyJyWODgblY44caQ", 0, 0, "malformed token");
    expect_fail("eyJhbGciOiJIUzI1NiJ9.e3!.ITxKHnDRjXbCQmpkx5ats_2Toy8uyJyWODgblY44caQ", 0, 0,
                "malformed token");
    expect_fail("eyJhbGciOiJIUzI1NiJ9.e30=.ITxKHnDRjXbCQmpkx5ats_2Toy8uyJyWODgblY44caQ", 0, 0,
                "malformed token");
    /* A payload length of 4k+1 characters cannot be base64. */
    expect_fail("eyJhbGciOiJIUzI1NiJ9.e30AA.ITxKHnDRjXbCQmpkx5ats_2Toy8uyJyWODgblY44caQ", 0, 0,
                "malformed token");
    /* Length is honoured: the same token cut short by len. */
    expect_fail_keys(node_tunnel, strlen(node_tunnel) - 1, one_key, 1, NOW, 0, "malformed token");

    /* Headers that are not JSON objects. */
    const char *bad_headers[] = {"[\"HS256\"]", "\"HS256\"", "{\"alg\":\"HS256\"", "",
                                 "{\"alg\":\"HS256\",\"alg\":\"HS256\"}"};
    for (size_t i = 0; i < sizeof(bad_headers) / sizeof(bad_headers[0]); i++) {
        tok = forge(bad_headers[i], "{}", EVP_sha256(), KEY);
        expect_fail(tok, 0, 0, "malformed token");
        free(tok);
    }
    /* Correctly signed payloads that are not JSON objects, or are ambiguous. */
    const char *bad_payloads[] = {"[1]", "\"sub\"", "42", "null", "", "{\"sub\":\"x\"} x",
                                  "{\"sub\":\"a\",\"sub\":\"b\"}", "{\"sub\":\"a\\u0000b\"}",
                                  "{\"exp\":99999999999999999999}", "{\"s\":\"\xff\"}"};
    for (size_t i = 0; i < sizeof(bad_payloads) / sizeof(bad_payloads[0]); i++) {
        tok = hs256(bad_payloads[i]);
        expect_fail(tok, 0, 0, "malformed token");
        /* ... and unsigned ones are a bad signature first. */
        tok[strlen(tok) - 2] = tok[strlen(tok) - 2] == 'A' ? 'B' : 'A';
        expect_fail(tok, 0, 0, "invalid signature");
        free(tok);
    }

    /* Size: a valid token of exactly HB_JWT_MAX_TOKEN bytes passes, one more fails. */
    char *pad = malloc(HB_JWT_MAX_TOKEN);
    assert_non_null(pad);
    int found = 0;
    for (size_t n = 12000; n < 12300 && !found; n++) {
        memset(pad, 'a', n);
        pad[n] = '\0';
        char *payload = malloc(n + 16);
        assert_non_null(payload);
        sprintf(payload, "{\"x\":\"%s\"}", pad);
        tok = hs256(payload);
        if (strlen(tok) == HB_JWT_MAX_TOKEN) {
            found = 1;
            expect_ok(tok, 0, 0, &c);
            hb_jwt_claims_free(&c);
        } else if (strlen(tok) == HB_JWT_MAX_TOKEN + 1) {
            expect_fail(tok, 0, 0, "token too large");
        }
        free(tok);
        free(payload);
    }
    assert_true(found);
    free(pad);
    /* Big and garbage: refused on length alone. */
    memset(buf, 'A', sizeof(buf) - 1);
    buf[sizeof(buf) - 1] = '\0';
    assert_int_equal(hb_jwt_verify(buf, sizeof(buf) - 1, one_key, 1, 0, 0, &c, &why), HB_EJWT);
    assert_string_equal(why, "token too large");
    /* why may be NULL. */
    assert_int_equal(hb_jwt_verify("x", 1, one_key, 1, 0, 0, &c, NULL), HB_EJWT);
    assert_int_equal(hb_jwt_verify(NULL, 0, one_key, 1, 0, 0, &c, &why), HB_EJWT);
    assert_string_equal(why, "malformed token");
}

static void test_claim_shapes(void **state) {
    hb_jwt_claims c;
    char *tok;

    (void)state;
    tok = hs256("{\"role\":\"admin\",\"webpubsub.group\":[\"a\",1,null,\"b\",[\"c\"]]}");
    expect_ok(tok, 0, 0, &c);
    assert_int_equal(c.nroles, 1);
    assert_string_equal(c.roles[0], "admin");
    assert_int_equal(c.ngroups, 2); /* non-strings skipped */
    assert_string_equal(c.groups[0], "a");
    assert_string_equal(c.groups[1], "b");
    assert_null(c.user_id);
    hb_jwt_claims_free(&c);
    free(tok);

    tok = hs256("{\"role\":[],\"webpubsub.group\":7}");
    expect_ok(tok, 0, 0, &c);
    assert_int_equal(c.nroles, 0);
    assert_int_equal(c.ngroups, 0);
    hb_jwt_claims_free(&c);
    free(tok);

    /* aud: a string, the first string of an array, or nothing. */
    tok = hs256("{\"aud\":[1,\"u1\",\"u2\"]}");
    expect_ok(tok, 0, 0, &c);
    assert_string_equal(c.aud, "u1");
    hb_jwt_claims_free(&c);
    free(tok);
    tok = hs256("{\"aud\":[1,2],\"sub\":5}");
    expect_ok(tok, 0, 0, &c);
    assert_null(c.aud);
    assert_null(c.sub);
    assert_null(c.user_id);
    hb_jwt_claims_free(&c);
    free(tok);

    /* userId first, then sub; empty strings count as absent. */
    tok = hs256("{\"userId\":\"u\",\"sub\":\"s\"}");
    expect_ok(tok, 0, 0, &c);
    assert_string_equal(c.user_id, "u");
    assert_string_equal(c.sub, "s");
    hb_jwt_claims_free(&c);
    free(tok);
    tok = hs256("{\"userId\":\"u\"}");
    expect_ok(tok, 0, 0, &c);
    assert_string_equal(c.user_id, "u");
    assert_null(c.sub);
    hb_jwt_claims_free(&c);
    free(tok);
    tok = hs256("{\"userId\":\"\",\"sub\":\"s\"}");
    expect_ok(tok, 0, 0, &c);
    assert_string_equal(c.user_id, "s");
    hb_jwt_claims_free(&c);
    free(tok);
    tok = hs256("{\"userId\":3,\"sub\":\"\"}");
    expect_ok(tok, 0, 0, &c);
    assert_null(c.user_id);
    assert_string_equal(c.sub, "");
    hb_jwt_claims_free(&c);
    free(tok);

    /* UTF-8 survives. */
    tok = hs256("{\"userId\":\"Zo\xc3\xab \\u00e9\\ud83d\\ude00\"}");
    expect_ok(tok, 0, 0, &c);
    assert_string_equal(c.user_id, "Zo\xc3\xab \xc3\xa9\xf0\x9f\x98\x80");
    hb_jwt_claims_free(&c);
    free(tok);
}

static void test_azure_json(void **state) {
    hb_jwt_claims c, fake;
    char *tok, *j;

    (void)state;
    tok = hs256("{\"sub\":\"bob\",\"role\":[\"a\",\"b\"],\"exp\":5,\"r\":1.5,\"big\":1e21,"
                "\"t\":true,\"f\":false,\"n\":null,\"nest\":[[\"x\",2],null,{\"k\":\"v\"}],"
                "\"o\":{\"a\":1},\"e\":[],\"neg\":-0.1}");
    expect_ok(tok, 0, 0, &c);
    j = hb_jwt_claims_azure_json(&c);
    assert_non_null(j);
    assert_string_equal(j, "{\"sub\":[\"bob\"],\"role\":[\"a\",\"b\"],\"exp\":[\"5\"],"
                           "\"r\":[\"1.5\"],\"big\":[\"1e+21\"],\"t\":[\"true\"],"
                           "\"f\":[\"false\"],\"nest\":[\"x\",\"2\",\"{\\\"k\\\":\\\"v\\\"}\"],"
                           "\"o\":[\"{\\\"a\\\":1}\"],\"e\":[],\"neg\":[\"-0.1\"]}");
    free(j);
    hb_jwt_claims_free(&c);
    free(tok);

    expect_ok(node_negotiate, NOW, 0, &c);
    j = hb_jwt_claims_azure_json(&c);
    assert_string_equal(j, "{\"role\":[\"webpubsub.sendToGroup\",\"webpubsub.joinLeaveGroup\"],"
                           "\"webpubsub.group\":[\"room1\"],\"userId\":[\"bob\"],"
                           "\"iat\":[\"1795655347\"],\"exp\":[\"1795658947\"],"
                           "\"aud\":[\"http://127.0.0.1:3000/clients/socketio/hubs/eio_hub\"],"
                           "\"sub\":[\"bob\"]}");
    free(j);
    hb_jwt_claims_free(&c);

    memset(&fake, 0, sizeof(fake));
    assert_null(hb_jwt_claims_azure_json(NULL));
    assert_null(hb_jwt_claims_azure_json(&fake));
    fake.payload_json = "[1]";
    assert_null(hb_jwt_claims_azure_json(&fake));
    fake.payload_json = "{}";
    j = hb_jwt_claims_azure_json(&fake);
    assert_string_equal(j, "{}");
    free(j);
}

static void test_sign_refuses(void **state) {
    (void)state;
    assert_null(hb_jwt_sign(NULL, "{}"));
    assert_null(hb_jwt_sign("", "{}"));
    assert_null(hb_jwt_sign(KEY, NULL));
    assert_null(hb_jwt_sign(KEY, "[]"));
    assert_null(hb_jwt_sign(KEY, "\"s\""));
    assert_null(hb_jwt_sign(KEY, "{"));
    assert_null(hb_jwt_sign(KEY, "{\"a\":1,\"a\":2}"));
}

static void test_new_key(void **state) {
    char a[HB_JWT_KEY_LEN + 1], b[HB_JWT_KEY_LEN + 1];
    uint8_t raw[64];
    size_t n = 0;
    const char *keys[1];
    hb_jwt_claims c;
    char *tok;

    (void)state;
    memset(a, 0x7F, sizeof(a));
    assert_int_equal(hb_jwt_new_key(a), 0);
    assert_int_equal(hb_jwt_new_key(b), 0);
    assert_int_equal(strlen(a), 44);
    assert_int_equal(a[43], '=');
    assert_int_equal(hb_base64_decode(raw, &n, a, 44), 0);
    assert_int_equal(n, 32);
    assert_string_not_equal(a, b);
    assert_null(strchr(a, ';')); /* safe inside a connection string */

    tok = hb_jwt_sign(a, "{\"sub\":\"k\"}");
    keys[0] = a;
    assert_int_equal(hb_jwt_verify(tok, strlen(tok), keys, 1, 0, 0, &c, NULL), 0);
    hb_jwt_claims_free(&c);
    keys[0] = b;
    expect_fail_keys(tok, strlen(tok), keys, 1, 0, 0, "invalid signature");
    free(tok);
}

/* jansson's allocator failing at every step in turn: each call either works
 * or refuses, and ASan's leak check sees nothing left over. */
static size_t allocs_left;
static void *failing_malloc(size_t n) {
    if (allocs_left == 0)
        return NULL;
    allocs_left--;
    return malloc(n);
}

static void test_out_of_memory(void **state) {
    hb_jwt_claims c, real;
    int ok_verify = 0, ok_json = 0, ok_sign = 0, saw_nomem = 0;

    (void)state;
    expect_ok(node_negotiate, NOW, 0, &real);
    for (size_t budget = 0; budget < 400 && !(ok_verify && ok_json && ok_sign); budget++) {
        const char *why = NULL;
        char *s;
        int rc;

        json_set_alloc_funcs(failing_malloc, free);
        allocs_left = budget;
        rc = hb_jwt_verify(node_negotiate, strlen(node_negotiate), one_key, 1, NOW, 0, &c, &why);
        allocs_left = budget;
        s = hb_jwt_claims_azure_json(&real);
        json_set_alloc_funcs(malloc, free);

        if (rc == 0) {
            ok_verify = 1;
            assert_string_equal(c.payload_json, real.payload_json);
        } else if (rc == HB_ENOMEM) {
            saw_nomem = 1;
            assert_string_equal(why, "out of memory");
        } else {
            /* jansson reports some failed allocations as syntax errors. */
            assert_int_equal(rc, HB_EJWT);
            assert_string_equal(why, "malformed token");
        }
        hb_jwt_claims_free(&c);
        ok_json |= s != NULL;
        free(s);

        json_set_alloc_funcs(failing_malloc, free);
        allocs_left = budget;
        s = hb_jwt_sign(KEY, "{\"a\":[1,2,3]}");
        json_set_alloc_funcs(malloc, free);
        ok_sign |= s != NULL;
        free(s);
    }
    assert_true(ok_verify && ok_json && ok_sign && saw_nomem);
    hb_jwt_claims_free(&real);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sign_then_verify),  cmocka_unit_test(test_node_tunnel_token),
        cmocka_unit_test(test_node_negotiate_token), cmocka_unit_test(test_keys),
        cmocka_unit_test(test_algorithms),        cmocka_unit_test(test_tampering),
        cmocka_unit_test(test_times),             cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_claim_shapes),      cmocka_unit_test(test_azure_json),
        cmocka_unit_test(test_sign_refuses),      cmocka_unit_test(test_new_key),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
