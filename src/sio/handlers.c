/* Shared handler lists. The table finds a node by what makes it: the list
 * it was added to, the name, the callback and the user data, so the second
 * socket that registers "chat" after "join" with the same callbacks gets
 * the first one's list. A node holds a reference to its parent, so a list
 * lives while any socket or longer list uses it. */
#include "sio/handlers.h"

#include <stdlib.h>
#include <string.h>

#include "hubbub/error.h"

struct hb_sio_handlers {
    hb_sio_hnode **buckets;
    size_t nbuckets, count;
};

static uint64_t mix(uint64_t h, uint64_t v) {
    h ^= v;
    h *= 0x100000001b3ull;
    return h ^ (h >> 29);
}

static uint64_t hash_key(const hb_sio_hnode *parent, const char *name, size_t len,
                         hb_event_cb cb, void *ud) {
    uint64_t h = 0xcbf29ce484222325ull;
    uintptr_t f = 0;
    memcpy(&f, &cb, sizeof(cb) < sizeof(f) ? sizeof(cb) : sizeof(f));
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)name[i]) * 0x100000001b3ull;
    h = mix(h, (uint64_t)(uintptr_t)parent);
    h = mix(h, (uint64_t)f);
    h = mix(h, (uint64_t)(uintptr_t)ud);
    return h;
}

static size_t slot_of(const hb_sio_handlers *t, const hb_sio_hnode *n) {
    return hash_key(n->parent, n->name, n->len, n->cb, n->ud) & (t->nbuckets - 1);
}

hb_sio_handlers *hb_sio_handlers_new(void) {
    hb_sio_handlers *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->nbuckets = 16;
    if ((t->buckets = calloc(t->nbuckets, sizeof(*t->buckets))) == NULL) {
        free(t);
        return NULL;
    }
    return t;
}

void hb_sio_handlers_free(hb_sio_handlers *t) {
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->nbuckets; i++)
        while (t->buckets[i] != NULL) {
            hb_sio_hnode *n = t->buckets[i];
            t->buckets[i] = n->hnext;
            free(n);
        }
    free(t->buckets);
    free(t);
}

size_t hb_sio_handlers_count(const hb_sio_handlers *t) {
    return t->count;
}

const hb_sio_hnode *hb_sio_handlers_find(const hb_sio_hnode *list, const char *name,
                                         size_t len) {
    for (; list != NULL; list = list->parent)
        if (list->len == len && memcmp(list->name, name, len) == 0)
            return list;
    return NULL;
}

static void grow(hb_sio_handlers *t) {
    size_t n = t->nbuckets * 2, old = t->nbuckets;
    hb_sio_hnode **b = calloc(n, sizeof(*b)), **ob = t->buckets;
    if (b == NULL)
        return; /* longer chains, still correct */
    t->buckets = b;
    t->nbuckets = n;
    for (size_t i = 0; i < old; i++) {
        hb_sio_hnode *x = ob[i];
        while (x != NULL) {
            hb_sio_hnode *next = x->hnext;
            size_t k = slot_of(t, x);
            x->hnext = b[k];
            b[k] = x;
            x = next;
        }
    }
    free(ob);
}

/* The list parent + (name, cb, ud), with a new reference; NULL on ENOMEM. */
static hb_sio_hnode *intern(hb_sio_handlers *t, hb_sio_hnode *parent, const char *name,
                            size_t len, hb_event_cb cb, void *ud) {
    size_t k = hash_key(parent, name, len, cb, ud) & (t->nbuckets - 1);
    hb_sio_hnode *n;
    for (n = t->buckets[k]; n != NULL; n = n->hnext)
        if (n->parent == parent && n->cb == cb && n->ud == ud && n->len == len &&
            memcmp(n->name, name, len) == 0) {
            n->refs++;
            return n;
        }
    if (len > UINT32_MAX || (n = malloc(sizeof(*n) + len + 1)) == NULL)
        return NULL;
    n->parent = parent;
    n->cb = cb;
    n->ud = ud;
    n->refs = 1;
    n->len = (uint32_t)len;
    memcpy(n->name, name, len);
    n->name[len] = '\0';
    if (parent != NULL)
        parent->refs++;
    if (t->count + 1 > t->nbuckets) {
        grow(t);
        k = hash_key(parent, name, len, cb, ud) & (t->nbuckets - 1);
    }
    n->hnext = t->buckets[k];
    t->buckets[k] = n;
    t->count++;
    return n;
}

void hb_sio_handlers_release(hb_sio_handlers *t, hb_sio_hnode *list) {
    while (list != NULL && --list->refs == 0) {
        hb_sio_hnode *parent = list->parent, **p = &t->buckets[slot_of(t, list)];
        while (*p != list)
            p = &(*p)->hnext;
        *p = list->hnext;
        t->count--;
        free(list);
        list = parent;
    }
}

int hb_sio_handlers_set(hb_sio_handlers *t, hb_sio_hnode **list, const char *name, size_t len,
                        hb_event_cb cb, void *ud) {
    const hb_sio_hnode *old = hb_sio_handlers_find(*list, name, len);
    const hb_sio_hnode *keep[32], **v = keep;
    hb_sio_hnode *cur = NULL, *next = NULL;
    size_t n = 0;
    int failed = 0;
    if (old != NULL && old->cb == cb && old->ud == ud)
        return 0;
    if (old == NULL) {
        next = intern(t, *list, name, len, cb, ud);
    } else {
        /* A replacement: the same list without the old handler, rebuilt
         * from the empty one (lists are shared, never edited), then the
         * new one on top. Names are unique in a list, so its length is the
         * number of the app's events. */
        for (const hb_sio_hnode *x = *list; x != NULL; x = x->parent)
            n++;
        if (n > sizeof(keep) / sizeof(keep[0]) && (v = malloc(n * sizeof(*v))) == NULL)
            return HB_ENOMEM;
        n = 0;
        for (const hb_sio_hnode *x = *list; x != NULL; x = x->parent)
            if (x != old)
                v[n++] = x;
        while (n > 0 && !failed) { /* oldest first */
            const hb_sio_hnode *x = v[--n];
            next = intern(t, cur, x->name, x->len, x->cb, x->ud);
            hb_sio_handlers_release(t, cur); /* next holds it now */
            cur = next;
            failed = next == NULL;
        }
        if (v != keep)
            free(v);
        if (failed)
            return HB_ENOMEM;
        next = intern(t, cur, name, len, cb, ud);
        hb_sio_handlers_release(t, cur);
    }
    if (next == NULL)
        return HB_ENOMEM;
    hb_sio_handlers_release(t, *list);
    *list = next;
    return 0;
}
