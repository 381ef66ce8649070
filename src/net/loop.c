/* The loop's shared machinery. Timers live on one wheel driven by one
 * uv_timer, re-armed in the prepare phase so that a connection's timer costs
 * no libuv handle; writes queued during a turn are flushed in the check phase
 * so that each connection makes at most one write per turn. */
#include "net/loop.h"

#include <stdlib.h>

#include "hubbub/error.h"
#include "net/conn.h"

enum { READ_BUFFER_SIZE = 64 * 1024 };

static void on_wheel_timer(uv_timer_t *t) {
    hb_loop *loop = t->data;
    hb_timer_wheel_advance(loop->wheel, uv_now(loop->uv));
}

static void run_deferred_and_flush(hb_loop *loop) {
    while (loop->deferred != NULL) {
        hb_deferred *d = loop->deferred;
        loop->deferred = d->next;
        d->next = NULL;
        d->queued = 0;
        d->cb(d);
    }
    hb_conn__flush_all(loop);
}

static void on_prepare(uv_prepare_t *p) {
    hb_loop *loop = p->data;
    uint64_t next;
    /* Work queued by timers or close callbacks would otherwise wait for the
     * check phase, after a poll that may block for long: do it now. */
    run_deferred_and_flush(loop);
    next = hb_timer_wheel_next(loop->wheel, uv_now(loop->uv));
    if (next == UINT64_MAX)
        uv_timer_stop(&loop->wheel_timer);
    else
        uv_timer_start(&loop->wheel_timer, on_wheel_timer, next, 0);
}

static void on_check(uv_check_t *c) {
    run_deferred_and_flush(c->data);
}

void hb_loop_defer(hb_loop *loop, hb_deferred *d, void (*cb)(hb_deferred *d)) {
    if (d->queued)
        return;
    d->queued = 1;
    d->cb = cb;
    d->next = loop->deferred;
    loop->deferred = d;
}

void hb_loop_undefer(hb_loop *loop, hb_deferred *d) {
    hb_deferred **p;
    if (!d->queued)
        return;
    for (p = &loop->deferred; *p != NULL; p = &(*p)->next) {
        if (*p == d) {
            *p = d->next;
            break;
        }
    }
    d->queued = 0;
    d->next = NULL;
}

int hb_loop_init(hb_loop *loop, uv_loop_t *uv) {
    int err;
    loop->uv = uv;
    loop->flush_head = NULL;
    loop->deferred = NULL;
    loop->rbuf_busy = 0;
    loop->rbuf_size = READ_BUFFER_SIZE;
    loop->rbuf = malloc(loop->rbuf_size);
    if (loop->rbuf == NULL)
        return HB_ENOMEM;
    loop->wheel = hb_timer_wheel_new(uv_now(uv));
    if (loop->wheel == NULL) {
        err = HB_ENOMEM;
        goto fail_wheel;
    }
    if ((err = uv_timer_init(uv, &loop->wheel_timer)) != 0)
        goto fail_timer;
    uv_prepare_init(uv, &loop->prepare);
    uv_check_init(uv, &loop->check);
    loop->wheel_timer.data = loop->prepare.data = loop->check.data = loop;
    uv_prepare_start(&loop->prepare, on_prepare);
    uv_check_start(&loop->check, on_check);
    /* Housekeeping handles must not keep the loop alive on their own. */
    uv_unref((uv_handle_t *)&loop->prepare);
    uv_unref((uv_handle_t *)&loop->check);
    uv_unref((uv_handle_t *)&loop->wheel_timer);
    return 0;

fail_timer:
    hb_timer_wheel_free(loop->wheel);
fail_wheel:
    free(loop->rbuf);
    return err;
}

void hb_loop_close(hb_loop *loop) {
    uv_close((uv_handle_t *)&loop->wheel_timer, NULL);
    uv_close((uv_handle_t *)&loop->prepare, NULL);
    uv_close((uv_handle_t *)&loop->check, NULL);
}

void hb_loop_free(hb_loop *loop) {
    hb_timer_wheel_free(loop->wheel);
    free(loop->rbuf);
    loop->wheel = NULL;
    loop->rbuf = NULL;
}

uint64_t hb_loop_now(const hb_loop *loop) {
    return uv_now(loop->uv);
}

void hb_loop_timer_start(hb_loop *loop, hb_timer *t, uint64_t delay_ms, hb_timer_cb cb) {
    hb_timer_start(loop->wheel, t, uv_now(loop->uv) + delay_ms, cb);
}
