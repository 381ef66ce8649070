/* hb_loop: one libuv loop with what every connection on it shares — the
 * single read buffer, the timer wheel, and the list of connections whose
 * write queues are flushed once at the end of this loop turn. */
#ifndef HB_NET_LOOP_H
#define HB_NET_LOOP_H

#include <stdint.h>
#include <uv.h>

#include "core/timer.h"

typedef struct hb_conn hb_conn;

/* Work put off to the end of this loop turn, before writes are flushed:
 * a layer that batches (e.g. a polling response gathering every packet sent
 * in this turn) embeds one and calls hb_loop_defer(). */
typedef struct hb_deferred hb_deferred;
struct hb_deferred {
    hb_deferred *next;
    void (*cb)(hb_deferred *d);
    int queued;
};

typedef struct hb_loop {
    uv_loop_t *uv;
    hb_timer_wheel *wheel;
    uv_timer_t wheel_timer; /* armed for the wheel's earliest timer */
    uv_prepare_t prepare;   /* re-arms wheel_timer before each poll */
    uv_check_t check;       /* flushes pending writes after each poll */
    hb_conn *flush_head;    /* connections with queued bytes this turn, */
    hb_conn *flush_tail;    /* in the order they were first written to */
    hb_deferred *deferred;  /* run before the flush, then cleared */
    uint8_t *rbuf;          /* the one read buffer of this loop */
    size_t rbuf_size;
    int rbuf_busy;          /* lent to a read callback right now */
} hb_loop;

/* Sets up loop over uv (borrowed; it must outlive loop). Returns 0,
 * HB_ENOMEM, or a UV_E* code. */
int hb_loop_init(hb_loop *loop, uv_loop_t *uv);
/* Closes the loop's handles; call uv_run() afterwards to let them finish,
 * then hb_loop_free(). */
void hb_loop_close(hb_loop *loop);
void hb_loop_free(hb_loop *loop);
/* Milliseconds on the loop's clock (uv_now), the clock of every timer. */
uint64_t hb_loop_now(const hb_loop *loop);
/* Runs d->cb once at the end of this turn (again if deferred again from
 * within). Deferring a queued d does nothing. */
void hb_loop_defer(hb_loop *loop, hb_deferred *d, void (*cb)(hb_deferred *d));
/* Takes d off the list if queued (its owner is going away). */
void hb_loop_undefer(hb_loop *loop, hb_deferred *d);
/* Arms t on the loop's wheel to fire after delay_ms. */
void hb_loop_timer_start(hb_loop *loop, hb_timer *t, uint64_t delay_ms, hb_timer_cb cb);

#endif
