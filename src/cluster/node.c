/* The node registry (cluster/node.h): the heartbeat SET with its TTL, the
 * SCAN + MGET listing, and the join/leave log lines. Listing is one chain
 * of commands at a time; a refresh that finds one still running skips
 * listing. */
#include "cluster/node.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "core/log.h"
#include "core/metrics.h"
#include "hubbub/error.h"

struct hb_cluster_nodes {
    hb_loop *loop;
    hb_redis *redis;
    char *id, *addr, *key;
    char *route_key, *route_value;
    unsigned ttl_s;
    hb_timer timer;
    int started, stopped;
    int listing;                  /* a SCAN/MGET chain is running */
    int listed_once;
    char **keys;                  /* gathered by the running SCAN */
    size_t nkeys, capkeys;
    hb_cluster_node_info *list;   /* the last complete listing, by id */
    size_t nlist;
    hb_cluster_nodes_join_cb on_join;
    void *join_ud;
};

static void drop_keys(hb_cluster_nodes *n) {
    for (size_t i = 0; i < n->nkeys; i++)
        free(n->keys[i]);
    free(n->keys);
    n->keys = NULL;
    n->nkeys = n->capkeys = 0;
}

static void free_list(hb_cluster_node_info *list, size_t count) {
    for (size_t i = 0; i < count; i++) {
        free(list[i].id);
        free(list[i].addr);
    }
    free(list);
}

static void listing_done(hb_cluster_nodes *n) {
    drop_keys(n);
    n->listing = 0;
}

static int by_id(const void *a, const void *b) {
    return strcmp(((const hb_cluster_node_info *)a)->id, ((const hb_cluster_node_info *)b)->id);
}

static const hb_cluster_node_info *find(const hb_cluster_node_info *list, size_t count,
                                        const char *id) {
    hb_cluster_node_info k = {(char *)id, NULL};
    if (count == 0)
        return NULL;
    return bsearch(&k, list, count, sizeof(k), by_id);
}

/* Logs the difference between the last listing and list, then keeps list. */
static void take_list(hb_cluster_nodes *n, hb_cluster_node_info *list, size_t count) {
    if (count > 1)
        qsort(list, count, sizeof(*list), by_id);
    for (size_t i = 0; i < count && n->on_join != NULL; i++)
        if (!n->listed_once || find(n->list, n->nlist, list[i].id) == NULL)
            if (strcmp(list[i].id, n->id) != 0)
                n->on_join(n->join_ud, &list[i]);
    if (!n->listed_once) {
        char line[512];
        size_t off = 0;
        for (size_t i = 0; i < count && off < sizeof(line) - 1; i++)
            off += (size_t)snprintf(line + off, sizeof(line) - off, "%s%s (%s)", i ? ", " : "",
                                    list[i].id, list[i].addr);
        hb_log_info("cluster", "%zu node%s in the registry: %s", count, count == 1 ? "" : "s",
                    count ? line : "none yet");
    } else {
        for (size_t i = 0; i < count; i++)
            if (find(n->list, n->nlist, list[i].id) == NULL)
                hb_log_info("cluster", "node %s (%s) joined; %zu nodes now", list[i].id,
                            list[i].addr, count);
        for (size_t i = 0; i < n->nlist; i++)
            if (find(list, count, n->list[i].id) == NULL)
                hb_log_info("cluster", "node %s (%s) left: its registry entry expired or was "
                            "removed; %zu nodes now",
                            n->list[i].id, n->list[i].addr, count);
    }
    free_list(n->list, n->nlist);
    n->list = list;
    n->nlist = count;
    n->listed_once = 1;
    hb_metrics_g.cluster_nodes = (int64_t)count;
}

void hb_cluster_nodes_on_join(hb_cluster_nodes *n, hb_cluster_nodes_join_cb cb, void *ud) {
    n->on_join = cb;
    n->join_ud = ud;
}

static void on_mget(void *ud, const redisReply *reply) {
    hb_cluster_nodes *n = ud;
    hb_cluster_node_info *list;
    size_t count = 0, plen = strlen(HB_CLUSTER_NODE_PREFIX);
    if (n->stopped || reply == NULL || reply->type != REDIS_REPLY_ARRAY ||
        reply->elements != n->nkeys) {
        listing_done(n);
        return;
    }
    list = calloc(n->nkeys + 1, sizeof(*list));
    if (list == NULL) {
        listing_done(n);
        return;
    }
    for (size_t i = 0; i < n->nkeys; i++) {
        const redisReply *v = reply->element[i];
        if (v->type != REDIS_REPLY_STRING) /* expired since the SCAN */
            continue;
        list[count].id = strdup(n->keys[i] + plen);
        list[count].addr = strndup(v->str, v->len);
        if (list[count].id == NULL || list[count].addr == NULL) {
            free_list(list, count + 1);
            listing_done(n);
            return;
        }
        count++;
    }
    listing_done(n);
    take_list(n, list, count);
}

static void scan(hb_cluster_nodes *n, const char *cursor, size_t clen);

static void on_scan(void *ud, const redisReply *reply) {
    hb_cluster_nodes *n = ud;
    const redisReply *cur, *keys;
    if (n->stopped || reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
        reply->element[0]->type != REDIS_REPLY_STRING ||
        reply->element[1]->type != REDIS_REPLY_ARRAY) {
        listing_done(n);
        return;
    }
    cur = reply->element[0];
    keys = reply->element[1];
    for (size_t i = 0; i < keys->elements; i++) {
        const redisReply *k = keys->element[i];
        if (k->type != REDIS_REPLY_STRING || memchr(k->str, '\0', k->len) != NULL)
            continue;
        if (n->nkeys == n->capkeys) {
            size_t cap = n->capkeys ? n->capkeys * 2 : 16;
            char **v = realloc(n->keys, cap * sizeof(*v));
            if (v == NULL) {
                listing_done(n);
                return;
            }
            n->keys = v;
            n->capkeys = cap;
        }
        if ((n->keys[n->nkeys] = strndup(k->str, k->len)) == NULL) {
            listing_done(n);
            return;
        }
        n->nkeys++;
    }
    if (!(cur->len == 1 && cur->str[0] == '0')) {
        scan(n, cur->str, cur->len);
        return;
    }
    if (n->nkeys == 0) {
        listing_done(n);
        take_list(n, NULL, 0);
        return;
    }
    {
        /* SCAN may return a key twice; MGET does not mind. */
        const char **argv = malloc((n->nkeys + 1) * sizeof(*argv));
        size_t *lens = malloc((n->nkeys + 1) * sizeof(*lens));
        int err = HB_ENOMEM;
        if (argv != NULL && lens != NULL) {
            argv[0] = "MGET";
            lens[0] = 4;
            for (size_t i = 0; i < n->nkeys; i++) {
                argv[i + 1] = n->keys[i];
                lens[i + 1] = strlen(n->keys[i]);
            }
            err = hb_redis_command(n->redis, on_mget, n, (int)n->nkeys + 1, argv, lens);
        }
        free(argv);
        free(lens);
        if (err != 0)
            listing_done(n);
    }
}

static void scan(hb_cluster_nodes *n, const char *cursor, size_t clen) {
    const char *argv[] = {"SCAN", cursor, "MATCH", HB_CLUSTER_NODE_PREFIX "*", "COUNT", "1000"};
    size_t lens[] = {4, clen, 5, strlen(HB_CLUSTER_NODE_PREFIX) + 1, 5, 4};
    if (hb_redis_command(n->redis, on_scan, n, 6, argv, lens) != 0)
        listing_done(n);
}

static void list_nodes(hb_cluster_nodes *n) {
    if (n->listing || n->stopped || !hb_redis_up(n->redis))
        return;
    n->listing = 1;
    scan(n, "0", 1);
}

static void set_key(hb_cluster_nodes *n, const char *key, const char *value) {
    char ttl[16];
    const char *argv[] = {"SET", key, value, "EX", ttl};
    size_t lens[5];
    snprintf(ttl, sizeof(ttl), "%u", n->ttl_s);
    lens[0] = 3;
    lens[1] = strlen(key);
    lens[2] = strlen(value);
    lens[3] = 2;
    lens[4] = strlen(ttl);
    hb_redis_command(n->redis, NULL, NULL, 5, argv, lens);
}

static void register_node(hb_cluster_nodes *n) {
    if (n->stopped || !hb_redis_up(n->redis))
        return;
    set_key(n, n->key, n->addr);
    set_key(n, n->route_key, n->route_value);
}

static void on_tick(hb_timer *t) {
    hb_cluster_nodes *n = (hb_cluster_nodes *)((char *)t - offsetof(hb_cluster_nodes, timer));
    if (n->stopped)
        return;
    hb_cluster_nodes_refresh(n);
}

hb_cluster_nodes *hb_cluster_nodes_new(hb_loop *loop, hb_redis *redis, const char *id,
                                       const char *addr, const char *tag, unsigned ttl_s) {
    hb_cluster_nodes *n = calloc(1, sizeof(*n));
    size_t plen = strlen(HB_CLUSTER_NODE_PREFIX);
    if (n == NULL)
        return NULL;
    n->loop = loop;
    n->redis = redis;
    n->ttl_s = ttl_s ? ttl_s : 10;
    n->id = strdup(id);
    n->addr = strdup(addr);
    n->key = malloc(plen + strlen(id) + 1);
    n->route_key = malloc(strlen(HB_CLUSTER_ROUTE_PREFIX) + strlen(tag) + 1);
    n->route_value = malloc(strlen(addr) + 1 + strlen(id) + 1);
    if (n->id == NULL || n->addr == NULL || n->key == NULL || n->route_key == NULL ||
        n->route_value == NULL) {
        hb_cluster_nodes_free(n);
        return NULL;
    }
    memcpy(n->key, HB_CLUSTER_NODE_PREFIX, plen);
    strcpy(n->key + plen, id);
    sprintf(n->route_key, "%s%s", HB_CLUSTER_ROUTE_PREFIX, tag);
    sprintf(n->route_value, "%s %s", addr, id);
    return n;
}

void hb_cluster_nodes_start(hb_cluster_nodes *n) {
    n->started = 1;
    hb_cluster_nodes_refresh(n);
}

void hb_cluster_nodes_refresh(hb_cluster_nodes *n) {
    uint64_t every = (uint64_t)n->ttl_s * 1000 / 3;
    if (n->stopped || !n->started)
        return;
    register_node(n);
    list_nodes(n);
    hb_loop_timer_start(n->loop, &n->timer, every > 0 ? every : 1, on_tick);
}

const hb_cluster_node_info *hb_cluster_nodes_list(const hb_cluster_nodes *n, size_t *count) {
    *count = n->nlist;
    return n->list;
}

void hb_cluster_nodes_stop(hb_cluster_nodes *n) {
    const char *argv[2];
    size_t lens[2];
    if (n == NULL || n->stopped)
        return;
    n->stopped = 1;
    hb_timer_stop(&n->timer);
    if (!n->started || !hb_redis_up(n->redis))
        return;
    argv[0] = "DEL";
    lens[0] = 3;
    argv[1] = n->key;
    lens[1] = strlen(n->key);
    hb_redis_command(n->redis, NULL, NULL, 2, argv, lens);
    argv[1] = n->route_key;
    lens[1] = strlen(n->route_key);
    hb_redis_command(n->redis, NULL, NULL, 2, argv, lens);
}

void hb_cluster_nodes_free(hb_cluster_nodes *n) {
    if (n == NULL)
        return;
    hb_timer_stop(&n->timer);
    drop_keys(n);
    free_list(n->list, n->nlist);
    free(n->id);
    free(n->addr);
    free(n->key);
    free(n->route_key);
    free(n->route_value);
    free(n);
}
