/* Tests for src/core/timer.c: firing order and exact firing millisecond
 * across every level boundary, start/stop from callbacks, far timers on the
 * overflow list, next() and count(), and 100k timers under random operations
 * checked against a plain model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/timer.h"

/* A timer's owner, as a connection would embed it. */
typedef struct {
    hb_timer timer;
    int id;
    int fired;
    uint64_t fired_at; /* g_now when it last fired */
} item;

static uint64_t g_now;       /* the now_ms of the advance in progress */
static int g_order[64];      /* ids in firing order */
static int g_norder;
static hb_timer_wheel *g_wheel;

static item *item_of(hb_timer *t) {
    return (item *)(void *)((char *)t - offsetof(item, timer));
}

static void on_record(hb_timer *t) {
    item *it = item_of(t);
    assert_false(hb_timer_active(t));
    it->fired++;
    it->fired_at = g_now;
    if (g_norder < 64)
        g_order[g_norder++] = it->id;
}

static void advance(hb_timer_wheel *w, uint64_t now) {
    g_now = now;
    hb_timer_wheel_advance(w, now);
}

static void reset_record(void) {
    g_norder = 0;
    memset(g_order, 0, sizeof(g_order));
}

static void test_empty_wheel(void **state) {
    (void)state;
    hb_timer_wheel_free(NULL);
    hb_timer_wheel *w = hb_timer_wheel_new(1000);
    assert_non_null(w);
    assert_int_equal(hb_timer_wheel_count(w), 0);
    assert_true(hb_timer_wheel_next(w, 1000) == UINT64_MAX);
    advance(w, 5000000);
    assert_true(hb_timer_wheel_next(w, 5000000) == UINT64_MAX);
    hb_timer_wheel_free(w);
}

static void test_fires_in_due_order(void **state) {
    (void)state;
    static const uint64_t dues[] = {5, 1, 100, 64, 63, 4096, 4095, 70000, 2, 262144, 3, 65};
    enum { N = sizeof(dues) / sizeof(dues[0]) };
    item items[N];
    hb_timer_wheel *w = hb_timer_wheel_new(0);
    assert_non_null(w);
    reset_record();
    memset(items, 0, sizeof(items));
    for (int i = 0; i < N; i++) {
        items[i].id = i;
        hb_timer_start(w, &items[i].timer, dues[i], on_record);
    }
    assert_int_equal(hb_timer_wheel_count(w), N);

    advance(w, 64); /* fires 1, 2, 3, 5, 63, 64 */
    assert_int_equal(g_norder, 6);
    assert_int_equal(hb_timer_wheel_count(w), N - 6);
    advance(w, 1000000);
    assert_int_equal(g_norder, N);
    for (int i = 1; i < N; i++)
        assert_true(dues[g_order[i - 1]] <= dues[g_order[i]]);
    for (int i = 0; i < N; i++)
        assert_int_equal(items[i].fired, 1);
    assert_int_equal(hb_timer_wheel_count(w), 0);
    assert_true(hb_timer_wheel_next(w, 1000000) == UINT64_MAX);
    hb_timer_wheel_free(w);
}

/* Advancing one millisecond at a time, each timer fires exactly at its due,
 * whatever level it started on and whatever the clock's alignment. */
static void test_fires_on_exact_ms(void **state) {
    (void)state;
    static const uint64_t starts[] = {0, 37, 4095, 262143, 1000000007};
    static const uint64_t offsets[] = {0,    1,    2,    62,   63,    64,     65,     127,   128,
                                       4031, 4095, 4096, 4097, 65536, 262143, 262144, 262145};
    enum { N = sizeof(offsets) / sizeof(offsets[0]) };
    for (size_t s = 0; s < sizeof(starts) / sizeof(starts[0]); s++) {
        uint64_t t0 = starts[s];
        item items[N];
        hb_timer_wheel *w = hb_timer_wheel_new(t0);
        assert_non_null(w);
        memset(items, 0, sizeof(items));
        reset_record();
        for (int i = 0; i < N; i++)
            hb_timer_start(w, &items[i].timer, t0 + offsets[i], on_record);
        for (uint64_t now = t0; now <= t0 + 262150; now++) {
            advance(w, now);
            uint64_t next = hb_timer_wheel_next(w, now);
            assert_true(next >= 1); /* nothing due is left behind */
        }
        for (int i = 0; i < N; i++) {
            assert_int_equal(items[i].fired, 1);
            assert_int_equal(items[i].fired_at, t0 + offsets[i]);
        }
        assert_int_equal(hb_timer_wheel_count(w), 0);
        hb_timer_wheel_free(w);
    }
}

static int g_periodic_left;

static void on_periodic(hb_timer *t) {
    on_record(t);
    if (--g_periodic_left > 0)
        hb_timer_start(g_wheel, t, t->due + 10, on_periodic);
}

/* A callback re-arming itself within the same advance fires again in it. */
static void test_restart_from_callback(void **state) {
    (void)state;
    item it = {.id = 1};
    g_wheel = hb_timer_wheel_new(0);
    assert_non_null(g_wheel);
    reset_record();
    g_periodic_left = 1000;
    hb_timer_start(g_wheel, &it.timer, 10, on_periodic);
    advance(g_wheel, 100);
    assert_int_equal(it.fired, 10);
    assert_true(hb_timer_active(&it.timer));
    assert_int_equal(it.timer.due, 110);
    assert_int_equal(hb_timer_wheel_next(g_wheel, 100), 10);
    advance(g_wheel, 109);
    assert_int_equal(it.fired, 10);
    advance(g_wheel, 110);
    assert_int_equal(it.fired, 11);
    assert_int_equal(hb_timer_wheel_count(g_wheel), 1);
    hb_timer_stop(&it.timer);
    assert_int_equal(hb_timer_wheel_count(g_wheel), 0);
    hb_timer_wheel_free(g_wheel);
}

static int g_now_rearms;

static void on_rearm_now(hb_timer *t) {
    on_record(t);
    if (++g_now_rearms < 1000)
        hb_timer_start(g_wheel, t, 0, on_rearm_now); /* long overdue */
}

/* Re-arming for a past due inside the callback does not loop: it moves on
 * by one millisecond per firing. */
static void test_rearm_overdue_from_callback(void **state) {
    (void)state;
    item it = {.id = 1};
    g_wheel = hb_timer_wheel_new(0);
    assert_non_null(g_wheel);
    reset_record();
    g_now_rearms = 0;
    hb_timer_start(g_wheel, &it.timer, 2, on_rearm_now);
    advance(g_wheel, 5); /* fires on 2, 3, 4, 5 */
    assert_int_equal(it.fired, 4);
    assert_true(hb_timer_active(&it.timer));
    advance(g_wheel, 5);
    assert_int_equal(it.fired, 4);
    assert_int_equal(hb_timer_wheel_next(g_wheel, 5), 1);
    advance(g_wheel, 6);
    assert_int_equal(it.fired, 5);
    hb_timer_wheel_free(g_wheel);
}

static item g_a, g_b, g_c, g_d, g_e, g_f;

static void on_a_stops(hb_timer *t) {
    on_record(t);
    hb_timer_stop(&g_b.timer);              /* due later in this advance */
    hb_timer_stop(&g_c.timer);              /* due on this same ms */
    hb_timer_stop(&g_a.timer);              /* itself: already inactive */
    hb_timer_start(g_wheel, &g_d.timer, 8, on_record);  /* due in this advance */
    hb_timer_start(g_wheel, &g_e.timer, 50, on_record); /* moved past it */
    hb_timer_start(g_wheel, &g_f.timer, 20, on_record); /* after it */
}

static void on_c_stops(hb_timer *t) {
    on_record(t);
    hb_timer_stop(&g_a.timer);
}

static void test_stop_and_start_during_advance(void **state) {
    (void)state;
    g_a = (item){.id = 1};
    g_b = (item){.id = 2};
    g_c = (item){.id = 3};
    g_d = (item){.id = 4};
    g_e = (item){.id = 5};
    g_f = (item){.id = 6};
    g_wheel = hb_timer_wheel_new(0);
    assert_non_null(g_wheel);
    reset_record();
    hb_timer_start(g_wheel, &g_a.timer, 5, on_a_stops);
    hb_timer_start(g_wheel, &g_c.timer, 5, on_c_stops);
    hb_timer_start(g_wheel, &g_b.timer, 7, on_record);
    hb_timer_start(g_wheel, &g_e.timer, 9, on_record);
    advance(g_wheel, 10);
    /* a and c stop each other: whichever fires first wins. */
    assert_int_equal(g_a.fired + g_c.fired, 1);
    if (g_a.fired) {
        assert_int_equal(g_b.fired, 0);
        assert_int_equal(g_d.fired, 1);
        assert_int_equal(g_e.fired, 0);
        assert_int_equal(g_f.fired, 0);
        assert_int_equal(g_norder, 2);
        assert_int_equal(g_order[0], 1);
        assert_int_equal(g_order[1], 4);
        assert_int_equal(hb_timer_wheel_count(g_wheel), 2); /* e, f */
        assert_int_equal(hb_timer_wheel_next(g_wheel, 10), 10);
        advance(g_wheel, 100);
        assert_int_equal(g_e.fired, 1);
        assert_int_equal(g_f.fired, 1);
        assert_int_equal(g_order[2], 6);
        assert_int_equal(g_order[3], 5);
    } else {
        assert_int_equal(g_b.fired, 1);
        assert_int_equal(g_e.fired, 1);
    }
    assert_int_equal(hb_timer_wheel_count(g_wheel), 0);
    hb_timer_wheel_free(g_wheel);
}

static void test_next_values(void **state) {
    (void)state;
    item a = {0}, b = {0}, c = {0};
    hb_timer_wheel *w = hb_timer_wheel_new(0);
    assert_non_null(w);
    hb_timer_start(w, &a.timer, 10, on_record);
    assert_int_equal(hb_timer_wheel_next(w, 0), 10);
    assert_int_equal(hb_timer_wheel_next(w, 3), 7);
    assert_int_equal(hb_timer_wheel_next(w, 10), 0);
    assert_int_equal(hb_timer_wheel_next(w, 50), 0);
    hb_timer_start(w, &b.timer, 5, on_record);
    assert_int_equal(hb_timer_wheel_next(w, 0), 5);
    hb_timer_stop(&b.timer);
    assert_int_equal(hb_timer_wheel_next(w, 0), 10);
    hb_timer_start(w, &a.timer, 63, on_record); /* moved */
    assert_int_equal(hb_timer_wheel_next(w, 0), 63);
    /* On a coarse level: never late, at most its 64 ms slot early. */
    hb_timer_start(w, &a.timer, 1000, on_record);
    uint64_t n = hb_timer_wheel_next(w, 0);
    assert_true(n <= 1000 && n > 1000 - 64);
    hb_timer_start(w, &c.timer, 999, on_record);
    assert_true(hb_timer_wheel_next(w, 0) <= 999);
    hb_timer_stop(&a.timer);
    hb_timer_stop(&c.timer);
    assert_true(hb_timer_wheel_next(w, 0) == UINT64_MAX);
    hb_timer_wheel_free(w);

    /* Overdue before any advance. */
    w = hb_timer_wheel_new(100);
    assert_non_null(w);
    a = (item){0};
    hb_timer_start(w, &a.timer, 50, on_record);
    assert_int_equal(hb_timer_wheel_next(w, 100), 0);
    advance(w, 100);
    assert_int_equal(a.fired, 1);
    /* A due the wheel has advanced through fires on the next millisecond. */
    hb_timer_start(w, &a.timer, 100, on_record);
    assert_int_equal(hb_timer_wheel_next(w, 100), 1);
    advance(w, 100);
    assert_int_equal(a.fired, 1);
    advance(w, 101);
    assert_int_equal(a.fired, 2);
    hb_timer_wheel_free(w);
}

static void test_count_and_active(void **state) {
    (void)state;
    item a = {0}, b = {0}, c = {0};
    hb_timer_wheel *w = hb_timer_wheel_new(7);
    hb_timer_wheel *w2 = hb_timer_wheel_new(7);
    assert_non_null(w);
    assert_non_null(w2);
    assert_false(hb_timer_active(&a.timer));
    hb_timer_stop(&a.timer); /* zero-initialised: fine */
    hb_timer_start(w, &a.timer, 100, on_record);
    hb_timer_start(w, &b.timer, 200000, on_record);
    hb_timer_start(w, &c.timer, 7, on_record);
    assert_int_equal(hb_timer_wheel_count(w), 3);
    assert_true(hb_timer_active(&a.timer));
    hb_timer_start(w, &a.timer, 300, on_record); /* restart: still 3 */
    assert_int_equal(hb_timer_wheel_count(w), 3);
    hb_timer_stop(&b.timer);
    hb_timer_stop(&b.timer);
    assert_false(hb_timer_active(&b.timer));
    assert_int_equal(hb_timer_wheel_count(w), 2);
    hb_timer_start(w2, &a.timer, 50, on_record); /* moves to another wheel */
    assert_int_equal(hb_timer_wheel_count(w), 1);
    assert_int_equal(hb_timer_wheel_count(w2), 1);
    advance(w, 1000);
    assert_int_equal(c.fired, 1);
    assert_int_equal(a.fired, 0);
    assert_int_equal(hb_timer_wheel_count(w), 0);
    advance(w2, 1000);
    assert_int_equal(a.fired, 1);
    assert_int_equal(hb_timer_wheel_count(w2), 0);
    /* Freeing with active timers forgets them (ASan checks nothing leaks). */
    hb_timer_start(w, &a.timer, 5000, on_record);
    hb_timer_start(w, &b.timer, 50000000, on_record);
    hb_timer_wheel_free(w);
    hb_timer_wheel_free(w2);
}

static void test_time_going_backwards(void **state) {
    (void)state;
    item a = {0};
    hb_timer_wheel *w = hb_timer_wheel_new(0);
    assert_non_null(w);
    advance(w, 100);
    hb_timer_start(w, &a.timer, 150, on_record);
    advance(w, 50);
    advance(w, 149);
    assert_int_equal(a.fired, 0);
    advance(w, 150);
    assert_int_equal(a.fired, 1);
    hb_timer_wheel_free(w);
}

/* Follows next() like the loop does, counting wake-ups. */
static int run_by_next(hb_timer_wheel *w, uint64_t *now, const item *items, int n) {
    int wakeups = 0;
    while (hb_timer_wheel_count(w) > 0) {
        uint64_t next = hb_timer_wheel_next(w, *now);
        assert_true(next != UINT64_MAX);
        uint64_t earliest = UINT64_MAX;
        for (int i = 0; i < n; i++)
            if (hb_timer_active(&items[i].timer) && items[i].timer.due < earliest)
                earliest = items[i].timer.due;
        assert_true(*now + next <= earliest); /* never late */
        *now += next;
        advance(w, *now);
        wakeups++;
    }
    return wakeups;
}

static void test_far_timers(void **state) {
    (void)state;
    static const uint64_t offsets[] = {
        3 * 60 * 1000,            /* minutes */
        30 * 60 * 1000,
        5 * 3600 * 1000,          /* hours: level 4 */
        20ull * 86400 * 1000,     /* beyond 2^30 ms: overflow list */
        400ull * 86400 * 1000,    /* across many top blocks */
        UINT64_C(1) << 40,
    };
    enum { N = sizeof(offsets) / sizeof(offsets[0]) };
    static const uint64_t starts[] = {0, 123456789, (UINT64_C(1) << 30) - 5, UINT64_C(5) << 40};
    for (size_t s = 0; s < sizeof(starts) / sizeof(starts[0]); s++) {
        item items[N];
        uint64_t now = starts[s];
        hb_timer_wheel *w = hb_timer_wheel_new(now);
        assert_non_null(w);
        memset(items, 0, sizeof(items));
        for (int i = 0; i < N; i++)
            hb_timer_start(w, &items[i].timer, now + offsets[i], on_record);
        int wakeups = run_by_next(w, &now, items, N);
        for (int i = 0; i < N; i++) {
            assert_int_equal(items[i].fired, 1);
            assert_int_equal(items[i].fired_at, starts[s] + offsets[i]);
        }
        /* At most one wake-up per level and one for the overflow list per
         * timer, however far. */
        assert_true(wakeups <= (5 + 2) * N);
        hb_timer_wheel_free(w);
    }
}

/* Timers across the top block boundary, one millisecond at a time. */
static void test_top_block_boundary(void **state) {
    (void)state;
    const uint64_t top = UINT64_C(1) << 30;
    static const uint64_t offsets[] = {1, 4, 5, 6, 69, 4101, 262149};
    enum { N = sizeof(offsets) / sizeof(offsets[0]) };
    item items[N];
    hb_timer_wheel *w = hb_timer_wheel_new(top - 5);
    assert_non_null(w);
    memset(items, 0, sizeof(items));
    for (int i = 0; i < N; i++)
        hb_timer_start(w, &items[i].timer, top - 5 + offsets[i], on_record);
    for (uint64_t now = top - 5; now <= top + 262150; now++)
        advance(w, now);
    for (int i = 0; i < N; i++) {
        assert_int_equal(items[i].fired, 1);
        assert_int_equal(items[i].fired_at, top - 5 + offsets[i]);
    }
    hb_timer_wheel_free(w);
}

/* A single jump over everything, up to the end of the clock. */
static void test_huge_jump(void **state) {
    (void)state;
    enum { N = 2000 };
    item *items = calloc(N, sizeof(item));
    assert_non_null(items);
    hb_timer_wheel *w = hb_timer_wheel_new(0);
    assert_non_null(w);
    srand(7);
    for (int i = 0; i < N; i++) {
        uint64_t due = ((uint64_t)rand() << 20) ^ (uint64_t)rand();
        if (i % 7 == 0)
            due = UINT64_MAX - (uint64_t)i;
        hb_timer_start(w, &items[i].timer, due, on_record);
    }
    g_now = UINT64_MAX;
    hb_timer_wheel_advance(w, UINT64_MAX);
    /* UINT64_MAX itself is the one instant the wheel cannot pass. */
    for (int i = 0; i < N; i++)
        assert_int_equal(items[i].fired, items[i].timer.due == UINT64_MAX ? 0 : 1);
    assert_int_equal(hb_timer_wheel_count(w), 1);
    hb_timer_wheel_free(w);
    free(items);
}

/* 100k timers, random starts, stops and restarts (also from callbacks),
 * checked against a model after every advance. */
enum { MANY = 100000 };
typedef struct {
    hb_timer timer;
    int active;       /* model */
    uint64_t eff;     /* model: the ms it must fire on, max(due, time+1) */
    uint64_t fired;
} mitem;
static mitem *g_m;
static uint64_t g_prev_now;   /* the now_ms of the previous advance */
static uint64_t g_processed;  /* model: time the wheel has advanced through */
static uint64_t g_fired_total;

static uint64_t rnd(uint64_t n) {
    uint64_t r = ((uint64_t)rand() << 31) ^ (uint64_t)rand();
    return r % n;
}

static void on_many(hb_timer *t);

static void model_start(size_t i, uint64_t due, uint64_t processed) {
    hb_timer_start(g_wheel, &g_m[i].timer, due, on_many);
    g_m[i].active = 1;
    g_m[i].eff = due > processed ? due : processed + 1;
}

static void on_many(hb_timer *t) {
    mitem *m = (mitem *)(void *)((char *)t - offsetof(mitem, timer));
    size_t i = (size_t)(m - g_m);
    assert_true(m->active);          /* a stopped timer never fires */
    assert_true(m->eff <= g_now);    /* never early */
    assert_true(m->eff > g_prev_now); /* never late */
    m->active = 0;
    m->fired++;
    g_fired_total++;
    switch (rand() % 4) {
    case 0: /* re-arm itself later, maybe within this advance */
        model_start(i, m->eff + 1 + rnd(300), m->eff);
        break;
    case 1: { /* stop another */
        size_t j = (size_t)rnd(MANY);
        hb_timer_stop(&g_m[j].timer);
        g_m[j].active = 0;
        break;
    }
    default:
        break;
    }
}

static void check_model(uint64_t now) {
    size_t active = 0;
    uint64_t earliest = UINT64_MAX;
    for (size_t i = 0; i < MANY; i++) {
        assert_int_equal(hb_timer_active(&g_m[i].timer), g_m[i].active);
        if (!g_m[i].active)
            continue;
        active++;
        assert_true(g_m[i].eff > now); /* everything due has fired */
        if (g_m[i].eff < earliest)
            earliest = g_m[i].eff;
    }
    assert_int_equal(hb_timer_wheel_count(g_wheel), active);
    uint64_t next = hb_timer_wheel_next(g_wheel, now);
    if (active == 0) {
        assert_true(next == UINT64_MAX);
    } else {
        assert_true(next >= 1 && now + next <= earliest);
    }
}

static void test_many_random(void **state) {
    (void)state;
    srand(12345);
    g_m = calloc(MANY, sizeof(mitem));
    assert_non_null(g_m);
    uint64_t now = 1000003;
    g_wheel = hb_timer_wheel_new(now);
    assert_non_null(g_wheel);
    g_processed = now - 1;
    g_prev_now = now - 1;
    g_fired_total = 0;
    for (size_t i = 0; i < MANY; i++)
        model_start(i, now + rnd(60000), g_processed);
    check_model(g_processed);
    for (int step = 0; now < 1000003 + 200000; step++) {
        /* Random operations between advances, as I/O callbacks would. */
        for (int k = 0; k < 500; k++) {
            size_t i = (size_t)rnd(MANY);
            if (rand() % 3 == 0) {
                hb_timer_stop(&g_m[i].timer);
                g_m[i].active = 0;
            } else {
                model_start(i, g_processed + rnd(60000), g_processed);
            }
        }
        if (step % 3 == 0) {
            uint64_t next = hb_timer_wheel_next(g_wheel, g_processed);
            now = g_processed + (next == UINT64_MAX ? 1000 : next);
        } else {
            now = g_processed + rnd(400); /* 0: the same ms again */
        }
        g_prev_now = g_processed;
        g_now = now;
        hb_timer_wheel_advance(g_wheel, now);
        if (now > g_processed)
            g_processed = now;
        if (step % 16 == 0)
            check_model(g_processed);
    }
    check_model(g_processed);
    assert_true(g_fired_total > MANY / 2);
    /* Drain everything that is left. */
    for (size_t i = 0; i < MANY; i++) {
        hb_timer_stop(&g_m[i].timer);
        g_m[i].active = 0;
    }
    check_model(g_processed);
    hb_timer_wheel_free(g_wheel);
    free(g_m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_wheel),
        cmocka_unit_test(test_fires_in_due_order),
        cmocka_unit_test(test_fires_on_exact_ms),
        cmocka_unit_test(test_restart_from_callback),
        cmocka_unit_test(test_rearm_overdue_from_callback),
        cmocka_unit_test(test_stop_and_start_during_advance),
        cmocka_unit_test(test_next_values),
        cmocka_unit_test(test_count_and_active),
        cmocka_unit_test(test_time_going_backwards),
        cmocka_unit_test(test_far_timers),
        cmocka_unit_test(test_top_block_boundary),
        cmocka_unit_test(test_huge_jump),
        cmocka_unit_test(test_many_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
