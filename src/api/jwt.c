/* HS256 JWTs with OpenSSL's HMAC and jansson rather than libjwt: Debian's
 * libjwt 1.10 has no exp/nbf validation, reports a bad token only as EINVAL,
 * needs a NUL-terminated token, and would re-parse the token for each key
 * of a rotation. Done here, every step is visible and fuzzed with the rest:
 * the signature is compared as its canonical base64url text, so a token has
 * exactly one valid spelling, and nothing but HS256 is ever looked at. */
#include "api/jwt.h"

#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base64.h"
#include "hubbub/error.h"

enum {
    MAC_LEN = 32, /* SHA-256 */
    SIG_LEN = 43, /* unpadded base64url of 32 bytes */
    KEY_RAW = 32,
};

static const char header_json[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

/* Decodes unpadded base64url in[0..n) into out (n bytes suffice). Only
 * [A-Za-z0-9_-] is accepted: '=', '+' and '/' are not base64url. */
static int b64url_decode(uint8_t *out, size_t *out_len, const char *in, size_t n) {
    for (size_t i = 0; i < n; i++) {
        char ch = in[i];
        if (ch == '-')
            ch = '+';
        else if (ch == '_')
            ch = '/';
        else if (ch == '+' || ch == '/' || ch == '=')
            return HB_EBADBASE64;
        out[i] = (uint8_t)ch;
    }
    return hb_base64_decode(out, out_len, (const char *)out, n);
}

static int is_b64url(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '_'))
            return 0;
    }
    return 1;
}

/* Parses a decoded part as a JSON object. On failure returns NULL and sets
 * *nomem when the cause was memory rather than the text. */
static json_t *parse_object(const uint8_t *s, size_t n, int *nomem) {
    json_error_t err;
    json_t *v = json_loadb((const char *)s, n, JSON_REJECT_DUPLICATES, &err);

    if (v == NULL) {
        *nomem = json_error_code(&err) == json_error_out_of_memory;
        return NULL;
    }
    if (!json_is_object(v)) {
        json_decref(v);
        return NULL;
    }
    return v;
}

/* HMAC-SHA256 of data[0..n) under key, as 43 characters of base64url. */
static int mac_b64(char out[SIG_LEN + 1], const char *key, size_t klen, const char *data,
                   size_t n) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char enc[48];

    if (klen > INT_MAX)
        return -1;
    if (HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)data, n, md, &mdlen) == NULL ||
        mdlen != MAC_LEN)
        return -1;
    if (hb_base64url_encode(enc, md, MAC_LEN) != SIG_LEN)
        return -1;
    memcpy(out, enc, SIG_LEN);
    out[SIG_LEN] = '\0';
    OPENSSL_cleanse(md, sizeof(md));
    return 0;
}

static int64_t sat_add(int64_t a, int64_t b) {
    int64_t r;
    if (__builtin_add_overflow(a, b, &r))
        return b > 0 ? INT64_MAX : INT64_MIN;
    return r;
}

/* A NumericDate claim: absent gives 0, a non-number -1. */
static int get_time(json_t *payload, const char *name, int64_t *out) {
    json_t *v = json_object_get(payload, name);

    *out = 0;
    if (v == NULL)
        return 0;
    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        return 0;
    }
    if (json_is_real(v)) {
        double d = floor(json_real_value(v));
        if (d >= 9223372036854775808.0)
            *out = INT64_MAX;
        else if (d < -9223372036854775808.0)
            *out = INT64_MIN;
        else
            *out = (int64_t)d;
        return 0;
    }
    return -1;
}

static int dup_string(json_t *v, char **out) {
    *out = NULL;
    if (!json_is_string(v))
        return 0;
    *out = strdup(json_string_value(v));
    return *out == NULL ? HB_ENOMEM : 0;
}

/* A claim that is a string or an array of strings, as a string vector. */
static int get_list(json_t *payload, const char *name, char ***out, size_t *n) {
    json_t *v = json_object_get(payload, name);
    size_t cap = json_is_array(v) ? json_array_size(v) : json_is_string(v) ? 1 : 0;

    *out = NULL;
    *n = 0;
    if (cap == 0)
        return 0;
    *out = calloc(cap, sizeof(char *));
    if (*out == NULL)
        return HB_ENOMEM;
    for (size_t i = 0; i < cap; i++) {
        json_t *item = json_is_array(v) ? json_array_get(v, i) : v;
        if (!json_is_string(item))
            continue;
        if (((*out)[*n] = strdup(json_string_value(item))) == NULL)
            return HB_ENOMEM;
        (*n)++;
    }
    return 0;
}

static int fill_claims(json_t *payload, hb_jwt_claims *c) {
    json_t *aud = json_object_get(payload, "aud");
    const char *uid = json_string_value(json_object_get(payload, "userId"));
    int rc;

    if (json_is_array(aud)) {
        size_t i;
        json_t *item;
        json_array_foreach(aud, i, item) {
            if (json_is_string(item))
                break;
        }
        aud = json_array_get(aud, i);
    }
    if ((rc = dup_string(aud, &c->aud)) != 0 ||
        (rc = dup_string(json_object_get(payload, "sub"), &c->sub)) != 0)
        return rc;
    if (uid == NULL || uid[0] == '\0')
        uid = c->sub != NULL && c->sub[0] != '\0' ? c->sub : NULL;
    if (uid != NULL && (c->user_id = strdup(uid)) == NULL)
        return HB_ENOMEM;
    if ((rc = get_list(payload, "role", &c->roles, &c->nroles)) != 0 ||
        (rc = get_list(payload, "webpubsub.group", &c->groups, &c->ngroups)) != 0)
        return rc;
    c->payload_json = json_dumps(payload, JSON_COMPACT);
    return c->payload_json == NULL ? HB_ENOMEM : 0;
}

int hb_jwt_verify(const char *token, size_t len, const char *const *keys, size_t nkeys,
                  int64_t now_s, int64_t leeway_s, hb_jwt_claims *out, const char **why) {
    const char *reason = "malformed token", *dot1, *dot2, *alg;
    const char *sig;
    uint8_t *buf = NULL;
    json_t *header = NULL, *payload = NULL;
    size_t hlen, plen, dlen;
    int rc = HB_EJWT, nomem = 0, matched = 0, have_key = 0;

    memset(out, 0, sizeof(*out));
    if (len > HB_JWT_MAX_TOKEN) {
        reason = "token too large";
        goto fail;
    }
    if (token == NULL || (dot1 = memchr(token, '.', len)) == NULL)
        goto fail;
    hlen = (size_t)(dot1 - token);
    if ((dot2 = memchr(dot1 + 1, '.', len - hlen - 1)) == NULL)
        goto fail;
    plen = (size_t)(dot2 - dot1 - 1);
    sig = dot2 + 1;

    /* One scratch buffer holds the header, then the payload. */
    if ((buf = malloc(hlen > plen ? hlen + 1 : plen + 1)) == NULL) {
        rc = HB_ENOMEM;
        goto fail;
    }
    if (b64url_decode(buf, &dlen, token, hlen) != 0)
        goto fail;
    if ((header = parse_object(buf, dlen, &nomem)) == NULL)
        goto fail_json;
    alg = json_string_value(json_object_get(header, "alg"));
    if (alg == NULL || strcmp(alg, "HS256") != 0) {
        reason = "unsupported algorithm";
        goto fail;
    }
    if (json_object_get(header, "crit") != NULL) {
        reason = "unsupported critical header";
        goto fail;
    }
    /* Only now, so that "alg":"none" or HS512 is named as such. */
    if ((size_t)(token + len - sig) != SIG_LEN || !is_b64url(sig, SIG_LEN))
        goto fail;
    /* The payload's base64 is checked before any HMAC so that a malformed
     * token is called malformed whatever the key. */
    if (b64url_decode(buf, &dlen, dot1 + 1, plen) != 0)
        goto fail;

    for (size_t i = 0; i < nkeys && !matched; i++) {
        char got[SIG_LEN + 1];
        if (keys[i] == NULL || keys[i][0] == '\0')
            continue;
        have_key = 1;
        if (mac_b64(got, keys[i], strlen(keys[i]), token, hlen + 1 + plen) != 0) {
            rc = HB_ENOMEM; /* HMAC only fails when OpenSSL cannot allocate */
            goto fail;
        }
        matched = CRYPTO_memcmp(got, sig, SIG_LEN) == 0;
    }
    if (!have_key) {
        reason = "no key to verify with";
        goto fail;
    }
    if (!matched) {
        reason = "invalid signature";
        goto fail;
    }

    if ((payload = parse_object(buf, dlen, &nomem)) == NULL)
        goto fail_json;
    if (get_time(payload, "exp", &out->exp) != 0 || get_time(payload, "nbf", &out->nbf) != 0 ||
        get_time(payload, "iat", &out->iat) != 0) {
        reason = "malformed claims";
        goto fail;
    }
    if (leeway_s < 0)
        leeway_s = 0;
    if (json_object_get(payload, "exp") != NULL && now_s >= sat_add(out->exp, leeway_s)) {
        reason = "token expired";
        goto fail;
    }
    if (json_object_get(payload, "nbf") != NULL && sat_add(now_s, leeway_s) < out->nbf) {
        reason = "token not yet valid";
        goto fail;
    }
    if ((rc = fill_claims(payload, out)) != 0)
        goto fail;

    json_decref(payload);
    json_decref(header);
    free(buf);
    return 0;

fail_json:
    if (nomem)
        rc = HB_ENOMEM;
fail:
    if (rc == HB_ENOMEM)
        reason = "out of memory";
    if (why != NULL)
        *why = reason;
    hb_jwt_claims_free(out);
    json_decref(payload);
    json_decref(header);
    free(buf);
    return rc;
}

static void free_list(char **v, size_t n) {
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void hb_jwt_claims_free(hb_jwt_claims *c) {
    if (c == NULL)
        return;
    free(c->aud);
    free(c->sub);
    free(c->user_id);
    free_list(c->roles, c->nroles);
    free_list(c->groups, c->ngroups);
    free(c->payload_json);
    memset(c, 0, sizeof(*c));
}

char *hb_jwt_sign(const char *key, const char *payload_json) {
    size_t hlen = sizeof(header_json) - 1, plen, n;
    json_t *check;
    char *tok;

    if (key == NULL || key[0] == '\0' || payload_json == NULL)
        return NULL;
    check = json_loads(payload_json, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(check)) {
        json_decref(check);
        return NULL;
    }
    json_decref(check);
    plen = strlen(payload_json);
    tok = malloc(hb_base64_encoded_len(hlen) + 1 + hb_base64_encoded_len(plen) + 1 + SIG_LEN + 1);
    if (tok == NULL)
        return NULL;
    n = hb_base64url_encode(tok, (const uint8_t *)header_json, hlen);
    tok[n++] = '.';
    n += hb_base64url_encode(tok + n, (const uint8_t *)payload_json, plen);
    if (mac_b64(tok + n + 1, key, strlen(key), tok, n) != 0) {
        free(tok);
        return NULL;
    }
    tok[n] = '.';
    return tok;
}

/* The shortest decimal that reads back as d. */
static void format_real(char out[32], double d) {
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(out, 32, "%.*g", prec, d);
        if (strtod(out, NULL) == d)
            return;
    }
}

/* Appends v's values to arr as strings, flattening arrays. */
static int flatten(json_t *arr, json_t *v) {
    char tmp[32];
    const char *s = NULL;
    char *owned = NULL;
    int rc;

    switch (json_typeof(v)) {
    case JSON_NULL: return 0;
    case JSON_ARRAY: {
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item) {
            if (flatten(arr, item) != 0)
                return -1;
        }
        return 0;
    }
    case JSON_STRING: s = json_string_value(v); break;
    case JSON_INTEGER:
        snprintf(tmp, sizeof(tmp), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        s = tmp;
        break;
    case JSON_REAL:
        format_real(tmp, json_real_value(v));
        s = tmp;
        break;
    case JSON_TRUE: s = "true"; break;
    case JSON_FALSE: s = "false"; break;
    case JSON_OBJECT:
        if ((s = owned = json_dumps(v, JSON_COMPACT)) == NULL)
            return -1;
        break;
    }
    rc = json_array_append_new(arr, json_string(s));
    free(owned);
    return rc;
}

char *hb_jwt_claims_azure_json(const hb_jwt_claims *c) {
    json_t *payload, *res, *value;
    const char *name;
    char *text = NULL;

    if (c == NULL || c->payload_json == NULL)
        return NULL;
    payload = json_loads(c->payload_json, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(payload)) {
        json_decref(payload);
        return NULL;
    }
    if ((res = json_object()) == NULL)
        goto out;
    json_object_foreach(payload, name, value) {
        json_t *arr;
        if (json_is_null(value))
            continue;
        if ((arr = json_array()) == NULL || json_object_set_new(res, name, arr) != 0 ||
            flatten(arr, value) != 0)
            goto out;
    }
    text = json_dumps(res, JSON_COMPACT);
out:
    json_decref(res);
    json_decref(payload);
    return text;
}

int hb_jwt_new_key(char out[HB_JWT_KEY_LEN + 1]) {
    unsigned char raw[KEY_RAW];

    if (RAND_bytes(raw, KEY_RAW) != 1) {
        out[0] = '\0';
        return HB_EINVAL;
    }
    hb_base64_encode(out, raw, KEY_RAW);
    out[HB_JWT_KEY_LEN] = '\0';
    OPENSSL_cleanse(raw, sizeof(raw));
    return 0;
}
