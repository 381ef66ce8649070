/* Hubbub's demo chat (`hubbub --app demo`): serves the page of
 * examples/demo_page/ and the Socket.IO browser client (both embedded at
 * build time by cmake/embed.cmake), and runs the chat on namespace "/":
 * nicknames, rooms with a bounded history, member lists, typing indicators.
 * It uses only the public API (hubbub/hubbub.h), libc and jansson;
 * tests/e2e/ref/demo-chat.mjs is the same chat on npm's socket.io.
 *
 * Events from the page (every ack answer is one object, {error} on refusal):
 *   hello(nickname, ack)  trimmed, 1..32 characters, no control characters;
 *                         ack {ok:true, rooms:[{name, members}]}
 *   join(room, ack)       1..32 of [a-z0-9-], default "lobby"; leaves the
 *                         previous room; ack {ok:true, room, messages:[...]}
 *                         (the last 20), then to the room "members"
 *                         {room, members:[nick...], stamp} and a system
 *                         "message" {system:true, text:"x joined", time}
 *   message(text[, ack])  1..500 characters; "message" {from, text, time} to
 *                         the room, kept in its history; ack {ok:true}
 *   typing(bool)          "typing" {from, typing} to the others in the room
 *   (disconnect)          "members" and "x left" to the room
 * "members" lists the room's people in the order they joined; stamp (ms
 * since the epoch, increasing on each node) orders the lists: the page
 * ignores a list older than the one it shows.
 *
 * In a cluster (--redis, docs/cluster.md) every node runs this chat and a
 * room's people may be on any node, so nothing a node holds in memory is the
 * room's truth. Who is where lives in each socket's data JSON
 * ({nick, room, joined}), which other nodes read with fetchSockets: member
 * lists and the room counts of hello's ack come from a fetch across nodes.
 * History is copied: the node that takes a message sends it to the others
 * (server-side event "demo:message"), which keep it for the rooms they
 * know; a node that has not got a room's history yet when someone joins
 * there asks the others ("demo:history", with acks) and answers the join
 * once they did. A fetch or an ask that times out uses what came. Without
 * a cluster both calls complete at once, and the chat behaves as one
 * process always did. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "demo.h"

/* Written by cmake/embed.cmake into the build directory's embedded.c. */
extern const unsigned char hb_embed_index_html[];
extern const size_t hb_embed_index_html_len;
extern const unsigned char hb_embed_socket_io_js[];
extern const size_t hb_embed_socket_io_js_len;

enum {
    NICK_MAX = 32,      /* characters */
    ROOM_MAX = 32,      /* bytes of [a-z0-9-] */
    TEXT_MAX = 500,     /* characters */
    HISTORY_KEEP = 50,  /* messages kept per room */
    HISTORY_SEND = 20,  /* messages sent with a join */
    MAX_ROOMS = 100,    /* rooms remembered, busy or with history */
    /* How long the other nodes are waited for. The page waits 8 s for an
     * ack; a hung node must not make every hello and join miss that. */
    FETCH_MS = 3000,
    ASK_MS = 3000,
};

/* A UTF-8 character is at most 4 bytes; a nickname may come with spaces
 * around it, which are trimmed after reading. */
#define NICK_BUF (NICK_MAX * 4 + 64)
#define TEXT_BUF (TEXT_MAX * 4 + 1)

typedef struct user user;

typedef struct room {
    char name[ROOM_MAX + 1];
    user *first, *last; /* this node's members, in the order they joined */
    size_t nmembers;
    json_t *history[HISTORY_KEEP]; /* ring of message objects, oldest at head */
    size_t head, nhistory;
    int64_t used;    /* last activity (ms), to forget idle rooms first */
    uint8_t synced;  /* has what the other nodes had when it was asked */
    uint8_t asking;  /* the other nodes are being asked for the history */
} room;

struct user {
    hb_socket *s;
    char nick[NICK_BUF]; /* "" until hello */
    room *room;
    user *prev, *next; /* in room's members */
    int64_t joined;    /* tick() of the join: the order of member lists */
    /* Joined a room whose history is being asked for: the ack (if any) and
     * the "joined" announcement wait for the answers. */
    uint8_t waiting;
    hb_ack *join_ack;
};

typedef struct chat {
    hb_nsp *nsp;
    room *rooms[MAX_ROOMS];
    size_t nrooms;
    int64_t clock; /* the last tick() */
} chat;

/* Process-wide: the server frees its own objects but has no hook to free an
 * app's, and state reachable from here is neither lost nor leaked at exit. */
static chat the_chat;

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds since the epoch, but never twice the same nor going back on
 * this node: the stamps of member lists and the order of joins. Those of two
 * nodes compare as well as their clocks agree. */
static int64_t tick(void) {
    int64_t t = now_ms();
    if (t <= the_chat.clock)
        t = the_chat.clock + 1;
    the_chat.clock = t;
    return t;
}

/* Whether other nodes may be there to ask (cluster mode). */
static int clustered(void) {
    return hb_server_node_id(hb_nsp_server(the_chat.nsp)) != NULL;
}

/* --- text checks ------------------------------------------------------------ */

/* Characters in s[0..len), or -1 when it is not UTF-8 (overlong forms,
 * surrogates and code points past U+10FFFF included: jansson refuses them). */
static long utf8_chars(const char *s, size_t len) {
    const unsigned char *p = (const unsigned char *)s;
    long n = 0;
    size_t i = 0;
    while (i < len) {
        unsigned c = p[i];
        size_t extra;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            n++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            extra = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            extra = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            extra = 3;
            cp = c & 0x07;
        } else {
            return -1;
        }
        if (len - i <= extra)
            return -1;
        for (size_t k = 1; k <= extra; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return -1;
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }
        if ((extra == 2 && cp < 0x800) || (extra == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return -1;
        i += extra + 1;
        n++;
    }
    return n;
}

static int is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Trims ASCII white space off s (NUL-terminated, len bytes) in place. */
static size_t trim(char *s, size_t len) {
    size_t start = 0;
    while (start < len && is_space(s[start]))
        start++;
    while (len > start && is_space(s[len - 1]))
        len--;
    memmove(s, s + start, len - start);
    s[len - start] = '\0';
    return len - start;
}

static int blank(const char *s, size_t len) {
    for (size_t i = 0; i < len; i++)
        if (!is_space(s[i]))
            return 0;
    return 1;
}

static int valid_nick(const char *s, size_t len) {
    long n = utf8_chars(s, len);
    if (n < 1 || n > NICK_MAX || strlen(s) != len)
        return 0;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 0;
    return 1;
}

static int valid_room(const char *s, size_t len) {
    if (len < 1 || len > ROOM_MAX)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return 0;
    return 1;
}

/* --- JSON out ----------------------------------------------------------------- */

/* "[v]" as compact JSON text (free() it), consuming v; NULL on ENOMEM. */
static char *args_of(json_t *v) {
    json_t *args;
    char *text;
    if (v == NULL)
        return NULL;
    args = json_array();
    if (args == NULL) {
        json_decref(v);
        return NULL;
    }
    if (json_array_append_new(args, v) != 0) { /* consumes v either way */
        json_decref(args);
        return NULL;
    }
    text = json_dumps(args, JSON_COMPACT);
    json_decref(args);
    return text;
}

/* Answers ack (when the client asked for one) with v; consumes v. */
static void reply(hb_ack *ack, json_t *v) {
    char *text;
    if (ack == NULL) {
        json_decref(v);
        return;
    }
    text = args_of(v);
    /* Without memory for the answer, still answer: the page waits for it. */
    hb_ack_send(ack, text != NULL ? text : "[{\"error\":\"out of memory\"}]", NULL, 0);
    free(text);
}

static void reply_error(hb_ack *ack, const char *message) {
    reply(ack, json_pack("{s:s}", "error", message));
}

/* Emits event with the single argument v to the broadcast b; consumes both. */
static int emit(hb_bcast *b, const char *event, json_t *v) {
    char *text = args_of(v);
    int err;
    if (b == NULL) {
        free(text);
        return HB_ENOMEM;
    }
    if (text == NULL) {
        hb_bcast_free(b);
        return HB_ENOMEM;
    }
    err = hb_bcast_emit(b, event, text, NULL, 0);
    free(text);
    return err;
}

static hb_bcast *to_room(const char *name) {
    return hb_to(the_chat.nsp, name);
}

/* A chat message as kept and sent, {from, text, time}, rebuilt from v when
 * it has those fields with those types (other fields dropped), else NULL:
 * what another node sends is checked as what a client does. */
static json_t *message_from(json_t *v) {
    const char *from, *text;
    json_int_t time;
    if (json_unpack(v, "{s:s,s:s,s:I}", "from", &from, "text", &text, "time", &time) != 0 ||
        strlen(from) >= NICK_BUF || strlen(text) >= TEXT_BUF)
        return NULL;
    return json_pack("{s:s,s:s,s:I}", "from", from, "text", text, "time", time);
}

/* --- rooms ------------------------------------------------------------------- */

static room *room_find(const char *name) {
    for (size_t i = 0; i < the_chat.nrooms; i++)
        if (strcmp(the_chat.rooms[i]->name, name) == 0)
            return the_chat.rooms[i];
    return NULL;
}

static void room_free_at(size_t i) {
    room *r = the_chat.rooms[i];
    for (size_t k = 0; k < r->nhistory; k++)
        json_decref(r->history[(r->head + k) % HISTORY_KEEP]);
    free(r);
    the_chat.rooms[i] = the_chat.rooms[--the_chat.nrooms];
}

/* Forgets r when nothing is left to remember: no members and no history. */
static void room_release(room *r) {
    if (r->nmembers > 0 || r->nhistory > 0)
        return;
    for (size_t i = 0; i < the_chat.nrooms; i++)
        if (the_chat.rooms[i] == r) {
            room_free_at(i);
            return;
        }
}

/* The room called name, created if needed. When MAX_ROOMS are remembered,
 * the empty room idle the longest is forgotten, history and all; NULL when
 * every room has people in it (or on ENOMEM). */
static room *room_get(const char *name) {
    room *r = room_find(name);
    if (r != NULL)
        return r;
    if (the_chat.nrooms == MAX_ROOMS) {
        size_t oldest = MAX_ROOMS;
        for (size_t i = 0; i < the_chat.nrooms; i++) {
            const room *x = the_chat.rooms[i];
            if (x->nmembers == 0 &&
                (oldest == MAX_ROOMS || x->used < the_chat.rooms[oldest]->used))
                oldest = i;
        }
        if (oldest == MAX_ROOMS)
            return NULL;
        room_free_at(oldest);
    }
    r = calloc(1, sizeof(*r));
    if (r == NULL)
        return NULL;
    memcpy(r->name, name, strlen(name) + 1);
    r->used = now_ms();
    the_chat.rooms[the_chat.nrooms++] = r;
    return r;
}

/* Keeps m (a reference is taken) as r's newest message. */
static void room_remember(room *r, json_t *m) {
    if (r->nhistory == HISTORY_KEEP) {
        json_decref(r->history[r->head]);
        r->head = (r->head + 1) % HISTORY_KEEP;
        r->nhistory--;
    }
    r->history[(r->head + r->nhistory) % HISTORY_KEEP] = json_incref(m);
    r->nhistory++;
}

/* The last max messages, oldest first. */
static json_t *room_recent(const room *r, size_t max) {
    json_t *list = json_array();
    size_t from = r->nhistory > max ? r->nhistory - max : 0;
    if (list == NULL)
        return NULL;
    for (size_t k = from; k < r->nhistory; k++) {
        if (json_array_append(list, r->history[(r->head + k) % HISTORY_KEEP]) != 0) {
            json_decref(list);
            return NULL;
        }
    }
    return list;
}

typedef struct dated {
    json_t *m;
    json_int_t time;
    size_t order; /* qsort is not stable */
} dated;

static int by_time(const void *a, const void *b) {
    const dated *x = a, *y = b;
    if (x->time != y->time)
        return x->time < y->time ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Adds to r's history the messages of answers_json, a JSON array of other
 * nodes' histories of r (arrays of messages): all in time order, a message
 * that several nodes have once, the newest HISTORY_KEEP kept. On ENOMEM r
 * keeps what it had. */
static void room_merge(room *r, const char *answers_json) {
    json_t *answers = json_loads(answers_json, 0, NULL), *list;
    dated *all;
    size_t n = 0, cap = r->nhistory, i, k, kept = 0, drop;
    if (!json_is_array(answers)) {
        json_decref(answers);
        return;
    }
    json_array_foreach(answers, i, list) {
        size_t len = json_array_size(list); /* 0 for what is not an array */
        cap += len > HISTORY_KEEP ? HISTORY_KEEP : len;
    }
    if (cap == r->nhistory || (all = calloc(cap, sizeof(*all))) == NULL) {
        json_decref(answers);
        return;
    }
    for (k = 0; k < r->nhistory; k++, n++) {
        all[n].m = json_incref(r->history[(r->head + k) % HISTORY_KEEP]);
        all[n].time = json_integer_value(json_object_get(all[n].m, "time"));
        all[n].order = n;
    }
    json_array_foreach(answers, i, list) {
        size_t len = json_array_size(list);
        for (k = len > HISTORY_KEEP ? len - HISTORY_KEEP : 0; k < len; k++) {
            json_t *m = message_from(json_array_get(list, k));
            if (m == NULL)
                continue;
            all[n].m = m;
            all[n].time = json_integer_value(json_object_get(m, "time"));
            all[n].order = n;
            n++;
        }
    }
    json_decref(answers);
    qsort(all, n, sizeof(*all), by_time);
    /* Every node that was up had every message: keep one of the copies.
     * Copies have the same time, so they sit next to each other. */
    for (i = 0; i < n; i++) {
        int copy = 0;
        for (k = kept; k > 0 && all[k - 1].time == all[i].time && !copy; k--)
            copy = json_equal(all[k - 1].m, all[i].m);
        if (copy)
            json_decref(all[i].m);
        else
            all[kept++] = all[i];
    }
    for (k = 0; k < r->nhistory; k++)
        json_decref(r->history[(r->head + k) % HISTORY_KEEP]);
    drop = kept > HISTORY_KEEP ? kept - HISTORY_KEEP : 0;
    for (i = 0; i < drop; i++)
        json_decref(all[i].m);
    r->head = 0;
    r->nhistory = 0;
    for (i = drop; i < kept; i++)
        r->history[r->nhistory++] = all[i].m;
    free(all);
}

/* --- who is where, from every node ---------------------------------------------- */

/* Writes where u is into its socket data, which every node's fetches read:
 * {nick, room (null when in none), joined}. Without memory for it, other
 * nodes see the previous place until the next change. */
static void publish(user *u) {
    json_t *d = json_pack("{s:s,s:s?,s:I}", "nick", u->nick, "room",
                          u->room != NULL ? u->room->name : NULL, "joined", (json_int_t)u->joined);
    char *text = d != NULL ? json_dumps(d, JSON_COMPACT) : NULL;
    json_decref(d);
    if (text != NULL)
        hb_socket_set_data_json(u->s, text);
    free(text);
}

/* A socket a fetch found in a room, read from its data. */
typedef struct member {
    const char *id;
    json_t *data; /* decref when done: nick and room point into it */
    const char *nick, *room;
    json_int_t joined;
} member;

/* Whether fs is in a room by its data (in the room called name, unless
 * NULL); fills m if so. */
static int member_of(const hb_fetched_socket *fs, const char *name, member *m) {
    json_t *d = json_loads(fs->data_json, JSON_DECODE_ANY, NULL);
    if (d == NULL ||
        json_unpack(d, "{s:s,s:s,s:I}", "nick", &m->nick, "room", &m->room, "joined",
                    &m->joined) != 0 ||
        !valid_room(m->room, strlen(m->room)) || (name != NULL && strcmp(m->room, name) != 0)) {
        json_decref(d);
        return 0;
    }
    m->id = fs->id;
    m->data = d;
    return 1;
}

static int by_join(const void *a, const void *b) {
    const member *x = a, *y = b;
    if (x->joined != y->joined)
        return x->joined < y->joined ? -1 : 1;
    return strcmp(x->id, y->id);
}

/* A member list being fetched: stamped when the fetch starts, since what it
 * finds is at least as new as that moment. */
typedef struct roster {
    int64_t stamp;
    char room[ROOM_MAX + 1];
} roster;

/* Sends the room's "members": the people a fetch found in it, in join
 * order. After a timeout the list has those of the nodes that answered (the
 * others cannot be reached anyway); on ENOMEM it might miss people, and
 * nothing is sent: the next change in the room sends a whole list. */
static void on_roster(int err, const hb_fetched_socket *socks, size_t n, void *ud) {
    roster *x = ud;
    member *ms = calloc(n > 0 ? n : 1, sizeof(*ms));
    json_t *names = err != HB_ENOMEM && ms != NULL ? json_array() : NULL;
    size_t k = 0;
    for (size_t i = 0; names != NULL && i < n; i++)
        k += (size_t)member_of(&socks[i], x->room, &ms[k]);
    if (k > 1)
        qsort(ms, k, sizeof(*ms), by_join);
    for (size_t i = 0; i < k; i++) {
        if (names != NULL && json_array_append_new(names, json_string(ms[i].nick)) != 0) {
            json_decref(names);
            names = NULL;
        }
        json_decref(ms[i].data);
    }
    free(ms);
    if (names != NULL)
        emit(to_room(x->room), "members",
             json_pack("{s:s,s:o,s:I}", "room", x->room, "members", names, "stamp",
                       (json_int_t)x->stamp));
    free(x);
}

/* Fetches who is in the room called name, on every node, and tells them. */
static void send_members(const char *name) {
    roster *x = malloc(sizeof(*x));
    hb_bcast *b = hb_bcast_timeout(to_room(name), FETCH_MS);
    if (x == NULL || b == NULL) {
        free(x);
        hb_bcast_free(b);
        return;
    }
    x->stamp = tick();
    memcpy(x->room, name, strlen(name) + 1);
    if (hb_bcast_fetch_sockets_async(b, on_roster, x) != 0)
        free(x); /* b is consumed, on_roster will not run */
}

typedef struct count {
    const char *name;
    json_int_t n;
} count;

static int by_count(const void *a, const void *b) {
    const count *x = a, *y = b;
    if (x->n != y->n)
        return x->n > y->n ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* Answers hello (ud: its kept ack) once a fetch of every socket said who is
 * where: [{name, members}], the lobby first (even when empty), then the
 * rooms that have people in them, busiest first, MAX_ROOMS at most. After a
 * timeout, the counts of the nodes that answered. */
static void on_counts(int err, const hb_fetched_socket *socks, size_t n, void *ud) {
    hb_ack *ack = ud;
    json_t *by_room = json_object(), *list = json_array(), *v;
    count *busy = NULL;
    size_t nbusy = 0;
    json_int_t lobby = 0;
    const char *key;
    member m;
    (void)err;
    if (by_room == NULL || list == NULL)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        if (!member_of(&socks[i], NULL, &m))
            continue;
        json_int_t c = json_integer_value(json_object_get(by_room, m.room));
        int bad = json_object_set_new(by_room, m.room, json_integer(c + 1));
        json_decref(m.data);
        if (bad)
            goto fail;
    }
    if ((busy = calloc(json_object_size(by_room) + 1, sizeof(*busy))) == NULL)
        goto fail;
    json_object_foreach(by_room, key, v) {
        if (strcmp(key, "lobby") == 0)
            lobby = json_integer_value(v);
        else
            busy[nbusy++] = (count){key, json_integer_value(v)};
    }
    if (nbusy > 1)
        qsort(busy, nbusy, sizeof(*busy), by_count);
    if (json_array_append_new(list, json_pack("{s:s,s:I}", "name", "lobby", "members", lobby)) != 0)
        goto fail;
    for (size_t i = 0; i < nbusy && i + 1 < MAX_ROOMS; i++)
        if (json_array_append_new(list, json_pack("{s:s,s:I}", "name", busy[i].name, "members",
                                                  busy[i].n)) != 0)
            goto fail;
    free(busy);
    json_decref(by_room);
    reply(ack, json_pack("{s:b,s:o}", "ok", 1, "rooms", list));
    return;
fail:
    free(busy);
    json_decref(by_room);
    json_decref(list);
    reply_error(ack, "out of memory");
}

/* Tells everyone in the room called name who is there now, and text (when
 * not NULL) as a system message. */
static void announce(const char *name, const char *text) {
    send_members(name);
    if (text != NULL)
        emit(to_room(name), "message",
             json_pack("{s:b,s:s,s:I}", "system", 1, "text", text, "time", (json_int_t)now_ms()));
}

/* "<nick><suffix>" in out (nicknames are at most NICK_BUF bytes). */
static void say(char *out, size_t cap, const char *nick, const char *suffix) {
    size_t n = strlen(nick), m = strlen(suffix);
    if (n + m + 1 > cap)
        n = cap - m - 1;
    memcpy(out, nick, n);
    memcpy(out + n, suffix, m + 1);
}

/* Answers u's join (ack may be NULL) with its room's recent history, and
 * tells the room. */
static void joined(user *u, hb_ack *ack) {
    char text[NICK_BUF + 16];
    room *r = u->room;
    /* The ack first, so that the page shows the history before what follows. */
    reply(ack, json_pack("{s:b,s:s,s:o}", "ok", 1, "room", r->name, "messages",
                         room_recent(r, HISTORY_SEND)));
    say(text, sizeof(text), u->nick, " joined");
    announce(r->name, text);
}

/* Takes u out of its room, if any, and tells the room unless quiet. */
static void leave_room(user *u, int quiet) {
    room *r = u->room;
    char text[NICK_BUF + 16];
    int was_waiting = u->waiting;
    if (r == NULL)
        return;
    if (was_waiting) {
        /* Gone before the history came: the join gets what is here (a
         * socket that is disconnecting gets nothing, and its ack is freed)
         * and, never announced, it leaves without a word. */
        hb_ack *ack = u->join_ack;
        u->waiting = 0;
        u->join_ack = NULL;
        reply(ack, json_pack("{s:b,s:s,s:o}", "ok", 1, "room", r->name, "messages",
                             room_recent(r, HISTORY_SEND)));
    }
    /* Also while disconnecting: the announcement below must not reach u. */
    hb_socket_leave(u->s, r->name);
    if (u->prev != NULL)
        u->prev->next = u->next;
    else
        r->first = u->next;
    if (u->next != NULL)
        u->next->prev = u->prev;
    else
        r->last = u->prev;
    u->prev = u->next = NULL;
    u->room = NULL;
    publish(u);
    r->nmembers--;
    r->used = now_ms();
    /* Told even with nobody left here: people of other nodes may be in it. */
    if (!quiet) {
        say(text, sizeof(text), u->nick, " left");
        announce(r->name, was_waiting ? NULL : text);
    }
    room_release(r);
}

/* --- history across nodes ----------------------------------------------------------- */

/* Sends m, said in r on this node, to the other nodes (no answer asked). */
static void share(const room *r, json_t *m) {
    json_t *args = json_pack("[s,O]", r->name, m);
    char *text = args != NULL ? json_dumps(args, JSON_COMPACT) : NULL;
    json_decref(args);
    if (text != NULL)
        hb_nsp_server_side_emit(the_chat.nsp, "demo:message", text, 0, NULL, NULL);
    free(text);
}

/* The other nodes' answers for r came (or the ask ended without them):
 * merged, and whoever was waiting for them is answered and announced. */
static void history_in(room *r, int err, const char *answers_json) {
    room_merge(r, answers_json);
    r->asking = 0;
    /* After a timeout, or with Redis away, what came is kept and the next
     * join asks again. */
    if (err == 0)
        r->synced = 1;
    /* From the start each time: answering emits, and u->next is not ours
     * to trust across that. */
    for (;;) {
        user *u = r->first;
        while (u != NULL && !u->waiting)
            u = u->next;
        if (u == NULL)
            break;
        hb_ack *ack = u->join_ack;
        u->waiting = 0;
        u->join_ack = NULL;
        joined(u, ack);
    }
}

/* An ask for a room's history: the room by name, since all who waited may
 * leave and the room be forgotten before the answers come. */
typedef struct ask {
    char room[ROOM_MAX + 1];
} ask;

static void on_history(int err, const char *responses_json, size_t n, void *ud) {
    ask *x = ud;
    room *r = room_find(x->room);
    (void)n;
    free(x);
    if (r != NULL)
        history_in(r, err, responses_json);
}

/* Asks the other nodes for r's history, unless an ask is out already. */
static void history_ask(room *r) {
    ask *x;
    char *args;
    int err = HB_ENOMEM;
    if (r->asking)
        return;
    r->asking = 1;
    x = malloc(sizeof(*x));
    args = args_of(json_string(r->name));
    if (x != NULL && args != NULL) {
        memcpy(x->room, r->name, strlen(r->name) + 1);
        err = hb_nsp_server_side_emit(the_chat.nsp, "demo:history", args, ASK_MS, on_history, x);
    }
    free(args);
    if (err != 0) { /* on_history will not run */
        free(x);
        history_in(r, err, "[]");
    }
}

/* "demo:message" [room, message] from another node: kept when this node
 * knows the room; otherwise it asks when someone joins there. */
static void on_remote_message(hb_nsp *nsp, const char *event, const hb_args *args,
                              hb_server_reply *reply_to, void *ud) {
    char name[ROOM_MAX + 1];
    size_t len = 0;
    int n = hb_args_string(args, 0, name, sizeof(name));
    const char *arg = hb_args_at(args, 1, &len);
    room *r = n > 0 && valid_room(name, (size_t)n) ? room_find(name) : NULL;
    json_t *v, *m;
    (void)nsp, (void)event, (void)ud;
    if (reply_to != NULL)
        hb_server_reply_send(reply_to, NULL);
    if (r == NULL || arg == NULL)
        return;
    v = json_loadb(arg, len, 0, NULL);
    m = v != NULL ? message_from(v) : NULL;
    json_decref(v);
    if (m == NULL)
        return;
    room_remember(r, m);
    json_decref(m);
    r->used = now_ms();
}

/* "demo:history" [room] from another node, someone joining there: answers
 * with the room's history here, [] when this node does not know it. */
static void on_history_ask(hb_nsp *nsp, const char *event, const hb_args *args,
                           hb_server_reply *reply_to, void *ud) {
    char name[ROOM_MAX + 1];
    int n = hb_args_string(args, 0, name, sizeof(name));
    const room *r = n > 0 && valid_room(name, (size_t)n) ? room_find(name) : NULL;
    json_t *list;
    char *text;
    (void)nsp, (void)event, (void)ud;
    if (reply_to == NULL)
        return;
    list = r != NULL ? room_recent(r, HISTORY_KEEP) : NULL;
    text = list != NULL ? json_dumps(list, JSON_COMPACT) : NULL;
    json_decref(list);
    hb_server_reply_send(reply_to, text != NULL ? text : "[]");
    free(text);
}

/* --- events ------------------------------------------------------------------ */

static void on_hello(hb_socket *s, const char *event, const hb_args *args, hb_ack *ack, void *ud) {
    user *u = hb_socket_data(s);
    char nick[NICK_BUF];
    int n = hb_args_string(args, 0, nick, sizeof(nick));
    size_t len;
    hb_ack *kept;
    (void)event, (void)ud;
    if (u == NULL)
        return;
    len = n < 0 ? 0 : trim(nick, (size_t)n);
    if (n < 0 || !valid_nick(nick, len)) {
        reply_error(ack, "nickname must be 1 to 32 characters");
        return;
    }
    if (u->room != NULL && strcmp(u->nick, nick) != 0) {
        char text[2 * NICK_BUF + 16], old[NICK_BUF];
        memcpy(old, u->nick, sizeof(old));
        memcpy(u->nick, nick, len + 1);
        publish(u);
        say(text, sizeof(text), old, " is now ");
        say(text + strlen(text), sizeof(text) - strlen(text), nick, "");
        announce(u->room->name, text);
    } else {
        memcpy(u->nick, nick, len + 1);
        publish(u);
    }
    if (ack == NULL)
        return;
    /* The room list counts the people of every node: answered in on_counts. */
    kept = hb_ack_keep(ack);
    if (kept == NULL) {
        reply_error(ack, "out of memory");
        return;
    }
    if (hb_bcast_fetch_sockets_async(hb_bcast_timeout(hb_nsp_bcast(the_chat.nsp), FETCH_MS),
                                     on_counts, kept) != 0)
        reply_error(kept, "out of memory");
}

static void on_join(hb_socket *s, const char *event, const hb_args *args, hb_ack *ack, void *ud) {
    user *u = hb_socket_data(s);
    char name[ROOM_MAX + 1];
    size_t len;
    const char *arg = hb_args_at(args, 0, &len);
    room *r;
    int err;
    (void)event, (void)ud;
    if (u == NULL)
        return;
    if (u->nick[0] == '\0') {
        reply_error(ack, "say hello first");
        return;
    }
    if (arg == NULL || (len == 4 && memcmp(arg, "null", 4) == 0)) {
        strcpy(name, "lobby");
    } else {
        int n = hb_args_string(args, 0, name, sizeof(name));
        if (n == 0)
            strcpy(name, "lobby");
        else if (n < 0 || !valid_room(name, (size_t)n)) {
            reply_error(ack, "room names are 1 to 32 characters of a-z, 0-9 and -");
            return;
        }
    }

    r = u->room;
    if (r != NULL && strcmp(r->name, name) == 0) {
        reply(ack, json_pack("{s:b,s:s,s:o}", "ok", 1, "room", name, "messages",
                             room_recent(r, HISTORY_SEND)));
        return;
    }
    r = room_get(name);
    if (r == NULL) {
        reply_error(ack, "too many rooms");
        return;
    }
    leave_room(u, 0); /* may forget u's old room, never r */
    err = hb_socket_join(s, r->name);
    if (err != 0) {
        room_release(r);
        reply_error(ack, hb_strerror(err));
        return;
    }
    u->prev = r->last;
    if (r->last != NULL)
        r->last->next = u;
    else
        r->first = u;
    r->last = u;
    r->nmembers++;
    r->used = now_ms();
    u->room = r;
    u->joined = tick();
    publish(u);
    if (clustered() && !r->synced) {
        /* Other nodes may have heard what was said here before this node
         * knew the room: the join is answered once they told. */
        hb_ack *kept = ack != NULL ? hb_ack_keep(ack) : NULL;
        if (ack == NULL || kept != NULL) {
            u->waiting = 1;
            u->join_ack = kept;
            history_ask(r); /* may answer u before it returns */
            return;
        }
        /* No memory to keep the ack: answer with what is here. */
    }
    joined(u, ack);
}

static void on_message(hb_socket *s, const char *event, const hb_args *args, hb_ack *ack,
                       void *ud) {
    user *u = hb_socket_data(s);
    char text[TEXT_BUF];
    int n = hb_args_string(args, 0, text, sizeof(text));
    long chars;
    json_t *m;
    (void)event, (void)ud;
    if (u == NULL)
        return;
    if (u->room == NULL) {
        reply_error(ack, "join a room first");
        return;
    }
    chars = n < 0 ? -1 : utf8_chars(text, (size_t)n);
    if (chars < 1 || chars > TEXT_MAX || blank(text, (size_t)n) || strlen(text) != (size_t)n) {
        reply_error(ack, "messages are 1 to 500 characters");
        return;
    }
    m = json_pack("{s:s,s:s,s:I}", "from", u->nick, "text", text, "time", (json_int_t)now_ms());
    if (m == NULL) {
        reply_error(ack, "out of memory");
        return;
    }
    room_remember(u->room, m);
    u->room->used = now_ms();
    share(u->room, m);
    emit(to_room(u->room->name), "message", m);
    reply(ack, json_pack("{s:b}", "ok", 1));
}

static void on_typing(hb_socket *s, const char *event, const hb_args *args, hb_ack *ack,
                      void *ud) {
    user *u = hb_socket_data(s);
    size_t len;
    const char *arg = hb_args_at(args, 0, &len);
    int typing = arg != NULL && len == 4 && memcmp(arg, "true", 4) == 0;
    hb_bcast *b;
    (void)event, (void)ud;
    if (u == NULL || u->room == NULL) {
        if (ack != NULL)
            hb_ack_send(ack, NULL, NULL, 0);
        return;
    }
    /* socket.broadcast.to(room): everyone in the room but the typist. */
    b = hb_socket_bcast(s);
    if (b != NULL)
        b = hb_bcast_to(b, u->room->name);
    emit(b, "typing", json_pack("{s:s,s:b}", "from", u->nick, "typing", typing));
    if (ack != NULL)
        hb_ack_send(ack, NULL, NULL, 0);
}

static void on_disconnect(hb_socket *s, const char *reason, void *ud) {
    user *u = hb_socket_data(s);
    (void)ud;
    if (u == NULL)
        return;
    /* At shutdown everyone goes: nobody is left to tell. */
    leave_room(u, strcmp(reason, "server shutting down") == 0);
    hb_socket_set_data(s, NULL);
    free(u);
}

static void on_connection(hb_socket *s, void *ud) {
    user *u = calloc(1, sizeof(*u));
    (void)ud;
    if (u == NULL) {
        hb_socket_disconnect(s, 1);
        return;
    }
    u->s = s;
    hb_socket_set_data(s, u);
    hb_socket_on_disconnect(s, on_disconnect, NULL);
    if (hb_socket_on(s, "hello", on_hello, NULL) != 0 ||
        hb_socket_on(s, "join", on_join, NULL) != 0 ||
        hb_socket_on(s, "message", on_message, NULL) != 0 ||
        hb_socket_on(s, "typing", on_typing, NULL) != 0)
        hb_socket_disconnect(s, 1); /* on_disconnect frees u */
}

/* --- setup ---------------------------------------------------------------------- */

int hb_app_demo_setup(hb_server *srv) {
    static const char html[] = "text/html; charset=utf-8";
    static const char js[] = "application/javascript; charset=utf-8";
    hb_nsp *nsp;
    int err;

    if (srv == NULL)
        return HB_EINVAL;
    for (size_t i = 0; i < the_chat.nrooms; i++)
        if (the_chat.rooms[i]->nmembers > 0)
            return HB_EINVAL;
    while (the_chat.nrooms > 0)
        room_free_at(0);

    if ((err = hb_server_serve(srv, "/", html, hb_embed_index_html, hb_embed_index_html_len)) != 0 ||
        (err = hb_server_serve(srv, "/index.html", html, hb_embed_index_html,
                               hb_embed_index_html_len)) != 0 ||
        (err = hb_server_serve(srv, "/socket.io/socket.io.js", js, hb_embed_socket_io_js,
                               hb_embed_socket_io_js_len)) != 0)
        return err;
    nsp = hb_server_of(srv, "/");
    if (nsp == NULL)
        return HB_ENOMEM;
    the_chat.nsp = nsp;
    hb_nsp_on_connection(nsp, on_connection, NULL);
    if ((err = hb_nsp_on_server_event(nsp, "demo:message", on_remote_message, NULL)) != 0 ||
        (err = hb_nsp_on_server_event(nsp, "demo:history", on_history_ask, NULL)) != 0)
        return err;
    return 0;
}
