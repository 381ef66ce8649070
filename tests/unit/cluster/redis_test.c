/* Tests for src/cluster/redis.c: URL parsing, and the removable
 * subscriptions against a real redis-server started here (a channel
 * removed and added again in one turn, before Redis answered the
 * UNSUBSCRIBE, still gets its messages; a removed one gets none). The rest
 * of the connection behaviour is tested end to end:
 * tests/e2e/cluster.test.mjs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "cluster/redis.h"
#include "hubbub/error.h"
#include "net/loop.h"

static void test_urls(void **state) {
    hb_redis_addr a;
    (void)state;
    assert_int_equal(hb_redis_parse_url("redis://127.0.0.1:6380", &a), 0);
    assert_string_equal(a.host, "127.0.0.1");
    assert_int_equal(a.port, 6380);
    assert_string_equal(a.password, "");
    assert_int_equal(a.db, 0);

    assert_int_equal(hb_redis_parse_url("redis://cache", &a), 0);
    assert_string_equal(a.host, "cache");
    assert_int_equal(a.port, 6379);

    assert_int_equal(hb_redis_parse_url("redis://:s3cr@t@cache:7000/2", &a), 0);
    assert_string_equal(a.host, "cache");
    assert_int_equal(a.port, 7000);
    assert_string_equal(a.user, "");
    assert_string_equal(a.password, "s3cr@t");
    assert_int_equal(a.db, 2);

    assert_int_equal(hb_redis_parse_url("redis://app:pw@cache/", &a), 0);
    assert_string_equal(a.user, "app");
    assert_string_equal(a.password, "pw");
    assert_int_equal(a.db, 0);

    assert_int_equal(hb_redis_parse_url("redis://[::1]:6390", &a), 0);
    assert_string_equal(a.host, "::1");
    assert_int_equal(a.port, 6390);
}

static void test_bad_urls(void **state) {
    static const char *const bad[] = {
        "", "127.0.0.1:6379", "http://h:1", "rediss://h:1", "redis://", "redis://:6379",
        "redis://h:", "redis://h:0", "redis://h:65536", "redis://h:12x", "redis://h:1/x",
        "redis://[::1", "redis://[::1]x", "redis://h:1/-1",
    };
    hb_redis_addr a;
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(hb_redis_parse_url(bad[i], &a), HB_EINVAL);
    assert_int_equal(hb_redis_parse_url(NULL, &a), HB_EINVAL);
}

/* --- subscriptions against a real Redis ------------------------------------------------ */

typedef struct sub_test {
    hb_loop loop;
    uv_loop_t uv;
    hb_redis *r;
    int up;
    char got[256];
} sub_test;

static void on_msg(void *ud, const char *ch, size_t chlen, const uint8_t *data, size_t len) {
    sub_test *t = ud;
    size_t n = strlen(t->got);
    snprintf(t->got + n, sizeof(t->got) - n, "%.*s=%.*s ", (int)chlen, ch, (int)len,
             (const char *)data);
}

static void on_state(void *ud, int up) {
    ((sub_test *)ud)->up = up;
}

static void on_tick(uv_timer_t *h) {
    (void)h;
}

/* Runs the loop until cond holds or about 10 s passed (a ticking timer
 * keeps each turn short). */
static int run_until(sub_test *t, int (*cond)(sub_test *t)) {
    uv_timer_t tick;
    uv_timer_init(&t->uv, &tick);
    uv_timer_start(&tick, on_tick, 10, 10);
    for (int i = 0; i < 1000 && !cond(t); i++)
        uv_run(&t->uv, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&tick, NULL);
    uv_run(&t->uv, UV_RUN_NOWAIT);
    return cond(t);
}

static int is_up(sub_test *t) {
    return t->up;
}

static int got_end(sub_test *t) {
    return strstr(t->got, "end=") != NULL;
}

/* A port nothing listens on now (the kernel's pick for a bound socket). */
static int free_port(void) {
    struct sockaddr_in a = {0};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = 0;
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* The redis-server of this file: started by the group setup, killed by the
 * teardown even when a test failed (and by the kernel if this process
 * dies: it must not hold the test runner's output open). */
static pid_t redis_pid;
static int redis_port;

static int redis_setup(void **state) {
    char p[16];
    (void)state;
    redis_port = free_port();
    if (redis_port == 0 || system("command -v redis-server >/dev/null 2>&1") != 0)
        return 0; /* the test skips */
    snprintf(p, sizeof(p), "%d", redis_port);
    redis_pid = fork();
    if (redis_pid == 0) {
        int devnull = open("/dev/null", O_RDWR);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(devnull, 0), dup2(devnull, 1), dup2(devnull, 2);
        execlp("redis-server", "redis-server", "--port", p, "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", (char *)NULL);
        _exit(127);
    }
    return redis_pid > 0 ? 0 : -1;
}

static int redis_teardown(void **state) {
    (void)state;
    if (redis_pid > 0) {
        kill(redis_pid, SIGKILL);
        waitpid(redis_pid, NULL, 0);
    }
    return 0;
}

static void publish(sub_test *t, const char *ch, const char *msg) {
    assert_int_equal(hb_redis_publish(t->r, ch, strlen(ch), msg, strlen(msg)), 0);
}

static void test_subscriptions_removed_and_added_again(void **state) {
    sub_test t;
    hb_redis_addr addr = {0};
    hb_redis_cbs cbs = {on_msg, on_state, &t};
    hb_redis_sub *a, *b, *c;
    (void)state;
    if (redis_pid <= 0)
        skip();
    memset(&t, 0, sizeof(t));
    assert_int_equal(uv_loop_init(&t.uv), 0);
    assert_int_equal(hb_loop_init(&t.loop, &t.uv), 0);
    snprintf(addr.host, sizeof(addr.host), "127.0.0.1");
    addr.port = redis_port;
    t.r = hb_redis_new(&t.loop, &addr, NULL, &cbs);
    assert_non_null(t.r);
    assert_int_equal(hb_redis_subscribe(t.r, "end", 3), 0);
    a = hb_redis_sub_add(t.r, "a", 1);
    b = hb_redis_sub_add(t.r, "b", 1);
    hb_redis_start(t.r);
    assert_true(run_until(&t, is_up)); /* retried until redis-server listens */

    /* a: removed and added again in one turn (UNSUBSCRIBE unanswered);
     * b: removed; c: added while up. */
    hb_redis_sub_remove(t.r, a);
    a = hb_redis_sub_add(t.r, "a", 1);
    assert_non_null(a);
    hb_redis_sub_remove(t.r, b);
    c = hb_redis_sub_add(t.r, "c", 1);
    assert_non_null(c);
    /* Once Redis answered all that (a publish round trip), publish. */
    publish(&t, "end", "1");
    assert_true(run_until(&t, got_end));
    t.got[0] = '\0';
    publish(&t, "a", "x");
    publish(&t, "b", "y");
    publish(&t, "c", "z");
    publish(&t, "end", "2");
    assert_true(run_until(&t, got_end));
    assert_string_equal(t.got, "a=x c=z end=2 ");

    /* removed, added, removed again before Redis answered: gone */
    hb_redis_sub_remove(t.r, a);
    a = hb_redis_sub_add(t.r, "a", 1);
    assert_non_null(a);
    hb_redis_sub_remove(t.r, a);
    t.got[0] = '\0';
    publish(&t, "end", "3");
    assert_true(run_until(&t, got_end));
    t.got[0] = '\0';
    publish(&t, "a", "x");
    publish(&t, "c", "z");
    publish(&t, "end", "4");
    assert_true(run_until(&t, got_end));
    assert_string_equal(t.got, "c=z end=4 ");

    hb_redis_free(t.r);
    hb_loop_close(&t.loop);
    uv_run(&t.uv, UV_RUN_DEFAULT);
    hb_loop_free(&t.loop);
    uv_loop_close(&t.uv);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_urls),
        cmocka_unit_test(test_bad_urls),
        cmocka_unit_test(test_subscriptions_removed_and_added_again),
    };
    return cmocka_run_group_tests(tests, redis_setup, redis_teardown);
}
