/* A socket's event handlers (hb_socket_on) as an immutable list shared by
 * every socket that registered the same ones. The sockets of an app mostly
 * register the same events with the same callbacks and user data in the
 * same order, so a list is interned: adding a handler to a list gives the
 * list that every socket which did the same already holds, refcounted, and
 * an idle socket's handlers cost it one pointer instead of a block each.
 * A list is a chain of nodes, newest first; each node is one handler on
 * top of the list it was added to. No I/O. */
#ifndef HB_SIO_HANDLERS_H
#define HB_SIO_HANDLERS_H

#include <stddef.h>
#include <stdint.h>

#include "hubbub/hubbub.h"

typedef struct hb_sio_handlers hb_sio_handlers;

/* One handler, and the list it heads. Read-only for users. */
typedef struct hb_sio_hnode {
    struct hb_sio_hnode *parent; /* the list this handler was added to */
    struct hb_sio_hnode *hnext;  /* the interning table's chain */
    hb_event_cb cb;
    void *ud;
    uint32_t refs;               /* holders of the list + lists built on it */
    uint32_t len;
    char name[];                 /* NUL-terminated */
} hb_sio_hnode;

/* An empty table of lists (the empty list is NULL). NULL on ENOMEM. */
hb_sio_handlers *hb_sio_handlers_new(void);
/* Frees the table and every list still in it (their holders must not use
 * or release them afterwards). NULL is accepted. */
void hb_sio_handlers_free(hb_sio_handlers *t);

/* The handler of event name (len bytes) in list, or NULL. */
const hb_sio_hnode *hb_sio_handlers_find(const hb_sio_hnode *list, const char *name,
                                         size_t len);
/* Sets the handler of name to cb/ud in *list, as hb_socket_on does (a
 * second call for a name replaces its handler): *list becomes the shared
 * list with that change, and the reference the caller held on the old one
 * is given up. Returns 0, or HB_ENOMEM (*list is then unchanged). */
int hb_sio_handlers_set(hb_sio_handlers *t, hb_sio_hnode **list, const char *name, size_t len,
                        hb_event_cb cb, void *ud);
/* Gives up a reference to list (NULL is accepted). */
void hb_sio_handlers_release(hb_sio_handlers *t, hb_sio_hnode *list);
/* Nodes alive, for tests. */
size_t hb_sio_handlers_count(const hb_sio_handlers *t);

#endif
