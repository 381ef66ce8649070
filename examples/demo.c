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
 *                         {room, members:[nick...]} and a system "message"
 *                         {system:true, text:"x joined", time}
 *   message(text[, ack])  1..500 characters; "message" {from, text, time} to
 *                         the room, kept in its history; ack {ok:true}
 *   typing(bool)          "typing" {from, typing} to the others in the room
 *   (disconnect)          "members" and "x left" to the room */
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
};

/* A UTF-8 character is at most 4 bytes; a nickname may come with spaces
 * around it, which are trimmed after reading. */
#define NICK_BUF (NICK_MAX * 4 + 64)
#define TEXT_BUF (TEXT_MAX * 4 + 1)

typedef struct user user;

typedef struct room {
    char name[ROOM_MAX + 1];
    user *first, *last; /* members, in the order they joined */
    size_t nmembers;
    json_t *history[HISTORY_KEEP]; /* ring of message objects, oldest at head */
    size_t head, nhistory;
    int64_t used; /* last activity (ms), to forget idle rooms first */
} room;

struct user {
    hb_socket *s;
    char nick[NICK_BUF]; /* "" until hello */
    room *room;
    user *prev, *next; /* in room's members */
};

typedef struct chat {
    hb_nsp *nsp;
    room *rooms[MAX_ROOMS];
    size_t nrooms;
} chat;

/* Process-wide: the server frees its own objects but has no hook to free an
 * app's, and state reachable from here is neither lost nor leaked at exit. */
static chat the_chat;

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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

static hb_bcast *to_room(const room *r) {
    return hb_to(the_chat.nsp, r->name);
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

/* The last HISTORY_SEND messages, oldest first. */
static json_t *room_recent(const room *r) {
    json_t *list = json_array();
    size_t from = r->nhistory > HISTORY_SEND ? r->nhistory - HISTORY_SEND : 0;
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

static int by_members(const void *a, const void *b) {
    const room *x = *(room *const *)a, *y = *(room *const *)b;
    if (x->nmembers != y->nmembers)
        return x->nmembers > y->nmembers ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* [{name, members}]: the lobby first (even when empty), then the rooms that
 * have people in them, busiest first. */
static json_t *room_list(void) {
    room *busy[MAX_ROOMS];
    size_t n = 0;
    const room *lobby = room_find("lobby");
    json_t *list = json_array();
    if (list == NULL)
        return NULL;
    if (json_array_append_new(list, json_pack("{s:s,s:I}", "name", "lobby", "members",
                                              (json_int_t)(lobby ? lobby->nmembers : 0))) != 0)
        goto fail;
    for (size_t i = 0; i < the_chat.nrooms; i++)
        if (the_chat.rooms[i] != lobby && the_chat.rooms[i]->nmembers > 0)
            busy[n++] = the_chat.rooms[i];
    if (n > 1)
        qsort(busy, n, sizeof(busy[0]), by_members);
    for (size_t i = 0; i < n; i++)
        if (json_array_append_new(list, json_pack("{s:s,s:I}", "name", busy[i]->name, "members",
                                                  (json_int_t)busy[i]->nmembers)) != 0)
            goto fail;
    return list;
fail:
    json_decref(list);
    return NULL;
}

/* Tells everyone in r who is there now, and text as a system message. */
static void announce(room *r, const char *text) {
    json_t *names = json_array();
    for (const user *u = r->first; u != NULL && names != NULL; u = u->next)
        if (json_array_append_new(names, json_string(u->nick)) != 0) {
            json_decref(names);
            names = NULL;
        }
    if (names != NULL)
        emit(to_room(r), "members", json_pack("{s:s,s:o}", "room", r->name, "members", names));
    emit(to_room(r), "message",
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

/* Takes u out of its room, if any, and tells the room unless quiet. */
static void leave_room(user *u, int quiet) {
    room *r = u->room;
    char text[NICK_BUF + 16];
    if (r == NULL)
        return;
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
    r->nmembers--;
    r->used = now_ms();
    if (r->nmembers > 0 && !quiet) {
        say(text, sizeof(text), u->nick, " left");
        announce(r, text);
    }
    room_release(r);
}

/* --- events ------------------------------------------------------------------ */

static void on_hello(hb_socket *s, const char *event, const hb_args *args, hb_ack *ack, void *ud) {
    user *u = hb_socket_data(s);
    char nick[NICK_BUF];
    int n = hb_args_string(args, 0, nick, sizeof(nick));
    size_t len;
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
        say(text, sizeof(text), old, " is now ");
        say(text + strlen(text), sizeof(text) - strlen(text), nick, "");
        announce(u->room, text);
    } else {
        memcpy(u->nick, nick, len + 1);
    }
    reply(ack, json_pack("{s:b,s:o}", "ok", 1, "rooms", room_list()));
}

static void on_join(hb_socket *s, const char *event, const hb_args *args, hb_ack *ack, void *ud) {
    user *u = hb_socket_data(s);
    char name[ROOM_MAX + 1], text[NICK_BUF + 16];
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
        reply(ack, json_pack("{s:b,s:s,s:o}", "ok", 1, "room", name, "messages", room_recent(r)));
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
    /* The ack first, so that the page shows the history before what follows. */
    reply(ack, json_pack("{s:b,s:s,s:o}", "ok", 1, "room", r->name, "messages", room_recent(r)));
    say(text, sizeof(text), u->nick, " joined");
    announce(r, text);
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
    emit(to_room(u->room), "message", m);
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
    return 0;
}
