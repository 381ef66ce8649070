/* Hubs and their connections. Connections are found by id through a
 * chained table that grows with them, since every message an app server
 * sends to one client names it by id. Users are a second group registry
 * (a group per user id), so a user's connections are found without a scan
 * and the cluster learns when a user comes to or leaves this node. */
#include "hub/hub.h"

#include <stdlib.h>
#include <string.h>

#include "hubbub/error.h"

struct hb_hub {
    hb_hub *next;
    hb_hubs *hubs;
    char *name;
    hb_groups *groups;
    hb_groups *users;
    hb_hub_conn **buckets;
    size_t nbuckets, count;
    void *data;
};

struct hb_hubs {
    hb_hub *head;
    hb_hubs_watch watch;
};

hb_hubs *hb_hubs_new(void) {
    return calloc(1, sizeof(hb_hubs));
}

static void hub_free(hb_hub *h) {
    hb_groups_free(h->groups);
    hb_groups_free(h->users);
    free(h->buckets);
    free(h->name);
    free(h);
}

void hb_hubs_free(hb_hubs *hubs, void (*free_data)(void *data)) {
    if (hubs == NULL)
        return;
    while (hubs->head != NULL) {
        hb_hub *h = hubs->head;
        hubs->head = h->next;
        if (free_data != NULL && h->data != NULL)
            free_data(h->data);
        hub_free(h);
    }
    free(hubs);
}

void hb_hubs_set_watch(hb_hubs *hubs, const hb_hubs_watch *w) {
    if (w != NULL)
        hubs->watch = *w;
    else
        memset(&hubs->watch, 0, sizeof(hubs->watch));
}

void hb_hubs_foreach_conn(hb_hubs *hubs, void (*fn)(void *ud, hb_hub *hub, hb_hub_conn *c),
                          void *ud) {
    for (hb_hub *h = hubs->head; h != NULL; h = h->next)
        for (size_t i = 0; i < h->nbuckets; i++)
            for (hb_hub_conn *c = h->buckets[i]; c != NULL; c = c->hnext)
                fn(ud, h, c);
}

static void on_group(void *ud, const char *name, size_t len, int alive, void **slot) {
    hb_hub *h = ud;
    if (h->hubs->watch.group != NULL)
        h->hubs->watch.group(h->hubs->watch.ud, h, name, len, alive, slot);
}

static void on_user(void *ud, const char *name, size_t len, int alive, void **slot) {
    hb_hub *h = ud;
    if (h->hubs->watch.user != NULL)
        h->hubs->watch.user(h->hubs->watch.ud, h, name, len, alive, slot);
}

hb_hub *hb_hubs_get(hb_hubs *hubs, const char *name, int create) {
    hb_hub *h;
    for (h = hubs->head; h != NULL; h = h->next)
        if (strcmp(h->name, name) == 0)
            return h;
    if (!create || (h = calloc(1, sizeof(*h))) == NULL)
        return NULL;
    h->hubs = hubs;
    h->name = strdup(name);
    h->groups = hb_groups_new();
    h->users = hb_groups_new();
    h->nbuckets = 64;
    h->buckets = calloc(h->nbuckets, sizeof(*h->buckets));
    if (h->name == NULL || h->groups == NULL || h->users == NULL || h->buckets == NULL) {
        hub_free(h);
        return NULL;
    }
    hb_groups_watch(h->groups, on_group, h);
    hb_groups_watch(h->users, on_user, h);
    h->next = hubs->head;
    hubs->head = h;
    return h;
}

hb_hub *hb_hubs_next(hb_hubs *hubs, hb_hub *h) {
    return h == NULL ? hubs->head : h->next;
}

void hb_hubs_drop_unused(hb_hubs *hubs, hb_hub *hub) {
    hb_hub **p = &hubs->head;
    if (hub->count > 0 || hub->data != NULL)
        return;
    while (*p != NULL && *p != hub)
        p = &(*p)->next;
    if (*p == hub) {
        *p = hub->next;
        hub_free(hub);
    }
}

const char *hb_hub_name(const hb_hub *hub) {
    return hub->name;
}

hb_groups *hb_hub_groups(hb_hub *hub) {
    return hub->groups;
}

hb_groups *hb_hub_users(hb_hub *hub) {
    return hub->users;
}

void *hb_hub_data(const hb_hub *hub) {
    return hub->data;
}

void hb_hub_set_data(hb_hub *hub, void *data) {
    hub->data = data;
}

static size_t hash_id(const char *id) {
    size_t h = 5381;
    while (*id)
        h = h * 33 + (unsigned char)*id++;
    return h;
}

static void grow(hb_hub *hub) {
    size_t n = hub->nbuckets * 2;
    hb_hub_conn **b = calloc(n, sizeof(*b));
    if (b == NULL)
        return; /* longer chains, still correct */
    for (size_t i = 0; i < hub->nbuckets; i++) {
        hb_hub_conn *c = hub->buckets[i];
        while (c != NULL) {
            hb_hub_conn *next = c->hnext;
            c->hnext = b[hash_id(c->id) & (n - 1)];
            b[hash_id(c->id) & (n - 1)] = c;
            c = next;
        }
    }
    free(hub->buckets);
    hub->buckets = b;
    hub->nbuckets = n;
}

int hb_hub_add(hb_hub *hub, hb_hub_conn *c) {
    size_t i;
    if (hub->count + 1 > hub->nbuckets)
        grow(hub);
    memset(&c->member, 0, sizeof(c->member));
    memset(&c->umember, 0, sizeof(c->umember));
    hb_groups_add(hub->users, &c->umember);
    if (c->user_id != NULL &&
        hb_groups_join(hub->users, &c->umember, c->user_id, strlen(c->user_id)) != 0) {
        hb_groups_remove(hub->users, &c->umember);
        return HB_ENOMEM;
    }
    hb_groups_add(hub->groups, &c->member);
    i = hash_id(c->id) & (hub->nbuckets - 1);
    c->hnext = hub->buckets[i];
    hub->buckets[i] = c;
    hub->count++;
    if (hub->hubs->watch.conn != NULL)
        hub->hubs->watch.conn(hub->hubs->watch.ud, hub, c, 1);
    return 0;
}

void hb_hub_remove(hb_hub *hub, hb_hub_conn *c) {
    hb_hub_conn **p = &hub->buckets[hash_id(c->id) & (hub->nbuckets - 1)];
    while (*p != NULL && *p != c)
        p = &(*p)->hnext;
    if (*p == NULL)
        return;
    *p = c->hnext;
    hb_groups_remove(hub->groups, &c->member);
    hb_groups_remove(hub->users, &c->umember);
    hub->count--;
    if (hub->hubs->watch.conn != NULL)
        hub->hubs->watch.conn(hub->hubs->watch.ud, hub, c, 0);
}

hb_hub_conn *hb_hub_find(const hb_hub *hub, const char *id) {
    for (hb_hub_conn *c = hub->buckets[hash_id(id) & (hub->nbuckets - 1)]; c; c = c->hnext)
        if (strcmp(c->id, id) == 0)
            return c;
    return NULL;
}

size_t hb_hub_count(const hb_hub *hub) {
    return hub->count;
}
