/* The recovery log. Packets sit in a ring in offset order, so an offset
 * ("<prefix>-<seq in hex>") maps to its entry by subtraction; the random
 * prefix keeps offsets of an earlier process (or another namespace) from
 * matching. Sessions are few compared to packets and are looked up by pid
 * in a small chained table, and kept in save order on a list so expiry
 * walks only the old ones. */
#include "sio/recovery.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/id.h"
#include "hubbub/error.h"

typedef struct entry {
    uint64_t time;
    hb_buf **msgs;
    size_t nmsgs;
    hb_slice *rooms;          /* to, then except, in one block with the names */
    size_t nto, nexcept;
} entry;

typedef struct session {
    struct session *hnext;    /* pid table chain */
    struct session *older, *newer; /* save order */
    uint64_t time;
    char pid[21];
    char sid[21];
    hb_slice *rooms;          /* one block with the names */
    size_t nrooms;
} session;

struct hb_sio_log {
    unsigned window;
    char prefix[9];
    entry *ring;
    size_t cap, start, count; /* ring[start] holds sequence first */
    uint64_t first;           /* sequence number of the oldest entry */
    session **buckets;
    size_t nbuckets, nsessions;
    session *oldest, *newest;
};

hb_sio_log *hb_sio_log_new(unsigned window_ms) {
    hb_sio_log *log = calloc(1, sizeof(*log));
    char id[HB_ID_LEN + 1];
    if (log == NULL)
        return NULL;
    log->window = window_ms;
    log->nbuckets = 64;
    log->buckets = calloc(log->nbuckets, sizeof(*log->buckets));
    if (log->buckets == NULL) {
        free(log);
        return NULL;
    }
    hb_id_new(id);
    memcpy(log->prefix, id, 8);
    log->first = 1;
    return log;
}

static void entry_clear(entry *e) {
    for (size_t i = 0; i < e->nmsgs; i++)
        hb_buf_unref(e->msgs[i]);
    free(e->msgs);
    free(e->rooms);
}

static void drop_oldest_entry(hb_sio_log *log) {
    entry_clear(&log->ring[log->start]);
    log->start = (log->start + 1) % log->cap;
    log->count--;
    log->first++;
}

static size_t hash_pid(const char *pid) {
    size_t h = 5381;
    while (*pid)
        h = h * 33 + (uint8_t)*pid++;
    return h;
}

static void session_unlink(hb_sio_log *log, session *s) {
    session **p = &log->buckets[hash_pid(s->pid) & (log->nbuckets - 1)];
    while (*p != s)
        p = &(*p)->hnext;
    *p = s->hnext;
    if (s->older)
        s->older->newer = s->newer;
    else
        log->oldest = s->newer;
    if (s->newer)
        s->newer->older = s->older;
    else
        log->newest = s->older;
    log->nsessions--;
}

static void session_free(session *s) {
    free(s->rooms);
    free(s);
}

void hb_sio_log_free(hb_sio_log *log) {
    if (log == NULL)
        return;
    while (log->count > 0)
        drop_oldest_entry(log);
    free(log->ring);
    while (log->oldest != NULL) {
        session *s = log->oldest;
        session_unlink(log, s);
        session_free(s);
    }
    free(log->buckets);
    free(log);
}

void hb_sio_log_purge(hb_sio_log *log, uint64_t now_ms) {
    while (log->count > 0 && log->ring[log->start].time + log->window < now_ms)
        drop_oldest_entry(log);
    while (log->oldest != NULL && log->oldest->time + log->window < now_ms) {
        session *s = log->oldest;
        session_unlink(log, s);
        session_free(s);
    }
}

size_t hb_sio_log_packets(const hb_sio_log *log) {
    return log->count;
}

size_t hb_sio_log_sessions(const hb_sio_log *log) {
    return log->nsessions;
}

void hb_sio_log_next_offset(const hb_sio_log *log, char out[HB_SIO_OFFSET_LEN + 1]) {
    snprintf(out, HB_SIO_OFFSET_LEN + 1, "%s-%" PRIx64, log->prefix, log->first + log->count);
}

/* Copies names into one block: the slices first, then the bytes. */
static hb_slice *copy_names(const hb_slice *a, size_t na, const hb_slice *b, size_t nb) {
    size_t bytes = 0, n = na + nb;
    hb_slice *out;
    uint8_t *p;
    for (size_t i = 0; i < na; i++)
        bytes += a[i].len;
    for (size_t i = 0; i < nb; i++)
        bytes += b[i].len;
    out = malloc(n * sizeof(*out) + bytes + 1);
    if (out == NULL)
        return NULL;
    p = (uint8_t *)(out + n);
    for (size_t i = 0; i < n; i++) {
        const hb_slice *src = i < na ? &a[i] : &b[i - na];
        if (src->len > 0)
            memcpy(p, src->base, src->len);
        out[i].base = p;
        out[i].len = src->len;
        p += src->len;
    }
    return out;
}

int hb_sio_log_store(hb_sio_log *log, uint64_t now_ms, const hb_slice *to, size_t nto,
                     const hb_slice *except, size_t nexcept, hb_buf *const *msgs, size_t nmsgs) {
    entry e = {0};
    hb_sio_log_purge(log, now_ms);
    if (log->count == HB_SIO_LOG_MAX_ENTRIES)
        drop_oldest_entry(log);
    if (log->count == log->cap) {
        size_t cap = log->cap ? log->cap * 2 : 64;
        entry *ring = malloc(cap * sizeof(*ring));
        if (ring == NULL)
            return HB_ENOMEM;
        for (size_t i = 0; i < log->count; i++)
            ring[i] = log->ring[(log->start + i) % log->cap];
        free(log->ring);
        log->ring = ring;
        log->cap = cap;
        log->start = 0;
    }
    e.time = now_ms;
    e.nto = nto;
    e.nexcept = nexcept;
    e.msgs = malloc(nmsgs * sizeof(*e.msgs));
    e.rooms = copy_names(to, nto, except, nexcept);
    if (e.msgs == NULL || e.rooms == NULL) {
        free(e.msgs);
        free(e.rooms);
        return HB_ENOMEM;
    }
    for (size_t i = 0; i < nmsgs; i++)
        e.msgs[i] = hb_buf_ref(msgs[i]);
    e.nmsgs = nmsgs;
    log->ring[(log->start + log->count) % log->cap] = e;
    log->count++;
    return 0;
}

int hb_sio_log_save(hb_sio_log *log, uint64_t now_ms, const char *pid, const char *sid,
                    const hb_slice *rooms, size_t nrooms) {
    session *s;
    size_t i;
    hb_sio_log_purge(log, now_ms);
    if (log->nsessions == HB_SIO_LOG_MAX_SESSIONS) {
        s = log->oldest;
        session_unlink(log, s);
        session_free(s);
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return HB_ENOMEM;
    s->rooms = copy_names(rooms, nrooms, NULL, 0);
    if (s->rooms == NULL) {
        free(s);
        return HB_ENOMEM;
    }
    s->nrooms = nrooms;
    s->time = now_ms;
    snprintf(s->pid, sizeof(s->pid), "%s", pid);
    snprintf(s->sid, sizeof(s->sid), "%s", sid);
    if (log->nsessions + 1 > log->nbuckets * 2) {
        size_t n = log->nbuckets * 4;
        session **b = calloc(n, sizeof(*b));
        if (b != NULL) {
            for (session *o = log->oldest; o != NULL; o = o->newer) {
                o->hnext = b[hash_pid(o->pid) & (n - 1)];
                b[hash_pid(o->pid) & (n - 1)] = o;
            }
            free(log->buckets);
            log->buckets = b;
            log->nbuckets = n;
        }
    }
    i = hash_pid(s->pid) & (log->nbuckets - 1);
    s->hnext = log->buckets[i];
    log->buckets[i] = s;
    s->older = log->newest;
    if (log->newest)
        log->newest->newer = s;
    else
        log->oldest = s;
    log->newest = s;
    log->nsessions++;
    return 0;
}

static int has_room(const session *s, hb_slice room) {
    for (size_t i = 0; i < s->nrooms; i++)
        if (s->rooms[i].len == room.len && memcmp(s->rooms[i].base, room.base, room.len) == 0)
            return 1;
    return 0;
}

/* socket.io's rule: the packet went to every socket or to one of the
 * session's rooms, and to none of its excluded rooms. */
static int reaches(const session *s, const entry *e) {
    int in = e->nto == 0;
    for (size_t i = 0; !in && i < e->nto; i++)
        in = has_room(s, e->rooms[i]);
    for (size_t i = 0; in && i < e->nexcept; i++)
        if (has_room(s, e->rooms[e->nto + i]))
            return 0;
    return in;
}

/* The sequence number of offset, or 0 when it is not one of ours. As
 * socket.io compares offsets as strings, only the exact text this log
 * issued matches: no leading zeros, no upper-case digits. */
static uint64_t parse_offset(const hb_sio_log *log, const char *offset) {
    uint64_t seq = 0;
    const char *p;
    if (strncmp(offset, log->prefix, 8) != 0 || offset[8] != '-')
        return 0;
    p = offset + 9;
    if (*p == '\0' || *p == '0' || strlen(p) > 16)
        return 0;
    for (; *p; p++) {
        int d = *p >= '0' && *p <= '9' ? *p - '0' : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10 : -1;
        if (d < 0)
            return 0;
        seq = seq * 16 + (uint64_t)d;
    }
    return seq;
}

int hb_sio_log_restore(hb_sio_log *log, uint64_t now_ms, const char *pid, const char *offset,
                       hb_sio_restored *out) {
    session *s;
    uint64_t seq;
    size_t n = 0;
    memset(out, 0, sizeof(*out));
    hb_sio_log_purge(log, now_ms);
    for (s = log->buckets[hash_pid(pid) & (log->nbuckets - 1)]; s != NULL; s = s->hnext)
        if (strcmp(s->pid, pid) == 0)
            break;
    seq = parse_offset(log, offset);
    if (s == NULL || seq < log->first || seq >= log->first + log->count)
        return 0;
    for (uint64_t q = seq + 1; q < log->first + log->count; q++)
        n += reaches(s, &log->ring[(log->start + (q - log->first)) % log->cap]);
    out->rooms = calloc(s->nrooms + 1, sizeof(*out->rooms));
    out->room_lens = calloc(s->nrooms + 1, sizeof(*out->room_lens));
    out->packets = calloc(n + 1, sizeof(*out->packets));
    out->packet_msgs = calloc(n + 1, sizeof(*out->packet_msgs));
    if (out->rooms == NULL || out->room_lens == NULL || out->packets == NULL ||
        out->packet_msgs == NULL)
        goto nomem;
    for (size_t i = 0; i < s->nrooms; i++) {
        out->rooms[i] = malloc(s->rooms[i].len + 1);
        if (out->rooms[i] == NULL)
            goto nomem;
        memcpy(out->rooms[i], s->rooms[i].base, s->rooms[i].len);
        out->rooms[i][s->rooms[i].len] = '\0';
        out->room_lens[i] = s->rooms[i].len;
        out->nrooms++;
    }
    for (uint64_t q = seq + 1; q < log->first + log->count; q++) {
        entry *e = &log->ring[(log->start + (q - log->first)) % log->cap];
        hb_buf **msgs;
        if (!reaches(s, e))
            continue;
        msgs = malloc(e->nmsgs * sizeof(*msgs));
        if (msgs == NULL)
            goto nomem;
        for (size_t i = 0; i < e->nmsgs; i++)
            msgs[i] = hb_buf_ref(e->msgs[i]);
        out->packets[out->npackets] = msgs;
        out->packet_msgs[out->npackets++] = e->nmsgs;
    }
    memcpy(out->sid, s->sid, sizeof(out->sid));
    session_unlink(log, s);
    session_free(s);
    return 1;
nomem:
    hb_sio_restored_free(out);
    return HB_ENOMEM;
}

void hb_sio_restored_free(hb_sio_restored *r) {
    for (size_t i = 0; r->rooms && i < r->nrooms; i++)
        free(r->rooms[i]);
    for (size_t i = 0; r->packets && i < r->npackets; i++) {
        for (size_t j = 0; j < r->packet_msgs[i]; j++)
            hb_buf_unref(r->packets[i][j]);
        free(r->packets[i]);
    }
    free(r->rooms);
    free(r->room_lens);
    free(r->packets);
    free(r->packet_msgs);
    memset(r, 0, sizeof(*r));
}
