/* The timing wheel: five levels of 64 slots, one millisecond per tick at
 * level 0 and 64 times coarser per level up, plus an overflow list. A timer
 * sits in the finest level whose slot can tell its due apart from the
 * current time; when the current time reaches a coarse slot, the slot is
 * cascaded (its timers re-placed one level finer or more), so every timer
 * fires on its exact millisecond. A 64-bit occupancy bitmap per level finds
 * the next non-empty slot with one count-trailing-zeros, so neither
 * advancing across an idle stretch nor hb_timer_wheel_next() walks slots. */
#include "core/timer.h"

#include <assert.h>
#include <stdlib.h>

#define LEVELS 5
#define SLOT_BITS 6
#define SLOTS (1u << SLOT_BITS)
#define SPAN_BITS (LEVELS * SLOT_BITS) /* the levels cover 2^30 ms */

struct hb_timer_wheel {
    /* Every tick before cur has been fired; cur is the next one to fire.
     * Invariants between calls: a timer in level L, slot s has the same
     * bits above level L as cur and s > cur's digit at level L (for L = 0:
     * s >= it); every other timer is on the overflow list. The cascade for
     * cur itself has been done. */
    uint64_t cur;
    size_t count;
    uint64_t bitmap[LEVELS]; /* bit s set <=> slot s of that level non-empty */
    /* List heads of circular doubly linked lists, so that unlinking needs no
     * head pointer. Only next/prev of a head are used. */
    hb_timer slot[LEVELS * SLOTS];
    hb_timer overflow; /* beyond the top level's current block */
    uint64_t overflow_min; /* <= every overflow tick (may be stale-low) */
    hb_timer firing;   /* the slot being fired, detached from the wheel */
};

static void list_init(hb_timer *head) {
    head->next = head->prev = head;
}

static int list_empty(const hb_timer *head) {
    return head->next == head;
}

static void list_append(hb_timer *head, hb_timer *t) {
    t->prev = head->prev;
    t->next = head;
    head->prev->next = t;
    head->prev = t;
}

/* Moves every entry of from to the (empty) list to. */
static void list_move(hb_timer *from, hb_timer *to) {
    if (list_empty(from)) {
        list_init(to);
        return;
    }
    to->next = from->next;
    to->prev = from->prev;
    to->next->prev = to;
    to->prev->next = to;
    list_init(from);
}

static int ctz64(uint64_t x) {
    return __builtin_ctzll(x);
}

static int highest_bit(uint64_t x) {
    return 63 - __builtin_clzll(x);
}

/* Links t (active, due set) where the invariants say it belongs. */
static void place(hb_timer_wheel *w, hb_timer *t) {
    uint64_t tick = t->due < w->cur ? w->cur : t->due;
    uint64_t diff = tick ^ w->cur;
    unsigned level = diff == 0 ? 0 : (unsigned)highest_bit(diff) / SLOT_BITS;

    if (level >= LEVELS) {
        list_append(&w->overflow, t);
        if (tick < w->overflow_min)
            w->overflow_min = tick;
        return;
    }
    unsigned s = (unsigned)(tick >> (level * SLOT_BITS)) & (SLOTS - 1);
    list_append(&w->slot[level * SLOTS + s], t);
    w->bitmap[level] |= UINT64_C(1) << s;
}

static void unlink_timer(hb_timer *t) {
    hb_timer_wheel *w = t->wheel;
    hb_timer *n = t->next;

    n->prev = t->prev;
    t->prev->next = n;
    t->next = t->prev = NULL;
    t->wheel = NULL;
    w->count--;
    /* If the list is now empty, n is its head: clear the slot's bit. The
     * overflow and firing lists have no bit. */
    if (n->next != n || n == &w->firing)
        return;
    if (n == &w->overflow) {
        w->overflow_min = UINT64_MAX;
    } else {
        size_t i = (size_t)(n - w->slot);
        w->bitmap[i / SLOTS] &= ~(UINT64_C(1) << (i % SLOTS));
    }
}

/* Re-places every timer of a list relative to the current time. */
static void replace_all(hb_timer_wheel *w, hb_timer *head) {
    hb_timer tmp;

    list_move(head, &tmp);
    while (!list_empty(&tmp)) {
        hb_timer *t = tmp.next;
        tmp.next = t->next;
        t->next->prev = &tmp;
        place(w, t);
    }
}

/* Sets the current time to c, which must not skip a non-empty slot, and
 * cascades the coarse slots that start at c. A timer re-placed by a cascade
 * never lands in a slot starting at c on a coarser level (its digit there
 * equals c's), so the order of the levels does not matter. */
static void move_to(hb_timer_wheel *w, uint64_t c) {
    w->cur = c;
    if ((c & (SLOTS - 1)) != 0)
        return;
    if ((c & ((UINT64_C(1) << SPAN_BITS) - 1)) == 0 && !list_empty(&w->overflow)) {
        w->overflow_min = UINT64_MAX;
        replace_all(w, &w->overflow);
    }
    for (unsigned level = 1; level < LEVELS; level++) {
        if ((c & ((UINT64_C(1) << (level * SLOT_BITS)) - 1)) != 0)
            break;
        unsigned s = (unsigned)(c >> (level * SLOT_BITS)) & (SLOTS - 1);
        if (w->bitmap[level] & (UINT64_C(1) << s)) {
            w->bitmap[level] &= ~(UINT64_C(1) << s);
            replace_all(w, &w->slot[level * SLOTS + s]);
        }
    }
}

/* The earliest tick >= cur at which something happens: a level-0 slot fires
 * or a coarser slot cascades. Levels are disjoint in time (a finer level
 * only holds ticks before any coarser slot's start) and, by the invariants,
 * no slot before cur's digit is occupied, so the lowest set bit of the first
 * non-empty level decides. UINT64_MAX if the wheel is empty. */
static uint64_t next_event(const hb_timer_wheel *w) {
    for (unsigned level = 0; level < LEVELS; level++) {
        if (w->bitmap[level] == 0)
            continue;
        unsigned shift = level * SLOT_BITS;
        uint64_t block = w->cur >> (shift + SLOT_BITS) << (shift + SLOT_BITS);
        uint64_t start = block | ((uint64_t)ctz64(w->bitmap[level]) << shift);
        assert(start >= w->cur);
        return start;
    }
    if (!list_empty(&w->overflow)) {
        /* The top block of the earliest overflow timer (or of one since
         * stopped: waking there just re-places the list). It is after cur's,
         * so an idle jump over decades visits only blocks that matter. */
        uint64_t start = w->overflow_min >> SPAN_BITS << SPAN_BITS;
        assert(start > w->cur);
        return start;
    }
    return UINT64_MAX;
}

hb_timer_wheel *hb_timer_wheel_new(uint64_t now_ms) {
    hb_timer_wheel *w = malloc(sizeof(*w));
    if (w == NULL)
        return NULL;
    w->cur = now_ms;
    w->count = 0;
    for (unsigned i = 0; i < LEVELS; i++)
        w->bitmap[i] = 0;
    for (unsigned i = 0; i < LEVELS * SLOTS; i++)
        list_init(&w->slot[i]);
    list_init(&w->overflow);
    w->overflow_min = UINT64_MAX;
    list_init(&w->firing);
    return w;
}

void hb_timer_wheel_free(hb_timer_wheel *w) {
    free(w);
}

void hb_timer_start(hb_timer_wheel *w, hb_timer *t, uint64_t due_ms, hb_timer_cb cb) {
    assert(cb != NULL);
    if (t->next != NULL)
        unlink_timer(t);
    t->due = due_ms;
    t->cb = cb;
    t->wheel = w;
    w->count++;
    place(w, t);
}

void hb_timer_stop(hb_timer *t) {
    if (t->next != NULL)
        unlink_timer(t);
}

int hb_timer_active(const hb_timer *t) {
    return t->next != NULL;
}

void hb_timer_wheel_advance(hb_timer_wheel *w, uint64_t now_ms) {
    if (now_ms == UINT64_MAX)
        now_ms--; /* so that now_ms + 1 below cannot wrap */
    while (w->cur <= now_ms) {
        uint64_t e = next_event(w);
        if (e > now_ms) {
            move_to(w, now_ms + 1);
            return;
        }
        if (e != w->cur)
            move_to(w, e);
        unsigned s = (unsigned)(e & (SLOTS - 1));
        if (!(w->bitmap[0] & (UINT64_C(1) << s)))
            continue; /* e was only a cascade */
        w->bitmap[0] &= ~(UINT64_C(1) << s);
        list_move(&w->slot[s], &w->firing);
        /* Step past e before any callback runs, so that timers (re)started
         * from a callback are placed after the tick being fired. */
        move_to(w, e + 1);
        /* Each timer is unlinked before its callback, so a callback that
         * stops a later one of this tick simply removes it from the list. */
        while (!list_empty(&w->firing)) {
            hb_timer *t = w->firing.next;
            unlink_timer(t);
            t->cb(t);
        }
    }
}

uint64_t hb_timer_wheel_next(hb_timer_wheel *w, uint64_t now_ms) {
    if (w->count == 0)
        return UINT64_MAX;
    uint64_t e = next_event(w);
    return e <= now_ms ? 0 : e - now_ms;
}

size_t hb_timer_wheel_count(const hb_timer_wheel *w) {
    return w->count;
}
