/* Tests for the connection permission sets (src/hub/perm.c): grants for
 * every group and for one, revokes of either, token roles. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "hub/perm.h"
#include "hubbub/error.h"

static void test_grant_and_has(void **state) {
    char *set = NULL;
    (void)state;
    assert_false(hb_perm_has(set, "sendToGroup", "g"));
    assert_int_equal(hb_perm_grant(&set, "sendToGroup", "g"), 0);
    assert_true(hb_perm_has(set, "sendToGroup", "g"));
    assert_false(hb_perm_has(set, "sendToGroup", "h"));
    assert_false(hb_perm_has(set, "sendToGroup", NULL));
    assert_false(hb_perm_has(set, "joinLeaveGroup", "g"));
    /* a group whose name extends another's is another group */
    assert_false(hb_perm_has(set, "sendToGroup", "gg"));
    assert_int_equal(hb_perm_grant(&set, "sendToGroup", "g"), 0); /* once */
    assert_int_equal(hb_perm_grant(&set, "joinLeaveGroup", NULL), 0);
    assert_true(hb_perm_has(set, "joinLeaveGroup", "any"));
    assert_true(hb_perm_has(set, "joinLeaveGroup", NULL));
    assert_int_equal(hb_perm_grant(&set, "deleteEverything", NULL), HB_EINVAL);
    free(set);
}

static void test_revoke(void **state) {
    char *set = NULL;
    (void)state;
    hb_perm_grant(&set, "sendToGroup", "a");
    hb_perm_grant(&set, "sendToGroup", "b");
    hb_perm_grant(&set, "sendToGroup", NULL);
    hb_perm_grant(&set, "joinLeaveGroup", "a");
    hb_perm_revoke(&set, "sendToGroup", "a");
    assert_true(hb_perm_has(set, "sendToGroup", "b"));
    hb_perm_revoke(&set, "sendToGroup", NULL); /* every group, and each one */
    assert_false(hb_perm_has(set, "sendToGroup", "b"));
    assert_false(hb_perm_has(set, "sendToGroup", NULL));
    assert_true(hb_perm_has(set, "joinLeaveGroup", "a"));
    hb_perm_revoke(&set, "joinLeaveGroup", "a");
    assert_null(set); /* the empty set is NULL again */
    hb_perm_revoke(&set, "joinLeaveGroup", "a");
}

static void test_roles(void **state) {
    char *set = NULL;
    (void)state;
    assert_int_equal(hb_perm_grant_role(&set, "admin"), 0);
    assert_int_equal(hb_perm_grant_role(&set, "webpubsub.sendToGroup."), 0);
    assert_int_equal(hb_perm_grant_role(&set, "webpubsub.nothing"), 0);
    assert_null(set);
    assert_int_equal(hb_perm_grant_role(&set, "webpubsub.sendToGroup.team.a"), 0);
    assert_true(hb_perm_has(set, "sendToGroup", "team.a"));
    assert_int_equal(hb_perm_grant_role(&set, "webpubsub.joinLeaveGroup"), 0);
    assert_true(hb_perm_has(set, "joinLeaveGroup", "x"));
    free(set);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grant_and_has),
        cmocka_unit_test(test_revoke),
        cmocka_unit_test(test_roles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
