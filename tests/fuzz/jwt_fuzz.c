/* libFuzzer target for hb_jwt_verify() with a fixed key. The first byte
 * picks the mode: odd ('S') means the rest is "header.payload" and the
 * target appends the right HS256 signature, so the fuzzer reaches the JSON,
 * claims and time checks behind the signature; even ('T') means the rest is
 * a whole token. Every accepted token must give consistent claims, and
 * every payload hb_jwt_sign() accepts must verify again. Inputs live in
 * exact-size allocations so ASan sees every overread. */
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/jwt.h"
#include "core/base64.h"
#include "hubbub/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                                                 \
    do {                                                                                         \
        if (!(x))                                                                                \
            abort();                                                                             \
    } while (0)

#define KEY "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGH="
#define NOW 1795655357
#define LEEWAY 60

static const char *const keys[] = {"old-key", KEY};

static void check_claims(const hb_jwt_claims *c) {
    json_t *p = json_loads(c->payload_json, JSON_REJECT_DUPLICATES, NULL);
    char *azure;

    CHECK(json_is_object(p));
    if (c->sub != NULL)
        CHECK(strcmp(c->sub, json_string_value(json_object_get(p, "sub"))) == 0);
    if (c->user_id != NULL)
        CHECK(c->user_id[0] != '\0');
    CHECK(c->nroles == 0 || c->roles != NULL);
    CHECK(c->ngroups == 0 || c->groups != NULL);
    for (size_t i = 0; i < c->nroles; i++)
        CHECK(c->roles[i] != NULL);
    for (size_t i = 0; i < c->ngroups; i++)
        CHECK(c->groups[i] != NULL);
    if (json_object_get(p, "exp") != NULL)
        CHECK(NOW - LEEWAY < c->exp);
    json_decref(p);

    azure = hb_jwt_claims_azure_json(c);
    if (azure != NULL) {
        json_t *a = json_loads(azure, 0, NULL);
        const char *name;
        json_t *v;
        CHECK(json_is_object(a));
        json_object_foreach(a, name, v) {
            size_t i;
            json_t *s;
            CHECK(json_is_array(v));
            json_array_foreach(v, i, s) CHECK(json_is_string(s));
        }
        json_decref(a);
        free(azure);
    }
}

/* Whatever hb_jwt_sign() makes, hb_jwt_verify() takes, unless the claims
 * themselves say no. */
static void check_sign(const char *payload) {
    char *tok = hb_jwt_sign(KEY, payload);
    hb_jwt_claims c;
    const char *why = NULL;
    int rc;

    if (tok == NULL)
        return;
    rc = hb_jwt_verify(tok, strlen(tok), keys, 2, NOW, LEEWAY, &c, &why);
    if (rc == 0) {
        check_claims(&c);
        hb_jwt_claims_free(&c);
    } else {
        CHECK(rc == HB_ENOMEM || strcmp(why, "token expired") == 0 ||
              strcmp(why, "token not yet valid") == 0 || strcmp(why, "malformed claims") == 0 ||
              strcmp(why, "token too large") == 0);
    }
    free(tok);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    hb_jwt_claims c;
    const char *why = NULL;
    char *tok;
    size_t len;
    int rc;

    if (size == 0)
        return 0;
    len = size - 1;
    if (data[0] & 1) {
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned int maclen = 0;
        tok = malloc(len + 1 + hb_base64_encoded_len(32));
        CHECK(tok != NULL);
        memcpy(tok, data + 1, len);
        CHECK(HMAC(EVP_sha256(), KEY, (int)strlen(KEY), (const unsigned char *)tok, len, mac,
                   &maclen) != NULL);
        tok[len++] = '.';
        len += hb_base64url_encode(tok + len, mac, maclen);
    } else {
        tok = malloc(len > 0 ? len : 1);
        CHECK(tok != NULL);
        memcpy(tok, data + 1, len);
    }

    rc = hb_jwt_verify(tok, len, keys, 2, NOW, LEEWAY, &c, &why);
    CHECK(rc == 0 || rc == HB_EJWT || rc == HB_ENOMEM);
    if (rc == 0) {
        check_claims(&c);
        check_sign(c.payload_json); /* compact re-encoding signs and verifies */
    } else {
        CHECK(why != NULL && c.payload_json == NULL && c.aud == NULL && c.roles == NULL);
    }
    hb_jwt_claims_free(&c);
    free(tok);

    /* The input as a payload for the signer. */
    tok = malloc(size);
    CHECK(tok != NULL);
    memcpy(tok, data + 1, size - 1);
    tok[size - 1] = '\0';
    check_sign(tok);
    free(tok);
    return 0;
}
