/* Tests for src/hub/hub.c: connections by id, users as their own groups
 * (found without a scan, a connection without a user in none), and the
 * watcher the cluster uses: every connection added and removed, each group
 * and user of a hub on its first connection and its last. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "hub/hub.h"

typedef struct seen {
    char text[512];
} seen;

/* Appends "<sign><kind>:<name> " to the log. */
static void note(seen *s, int sign, char kind, const char *a, size_t alen) {
    size_t n = strlen(s->text);
    snprintf(s->text + n, sizeof(s->text) - n, "%c%c:%.*s ", sign ? '+' : '-', kind, (int)alen, a);
}

static void on_conn(void *ud, hb_hub *hub, hb_hub_conn *c, int added) {
    (void)hub;
    note(ud, added, 'c', c->id, strlen(c->id));
}

static void on_group(void *ud, hb_hub *hub, const char *name, size_t len, int alive, void **slot) {
    (void)hub, (void)slot;
    note(ud, alive, 'g', name, len);
}

static void on_user(void *ud, hb_hub *hub, const char *name, size_t len, int alive, void **slot) {
    (void)hub, (void)slot;
    note(ud, alive, 'u', name, len);
}

static void test_watch_and_users(void **state) {
    hb_hubs *hubs = hb_hubs_new();
    seen s = {""};
    hb_hubs_watch w = {on_conn, on_group, on_user, &s};
    hb_hub *hub;
    hb_hub_conn a = {0}, b = {0}, c = {0};
    hb_group_vec v = {0};
    hb_groups_filter f = {0};
    hb_slice ann = {(const uint8_t *)"ann", 3};
    (void)state;
    hb_hubs_set_watch(hubs, &w);
    hub = hb_hubs_get(hubs, "chat", 1);
    assert_non_null(hub);
    a.id = "A", a.user_id = "ann";
    b.id = "B", b.user_id = "ann";
    c.id = "C"; /* anonymous */
    assert_int_equal(hb_hub_add(hub, &a), 0);
    assert_int_equal(hb_hub_add(hub, &b), 0);
    assert_int_equal(hb_hub_add(hub, &c), 0);
    assert_ptr_equal(hb_hub_find(hub, "B"), &b);
    assert_int_equal(hb_groups_size(hb_hub_users(hub), "ann", 3), 2);
    f.to = &ann;
    f.nto = 1;
    assert_int_equal(hb_groups_select(hb_hub_users(hub), &f, &v), 0);
    assert_int_equal(v.n, 2);
    assert_ptr_equal(hb_hub_conn_of_user(v.items[0]), &a);
    assert_ptr_equal(hb_hub_conn_of_user(v.items[1]), &b);
    hb_group_vec_free(&v);
    assert_int_equal(hb_groups_join(hb_hub_groups(hub), &c.member, "room", 4), 0);
    hb_hub_remove(hub, &a);
    hb_hub_remove(hub, &c); /* leaves its group too */
    hb_hub_remove(hub, &b);
    assert_string_equal(s.text, "+u:ann +c:A +c:B +c:C +g:room -c:A -g:room -c:C -u:ann -c:B ");
    assert_int_equal(hb_hub_count(hub), 0);
    hb_hubs_drop_unused(hubs, hub);
    assert_null(hb_hubs_next(hubs, NULL));
    hb_hubs_free(hubs, NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_watch_and_users),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
