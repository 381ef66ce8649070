/* Group membership. A membership is one link that sits on two lists: the
 * group's (doubly linked, for O(1) leave and ordered fan-out) and the
 * member's (singly linked: a member is in few groups, and it is what lists
 * and leaves them). Groups are found by name in a chained hash table with a
 * per-registry random seed, since group names may come from clients.
 * Named members (a group of one per member, a socket's own room) sit in a
 * second table with the same hash: a name is looked up in both. */
#include "groups/groups.h"

#include <stdlib.h>
#include <string.h>

#include "core/id.h"
#include "hubbub/error.h"

struct hb_group_link {
    hb_group *group;
    hb_group_member *member;
    hb_group_link *gnext, *gprev; /* in the group */
    hb_group_link *mnext;         /* in the member */
};

struct hb_group {
    hb_group *hnext;
    uint64_t hash;
    hb_group_link *head, *tail;
    size_t count;
    void *slot;               /* the watcher's */
    size_t len;
    char name[]; /* NUL-terminated for logs; may hold NULs itself */
};

struct hb_groups {
    hb_group **buckets;
    size_t nbuckets, ngroups;
    hb_group_member *head, *tail;
    size_t nmembers;
    uint64_t epoch;
    uint64_t seed;
    hb_groups_watch_cb watch;
    void *watch_ud;
    hb_group_named **named;   /* by name; NULL until the first named member */
    size_t nnamed_buckets, nnamed;
};

static uint64_t hash_name(uint64_t seed, const char *name, size_t len) {
    /* FNV-1a over a seeded start, then a final mix so the low bits used as
     * the bucket index depend on every byte. */
    uint64_t h = 0xcbf29ce484222325ull ^ seed;
    for (size_t i = 0; i < len; i++) {
        h ^= (uint8_t)name[i];
        h *= 0x100000001b3ull;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

hb_groups *hb_groups_new(void) {
    hb_groups *g = calloc(1, sizeof(*g));
    char id[HB_ID_LEN + 1];
    if (g == NULL)
        return NULL;
    g->nbuckets = 16;
    g->buckets = calloc(g->nbuckets, sizeof(*g->buckets));
    if (g->buckets == NULL) {
        free(g);
        return NULL;
    }
    hb_id_new(id);
    g->seed = hash_name(0, id, strlen(id));
    return g;
}

void hb_groups_free(hb_groups *g) {
    if (g == NULL)
        return;
    for (size_t i = 0; i < g->nbuckets; i++) {
        hb_group *grp = g->buckets[i];
        while (grp != NULL) {
            hb_group *next = grp->hnext;
            hb_group_link *l = grp->head;
            while (l != NULL) {
                hb_group_link *ln = l->gnext;
                free(l);
                l = ln;
            }
            free(grp);
            grp = next;
        }
    }
    free(g->buckets);
    free(g->named);
    free(g);
}

void hb_groups_add(hb_groups *g, hb_group_member *m) {
    m->links = NULL;
    m->next = NULL;
    m->prev = g->tail;
    m->mark = 0;
    if (g->tail != NULL)
        g->tail->next = m;
    else
        g->head = m;
    g->tail = m;
    g->nmembers++;
}

void hb_groups_watch(hb_groups *g, hb_groups_watch_cb cb, void *ud) {
    g->watch = cb;
    g->watch_ud = ud;
}

size_t hb_groups_count(const hb_groups *g) {
    return g->nmembers;
}

static hb_group *find(const hb_groups *g, const char *name, size_t len, uint64_t h) {
    for (hb_group *grp = g->buckets[h & (g->nbuckets - 1)]; grp != NULL; grp = grp->hnext)
        if (grp->hash == h && grp->len == len && memcmp(grp->name, name, len) == 0)
            return grp;
    return NULL;
}

static void grow(hb_groups *g) {
    size_t n = g->nbuckets * 2;
    hb_group **b = calloc(n, sizeof(*b));
    if (b == NULL)
        return; /* longer chains, still correct */
    for (size_t i = 0; i < g->nbuckets; i++) {
        hb_group *grp = g->buckets[i];
        while (grp != NULL) {
            hb_group *next = grp->hnext;
            grp->hnext = b[grp->hash & (n - 1)];
            b[grp->hash & (n - 1)] = grp;
            grp = next;
        }
    }
    free(g->buckets);
    g->buckets = b;
    g->nbuckets = n;
}

static void drop_group(hb_groups *g, hb_group *grp) {
    hb_group **p = &g->buckets[grp->hash & (g->nbuckets - 1)];
    while (*p != grp)
        p = &(*p)->hnext;
    *p = grp->hnext;
    g->ngroups--;
    if (g->watch != NULL)
        g->watch(g->watch_ud, grp->name, grp->len, 0, &grp->slot);
    free(grp);
}

/* Unlinks l from its group (dropping the group when it empties) and frees
 * it; the caller has already taken it off the member's list. */
static void unlink_free(hb_groups *g, hb_group_link *l) {
    hb_group *grp = l->group;
    if (l->gprev != NULL)
        l->gprev->gnext = l->gnext;
    else
        grp->head = l->gnext;
    if (l->gnext != NULL)
        l->gnext->gprev = l->gprev;
    else
        grp->tail = l->gprev;
    free(l);
    if (--grp->count == 0)
        drop_group(g, grp);
}

void hb_groups_remove(hb_groups *g, hb_group_member *m) {
    hb_group_link *l = m->links;
    while (l != NULL) {
        hb_group_link *next = l->mnext;
        unlink_free(g, l);
        l = next;
    }
    m->links = NULL;
    if (m->prev != NULL)
        m->prev->next = m->next;
    else
        g->head = m->next;
    if (m->next != NULL)
        m->next->prev = m->prev;
    else
        g->tail = m->prev;
    m->next = m->prev = NULL;
    g->nmembers--;
}

/* --- named members ------------------------------------------------------- */

static int named_is(const hb_group_named *n, const char *name, size_t len) {
    return n->len == len && memcmp(n->name, name, len) == 0;
}

/* The first named member called name at or after n in its chain. */
static hb_group_named *named_from(hb_group_named *n, const char *name, size_t len) {
    while (n != NULL && !named_is(n, name, len))
        n = n->hnext;
    return n;
}

static hb_group_named *named_first(const hb_groups *g, const char *name, size_t len,
                                   uint64_t h) {
    if (g->nnamed == 0)
        return NULL;
    return named_from(g->named[h & (g->nnamed_buckets - 1)], name, len);
}

/* The named member m is, if it is called name. */
static hb_group_named *named_member(const hb_groups *g, const hb_group_member *m,
                                    const char *name, size_t len) {
    hb_group_named *n = named_first(g, name, len, hash_name(g->seed, name, len));
    for (; n != NULL; n = named_from(n->hnext, name, len))
        if (&n->member == m)
            return n;
    return NULL;
}

static int named_grow(hb_groups *g) {
    size_t nb = g->nnamed_buckets ? g->nnamed_buckets * 2 : 16;
    hb_group_named **b = calloc(nb, sizeof(*b));
    if (b == NULL)
        return HB_ENOMEM;
    for (size_t i = 0; i < g->nnamed_buckets; i++) {
        hb_group_named *n = g->named[i];
        while (n != NULL) {
            hb_group_named *next = n->hnext;
            size_t k = hash_name(g->seed, n->name, n->len) & (nb - 1);
            n->hnext = b[k];
            b[k] = n;
            n = next;
        }
    }
    free(g->named);
    g->named = b;
    g->nnamed_buckets = nb;
    return 0;
}

int hb_groups_add_named(hb_groups *g, hb_group_named *n, const char *name, size_t len) {
    size_t k;
    if (g->nnamed + 1 > g->nnamed_buckets && named_grow(g) != 0 && g->nnamed_buckets == 0)
        return HB_ENOMEM; /* past the first table, a failed grow only lengthens chains */
    n->name = name;
    n->len = (uint32_t)len;
    n->in = 1;
    k = hash_name(g->seed, name, len) & (g->nnamed_buckets - 1);
    n->hnext = g->named[k];
    g->named[k] = n;
    g->nnamed++;
    hb_groups_add(g, &n->member);
    return 0;
}

void hb_groups_remove_named(hb_groups *g, hb_group_named *n) {
    hb_group_named **p = &g->named[hash_name(g->seed, n->name, n->len) & (g->nnamed_buckets - 1)];
    while (*p != n)
        p = &(*p)->hnext;
    *p = n->hnext;
    n->hnext = NULL;
    n->in = 0;
    g->nnamed--;
    hb_groups_remove(g, &n->member);
}

int hb_groups_named_has(const hb_group_named *n, const char *name, size_t len) {
    return (n->in && named_is(n, name, len)) || hb_groups_has(&n->member, name, len);
}

void hb_group_iter_init(hb_group_iter *it, const hb_group_named *n) {
    it->n = n;
    it->l = n->member.links;
    it->own_done = !n->in;
}

const char *hb_group_iter_next(hb_group_iter *it, size_t *len) {
    const char *name;
    if (!it->own_done) {
        it->own_done = 1;
        *len = it->n->len;
        return it->n->name;
    }
    if (it->l == NULL)
        return NULL;
    name = hb_group_link_name(it->l, len);
    it->l = it->l->mnext;
    return name;
}

/* --- memberships ---------------------------------------------------------- */

static hb_group_link **find_link(hb_group_member *m, const char *name, size_t len) {
    hb_group_link **p = &m->links;
    for (; *p != NULL; p = &(*p)->mnext)
        if ((*p)->group->len == len && memcmp((*p)->group->name, name, len) == 0)
            return p;
    return NULL;
}

int hb_groups_join(hb_groups *g, hb_group_member *m, const char *name, size_t len) {
    uint64_t h;
    hb_group *grp;
    hb_group_link *l, **tail;
    hb_group_named *own;
    if (find_link(m, name, len) != NULL)
        return 0;
    if ((own = named_member(g, m, name, len)) != NULL) {
        own->in = 1; /* back in its own group */
        return 0;
    }
    h = hash_name(g->seed, name, len);
    grp = find(g, name, len, h);
    l = calloc(1, sizeof(*l));
    if (l == NULL)
        return HB_ENOMEM;
    if (grp == NULL) {
        grp = calloc(1, sizeof(*grp) + len + 1);
        if (grp == NULL) {
            free(l);
            return HB_ENOMEM;
        }
        grp->hash = h;
        grp->len = len;
        memcpy(grp->name, name, len);
        if (g->ngroups + 1 > g->nbuckets)
            grow(g);
        grp->hnext = g->buckets[h & (g->nbuckets - 1)];
        g->buckets[h & (g->nbuckets - 1)] = grp;
        g->ngroups++;
        if (g->watch != NULL)
            g->watch(g->watch_ud, grp->name, grp->len, 1, &grp->slot);
    }
    l->group = grp;
    l->member = m;
    l->gprev = grp->tail;
    if (grp->tail != NULL)
        grp->tail->gnext = l;
    else
        grp->head = l;
    grp->tail = l;
    grp->count++;
    for (tail = &m->links; *tail != NULL; tail = &(*tail)->mnext)
        ;
    *tail = l;
    return 0;
}

int hb_groups_leave(hb_groups *g, hb_group_member *m, const char *name, size_t len) {
    hb_group_link **p = find_link(m, name, len), *l;
    hb_group_named *own;
    if (p == NULL) {
        if ((own = named_member(g, m, name, len)) == NULL || !own->in)
            return 0;
        own->in = 0;
        return 1;
    }
    l = *p;
    *p = l->mnext;
    unlink_free(g, l);
    return 1;
}

int hb_groups_has(const hb_group_member *m, const char *name, size_t len) {
    return find_link((hb_group_member *)m, name, len) != NULL;
}

size_t hb_groups_size(const hb_groups *g, const char *name, size_t len) {
    uint64_t h = hash_name(g->seed, name, len);
    hb_group *grp = find(g, name, len, h);
    size_t n = grp ? grp->count : 0;
    for (hb_group_named *own = named_first(g, name, len, h); own != NULL;
         own = named_from(own->hnext, name, len))
        n += own->in;
    return n;
}

const char *hb_group_link_name(const hb_group_link *l, size_t *len) {
    *len = l->group->len;
    return l->group->name;
}

hb_group_link *hb_group_link_next(const hb_group_link *l) {
    return l->mnext;
}

int hb_group_vec_push(hb_group_vec *v, hb_group_member *m) {
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 8;
        hb_group_member **items;
        if (v->items == NULL || v->items == v->inline_items) {
            if (cap <= 8) {
                v->items = v->inline_items;
                v->cap = 8;
                v->items[v->n++] = m;
                return 0;
            }
            items = malloc(cap * sizeof(*items));
            if (items != NULL && v->n > 0)
                memcpy(items, v->inline_items, v->n * sizeof(*items));
        } else {
            items = realloc(v->items, cap * sizeof(*items));
        }
        if (items == NULL)
            return HB_ENOMEM;
        v->items = items;
        v->cap = cap;
    }
    v->items[v->n++] = m;
    return 0;
}

int hb_groups_select(hb_groups *g, const hb_groups_filter *f, hb_group_vec *v) {
    /* One stamp per selection: members of an except group are stamped
     * first, then each member is taken the first time it is met unstamped
     * (and stamped), which gives the union without duplicates. */
    uint64_t e = ++g->epoch;
    for (size_t i = 0; i < f->nexcept; i++) {
        const char *name = (const char *)f->except[i].base;
        size_t len = f->except[i].len;
        uint64_t h = hash_name(g->seed, name, len);
        hb_group *grp = find(g, name, len, h);
        for (hb_group_named *n = named_first(g, name, len, h); n != NULL;
             n = named_from(n->hnext, name, len))
            if (n->in)
                n->member.mark = e;
        for (hb_group_link *l = grp ? grp->head : NULL; l != NULL; l = l->gnext)
            l->member->mark = e;
    }
    if (f->nto == 0) {
        for (hb_group_member *m = g->head; m != NULL; m = m->next)
            if (m->mark != e && m != f->skip && hb_group_vec_push(v, m) != 0)
                return HB_ENOMEM;
        return 0;
    }
    for (size_t i = 0; i < f->nto; i++) {
        const char *name = (const char *)f->to[i].base;
        size_t len = f->to[i].len;
        uint64_t h = hash_name(g->seed, name, len);
        hb_group *grp = find(g, name, len, h);
        for (hb_group_named *n = named_first(g, name, len, h); n != NULL;
             n = named_from(n->hnext, name, len)) {
            hb_group_member *m = &n->member;
            if (!n->in || m->mark == e || m == f->skip)
                continue;
            m->mark = e;
            if (hb_group_vec_push(v, m) != 0)
                return HB_ENOMEM;
        }
        for (hb_group_link *l = grp ? grp->head : NULL; l != NULL; l = l->gnext) {
            hb_group_member *m = l->member;
            if (m->mark == e || m == f->skip)
                continue;
            m->mark = e;
            if (hb_group_vec_push(v, m) != 0)
                return HB_ENOMEM;
        }
    }
    return 0;
}

void hb_group_vec_free(hb_group_vec *v) {
    if (v->items != v->inline_items)
        free(v->items);
    v->items = NULL;
    v->n = v->cap = 0;
}
