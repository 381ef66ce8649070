/* Connection permissions (hub/perm.h): a small list walked linearly; a
 * connection has a handful of entries at most. */
#include "hub/perm.h"

#include <stdlib.h>
#include <string.h>

#include "hubbub/error.h"

static const char *const known[] = {"sendToGroup", "joinLeaveGroup"};

int hb_perm_known(const char *perm) {
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (strcmp(perm, known[i]) == 0)
            return 1;
    return 0;
}

/* Bytes of the set's entries, without the final empty one. */
static size_t set_len(const char *set) {
    size_t n = 0;
    while (set != NULL && set[n] != '\0')
        n += strlen(set + n) + 1;
    return n;
}

/* 1 when entry e is perm for target (target NULL: perm alone). */
static int entry_is(const char *e, const char *perm, const char *target) {
    size_t pl = strlen(perm);
    if (strncmp(e, perm, pl) != 0)
        return 0;
    if (target == NULL)
        return e[pl] == '\0';
    return e[pl] == '.' && strcmp(e + pl + 1, target) == 0;
}

int hb_perm_has(const char *set, const char *perm, const char *target) {
    for (const char *e = set; e != NULL && *e != '\0'; e += strlen(e) + 1)
        if (entry_is(e, perm, NULL) || (target != NULL && entry_is(e, perm, target)))
            return 1;
    return 0;
}

int hb_perm_grant(char **set, const char *perm, const char *target) {
    size_t len = set_len(*set), pl = strlen(perm), tl = target ? strlen(target) + 1 : 0;
    char *grown;
    if (!hb_perm_known(perm))
        return HB_EINVAL;
    for (const char *e = *set; e != NULL && *e != '\0'; e += strlen(e) + 1)
        if (entry_is(e, perm, target))
            return 0;
    if ((grown = realloc(*set, len + pl + tl + 2)) == NULL)
        return HB_ENOMEM;
    memcpy(grown + len, perm, pl);
    if (target != NULL) {
        grown[len + pl] = '.';
        memcpy(grown + len + pl + 1, target, tl - 1);
    }
    grown[len + pl + tl] = '\0';
    grown[len + pl + tl + 1] = '\0';
    *set = grown;
    return 0;
}

void hb_perm_revoke(char **set, const char *perm, const char *target) {
    size_t len = set_len(*set), at = 0;
    size_t pl = strlen(perm);
    while (*set != NULL && at < len) {
        char *e = *set + at;
        size_t el = strlen(e) + 1;
        int drop = target != NULL ? entry_is(e, perm, target)
                                  : strncmp(e, perm, pl) == 0 && (e[pl] == '\0' || e[pl] == '.');
        if (!drop) {
            at += el;
            continue;
        }
        memmove(e, e + el, len + 1 - at - el);
        len -= el;
    }
    if (*set != NULL && len == 0) {
        free(*set);
        *set = NULL;
    }
}

int hb_perm_grant_role(char **set, const char *role) {
    static const char prefix[] = "webpubsub.";
    const char *p = role + sizeof(prefix) - 1;
    for (size_t i = 0; strncmp(role, prefix, sizeof(prefix) - 1) == 0 &&
                       i < sizeof(known) / sizeof(known[0]); i++) {
        size_t kl = strlen(known[i]);
        if (strncmp(p, known[i], kl) != 0)
            continue;
        if (p[kl] == '\0')
            return hb_perm_grant(set, known[i], NULL);
        if (p[kl] == '.' && p[kl + 1] != '\0')
            return hb_perm_grant(set, known[i], p + kl + 1);
    }
    return 0;
}
