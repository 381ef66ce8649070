/* Hierarchical timing wheel: one per loop, holding every connection timeout.
 *
 * Timers are embedded in their owners, so starting and stopping never
 * allocates and costs O(1). The wheel ticks in milliseconds: a timer fires at
 * the first hb_timer_wheel_advance() whose now_ms is >= its due, never
 * earlier, and no later than that (the only delay is how often the caller
 * advances). Five levels of 64 slots cover 2^30 ms (12.4 days) around the
 * current time; farther timers wait on an overflow list. */
#ifndef HB_CORE_TIMER_H
#define HB_CORE_TIMER_H

#include <stddef.h>
#include <stdint.h>

typedef struct hb_timer hb_timer;
typedef struct hb_timer_wheel hb_timer_wheel;
typedef void (*hb_timer_cb)(hb_timer *t);

/* Zero-initialised = inactive. Fields are the wheel's while the timer is
 * active; `due` and `cb` may be read at any time (they keep the values of
 * the last start). `wheel` lets hb_timer_stop() keep the wheel's count and
 * slot bitmaps exact without a wheel argument. */
struct hb_timer {
    hb_timer *next, *prev;
    uint64_t due;
    hb_timer_cb cb;
    hb_timer_wheel *wheel;
};

/* A wheel whose clock starts at now_ms. NULL when out of memory. */
hb_timer_wheel *hb_timer_wheel_new(uint64_t now_ms);

/* Frees w; NULL is accepted. Active timers are forgotten, not touched (their
 * owners may already be gone): do not stop or restart them afterwards unless
 * they are zeroed first. */
void hb_timer_wheel_free(hb_timer_wheel *w);

/* (Re)arms t to call cb(t) once at due_ms (absolute, on the wheel's clock).
 * An active timer is moved, even from another wheel. A due at or before the
 * time the wheel has already advanced through fires at the next advance to a
 * later time (so a callback that re-arms itself "now" cannot loop). t stays
 * owned by the caller and must stay put (not moved or freed) while active;
 * cb must not be NULL. */
void hb_timer_start(hb_timer_wheel *w, hb_timer *t, uint64_t due_ms, hb_timer_cb cb);

/* Disarms t. An inactive timer is fine. */
void hb_timer_stop(hb_timer *t);

/* 1 when t is armed, else 0. A timer is inactive inside its own callback. */
int hb_timer_active(const hb_timer *t);

/* Fires every timer with due <= now_ms, in due order (timers due in the same
 * millisecond fire in an unspecified order). A callback may start or stop any
 * timer, including itself and timers due in this same advance: a stopped one
 * does not fire; one started for a due <= now_ms fires later in this same
 * advance, but never on the millisecond being fired (a due at or before it
 * counts as the next millisecond), so a timer that re-arms itself for "now"
 * fires at most once per millisecond instead of looping. A now_ms before the
 * time already advanced through does nothing. Not reentrant: callbacks must
 * not call advance or free the wheel. (UINT64_MAX counts as UINT64_MAX - 1,
 * the one instant the wheel never reaches.) Cost: the timers fired or cascaded,
 * plus O(levels) per non-empty slot reached; idle time costs nothing. */
void hb_timer_wheel_advance(hb_timer_wheel *w, uint64_t now_ms);

/* Milliseconds from now_ms until the wheel next needs hb_timer_wheel_advance
 * (0 if that is already due), or UINT64_MAX if no timer is active. Never later
 * than the earliest due. It is exact when that timer is due within the
 * current 64 ms block; otherwise it may be the start of the coarse slot that
 * holds it, where advancing cascades the slot and the next call is finer (at
 * most one early wake-up per level). O(levels), cheap every loop turn. */
uint64_t hb_timer_wheel_next(hb_timer_wheel *w, uint64_t now_ms);

/* The number of active timers on w. */
size_t hb_timer_wheel_count(const hb_timer_wheel *w);

#endif
