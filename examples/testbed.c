/* The testbed app: namespace "/" with a token middleware and one event per
 * part of the server API (acks, rooms, broadcasts, fetch, disconnects),
 * "/secure" behind its own middleware, and the dynamic namespaces /dyn-N.
 * The behaviour is exactly that of tests/e2e/ref/socketio-testbed.mjs; the
 * comments quote the Node line each handler stands for. The app owns no
 * state: everything lives in the library's sockets and rooms, and a pending
 * ack travels as the user data of the callback that will answer it. */
#include "testbed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The dynamic namespaces, /^\/dyn-\d+$/ in the reference. POSIX has no \d;
 * JavaScript's \d is ASCII [0-9], and without the m flag $ matches only at
 * the end, as in POSIX. */
#define DYN_PATTERN "^/dyn-[0-9]+$"

/* Node's setTimeout() keeps a delay only within [1, 2^31 - 1] ms. */
#define TIMEOUT_MAX_MS 2147483647.0

/* ---- building JSON text ------------------------------------------------------ */

/* A growing NUL-terminated string. An allocation failure is remembered and
 * makes every later add a no-op, so that builders check once, at the end. */
typedef struct sbuf {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n) {
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (p == NULL) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_puts(sbuf *b, const char *s) {
    sb_add(b, s, strlen(s));
}

/* Adds s as a JSON string, quotes and escapes included. */
static void sb_json_string(sbuf *b, const char *s) {
    char *q = hb_json_string(s);
    if (q == NULL) {
        b->oom = 1;
        return;
    }
    sb_puts(b, q);
    free(q);
}

/* The text built (malloc'd, the caller frees it), or NULL if an allocation
 * failed on the way. */
static char *sb_take(sbuf *b) {
    sb_add(b, "", 0); /* an empty builder still yields "" */
    if (b->oom) {
        free(b->p);
        return NULL;
    }
    return b->p;
}

/* A NUL-terminated copy of s[0..n) (C11 has no strndup). */
static char *copy_n(const char *s, size_t n) {
    char *c = malloc(n + 1);
    if (c != NULL) {
        memcpy(c, s, n);
        c[n] = '\0';
    }
    return c;
}

/* ---- reading JSON text --------------------------------------------------------
 * The library hands over JSON it has already validated, so these only find
 * where things are; they never read past end even on malformed input. */

static const char *skip_ws(const char *p, const char *end) {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* p is on an opening quote; returns just past the closing one. */
static const char *skip_string(const char *p, const char *end) {
    for (p++; p < end;) {
        if (*p == '"')
            return p + 1;
        p += (*p == '\\' && p + 1 < end) ? 2 : 1;
    }
    return end;
}

static int is_delimiter(char c) {
    return c == ',' || c == ']' || c == '}' || c == ':' || c == ' ' || c == '\t' ||
           c == '\n' || c == '\r' || c == '\0';
}

/* A number, true, false or null. */
static const char *skip_scalar(const char *p, const char *end) {
    while (p < end && !is_delimiter(*p))
        p++;
    return p;
}

/* Returns the end of the JSON value at p (after leading whitespace). */
static const char *skip_value(const char *p, const char *end) {
    p = skip_ws(p, end);
    if (p == end)
        return end;
    if (*p == '"')
        return skip_string(p, end);
    if (*p != '[' && *p != '{')
        return skip_scalar(p, end);
    size_t depth = 0;
    while (p < end) {
        if (*p == '"') {
            p = skip_string(p, end);
            continue;
        }
        if (*p == '[' || *p == '{')
            depth++;
        else if ((*p == ']' || *p == '}') && --depth == 0)
            return p + 1;
        p++;
    }
    return end;
}

/* Argument i of args as a malloc'd, unescaped string in *out (its length in
 * *out_len when not NULL; it may contain NUL bytes). Returns 1, 0 when the
 * argument is missing or not a string, or HB_ENOMEM. */
static int arg_string(const hb_args *args, size_t i, char **out, size_t *out_len) {
    size_t len = 0;
    *out = NULL;
    if (hb_args_at(args, i, &len) == NULL)
        return 0;
    char *s = malloc(len + 1); /* unescaping never makes a string longer */
    if (s == NULL)
        return HB_ENOMEM;
    int n = hb_args_string(args, i, s, len + 1);
    if (n < 0) {
        free(s);
        return 0;
    }
    *out = s;
    if (out_len != NULL)
        *out_len = (size_t)n;
    return 1;
}

/* Unescapes the JSON string text[0..len), quotes included, as arg_string()
 * does. hb_args_string() is the API's only unescaper and reads argument
 * arrays, so the string is wrapped in one. */
static int json_string_decode(const char *text, size_t len, char **out, size_t *out_len) {
    char *arr = malloc(len + 3);
    if (arr == NULL)
        return HB_ENOMEM;
    arr[0] = '[';
    memcpy(arr + 1, text, len);
    arr[len + 1] = ']';
    arr[len + 2] = '\0';
    hb_args wrapped = {arr, len + 2, NULL, 0};
    int rc = arg_string(&wrapped, 0, out, out_len);
    free(arr);
    return rc;
}

/* 1 when the JSON value text[0..len) is a string equal to want. Escapes
 * count as what they stand for ("\u0062ad" is "bad"), as for JSON.parse. */
static int json_string_equals(const char *text, size_t len, const char *want) {
    size_t n = strlen(want);
    if (len < 2 || text[0] != '"')
        return 0;
    if (memchr(text, '\\', len) == NULL)
        return len - 2 == n && memcmp(text + 1, want, n) == 0;
    char *s;
    size_t slen;
    if (json_string_decode(text, len, &s, &slen) != 1)
        return 0;
    int eq = slen == n && memcmp(s, want, n) == 0;
    free(s);
    return eq;
}

/* Finds member key of the JSON object text [p, end): its value is
 * [*val, *val_end). The last one wins, as with JSON.parse. */
static int object_get(const char *p, const char *end, const char *key, const char **val,
                      const char **val_end) {
    int found = 0;
    p = skip_ws(p, end);
    if (p == end || *p != '{')
        return 0;
    for (p = skip_ws(p + 1, end); p < end && *p == '"'; p = skip_ws(p + 1, end)) {
        const char *k = p;
        p = skip_string(p, end);
        int match = json_string_equals(k, (size_t)(p - k), key);
        p = skip_ws(p, end);
        if (p == end || *p != ':')
            break;
        const char *v = skip_ws(p + 1, end);
        p = skip_value(v, end);
        if (match) {
            *val = v;
            *val_end = p;
            found = 1;
        }
        p = skip_ws(p, end);
        if (p == end || *p != ',')
            break;
    }
    return found;
}

/* auth.token === want, for the CONNECT payload of s. */
static int auth_token_is(const hb_socket *s, const char *want) {
    const char *auth = hb_socket_auth(s);
    const char *v, *v_end;
    if (!object_get(auth, auth + strlen(auth), "token", &v, &v_end))
        return 0;
    return json_string_equals(v, (size_t)(v_end - v), want);
}

/* ---- passing one argument on, binaries included ---------------------------------
 * Node decodes a binary event into values holding Buffers and encodes what
 * it sends anew, numbering the placeholders of the new packet from 0 in the
 * order they appear. Sending on one argument of several therefore means
 * keeping only the binaries it references, renumbered. */

/* The arguments of an emit or an ack being built: json is malloc'd, bins
 * (malloc'd, may be NULL) borrow the bytes of the received arguments. */
typedef struct out_args {
    char *json;
    hb_bin *bins;
    size_t nbins, cap;
} out_args;

static void out_args_free(out_args *o) {
    free(o->json);
    free(o->bins);
}

typedef struct rebin {
    const hb_args *in;
    sbuf text;
    out_args out;
} rebin;

/* Deeper than this (the library's JSON parser refuses such depths anyway)
 * the text is copied as it is rather than risk the stack. */
#define REBIN_MAX_DEPTH 4096

static const char *rebin_value(rebin *r, const char *p, const char *end, unsigned depth);

/* Appends the placeholder for received binary num under the next number. */
static void rebin_placeholder(rebin *r, size_t num) {
    char ph[64];
    if (r->out.nbins == r->out.cap) {
        size_t cap = r->out.cap ? r->out.cap * 2 : 4;
        hb_bin *bins = realloc(r->out.bins, cap * sizeof(*bins));
        if (bins == NULL) {
            r->text.oom = 1;
            return;
        }
        r->out.bins = bins;
        r->out.cap = cap;
    }
    snprintf(ph, sizeof(ph), "{\"_placeholder\":true,\"num\":%zu}", r->out.nbins);
    sb_puts(&r->text, ph);
    r->out.bins[r->out.nbins++] = r->in->bins[num];
}

/* The binary a placeholder's "num" value [v, v_end) stands for, or -1 when
 * it is not the index of a received binary. args->json is NUL-terminated
 * and the number is followed by a delimiter, so strtod stops at v_end. */
static long placeholder_num(const rebin *r, const char *v, const char *v_end) {
    char *e;
    double num = strtod(v, &e);
    if (e != v_end || !(num >= 0 && num < (double)r->in->nbins) || num != (double)(long)num)
        return -1;
    return (long)num;
}

/* An object: copied member by member; if it turns out to be a placeholder
 * (its "_placeholder" is true, as socket.io-parser decides), what was
 * copied is replaced by the renumbered placeholder. */
static const char *rebin_object(rebin *r, const char *p, const char *end, unsigned depth) {
    size_t start = r->text.len, first_bin = r->out.nbins;
    int is_placeholder = 0;
    long num = -1;
    sb_add(&r->text, "{", 1);
    for (p = skip_ws(p + 1, end); p < end && *p == '"';) {
        const char *key = p;
        p = skip_string(p, end);
        size_t klen = (size_t)(p - key);
        sb_add(&r->text, key, klen);
        p = skip_ws(p, end);
        if (p == end || *p != ':')
            break;
        sb_add(&r->text, ":", 1);
        const char *v = skip_ws(p + 1, end);
        p = rebin_value(r, v, end, depth + 1);
        if (json_string_equals(key, klen, "_placeholder"))
            is_placeholder = p - v == 4 && memcmp(v, "true", 4) == 0;
        else if (json_string_equals(key, klen, "num"))
            num = placeholder_num(r, v, p);
        p = skip_ws(p, end);
        if (p == end || *p != ',')
            break;
        sb_add(&r->text, ",", 1);
        p = skip_ws(p + 1, end);
    }
    if (p < end && *p == '}')
        p++;
    sb_add(&r->text, "}", 1);
    if (is_placeholder && num >= 0 && !r->text.oom) {
        r->text.len = start; /* binaries inside it, if any, are dropped with it */
        r->out.nbins = first_bin;
        rebin_placeholder(r, (size_t)num);
    }
    return p;
}

static const char *rebin_array(rebin *r, const char *p, const char *end, unsigned depth) {
    sb_add(&r->text, "[", 1);
    for (p = skip_ws(p + 1, end); p < end && *p != ']';) {
        p = rebin_value(r, p, end, depth + 1);
        p = skip_ws(p, end);
        if (p == end || *p != ',')
            break;
        sb_add(&r->text, ",", 1);
        p = skip_ws(p + 1, end);
    }
    if (p < end && *p == ']')
        p++;
    sb_add(&r->text, "]", 1);
    return p;
}

static const char *rebin_value(rebin *r, const char *p, const char *end, unsigned depth) {
    p = skip_ws(p, end);
    if (p < end && *p == '{' && depth < REBIN_MAX_DEPTH)
        return rebin_object(r, p, end, depth);
    if (p < end && *p == '[' && depth < REBIN_MAX_DEPTH)
        return rebin_array(r, p, end, depth);
    const char *q = skip_value(p, end);
    sb_add(&r->text, p, (size_t)(q - p));
    return q;
}

/* o = [head, argument i of args] (just [argument i] when head is NULL),
 * with the binaries argument i references. A missing argument is
 * undefined, which JSON.stringify writes as null inside an array. Returns
 * 0 or HB_ENOMEM; on success the caller calls out_args_free(o). */
static int out_args_make(out_args *o, const char *head, const hb_args *args, size_t i) {
    rebin r;
    size_t len = 0;
    const char *text = hb_args_at(args, i, &len);
    memset(&r, 0, sizeof(r));
    r.in = args;
    sb_add(&r.text, "[", 1);
    if (head != NULL) {
        sb_puts(&r.text, head);
        sb_add(&r.text, ",", 1);
    }
    if (text == NULL)
        sb_puts(&r.text, "null");
    else if (args->nbins == 0) /* a text packet: placeholders in it are plain objects */
        sb_add(&r.text, text, len);
    else
        rebin_value(&r, text, text + len, 0);
    sb_add(&r.text, "]", 1);
    r.out.json = sb_take(&r.text);
    if (r.out.json == NULL) {
        free(r.out.bins);
        return HB_ENOMEM;
    }
    *o = r.out;
    return 0;
}

/* ---- other arguments --------------------------------------------------------- */

/* Node's setTimeout(fn, x) uses Number(x) ms, and 1 ms for anything outside
 * [1, 2^31 - 1] (NaN included): socket.timeout() and the broadcast timeout
 * both end there. Numbers and numeric strings are read; the other JSON
 * values all come out as 1 ms in Node too (Number(true) is 1, null 0). */
static unsigned timeout_arg(const hb_args *args, size_t i) {
    size_t len = 0;
    const char *text = hb_args_at(args, i, &len);
    double ms = 0;
    char *s = NULL;
    if (text != NULL && len > 0 && (text[0] == '-' || (text[0] >= '0' && text[0] <= '9'))) {
        ms = strtod(text, NULL); /* stops at the ',' or ']' after it */
    } else if (arg_string(args, i, &s, NULL) == 1) {
        char *e;
        ms = strtod(s, &e);
        while (*e == ' ' || *e == '\t' || *e == '\n' || *e == '\r')
            e++;
        if (*e != '\0')
            ms = 0; /* NaN in JavaScript */
        free(s);
    }
    if (!(ms >= 1 && ms <= TIMEOUT_MAX_MS))
        return 1;
    return (unsigned)ms;
}

/* The rooms an argument names, read as Socket.IO's to(), in(), except(),
 * socketsJoin() and socketsLeave() read theirs: a string is one room, an
 * array names each of its elements. The C API names rooms by strings, so a
 * room that is not a string (a number, or undefined when the argument is
 * missing) is only counted: no socket can be in it. */
typedef struct room_list {
    char **names;
    size_t n, cap;
    size_t unnamed;
} room_list;

static void rooms_free(room_list *r) {
    for (size_t i = 0; i < r->n; i++)
        free(r->names[i]);
    free(r->names);
}

/* Adds element j of the JSON array arr. */
static int rooms_add(room_list *r, const hb_args *arr, size_t j) {
    char *name;
    int rc = arg_string(arr, j, &name, NULL);
    if (rc <= 0) {
        r->unnamed += rc == 0;
        return rc;
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 4;
        char **names = realloc(r->names, cap * sizeof(*names));
        if (names == NULL) {
            free(name);
            return HB_ENOMEM;
        }
        r->names = names;
        r->cap = cap;
    }
    r->names[r->n++] = name;
    return 0;
}

/* Fills r from argument i of args. Returns 0 (call rooms_free() after) or
 * HB_ENOMEM (r is then empty and needs no freeing). */
static int rooms_from_arg(room_list *r, const hb_args *args, size_t i) {
    size_t len = 0;
    const char *text = hb_args_at(args, i, &len);
    int rc = 0;
    memset(r, 0, sizeof(*r));
    if (text == NULL || len == 0 || text[0] != '[')
        return rooms_add(r, args, i);
    /* An array argument: its own text is an argument array to read. */
    char *copy = copy_n(text, len);
    if (copy == NULL)
        return HB_ENOMEM;
    hb_args arr = {copy, len, NULL, 0};
    size_t n = hb_args_count(&arr);
    for (size_t j = 0; j < n && rc == 0; j++)
        rc = rooms_add(r, &arr, j);
    free(copy);
    if (rc != 0) {
        rooms_free(r);
        memset(r, 0, sizeof(*r));
    }
    return rc;
}

/* ---- JavaScript's default sort ---------------------------------------------------- */

/* Compares UTF-8 strings in UTF-16 code unit order, as JavaScript compares
 * strings. UTF-8 byte order is code point order, which differs from it only
 * where a character above U+FFFF (a surrogate pair, 0xD800...) meets one in
 * U+E000-U+FFFF: their lead bytes are 0xF0-0xF4 and 0xEE-0xEF, and since the
 * strings agree up to there, both bytes start a character. */
static int js_strcmp(const char *a, size_t alen, const char *b, size_t blen) {
    size_t n = alen < blen ? alen : blen;
    for (size_t i = 0; i < n; i++) {
        unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
        if (x == y)
            continue;
        if (x >= 0xF0 && (y == 0xEE || y == 0xEF))
            return -1;
        if (y >= 0xF0 && (x == 0xEE || x == 0xEF))
            return 1;
        return x < y ? -1 : 1;
    }
    return alen < blen ? -1 : alen > blen;
}

/* One element of an array being sorted. */
typedef struct sort_item {
    const char *json; /* the element as written, copied to the output */
    size_t json_len;
    const char *key;  /* what the sort compares: String(element) */
    size_t key_len;
    char *owned;      /* key, when it had to be unescaped */
    size_t index;     /* Array.prototype.sort is stable: ties keep their order */
} sort_item;

static int sort_item_cmp(const void *pa, const void *pb) {
    const sort_item *a = pa, *b = pb;
    int c = js_strcmp(a->key, a->key_len, b->key, b->key_len);
    if (c != 0)
        return c;
    return a->index < b->index ? -1 : a->index > b->index;
}

/* The sort key of element i of arr. String(x) is x for a string and
 * "[object Object]" for an object; numbers, booleans and null are their
 * JSON text, which is String(x) for them in practice. Arrays are keyed by
 * their JSON text too, where JavaScript would join the elements: the
 * testbed sorts strings only, so this is left approximate. */
static int sort_item_init(sort_item *it, const hb_args *arr, size_t i) {
    it->index = i;
    it->json = hb_args_at(arr, i, &it->json_len);
    if (it->json == NULL) { /* cannot happen for i < count; keep it harmless */
        it->json = "null";
        it->json_len = 4;
    }
    it->key = it->json;
    it->key_len = it->json_len;
    if (it->json[0] == '{') {
        it->key = "[object Object]";
        it->key_len = strlen(it->key);
    } else if (it->json[0] == '"') {
        int rc = arg_string(arr, i, &it->owned, &it->key_len);
        if (rc < 0)
            return rc;
        if (rc == 1)
            it->key = it->owned;
    }
    return 0;
}

/* The JSON array text arr sorted as arr.sort() sorts it, as a new
 * malloc'd text; NULL on ENOMEM. */
static char *sorted_json_array(const char *arr) {
    hb_args a = {arr, strlen(arr), NULL, 0};
    size_t n = hb_args_count(&a);
    sort_item *items = calloc(n ? n : 1, sizeof(*items));
    sbuf out = {0};
    int rc = 0;
    if (items == NULL)
        return NULL;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = sort_item_init(&items[i], &a, i);
    if (rc == 0) {
        qsort(items, n, sizeof(*items), sort_item_cmp);
        sb_add(&out, "[", 1);
        for (size_t i = 0; i < n; i++) {
            if (i > 0)
                sb_add(&out, ",", 1);
            sb_add(&out, items[i].json, items[i].json_len);
        }
        sb_add(&out, "]", 1);
    }
    for (size_t i = 0; i < n; i++)
        free(items[i].owned);
    free(items);
    if (rc != 0) {
        free(out.p);
        return NULL;
    }
    return sb_take(&out);
}

/* ---- broadcast targets ------------------------------------------------------------- */

/* io.to(rooms) / io.in(rooms). to([]) names no room and so reaches every
 * socket, like io.emit(); rooms that all are non-strings reach nobody,
 * which to(R).except(R) expresses for any R. NULL if the library's
 * constructor returned NULL. */
static hb_bcast *bcast_in(hb_nsp *nsp, const room_list *r) {
    static const char nobody[] = "testbed:nobody";
    if (r->n == 0 && r->unnamed > 0) {
        hb_bcast *b = hb_to(nsp, nobody);
        return b != NULL ? hb_bcast_except(b, nobody) : NULL;
    }
    if (r->n == 0)
        return hb_nsp_bcast(nsp);
    hb_bcast *b = hb_to(nsp, r->names[0]);
    for (size_t i = 1; b != NULL && i < r->n; i++)
        b = hb_bcast_to(b, r->names[i]);
    return b;
}

/* .except(rooms): non-string rooms hold nobody, so they exclude nobody. */
static hb_bcast *bcast_except(hb_bcast *b, const room_list *r) {
    for (size_t i = 0; i < r->n; i++)
        b = hb_bcast_except(b, r->names[i]);
    return b;
}

/* b.emit(event, args[i]), consuming b in every case. */
static void bcast_emit_arg(hb_bcast *b, const char *event, const hb_args *args, size_t i) {
    out_args o;
    if (b == NULL)
        return;
    if (out_args_make(&o, NULL, args, i) != 0) {
        hb_bcast_free(b);
        return;
    }
    hb_bcast_emit(b, event, o.json, o.bins, o.nbins);
    out_args_free(&o);
}

/* ---- answering ------------------------------------------------------------------- */

/* ack(value) for the JSON text of one value. Returns 1 when the answer was
 * sent, 0 when there is no ack (the reference's withAck() then answers a
 * no-op) or value is NULL (an allocation failed before). A kept ack that
 * was not answered must be dropped by the caller. */
static int ack_value(hb_ack *ack, const char *value) {
    sbuf b = {0};
    if (ack == NULL || value == NULL)
        return 0;
    sb_add(&b, "[", 1);
    sb_puts(&b, value);
    sb_add(&b, "]", 1);
    char *json = sb_take(&b);
    if (json == NULL)
        return 0;
    hb_ack_send(ack, json, NULL, 0);
    free(json);
    return 1;
}

/* ack(head, args[i]) with the binaries args[i] references; head is JSON. */
static void ack_with_arg(hb_ack *ack, const char *head, const hb_args *args, size_t i) {
    out_args o;
    if (ack == NULL || out_args_make(&o, head, args, i) != 0)
        return;
    hb_ack_send(ack, o.json, o.bins, o.nbins);
    out_args_free(&o);
}

/* socket.emit(event, str) for a C string. */
static void emit_string(hb_socket *s, const char *event, const char *str) {
    sbuf b = {0};
    sb_add(&b, "[", 1);
    sb_json_string(&b, str);
    sb_add(&b, "]", 1);
    char *json = sb_take(&b);
    if (json != NULL)
        hb_socket_emit(s, event, json, NULL, 0);
    free(json);
}

/* ---- events of "/" (and "echo" of /dyn-N) ------------------------------------------ */

/* "echo": ack(...args) when the client asked for an ack, else
 * socket.emit("echo", ...args). The arguments go back as received. */
static void on_echo(hb_socket *s, const char *event, const hb_args *args, hb_ack *ack, void *ud) {
    (void)event, (void)ud;
    if (ack != NULL)
        hb_ack_send(ack, args->json, args->bins, args->nbins);
    else
        hb_socket_emit(s, "echo", args->json, args->bins, args->nbins);
}

/* "join": socket.join(room); ack("joined", room). Like Socket.IO's
 * join(), an array joins each of its rooms. */
static void on_join(hb_socket *s, const char *event, const hb_args *args, hb_ack *ack, void *ud) {
    room_list rooms;
    (void)event, (void)ud;
    if (rooms_from_arg(&rooms, args, 0) == 0) {
        for (size_t i = 0; i < rooms.n; i++)
            hb_socket_join(s, rooms.names[i]);
        rooms_free(&rooms);
    }
    ack_with_arg(ack, "\"joined\"", args, 0);
}

/* "leave": socket.leave(room); ack("left", room). Socket.IO's leave()
 * takes one room only: an array matches no room and leaves nothing. */
static void on_leave(hb_socket *s, const char *event, const hb_args *args, hb_ack *ack,
                     void *ud) {
    char *room;
    (void)event, (void)ud;
    if (arg_string(args, 0, &room, NULL) == 1)
        hb_socket_leave(s, room);
    free(room);
    ack_with_arg(ack, "\"left\"", args, 0);
}

/* "rooms": ack(Array.from(socket.rooms).sort()). */
static void on_rooms(hb_socket *s, const char *event, const hb_args *args, hb_ack *ack,
                     void *ud) {
    (void)event, (void)args, (void)ud;
    if (ack == NULL)
        return;
    char *rooms = hb_socket_rooms_json(s);
    char *sorted = rooms != NULL ? sorted_json_array(rooms) : NULL;
    ack_value(ack, sorted);
    free(sorted);
    free(rooms);
}

/* "to-room": io.to(rooms).emit("room-msg", payload). */
static void on_to_room(hb_socket *s, const char *event, const hb_args *args, hb_ack *ack,
                       void *ud) {
    room_list to;
    (void)event, (void)ack, (void)ud;
    if (rooms_from_arg(&to, args, 0) != 0)
        return;
    bcast_emit_arg(bcast_in(hb_socket_nsp(s), &to), "room-msg", args, 1);
    rooms_free(&to);
}

/* "to-except": io.to(room).except(exceptRoom).emit("room-msg", payload). */
static void on_to_except(hb_socket *s, const char *event, const hb_args *args, hb_ack *ack,
                         void *ud) {
    room_list to, except;
    (void)event, (void)ack, (void)ud;
    if (rooms_from_arg(&to, args, 0) != 0)
        return;
    if (rooms_from_arg(&except, args, 1) == 0) {
        hb_bcast *b = bcast_in(hb_socket_nsp(s), &to);
        bcast_emit_arg(b != NULL ? bcast_except(b, &except) : NULL, "room-msg", args, 2);
        rooms_free(&except);
    }
    rooms_free(&to);
}

/* "broadcast": socket.broadcast.emit("bcast", payload). */
static void on_broadcast(hb_socket *s, const char *event, const hb_args *args, hb_ack *ack,
                         void *ud) {
    (void)event, (void)ack, (void)ud;
    bcast_emit_arg(hb_socket_bcast(s), "bcast", args, 0);
}

/* "emit-all": io.emit("all", payload). */
static void on_emit_all(hb_socket *s, const char *event, const hb_args *args, hb_ack *ack,
                        void *ud) {
    (void)event, (void)ack, (void)ud;
    bcast_emit_arg(hb_nsp_bcast(hb_socket_nsp(s)), "all", args, 0);
}

/* "volatile": io.volatile.emit("vol", payload). */
static void on_volatile(hb_socket *s, const char *event, const hb_args *args, hb_ack *ack,
                        void *ud) {
    hb_bcast *b = hb_nsp_bcast(hb_socket_nsp(s));
    (void)event, (void)ack, (void)ud;
    bcast_emit_arg(b != NULL ? hb_bcast_volatile(b) : NULL, "vol", args, 0);
}

/* The client answered "question" (or did not): ack(err ? "timeout" : answer)
 * on the kept ack of "ask". */
static void on_answer(hb_socket *s, int err, const hb_args *args, void *ud) {
    hb_ack *kept = ud;
    out_args o;
    (void)s;
    if (kept == NULL)
        return;
    if (err == HB_ETIMEDOUT) {
        if (!ack_value(kept, "\"timeout\""))
            hb_ack_drop(kept);
        return;
    }
    /* Any other error is the socket going away (UV_ECANCELED): Node's
     * answer would go to a closed socket, so there is nobody to tell. */
    if (err != 0 || out_args_make(&o, NULL, args, 0) != 0) {
        hb_ack_drop(kept);
        return;
    }
    hb_ack_send(kept, o.json, o.bins, o.nbins);
    out_args_free(&o);
}

/* "ask": socket.timeout(ms).emit("question", "q", (err, answer) =>
 * ack(err ? "timeout" : answer)). */
static void on_ask(hb_socket *s, const char *event, const hb_args *args, hb_ack *ack, void *ud) {
    hb_ack *kept = ack != NULL ? hb_ack_keep(ack) : NULL;
    (void)event, (void)ud;
    if (hb_socket_emit_with_ack(s, "question", "[\"q\"]", NULL, 0, timeout_arg(args, 0), on_answer,
                                kept) != 0 &&
        kept != NULL)
        hb_ack_drop(kept);
}

/* Every member of the room answered "poll", or the timeout passed:
 * ack({ timedOut: !!err, responses: [...responses].sort() }). */
static void on_votes(int err, const char *responses_json, size_t n, void *ud) {
    hb_ack *kept = ud;
    sbuf b = {0};
    (void)n;
    if (kept == NULL)
        return;
    char *sorted = sorted_json_array(responses_json != NULL ? responses_json : "[]");
    sb_puts(&b, err != 0 ? "{\"timedOut\":true" : "{\"timedOut\":false");
    sb_puts(&b, ",\"responses\":");
    sb_puts(&b, sorted != NULL ? sorted : "");
    sb_add(&b, "}", 1);
    char *value = sb_take(&b);
    if (sorted == NULL || !ack_value(kept, value))
        hb_ack_drop(kept);
    free(value);
    free(sorted);
}

/* "ask-room": io.to(room).timeout(ms).emit("poll", "vote?", (err, responses)
 * => ...), answered in on_votes(). */
static void on_ask_room(hb_socket *s, const char *event, const hb_args *args, hb_ack *ack,
                        void *ud) {
    hb_ack *kept = ack != NULL ? hb_ack_keep(ack) : NULL;
    hb_bcast *b = NULL;
    room_list to;
    (void)event, (void)ud;
    if (rooms_from_arg(&to, args, 0) == 0) {
        b = bcast_in(hb_socket_nsp(s), &to);
        rooms_free(&to);
    }
    if (b != NULL)
        b = hb_bcast_timeout(b, timeout_arg(args, 1));
    int rc = b != NULL ? hb_bcast_emit_with_ack(b, "poll", "[\"vote?\"]", NULL, 0, on_votes, kept)
                       : HB_ENOMEM;
    if (rc != 0 && kept != NULL)
        hb_ack_drop(kept);
}

/* The JSON array of the ids of n fetched sockets, in their order. */
static char *socket_ids_json(const hb_fetched_socket *socks, size_t n) {
    sbuf b = {0};
    sb_add(&b, "[", 1);
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            sb_add(&b, ",", 1);
        sb_json_string(&b, socks[i].id);
    }
    sb_add(&b, "]", 1);
    return sb_take(&b);
}

/* The sockets are in (from every node of a cluster): ack(ids.sort()). A
 * fetch that failed (a node did not answer in time) rejects in Node, and
 * withAck() then never answers: the kept ack is dropped. */
static void on_fetched(int err, const hb_fetched_socket *socks, size_t n, void *ud) {
    hb_ack *kept = ud;
    if (err != 0) {
        hb_ack_drop(kept);
        return;
    }
    char *ids = socket_ids_json(socks, n);
    char *sorted = ids != NULL ? sorted_json_array(ids) : NULL;
    if (!ack_value(kept, sorted))
        hb_ack_drop(kept);
    free(sorted);
    free(ids);
}

/* "fetch": io.in(room).fetchSockets(), then ack(ids.sort()); answered in
 * on_fetched(). */
static void on_fetch(hb_socket *s, const char *event, const hb_args *args, hb_ack *ack,
                     void *ud) {
    room_list in;
    (void)event, (void)ud;
    if (ack == NULL || rooms_from_arg(&in, args, 0) != 0)
        return; /* fetchSockets() has no effect: without an ack nothing shows */
    hb_bcast *b = bcast_in(hb_socket_nsp(s), &in);
    rooms_free(&in);
    if (b == NULL)
        return;
    hb_ack *kept = hb_ack_keep(ack);
    if (kept == NULL) {
        hb_bcast_free(b);
        return;
    }
    if (hb_bcast_fetch_sockets_async(b, on_fetched, kept) != 0)
        hb_ack_drop(kept);
}

/* "server-emit": io.serverSideEmit(event, payload, (err, responses) =>
 * ack({ timedOut: !!err, responses: [...responses].sort() })) when the
 * client asked for an ack (answered in on_votes()), else
 * io.serverSideEmit(event, payload). */
static void on_server_emit(hb_socket *s, const char *event, const hb_args *args, hb_ack *ack,
                           void *ud) {
    char name[256];
    out_args o;
    (void)event, (void)ud;
    if (hb_args_string(args, 0, name, sizeof(name)) < 0 || out_args_make(&o, NULL, args, 1) != 0)
        return;
    hb_ack *kept = ack != NULL ? hb_ack_keep(ack) : NULL;
    int rc = hb_nsp_server_side_emit(hb_socket_nsp(s), name, o.json, 0,
                                     kept != NULL ? on_votes : NULL, kept);
    if (rc != 0 && kept != NULL)
        hb_ack_drop(kept);
    out_args_free(&o);
}

/* "set-data": socket.data = data; ack("ok"). */
static void on_set_data(hb_socket *s, const char *event, const hb_args *args, hb_ack *ack,
                        void *ud) {
    size_t len = 0;
    const char *data = hb_args_at(args, 0, &len);
    (void)event, (void)ud;
    char *copy = copy_n(data != NULL ? data : "null", data != NULL ? len : 4);
    if (copy != NULL)
        hb_socket_set_data_json(s, copy);
    free(copy);
    ack_value(ack, "\"ok\"");
}

/* io.in(in).socketsJoin(rooms) or socketsLeave(rooms). Node picks the
 * sockets once and moves each through every room; one broadcast per room
 * would pick them again after each, which differs when a room left is also
 * the one picked by. So a single room (the usual case) goes through the
 * broadcast operator, and a list through the sockets fetched once. */
static void sockets_move(hb_nsp *nsp, const room_list *in, const room_list *rooms, int join) {
    if (rooms->n == 1) {
        hb_bcast *b = bcast_in(nsp, in);
        if (b != NULL && join)
            hb_bcast_sockets_join(b, rooms->names[0]);
        else if (b != NULL)
            hb_bcast_sockets_leave(b, rooms->names[0]);
        return;
    }
    if (rooms->n == 0)
        return;
    size_t n = 0;
    hb_bcast *b = bcast_in(nsp, in);
    hb_socket **socks = b != NULL ? hb_bcast_fetch_sockets(b, &n) : NULL;
    for (size_t i = 0; socks != NULL && i < n; i++) {
        for (size_t j = 0; j < rooms->n; j++) {
            if (join)
                hb_socket_join(socks[i], rooms->names[j]);
            else
                hb_socket_leave(socks[i], rooms->names[j]);
        }
    }
    free(socks);
}

/* "sockets-join" and "sockets-leave": the move, then ack("ok"). */
static void on_sockets_move(hb_socket *s, const hb_args *args, hb_ack *ack, int join) {
    room_list in, rooms;
    if (rooms_from_arg(&in, args, 0) == 0) {
        if (rooms_from_arg(&rooms, args, 1) == 0) {
            sockets_move(hb_socket_nsp(s), &in, &rooms, join);
            rooms_free(&rooms);
        }
        rooms_free(&in);
    }
    ack_value(ack, "\"ok\"");
}

static void on_sockets_join(hb_socket *s, const char *event, const hb_args *args, hb_ack *ack,
                            void *ud) {
    (void)event, (void)ud;
    on_sockets_move(s, args, ack, 1);
}

static void on_sockets_leave(hb_socket *s, const char *event, const hb_args *args, hb_ack *ack,
                             void *ud) {
    (void)event, (void)ud;
    on_sockets_move(s, args, ack, 0);
}

/* "disconnect-room": ack("ok"), then io.in(room).disconnectSockets(). The
 * sender may be in the room, so s is not touched after the disconnect. */
static void on_disconnect_room(hb_socket *s, const char *event, const hb_args *args, hb_ack *ack,
                               void *ud) {
    room_list in;
    hb_nsp *nsp = hb_socket_nsp(s);
    (void)event, (void)ud;
    ack_value(ack, "\"ok\"");
    if (rooms_from_arg(&in, args, 0) != 0)
        return;
    hb_bcast *b = bcast_in(nsp, &in);
    rooms_free(&in);
    if (b != NULL)
        hb_bcast_disconnect_sockets(b, 0);
}

/* { query: { foo }, auth, hasAddress, url without its query string }. */
static char *handshake_json(const hb_socket *s) {
    const char *foo = hb_socket_query(s, "foo");
    const char *address = hb_socket_address(s);
    const char *url = hb_socket_url(s);
    char *path = copy_n(url != NULL ? url : "", url != NULL ? strcspn(url, "?") : 0);
    sbuf b = {0};
    if (path == NULL)
        return NULL;
    sb_puts(&b, "{\"query\":{\"foo\":");
    if (foo != NULL)
        sb_json_string(&b, foo);
    else
        sb_puts(&b, "null"); /* h.query.foo ?? null */
    sb_puts(&b, "},\"auth\":");
    sb_puts(&b, hb_socket_auth(s));
    sb_puts(&b, address != NULL && address[0] != '\0' ? ",\"hasAddress\":true,\"url\":"
                                                      : ",\"hasAddress\":false,\"url\":");
    sb_json_string(&b, path);
    sb_add(&b, "}", 1);
    free(path);
    return sb_take(&b);
}

/* "handshake": ack(handshake_json). */
static void on_handshake(hb_socket *s, const char *event, const hb_args *args, hb_ack *ack,
                         void *ud) {
    (void)event, (void)args, (void)ud;
    if (ack == NULL)
        return;
    char *value = handshake_json(s);
    ack_value(ack, value);
    free(value);
}

/* "disconnect-me": socket.disconnect(). An ack it may carry is never
 * called, as in the reference, whose handler takes no arguments. */
static void on_disconnect_me(hb_socket *s, const char *event, const hb_args *args, hb_ack *ack,
                             void *ud) {
    (void)event, (void)args, (void)ack, (void)ud;
    hb_socket_disconnect(s, 0);
}

/* "close-me": socket.disconnect(true). */
static void on_close_me(hb_socket *s, const char *event, const hb_args *args, hb_ack *ack,
                        void *ud) {
    (void)event, (void)args, (void)ack, (void)ud;
    hb_socket_disconnect(s, 1);
}

/* Any other event: socket.emit("unknown-event", event), never acking. The
 * library calls this only for events without a handler, which is the
 * reference's "not in KNOWN" test. */
static void on_unknown(hb_socket *s, const char *event, const hb_args *args, hb_ack *ack,
                       void *ud) {
    (void)args, (void)ack, (void)ud;
    emit_string(s, "unknown-event", event);
}

static const struct {
    const char *name;
    hb_event_cb cb;
} main_events[] = {
    {"echo", on_echo},
    {"join", on_join},
    {"leave", on_leave},
    {"rooms", on_rooms},
    {"to-room", on_to_room},
    {"to-except", on_to_except},
    {"broadcast", on_broadcast},
    {"emit-all", on_emit_all},
    {"volatile", on_volatile},
    {"ask", on_ask},
    {"ask-room", on_ask_room},
    {"fetch", on_fetch},
    {"set-data", on_set_data},
    {"server-emit", on_server_emit},
    {"sockets-join", on_sockets_join},
    {"sockets-leave", on_sockets_leave},
    {"disconnect-room", on_disconnect_room},
    {"handshake", on_handshake},
    {"disconnect-me", on_disconnect_me},
    {"close-me", on_close_me},
};

/* ---- server-side events of "/" (from the other nodes) ------------------------------- */

/* "whoami" (cb): cb(this node's id), null outside a cluster. */
static void on_whoami(hb_nsp *nsp, const char *event, const hb_args *args,
                      hb_server_reply *reply, void *ud) {
    const char *id = hb_server_node_id(hb_nsp_server(nsp));
    char *value = id != NULL ? hb_json_string(id) : NULL;
    (void)event, (void)args, (void)ud;
    if (reply != NULL)
        hb_server_reply_send(reply, id == NULL ? "null" : value);
    free(value);
}

/* "sse-note" (payload): io.local.emit("sse-note", payload), so that
 * clients see which nodes got it; an ack it may carry is never called. */
static void on_sse_note(hb_nsp *nsp, const char *event, const hb_args *args,
                        hb_server_reply *reply, void *ud) {
    hb_bcast *b = hb_nsp_bcast(nsp);
    (void)event, (void)reply, (void)ud;
    bcast_emit_arg(b != NULL ? hb_bcast_local(b) : NULL, "sse-note", args, 0);
}

/* ---- namespaces ---------------------------------------------------------------------- */

/* "/": refuse auth.token === "bad". */
static void main_middleware(hb_socket *s, hb_next *next, void *ud) {
    (void)ud;
    if (auth_token_is(s, "bad"))
        hb_next_refuse(next, "unauthorized", "{\"reason\":\"bad token\"}");
    else
        hb_next_accept(next);
}

static void on_main_connection(hb_socket *s, void *ud) {
    (void)ud;
    for (size_t i = 0; i < sizeof(main_events) / sizeof(main_events[0]); i++) {
        if (hb_socket_on(s, main_events[i].name, main_events[i].cb, NULL) != 0) {
            /* A socket missing handlers would answer some events with
             * "unknown-event"; disconnecting it shows the failure. */
            hb_socket_disconnect(s, 0);
            return;
        }
    }
    hb_socket_on_any(s, on_unknown, NULL);
}

/* "/secure": refuse unless auth.token === "good". */
static void secure_middleware(hb_socket *s, hb_next *next, void *ud) {
    (void)ud;
    if (auth_token_is(s, "good"))
        hb_next_accept(next);
    else
        hb_next_refuse(next, "unauthorized", "{\"code\":401}");
}

static void on_secure_connection(hb_socket *s, void *ud) {
    (void)ud;
    emit_string(s, "secure-hello", hb_socket_id(s));
}

/* /dyn-N: emit "dyn-hello" with the namespace's own name, then "echo". */
static void on_dyn_connection(hb_socket *s, void *ud) {
    (void)ud;
    emit_string(s, "dyn-hello", hb_nsp_name(hb_socket_nsp(s)));
    if (hb_socket_on(s, "echo", on_echo, NULL) != 0)
        hb_socket_disconnect(s, 0);
}

int hb_app_testbed_setup(hb_server *srv) {
    hb_nsp *main_nsp = hb_server_of(srv, "/");
    hb_nsp *secure = hb_server_of(srv, "/secure");
    /* The pattern is fixed and valid, so NULL can only be ENOMEM. */
    hb_nsp *dyn = hb_server_of_regex(srv, DYN_PATTERN);
    int rc;
    if (main_nsp == NULL || secure == NULL || dyn == NULL)
        return HB_ENOMEM;
    if ((rc = hb_nsp_use(main_nsp, main_middleware, NULL)) != 0 ||
        (rc = hb_nsp_use(secure, secure_middleware, NULL)) != 0)
        return rc;
    hb_nsp_on_connection(main_nsp, on_main_connection, NULL);
    if ((rc = hb_nsp_on_server_event(main_nsp, "whoami", on_whoami, NULL)) != 0 ||
        (rc = hb_nsp_on_server_event(main_nsp, "sse-note", on_sse_note, NULL)) != 0)
        return rc;
    hb_nsp_on_connection(secure, on_secure_connection, NULL);
    hb_nsp_on_connection(dyn, on_dyn_connection, NULL);
    return 0;
}
