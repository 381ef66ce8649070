/* Tests for hb_rest_scope_of() (src/api/rest.c): where each REST call acts
 * in a cluster — one connection, the hub, a group, a user, an exists
 * query, :invoke, a user's group membership, a group listing, or this
 * node alone — and the connection ids a filter narrows a hub call to;
 * and for hb_rest_list_merge(), which makes one page of a group listing
 * out of the pages of several nodes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/rest.h"
#include "hubbub/error.h"

typedef struct row {
    const char *method, *path, *query, *body;
    int kind;
    const char *target;
} row;

static void test_table(void **state) {
    static const row rows[] = {
        {"POST", "/api/hubs/h/:send", "", "", HB_REST_HUB, ""},
        {"POST", "/api/hubs/h/:closeConnections", "", "", HB_REST_HUB, ""},
        {"POST", "/api/hubs/h/:addToGroups", "", "{\"groups\":[\"g\"]}", HB_REST_HUB, ""},
        {"POST", "/api/hubs/h/:removeFromGroups", "", "{\"groups\":[\"g\"]}", HB_REST_HUB, ""},
        {"POST", "/api/hubs/h/:invoke", "", "", HB_REST_INVOKE, ""},
        {"POST", "/api/hubs/h/:generateToken", "userId=a", "", HB_REST_HERE, ""},
        {"HEAD", "/api/hubs/h/connections/abc", "", "", HB_REST_CONN, "abc"},
        {"DELETE", "/api/hubs/h/connections/abc", "", "", HB_REST_CONN, "abc"},
        {"POST", "/api/hubs/h/connections/a%20b/:send", "", "", HB_REST_CONN, "a b"},
        {"DELETE", "/api/hubs/h/connections/abc/groups", "", "", HB_REST_CONN, "abc"},
        {"PUT", "/api/hubs/h/groups/g/connections/abc", "", "", HB_REST_CONN, "abc"},
        {"POST", "/api/hubs/h/groups/g%2F1/:send", "", "", HB_REST_GROUP, "g/1"},
        {"POST", "/api/hubs/h/groups/g/:closeConnections", "", "", HB_REST_GROUP, "g"},
        {"HEAD", "/api/hubs/h/groups/g", "", "", HB_REST_GROUP_EXISTS, "g"},
        {"POST", "/api/hubs/h/users/u/:send", "", "", HB_REST_USER, "u"},
        {"POST", "/api/hubs/h/users/u/:closeConnections", "", "", HB_REST_USER, "u"},
        {"HEAD", "/api/hubs/h/users/u", "", "", HB_REST_USER_EXISTS, "u"},
        {"PUT", "/api/hubs/h/permissions/sendToGroup/connections/abc", "targetName=g", "",
         HB_REST_CONN, "abc"},
        {"HEAD", "/api/hubs/h/permissions/joinLeaveGroup/connections/abc", "", "", HB_REST_CONN,
         "abc"},
        {"PUT", "/api/hubs/h/users/u/groups/g", "", "", HB_REST_USER_GROUPS, "u"},
        {"DELETE", "/api/hubs/h/users/u/groups/g", "", "", HB_REST_USER_GROUPS, "u"},
        {"DELETE", "/api/hubs/h/users/u%2F1/groups", "", "", HB_REST_USER_GROUPS, "u/1"},
        {"PUT", "/api/hubs/h/users/u/groups", "", "", HB_REST_HERE, ""},
        {"GET", "/api/hubs/h/groups/g/connections", "maxpagesize=2", "", HB_REST_GROUP_LIST, "g"},
        {"POST", "/api/hubs/h/groups/g/connections", "", "", HB_REST_HERE, ""},
        {"GET", "/api/hubs/h/nothing", "", "", HB_REST_HERE, ""},
        {"POST", "/elsewhere", "", "", HB_REST_HERE, ""},
        {"POST", "/api/hubs/h", "", "", HB_REST_HERE, ""},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        hb_rest_scope sc;
        const row *r = &rows[i];
        hb_rest_scope_of(r->method, r->path, r->query, (const uint8_t *)r->body, strlen(r->body),
                         &sc);
        assert_int_equal(sc.kind, r->kind);
        assert_string_equal(sc.target, r->target);
        if (r->kind != HB_REST_HERE || strncmp(r->path, "/api/hubs/h/", 12) == 0)
            assert_string_equal(sc.hub, "h");
        assert_int_equal(sc.nids, 0);
    }
}

static void test_filter_ids(void **state) {
    static const char join[] =
        "{\"groups\":[\"r\"],\"filter\":\"connectionId eq 'n1aaaaaaX' or connectionId eq 'n1aaaaaaY'\"}";
    hb_rest_scope sc;
    (void)state;
    hb_rest_scope_of("POST", "/api/hubs/h/:addToGroups", "", (const uint8_t *)join,
                     strlen(join), &sc);
    assert_int_equal(sc.kind, HB_REST_HUB);
    assert_int_equal(sc.membership, 1);
    assert_int_equal(sc.nids, 2);
    assert_string_equal(sc.ids[0], "n1aaaaaaX");
    assert_string_equal(sc.ids[1], "n1aaaaaaY");
    /* from the query for :send; anything else in the filter widens it */
    hb_rest_scope_of("POST", "/api/hubs/h/:send", "filter=connectionId%20eq%20'abc'",
                     (const uint8_t *)"", 0, &sc);
    assert_int_equal(sc.membership, 0);
    assert_int_equal(sc.nids, 1);
    assert_string_equal(sc.ids[0], "abc");
    hb_rest_scope_of("POST", "/api/hubs/h/:send",
                     "filter=connectionId%20eq%20'abc'%20or%20userId%20eq%20'u'",
                     (const uint8_t *)"", 0, &sc);
    assert_int_equal(sc.nids, 0);
}

#define PART(s) {(const uint8_t *)(s), sizeof(s) - 1}

static void test_list_merge(void **state) {
    /* Two nodes' first pages of 2: a page is the smallest ids of all. */
    static const hb_rest_part parts[] = {
        PART("{\"value\":[{\"connectionId\":\"b\"},{\"connectionId\":\"d\",\"userId\":\"u\"}],"
             "\"nextLink\":\"/x\"}"),
        PART("{\"value\":[{\"connectionId\":\"a\"},{\"connectionId\":\"c\"}]}"),
        PART("not json: a node that answered garbage adds nothing"),
    };
    const char *path = "/api/hubs/h/groups/g%201/connections";
    char *out = NULL;
    (void)state;
    assert_int_equal(hb_rest_list_merge(path, "maxpagesize=2&api-version=2024-01-01", parts, 3, &out), 0);
    assert_string_equal(out,
                        "{\"value\":[{\"connectionId\":\"a\"},{\"connectionId\":\"b\"}],"
                        "\"nextLink\":\"/api/hubs/h/groups/g%201/connections?maxpagesize=2"
                        "&continuationToken=b&api-version=2024-01-01\"}");
    free(out);
    /* top: what is left of it goes on in the link; once reached, no link */
    assert_int_equal(hb_rest_list_merge(path, "maxpagesize=3&top=5", parts, 2, &out), 0);
    assert_non_null(strstr(out, "?maxpagesize=3&top=2&continuationToken=c\""));
    free(out);
    assert_int_equal(hb_rest_list_merge(path, "top=3", parts, 2, &out), 0);
    assert_null(strstr(out, "nextLink"));
    free(out);
    /* the last page: every node's rest fits, no link */
    assert_int_equal(hb_rest_list_merge(path, "continuationToken=b", parts + 1, 1, &out), 0);
    assert_string_equal(out, "{\"value\":[{\"connectionId\":\"a\"},{\"connectionId\":\"c\"}]}");
    free(out);
    /* no node answered: an empty page */
    assert_int_equal(hb_rest_list_merge(path, "", NULL, 0, &out), 0);
    assert_string_equal(out, "{\"value\":[]}");
    free(out);
    assert_int_equal(hb_rest_list_merge(path, "maxpagesize=0", parts, 2, &out), HB_EINVAL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_filter_ids),
        cmocka_unit_test(test_list_merge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
