/* The opening handshake of RFC 6455 section 4.2: request checks and the
 * Sec-WebSocket-Accept value. SHA-1 and base64 come from OpenSSL. */
#include "ws/handshake.h"

#include <openssl/evp.h>
#include <string.h>

#include "hubbub/error.h"

static const char GUID[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

static int lower(int c) {
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static int is_ows(char c) {
    return c == ' ' || c == '\t';
}

/* 1 if the comma-separated list holds token (ASCII case-insensitive).
 * Empty items are allowed, as RFC 9110's #rule says. */
static int list_has_token(const char *list, const char *token) {
    size_t tlen = strlen(token);
    const char *p = list;

    while (*p != '\0') {
        const char *start, *end;
        while (is_ows(*p))
            p++;
        start = p;
        while (*p != '\0' && *p != ',')
            p++;
        end = p;
        while (end > start && is_ows(end[-1]))
            end--;
        if ((size_t)(end - start) == tlen) {
            size_t i = 0;
            while (i < tlen && lower((unsigned char)start[i]) == token[i])
                i++;
            if (i == tlen)
                return 1;
        }
        if (*p == ',')
            p++;
    }
    return 0;
}

static int is_base64(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '+' || c == '/';
}

static int valid_key(const char *key) {
    /* 16 bytes encode to 22 characters and two '=' of padding. */
    for (int i = 0; i < 22; i++)
        if (!is_base64(key[i]))
            return 0; /* also stops at the NUL of a short key */
    return key[22] == '=' && key[23] == '=' && key[24] == '\0';
}

static int refuse(const char **why, const char *reason) {
    if (why != NULL)
        *why = reason;
    return HB_EWS_HANDSHAKE;
}

int hb_ws_handshake_check(const char *method, const char *upgrade, const char *connection,
                          const char *version, const char *key, const char **why) {
    if (method == NULL || strcmp(method, "GET") != 0)
        return refuse(why, "WebSocket upgrade must use GET");
    if (upgrade == NULL || !list_has_token(upgrade, "websocket"))
        return refuse(why, "Upgrade header does not name websocket");
    if (connection == NULL || !list_has_token(connection, "upgrade"))
        return refuse(why, "Connection header does not hold upgrade");
    if (version == NULL)
        return refuse(why, "Sec-WebSocket-Version is missing");
    if (strcmp(version, "13") != 0)
        return refuse(why, "unsupported Sec-WebSocket-Version (only 13 is spoken)");
    if (key == NULL || !valid_key(key))
        return refuse(why, "Sec-WebSocket-Key is not base64 of 16 bytes");
    return 0;
}

void hb_ws_accept_key(const char *key, size_t key_len, char out[29]) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) == 1 &&
             EVP_DigestUpdate(ctx, key, key_len) == 1 &&
             EVP_DigestUpdate(ctx, GUID, sizeof(GUID) - 1) == 1 &&
             EVP_DigestFinal_ex(ctx, md, &md_len) == 1 && md_len == 20;

    EVP_MD_CTX_free(ctx);
    out[0] = '\0';
    if (ok)
        EVP_EncodeBlock((unsigned char *)out, md, 20); /* 28 chars + NUL */
}
