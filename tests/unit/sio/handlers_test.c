/* Tests for src/sio/handlers.c: lists shared by sockets that register the
 * same handlers, lookup by name, replacing a handler (the list is rebuilt,
 * the others keep theirs), registering the same handler twice, other user
 * data giving another list, releasing in any order until nothing is left,
 * many sockets and many events, and the table freed with lists alive. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hubbub/error.h"
#include "sio/handlers.h"

static void on_a(hb_socket *s, const char *event, const hb_args *args, hb_ack *ack, void *ud) {
    (void)s, (void)event, (void)args, (void)ack, (void)ud;
}

static void on_b(hb_socket *s, const char *event, const hb_args *args, hb_ack *ack, void *ud) {
    (void)s, (void)event, (void)args, (void)ack, (void)ud;
}

static int set(hb_sio_handlers *t, hb_sio_hnode **l, const char *name, hb_event_cb cb,
               void *ud) {
    return hb_sio_handlers_set(t, l, name, strlen(name), cb, ud);
}

static const hb_sio_hnode *find(const hb_sio_hnode *l, const char *name) {
    return hb_sio_handlers_find(l, name, strlen(name));
}

static size_t length(const hb_sio_hnode *l) {
    size_t n = 0;
    for (; l != NULL; l = l->parent)
        n++;
    return n;
}

static void test_empty(void **state) {
    (void)state;
    hb_sio_handlers *t = hb_sio_handlers_new();
    assert_non_null(t);
    assert_null(find(NULL, "x"));
    hb_sio_handlers_release(t, NULL);
    assert_int_equal(hb_sio_handlers_count(t), 0);
    hb_sio_handlers_free(t);
    hb_sio_handlers_free(NULL);
}

/* Two sockets registering the same three handlers hold the same list:
 * three nodes in all, however many sockets. */
static void test_shared(void **state) {
    (void)state;
    hb_sio_handlers *t = hb_sio_handlers_new();
    hb_sio_hnode *s[100] = {0};
    for (int i = 0; i < 100; i++) {
        assert_int_equal(set(t, &s[i], "join", on_a, NULL), 0);
        assert_int_equal(set(t, &s[i], "publish", on_b, NULL), 0);
        assert_int_equal(set(t, &s[i], "echo", on_a, NULL), 0);
        assert_ptr_equal(s[i], s[0]);
    }
    assert_int_equal(hb_sio_handlers_count(t), 3);
    assert_ptr_equal(find(s[7], "publish")->cb, on_b);
    assert_ptr_equal(find(s[7], "join")->cb, on_a);
    assert_string_equal(find(s[7], "echo")->name, "echo");
    assert_null(find(s[7], "ech"));
    assert_null(find(s[7], "echoo"));
    for (int i = 0; i < 99; i++)
        hb_sio_handlers_release(t, s[i]);
    assert_int_equal(hb_sio_handlers_count(t), 3);
    assert_ptr_equal(find(s[99], "join")->cb, on_a);
    hb_sio_handlers_release(t, s[99]);
    assert_int_equal(hb_sio_handlers_count(t), 0);
    hb_sio_handlers_free(t);
}

/* A prefix is shared: a socket that registered one handler more holds a
 * list built on the others'. */
static void test_prefix_shared(void **state) {
    (void)state;
    hb_sio_handlers *t = hb_sio_handlers_new();
    hb_sio_hnode *a = NULL, *b = NULL;
    assert_int_equal(set(t, &a, "join", on_a, NULL), 0);
    assert_int_equal(set(t, &b, "join", on_a, NULL), 0);
    assert_int_equal(set(t, &b, "more", on_b, NULL), 0);
    assert_ptr_equal(b->parent, a);
    assert_int_equal(hb_sio_handlers_count(t), 2);
    hb_sio_handlers_release(t, a); /* b keeps "join" alive */
    assert_int_equal(hb_sio_handlers_count(t), 2);
    assert_ptr_equal(find(b, "join")->cb, on_a);
    hb_sio_handlers_release(t, b);
    assert_int_equal(hb_sio_handlers_count(t), 0);
    hb_sio_handlers_free(t);
}

/* The same name again replaces its handler for this socket only; the same
 * handler again changes nothing. */
static void test_replace(void **state) {
    (void)state;
    hb_sio_handlers *t = hb_sio_handlers_new();
    hb_sio_hnode *a = NULL, *b = NULL, *before;
    int ud1, ud2;
    assert_int_equal(set(t, &a, "x", on_a, &ud1), 0);
    assert_int_equal(set(t, &a, "y", on_a, &ud1), 0);
    assert_int_equal(set(t, &a, "z", on_a, &ud1), 0);
    assert_int_equal(set(t, &b, "x", on_a, &ud1), 0);
    assert_int_equal(set(t, &b, "y", on_a, &ud1), 0);
    assert_int_equal(set(t, &b, "z", on_a, &ud1), 0);
    assert_ptr_equal(a, b);
    before = a;
    assert_int_equal(set(t, &a, "y", on_a, &ud1), 0); /* the same: no change */
    assert_ptr_equal(a, before);
    assert_int_equal(set(t, &a, "y", on_b, &ud2), 0);
    assert_ptr_not_equal(a, b);
    assert_int_equal(length(a), 3);
    assert_ptr_equal(find(a, "y")->cb, on_b);
    assert_ptr_equal(find(a, "y")->ud, &ud2);
    assert_ptr_equal(find(a, "x")->cb, on_a);
    assert_ptr_equal(find(a, "z")->ud, &ud1);
    assert_ptr_equal(find(b, "y")->cb, on_a); /* b is untouched */
    assert_ptr_equal(find(b, "y")->ud, &ud1);
    /* Back and forth many times: the list does not grow. */
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(set(t, &a, "x", i % 2 ? on_a : on_b, NULL), 0);
        assert_int_equal(length(a), 3);
    }
    assert_true(hb_sio_handlers_count(t) <= 3 + 6);
    hb_sio_handlers_release(t, a);
    hb_sio_handlers_release(t, b);
    assert_int_equal(hb_sio_handlers_count(t), 0);
    hb_sio_handlers_free(t);
}

/* Per-socket user data makes per-socket lists, found by their own. */
static void test_own_user_data(void **state) {
    (void)state;
    enum { N = 2000 };
    hb_sio_handlers *t = hb_sio_handlers_new();
    static hb_sio_hnode *s[N];
    static int ud[N];
    for (int i = 0; i < N; i++) {
        s[i] = NULL;
        assert_int_equal(set(t, &s[i], "chat", on_a, &ud[i]), 0);
        assert_int_equal(set(t, &s[i], "bye", on_b, NULL), 0);
    }
    assert_int_equal(hb_sio_handlers_count(t), 2 * N);
    for (int i = 0; i < N; i++) {
        assert_ptr_equal(find(s[i], "chat")->ud, &ud[i]);
        assert_ptr_equal(find(s[i], "bye")->cb, on_b);
    }
    for (int i = 0; i < N; i += 2)
        hb_sio_handlers_release(t, s[i]);
    assert_int_equal(hb_sio_handlers_count(t), N);
    for (int i = 1; i < N; i += 2)
        assert_ptr_equal(find(s[i], "chat")->ud, &ud[i]);
    /* freed with lists alive: nothing leaks (ASan) */
    hb_sio_handlers_free(t);
}

/* More events than the replacement's inline room. */
static void test_many_events(void **state) {
    (void)state;
    hb_sio_handlers *t = hb_sio_handlers_new();
    hb_sio_hnode *a = NULL;
    char name[16];
    for (int i = 0; i < 100; i++) {
        snprintf(name, sizeof(name), "e%d", i);
        assert_int_equal(set(t, &a, name, on_a, NULL), 0);
    }
    assert_int_equal(set(t, &a, "e3", on_b, NULL), 0);
    assert_int_equal(length(a), 100);
    for (int i = 0; i < 100; i++) {
        snprintf(name, sizeof(name), "e%d", i);
        assert_ptr_equal(find(a, name)->cb, i == 3 ? on_b : on_a);
    }
    hb_sio_handlers_release(t, a);
    assert_int_equal(hb_sio_handlers_count(t), 0);
    hb_sio_handlers_free(t);
}

/* Names are byte strings: a NUL inside is part of the name. */
static void test_binary_names(void **state) {
    (void)state;
    hb_sio_handlers *t = hb_sio_handlers_new();
    hb_sio_hnode *a = NULL;
    assert_int_equal(hb_sio_handlers_set(t, &a, "a\0b", 3, on_a, NULL), 0);
    assert_int_equal(hb_sio_handlers_set(t, &a, "a", 1, on_b, NULL), 0);
    assert_ptr_equal(hb_sio_handlers_find(a, "a\0b", 3)->cb, on_a);
    assert_ptr_equal(hb_sio_handlers_find(a, "a", 1)->cb, on_b);
    assert_null(hb_sio_handlers_find(a, "a\0c", 3));
    hb_sio_handlers_release(t, a);
    hb_sio_handlers_free(t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_shared),
        cmocka_unit_test(test_prefix_shared),
        cmocka_unit_test(test_replace),
        cmocka_unit_test(test_own_user_data),
        cmocka_unit_test(test_many_events),
        cmocka_unit_test(test_binary_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
