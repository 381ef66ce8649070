/* Group membership: a registry of named groups (Socket.IO rooms, Azure
 * groups) and of the members that join them, and the selection of the
 * members a broadcast reaches ("to these groups, except those"). A member is
 * embedded in its owner (a socket), so joining allocates only the link.
 * No I/O: what to do with the selected members is the caller's. */
#ifndef HB_GROUPS_GROUPS_H
#define HB_GROUPS_GROUPS_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

typedef struct hb_groups hb_groups;
typedef struct hb_group hb_group;
typedef struct hb_group_link hb_group_link;

/* Embed one in the owner, zeroed, and register it with hb_groups_add().
 * Fields are the registry's. */
typedef struct hb_group_member {
    hb_group_link *links;                 /* memberships, in join order */
    struct hb_group_member *next, *prev;  /* every member of the registry */
    uint64_t mark;                        /* selection stamp */
} hb_group_member;

/* A member with a group of its own, named once when it is registered: a
 * Socket.IO socket and the room named by its id. Every socket is in such a
 * room, so the registry keeps it as an entry of a table of names instead
 * of a group and a link: no allocation. Embed it instead of a plain member;
 * join, leave, has, size and select treat the name as any group's, and
 * hb_group_iter lists it first. Named groups are not reported to the
 * watcher. Fields are the registry's. */
typedef struct hb_group_named {
    hb_group_member member;
    const char *name;                     /* borrowed from the owner */
    struct hb_group_named *hnext;         /* the registry's table of names */
    uint32_t len;
    uint8_t in;                           /* in its own group (it may leave it) */
} hb_group_named;

/* A growable list of selected members; zero-initialise it, and release it
 * with hb_group_vec_free(). Small selections use the inline room. */
typedef struct hb_group_vec {
    hb_group_member **items;
    size_t n, cap;
    hb_group_member *inline_items[8];
} hb_group_vec;

/* Which members a broadcast reaches: the union of the groups in to (every
 * member when nto is 0), minus the members of any group in except, minus
 * skip (may be NULL). Group names are byte strings. */
typedef struct hb_groups_filter {
    const hb_slice *to;
    size_t nto;
    const hb_slice *except;
    size_t nexcept;
    const hb_group_member *skip;
} hb_groups_filter;

/* A new, empty registry. NULL on ENOMEM. */
hb_groups *hb_groups_new(void);
/* Frees the registry and every membership still in it; members left
 * registered are forgotten (their links are freed, they are not touched).
 * NULL is accepted. */
void hb_groups_free(hb_groups *g);

/* Registers m (zeroed) as a member, in no group. */
void hb_groups_add(hb_groups *g, hb_group_member *m);
/* Takes m out of every group and unregisters it. */
void hb_groups_remove(hb_groups *g, hb_group_member *m);
/* Members registered. */
size_t hb_groups_count(const hb_groups *g);

/* Registers n (zeroed) as a member in its own group name, and in no
 * other. name must stay valid and unchanged until hb_groups_remove_named();
 * two members may have the same name (both are its members). Returns 0 or
 * HB_ENOMEM (n is then not registered). */
int hb_groups_add_named(hb_groups *g, hb_group_named *n, const char *name, size_t len);
/* Takes n out of every group, its own too, and unregisters it. */
void hb_groups_remove_named(hb_groups *g, hb_group_named *n);

/* Puts m in group name (created on first use). Joining a group twice is
 * fine. Returns 0 or HB_ENOMEM. */
int hb_groups_join(hb_groups *g, hb_group_member *m, const char *name, size_t len);
/* Takes m out of group name; the group goes when empty. Returns 1 if m was
 * in it, else 0. */
int hb_groups_leave(hb_groups *g, hb_group_member *m, const char *name, size_t len);
/* 1 when m is in group name. */
int hb_groups_has(const hb_group_member *m, const char *name, size_t len);
/* The same for a named member, its own group included. */
int hb_groups_named_has(const hb_group_named *n, const char *name, size_t len);
/* Told when a group comes to be (its first member joined: alive 1) and
 * when it goes (its last member left: alive 0), with the group's slot for
 * the watcher's own data (NULL at creation): the cluster subscribes to a
 * group's channel only while this node has members in it. */
typedef void (*hb_groups_watch_cb)(void *ud, const char *name, size_t len, int alive,
                                   void **slot);
/* Sets the watcher (NULL removes it); one per registry. Groups that exist
 * already are not reported. */
void hb_groups_watch(hb_groups *g, hb_groups_watch_cb cb, void *ud);

/* Members of group name (0 when there is no such group). */
size_t hb_groups_size(const hb_groups *g, const char *name, size_t len);

/* The groups of m in join order: start with l = m->links, read the name
 * with hb_group_link_name() and go on with hb_group_link_next(). */
const char *hb_group_link_name(const hb_group_link *l, size_t *len);
hb_group_link *hb_group_link_next(const hb_group_link *l);

/* The groups of a named member: its own first while it is in it, then
 * the others in join order.
 *   hb_group_iter it;
 *   hb_group_iter_init(&it, n);
 *   while ((name = hb_group_iter_next(&it, &len)) != NULL) ...
 * Membership must not change during the walk. */
typedef struct hb_group_iter {
    const hb_group_named *n;
    const hb_group_link *l;
    uint8_t own_done;
} hb_group_iter;
void hb_group_iter_init(hb_group_iter *it, const hb_group_named *n);
const char *hb_group_iter_next(hb_group_iter *it, size_t *len);

/* Appends to v the members f selects, each once: for every group of to in
 * order, its members in join order (a named member first) (or every member in registration order
 * when nto is 0). Membership must not change while the result is used
 * through v, since the members are borrowed pointers. Returns 0 or
 * HB_ENOMEM (v then holds what was selected so far). */
int hb_groups_select(hb_groups *g, const hb_groups_filter *f, hb_group_vec *v);
/* Appends m to v. Returns 0 or HB_ENOMEM. */
int hb_group_vec_push(hb_group_vec *v, hb_group_member *m);
void hb_group_vec_free(hb_group_vec *v);

#endif
