/* Tests for src/api/filter.c: every term form, not/and/or with OData
 * precedence, quoting, whitespace and case rules, candidate groups and ids
 * for the shapes @azure/web-pubsub-socket.io sends, every parse error with
 * its message, and the length, nesting and node limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/filter.h"
#include "hubbub/error.h"

/* A connection for the tests: its groups as one space-separated list. */
typedef struct {
    const char *groups;
    int calls;
} conn_groups;

static int in_group(void *ud, const char *g, size_t len) {
    conn_groups *c = ud;
    const char *p = c->groups;
    assert_int_equal(g[len], '\0'); /* the header promises a NUL after */
    c->calls++;
    while (*p != '\0') {
        size_t n = strcspn(p, " ");
        if (n == len && memcmp(p, g, len) == 0)
            return 1;
        p += n;
        p += *p == ' ';
    }
    return 0;
}

static hb_filter *parse_ok(const char *text) {
    hb_filter *f = NULL;
    char err[256] = "untouched";
    int rc = hb_filter_parse(text, strlen(text), &f, err, sizeof(err));
    if (rc != 0)
        fail_msg("'%s' did not parse: %s", text, err);
    assert_non_null(f);
    assert_string_equal(err, "");
    return f;
}

/* Whether a connection (id cid, user uid or NULL, groups) matches text. */
static int matches(const char *text, const char *cid, const char *uid, const char *groups) {
    hb_filter *f = parse_ok(text);
    conn_groups c = {groups, 0};
    hb_filter_subject s = {cid, uid, in_group, &c};
    int r = hb_filter_match(f, &s);
    assert_true(r == 0 || r == 1);
    hb_filter_free(f);
    return r;
}

static int in_groups(const char *text, const char *groups) {
    return matches(text, "conn1", "user1", groups);
}

static void expect_error(const char *text, size_t len, const char *msg) {
    hb_filter *f = (hb_filter *)(uintptr_t)1;
    char err[256];
    memset(err, 'x', sizeof(err));
    assert_int_equal(hb_filter_parse(text, len, &f, err, sizeof(err)), HB_EINVAL);
    assert_ptr_equal(f, (hb_filter *)(uintptr_t)1); /* *out untouched */
    assert_string_equal(err, msg);
}

static void expect_err(const char *text, const char *msg) {
    expect_error(text, strlen(text), msg);
}

/* The candidate groups of text, as "a,b,c", or "*" when unbounded. */
static void expect_groups(const char *text, const char *want) {
    hb_filter *f = parse_ok(text);
    const hb_slice *g = (const hb_slice *)(uintptr_t)1;
    size_t n = 99;
    char got[512] = "";
    if (hb_filter_candidate_groups(f, &g, &n)) {
        assert_non_null(g);
        assert_true(n >= 1);
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(g[i].base[g[i].len], '\0');
            snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%.*s", i ? "," : "",
                     (int)g[i].len, (const char *)g[i].base);
        }
    } else {
        assert_null(g);
        assert_int_equal(n, 0);
        strcpy(got, "*");
    }
    hb_filter_free(f);
    assert_string_equal(got, want);
}

static void expect_ids(const char *text, const char *want) {
    hb_filter *f = parse_ok(text);
    const hb_slice *v = (const hb_slice *)(uintptr_t)1;
    size_t n = 99;
    char got[512] = "";
    if (hb_filter_candidate_connections(f, &v, &n)) {
        assert_non_null(v);
        for (size_t i = 0; i < n; i++)
            snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%.*s", i ? "," : "",
                     (int)v[i].len, (const char *)v[i].base);
    } else {
        assert_null(v);
        assert_int_equal(n, 0);
        strcpy(got, "*");
    }
    hb_filter_free(f);
    assert_string_equal(got, want);
}

static void test_in_groups(void **state) {
    (void)state;
    assert_true(in_groups("'a' in groups", "a"));
    assert_true(in_groups("'a' in groups", "x a y"));
    assert_false(in_groups("'a' in groups", "b"));
    assert_false(in_groups("'a' in groups", ""));
    assert_false(in_groups("'a' in groups", "ab"));
    /* The names the package builds: 0~base64url(ns)~base64url(room). */
    assert_true(in_groups("'0~Lw~' in groups", "0~Lw~"));
    assert_false(in_groups("'0~Lw~' in groups", "0~Lw~cjE"));
    assert_true(in_groups("'0~Lw~cjE' in groups", "0~Lw~ 0~Lw~cjE"));
    assert_true(in_groups("'0~Lw~Wml1UTV5X1l1bFN0T1pHQ0FBQUE' in groups",
                          "0~Lw~Wml1UTV5X1l1bFN0T1pHQ0FBQUE"));
    assert_true(in_groups("'0~L2NoYXQ~a-b_c-_9' in groups", "0~L2NoYXQ~a-b_c-_9"));
    assert_false(in_groups("'' in groups", "a")); /* "" is a name, if never used */
    expect_groups("'' in groups or 'b' in groups", ",b");

    /* No in_group callback: the connection is in no group. */
    {
        hb_filter *f = parse_ok("'a' in groups");
        hb_filter *g = parse_ok("not ('a' in groups)");
        hb_filter_subject s = {"c", NULL, NULL, NULL};
        assert_int_equal(hb_filter_match(f, &s), 0);
        assert_int_equal(hb_filter_match(g, &s), 1);
        hb_filter_free(f);
        hb_filter_free(g);
    }
}

static void test_connection_and_user(void **state) {
    (void)state;
    assert_true(matches("connectionId eq 'conn1'", "conn1", NULL, ""));
    assert_false(matches("connectionId eq 'conn1'", "conn2", NULL, ""));
    assert_false(matches("connectionId eq 'conn1'", "conn10", NULL, ""));
    assert_false(matches("connectionId eq 'conn1'", "conn", NULL, ""));
    assert_false(matches("connectionId eq 'Conn1'", "conn1", NULL, "")); /* values are exact */
    assert_true(matches("connectionId ne 'conn1'", "conn2", NULL, ""));
    assert_false(matches("connectionId ne 'conn1'", "conn1", NULL, ""));
    assert_true(matches("connectionId eq 'ZiuQ5y_YulStOZGCAAAA'", "ZiuQ5y_YulStOZGCAAAA", "u", ""));

    assert_true(matches("userId eq 'u1'", "c", "u1", ""));
    assert_false(matches("userId eq 'u1'", "c", "u2", ""));
    assert_false(matches("userId eq 'u1'", "c", NULL, ""));
    assert_false(matches("userId eq ''", "c", NULL, "")); /* anonymous is null, not "" */
    assert_true(matches("userId eq ''", "c", "", ""));
    assert_true(matches("userId ne 'u1'", "c", "u2", ""));
    assert_false(matches("userId ne 'u1'", "c", "u1", ""));
    assert_true(matches("userId ne 'u1'", "c", NULL, "")); /* OData: null ne 'u1' */
    assert_true(matches("userId eq null", "c", NULL, ""));
    assert_false(matches("userId eq null", "c", "u1", ""));
    assert_false(matches("userId ne null", "c", NULL, ""));
    assert_true(matches("userId ne null", "c", "u1", ""));
    /* A literal with a quote in it, and a string literal 'null'. */
    assert_true(matches("userId eq 'null'", "c", "null", ""));
    assert_false(matches("userId eq 'null'", "c", NULL, ""));
}

static void test_not(void **state) {
    (void)state;
    assert_false(in_groups("not ('a' in groups)", "a"));
    assert_true(in_groups("not ('a' in groups)", "b"));
    assert_true(in_groups("not ('a' in groups)", ""));
    assert_false(in_groups("not 'a' in groups", "a"));
    assert_true(in_groups("not 'a' in groups", "b"));
    assert_true(in_groups("not('a' in groups)", "b"));
    assert_true(in_groups("not not 'a' in groups", "a"));
    assert_false(in_groups("not (not ('a' in groups))", "b"));
    assert_false(matches("not connectionId eq 'c'", "c", NULL, ""));
    assert_true(matches("not (userId eq 'u')", "c", NULL, ""));
    assert_false(matches("not userId ne null", "c", "u", ""));
}

/* Every subset of {a, b, c} against f, compared with want(a, b, c). */
static void truth_table(const char *text, int (*want)(int, int, int)) {
    static const char *const sets[8] = {"", "a", "b", "a b", "c", "a c", "b c", "a b c"};
    for (int i = 0; i < 8; i++) {
        int got = in_groups(text, sets[i]);
        if (got != want(i & 1, (i >> 1) & 1, (i >> 2) & 1))
            fail_msg("'%s' on groups {%s}: got %d", text, sets[i], got);
    }
}

static int a_or_b_and_not_c(int a, int b, int c) {
    return a || (b && !c);
}
static int a_and_b_or_c(int a, int b, int c) {
    return (a && b) || c;
}
static int a_or_b_then_not_c(int a, int b, int c) {
    return (a || b) && !c;
}
static int not_a_and_b(int a, int b, int c) {
    (void)c;
    return !a && b;
}
static int not_a_and_b_grouped(int a, int b, int c) {
    (void)c;
    return !(a && b);
}
static int not_a_or_b_and_c(int a, int b, int c) {
    return !a || (b && c);
}
static int a_and_not_b_and_not_c(int a, int b, int c) {
    return a && !b && !c;
}

static void test_precedence(void **state) {
    (void)state;
    /* AZURE-WIRE.md 6: the allow part is not parenthesised. */
    truth_table("'a' in groups or 'b' in groups and not ('c' in groups)", a_or_b_and_not_c);
    truth_table("'a' in groups and 'b' in groups or 'c' in groups", a_and_b_or_c);
    truth_table("('a' in groups or 'b' in groups) and not ('c' in groups)", a_or_b_then_not_c);
    truth_table("not 'a' in groups and 'b' in groups", not_a_and_b);
    truth_table("not ('a' in groups and 'b' in groups)", not_a_and_b_grouped);
    truth_table("not 'a' in groups or 'b' in groups and 'c' in groups", not_a_or_b_and_c);
    /* The package's room + two except rooms. */
    truth_table("'a' in groups and not ('b' in groups) and not ('c' in groups)",
                a_and_not_b_and_not_c);
    truth_table("((('a' in groups))) or (('b' in groups) and (not (('c' in groups))))",
                a_or_b_and_not_c);

    assert_true(matches("connectionId eq 'x' or userId eq 'u' and 'g' in groups", "x", NULL, ""));
    assert_false(
        matches("(connectionId eq 'x' or userId eq 'u') and 'g' in groups", "x", NULL, ""));
    assert_true(matches("(connectionId eq 'x' or userId eq 'u') and 'g' in groups", "y", "u", "g"));
}

/* Evaluation stops once the answer is known. */
static void test_short_circuit(void **state) {
    hb_filter *f = parse_ok("'a' in groups or 'b' in groups or 'c' in groups");
    hb_filter *g = parse_ok("'a' in groups and 'b' in groups and 'c' in groups");
    conn_groups c = {"a", 0};
    hb_filter_subject s = {"id", NULL, in_group, &c};
    (void)state;
    assert_int_equal(hb_filter_match(f, &s), 1);
    assert_int_equal(c.calls, 1);
    c.calls = 0;
    c.groups = "x";
    assert_int_equal(hb_filter_match(g, &s), 0);
    assert_int_equal(c.calls, 1);
    c.calls = 0;
    assert_int_equal(hb_filter_match(f, &s), 0);
    assert_int_equal(c.calls, 3);
    hb_filter_free(f);
    hb_filter_free(g);
}

static void test_quotes(void **state) {
    (void)state;
    assert_true(in_groups("'it''s' in groups", "it's"));
    assert_false(in_groups("'it''s' in groups", "it''s"));
    assert_true(in_groups("'''' in groups", "'"));
    assert_true(in_groups("'a''' in groups", "a'"));
    assert_true(in_groups("'''a' in groups", "'a"));
    assert_true(in_groups("'a''''b' in groups", "a''b"));
    assert_true(matches("connectionId eq 'o''neil'", "o'neil", NULL, ""));
    assert_true(matches("userId eq 'x''' or userId eq 'y'", "c", "x'", ""));
    /* Keywords and parentheses inside strings are just bytes. */
    expect_groups("' or ''a'' in groups ) (' in groups", " or 'a' in groups ) (");
    expect_groups("'caf\xc3\xa9' in groups", "caf\xc3\xa9");
    /* Only the length bounds a string; a NUL inside never equals an id. */
    {
        static const char text[] = "connectionId eq 'a\0b'";
        hb_filter *f = NULL;
        char err[64];
        hb_filter_subject s = {"a", NULL, NULL, NULL};
        assert_int_equal(hb_filter_parse(text, sizeof(text) - 1, &f, err, sizeof(err)), 0);
        assert_int_equal(hb_filter_match(f, &s), 0);
        hb_filter_free(f);
    }
}

static void test_whitespace(void **state) {
    (void)state;
    assert_true(in_groups("  'a' in groups  ", "a"));
    assert_true(in_groups("\t'a'\tin\tgroups\t", "a"));
    assert_true(in_groups("'a'   in \t groups or\t'b' in groups", "b"));
    assert_true(in_groups("('a' in groups)", "a"));
    assert_true(in_groups("( 'a' in groups )", "a"));
    assert_true(in_groups("not('a' in groups)and('b' in groups)", "b"));
    /* A string ends a token, so no space is needed next to one. */
    assert_true(in_groups("'a'in groups or'b'in groups", "b"));
    assert_true(matches("userId eq'u'", "c", "u", ""));
    /* Text need not be NUL-terminated. */
    {
        hb_filter *f = NULL;
        char err[64];
        assert_int_equal(hb_filter_parse("'a' in groupsXYZ", 13, &f, err, sizeof(err)), 0);
        hb_filter_free(f);
    }
}

static void test_candidates(void **state) {
    (void)state;
    /* The shapes @azure/web-pubsub-socket.io produces. */
    expect_groups("'0~Lw~' in groups", "0~Lw~");
    expect_groups("'0~Lw~cjE' in groups or '0~Lw~cjI' in groups or '0~Lw~cjM' in groups",
                  "0~Lw~cjE,0~Lw~cjI,0~Lw~cjM");
    expect_groups("'a' in groups or 'b' in groups and not ('c' in groups)", "a,b");
    expect_groups("'a' in groups or 'b' in groups and not ('c' in groups) and not ('d' in groups)",
                  "a,b");
    expect_groups("'0~Lw~' in groups and not ('0~Lw~cjE' in groups)", "0~Lw~");
    expect_groups("connectionId eq 'x'", "*");
    expect_ids("connectionId eq 'ZiuQ5y_YulStOZGCAAAA'", "ZiuQ5y_YulStOZGCAAAA");
    expect_ids("connectionId eq 'x' or connectionId eq 'y'", "x,y");
    expect_ids("'a' in groups", "*");

    /* Others: bounded where that is sure, repeats dropped. */
    expect_groups("'a' in groups or 'b' in groups or 'a' in groups", "a,b");
    expect_groups("'a' in groups or ('b' in groups or 'a' in groups) or 'c' in groups or "
                  "'b' in groups or '' in groups or '' in groups",
                  "a,b,c,");
    expect_ids(
        "connectionId eq 'x' or connectionId eq 'y' or connectionId eq 'x' and 'x' in groups",
        "x,y");
    expect_groups("('a' in groups or 'b' in groups) and 'c' in groups", "c");
    expect_groups("'c' in groups and ('a' in groups or 'b' in groups)", "c");
    expect_groups("userId eq 'u' and 'g' in groups", "g");
    expect_groups("not not ('a' in groups)", "*"); /* correct, if pessimistic */
    expect_ids("connectionId eq 'x' and 'a' in groups", "x");
    expect_ids("connectionId eq 'x' or 'a' in groups", "*");
    expect_ids("connectionId eq 'x' or connectionId eq 'x'", "x");
    expect_ids("(connectionId eq 'x' or connectionId eq 'y') and not (connectionId eq 'y')", "x,y");

    /* Conservative 0: a match need not be in any listed group. */
    expect_groups("not ('a' in groups)", "*");
    expect_groups("userId eq 'u'", "*");
    expect_groups("userId eq null", "*");
    expect_groups("'a' in groups or userId eq 'u'", "*");
    expect_groups("'a' in groups or not ('b' in groups)", "*");
    expect_ids("connectionId ne 'x'", "*");
    expect_ids("not (connectionId eq 'x')", "*");
    expect_ids("userId eq 'x'", "*");
}

static void test_errors(void **state) {
    (void)state;
    expect_err("", "empty filter");
    expect_error(NULL, 0, "empty filter");
    expect_err(" \t ", "empty filter");
    expect_err("'abc", "unterminated string starting at position 0");
    expect_err("'a' in groups or 'it''s", "unterminated string starting at position 17");
    expect_err("'a''", "unterminated string starting at position 0");
    expect_err("'a' in groups foo",
               "unexpected 'foo' at position 14; expected 'and', 'or' or end of filter");
    expect_err("'a' in groups 'b' in groups",
               "unexpected string 'b' at position 14; expected 'and', 'or' or end of filter");
    expect_err("'a' in groups)",
               "unexpected ')' at position 13; expected 'and', 'or' or end of filter");
    expect_err("foo eq 'x'", "unexpected 'foo' at position 0; expected a string, 'connectionId', "
                             "'userId', 'not' or '('");
    expect_err("groups/any(g: g eq 'a')", "unexpected 'groups' at position 0; expected a string, "
                                          "'connectionId', 'userId', 'not' or '('");
    expect_err("true", "unexpected 'true' at position 0; expected a string, 'connectionId', "
                       "'userId', 'not' or '('");
    expect_err("connectionId == 'x'", "unexpected '==' at position 13; expected 'eq' or 'ne'");
    expect_err("connectionId gt 'x'", "unexpected 'gt' at position 13; expected 'eq' or 'ne'");
    expect_err("connectionId in ('a', 'b')",
               "unexpected 'in' at position 13; expected 'eq' or 'ne'");
    expect_err("userId", "unexpected end of filter at position 6; expected 'eq' or 'ne'");
    expect_err("userId eq 5", "unexpected '5' at position 10; expected a string or 'null'");
    expect_err("userId eq \"u\"", "unexpected '\"' at position 10; expected a string or 'null'");
    expect_err(
        "userId eq NULL",
        "unexpected 'NULL' at position 10; expected a string or 'null' (did you mean 'null'?)");
    expect_err("connectionId eq null", "unexpected 'null' at position 16; expected a string");
    expect_err("'a' eq groups", "unexpected 'eq' at position 4; expected 'in'");
    expect_err("'a'", "unexpected end of filter at position 3; expected 'in'");
    expect_err("'a' in users", "unexpected 'users' at position 7; expected 'groups'");
    expect_err("'a' in ('a')", "unexpected '(' at position 7; expected 'groups'");
    expect_err("contains(userId, 'x')", "unsupported function 'contains' at position 0; expected "
                                        "a string, 'connectionId', 'userId', 'not' or '('");
    expect_err("'a' in groups and startswith (userId, 'x')",
               "unsupported function 'startswith' at position 18; expected a string, "
               "'connectionId', 'userId', 'not' or '('");
    expect_err("('a' in groups",
               "unexpected end of filter at position 14; expected 'and', 'or' or ')'");
    expect_err("('a' in groups 'b'",
               "unexpected string 'b' at position 15; expected 'and', 'or' or ')'");
    expect_err("()", "unexpected ')' at position 1; expected a string, 'connectionId', 'userId', "
                     "'not' or '('");
    expect_err("'a' in groups and", "unexpected end of filter at position 17; expected a string, "
                                    "'connectionId', 'userId', 'not' or '('");
    expect_err("'a' in groups or or 'b' in groups",
               "unexpected 'or' at position 17; expected a "
               "string, 'connectionId', 'userId', 'not' or '('");
    expect_err("not", "unexpected end of filter at position 3; expected a string, 'connectionId', "
                      "'userId', 'not' or '('");
    expect_err("and 'a' in groups", "unexpected 'and' at position 0; expected a string, "
                                    "'connectionId', 'userId', 'not' or '('");

    /* Case: keywords and identifiers are case-sensitive, with a hint. */
    expect_err("'a' in groups AND 'b' in groups",
               "unexpected 'AND' at position 14; expected 'and', "
               "'or' or end of filter (did you mean 'and'?)");
    expect_err("NOT ('a' in groups)",
               "unexpected 'NOT' at position 0; expected a string, "
               "'connectionId', 'userId', 'not' or '(' (did you mean 'not'?)");
    expect_err("ConnectionId eq 'x'", "unexpected 'ConnectionId' at position 0; expected a string, "
                                      "'connectionId', 'userId', 'not' or '(' (did you mean "
                                      "'connectionId'?)");
    expect_err("userid eq 'x'", "unexpected 'userid' at position 0; expected a string, "
                                "'connectionId', 'userId', 'not' or '(' (did you mean 'userId'?)");
    expect_err("userId EQ 'x'",
               "unexpected 'EQ' at position 7; expected 'eq' or 'ne' (did you mean 'eq'?)");
    expect_err("'a' IN groups",
               "unexpected 'IN' at position 4; expected 'in' (did you mean 'in'?)");
    expect_err("'a' in Groups",
               "unexpected 'Groups' at position 7; expected 'groups' (did you mean 'groups'?)");

    /* Bytes that are not printable ASCII are shown escaped. */
    expect_err("'a' in groups\n",
               "unexpected '\\x0a' at position 13; expected 'and', 'or' or end of filter");
    expect_err("'a' in groups\r\n",
               "unexpected '\\x0d\\x0a' at position 13; expected 'and', 'or' or end "
               "of filter");
    expect_err("'a' in groups \xc3\xa9",
               "unexpected '\\xc3\\xa9' at position 14; expected 'and', 'or' or "
               "end of filter");
    expect_error("'a' in groups\0", 14,
                 "unexpected '\\x00' at position 13; expected 'and', 'or' or "
                 "end of filter");
    expect_err("'a' in groups or 'x\x01' eq 'y'", "unexpected 'eq' at position 22; expected 'in'");
    expect_err("'a\x01' eq 'y'", "unexpected 'eq' at position 5; expected 'in'");
    expect_err("'a' in groups 'ab\x7f'",
               "unexpected string 'ab\\x7f' at position 14; expected 'and', 'or' or end of filter");
    /* Long tokens are cut at 32 bytes. */
    expect_err("'a' in groups abcdefghijklmnopqrstuvwxyz0123456789ABCDEF",
               "unexpected 'abcdefghijklmnopqrstuvwxyz012345...' at position 14; expected 'and', "
               "'or' or end of filter");

    /* Arguments. */
    {
        char err[64];
        hb_filter *f = NULL;
        assert_int_equal(hb_filter_parse("'a' in groups", 13, NULL, err, sizeof(err)), HB_EINVAL);
        assert_string_equal(err, "no filter text or no place for the result");
        assert_int_equal(hb_filter_parse(NULL, 3, &f, err, sizeof(err)), HB_EINVAL);
        assert_string_equal(err, "no filter text or no place for the result");
        assert_null(f);
    }
}

/* err gets at most cap bytes, always NUL-terminated, and may be NULL. */
static void test_error_buffer(void **state) {
    hb_filter *f = NULL;
    char err[16];
    (void)state;
    memset(err, 'x', sizeof(err));
    assert_int_equal(hb_filter_parse("", 0, &f, err, 10), HB_EINVAL);
    assert_string_equal(err, "empty fil");
    assert_int_equal(err[10], 'x');
    memset(err, 'x', sizeof(err));
    assert_int_equal(hb_filter_parse("'a", 2, &f, err, 1), HB_EINVAL);
    assert_int_equal(err[0], '\0');
    assert_int_equal(err[1], 'x');
    assert_int_equal(hb_filter_parse("'a", 2, &f, NULL, 0), HB_EINVAL);
    assert_int_equal(hb_filter_parse("x", 1, &f, err, 0), HB_EINVAL);
    assert_int_equal(err[1], 'x');
    assert_null(f);
    /* Success clears it. */
    strcpy(err, "old");
    assert_int_equal(hb_filter_parse("userId eq null", 14, &f, err, sizeof(err)), 0);
    assert_string_equal(err, "");
    hb_filter_free(f);
    hb_filter_free(NULL);
}

static char *repeat(const char *head, const char *unit, size_t n, const char *sep,
                    const char *tail) {
    size_t len = strlen(head) + n * (strlen(unit) + strlen(sep)) + strlen(tail) + 1;
    char *s = malloc(len), *p = s;
    assert_non_null(s);
    p += sprintf(p, "%s", head);
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, "%s%s", i ? sep : "", unit);
    sprintf(p, "%s", tail);
    return s;
}

static void test_limits(void **state) {
    char *s, err[128];
    hb_filter *f = NULL;
    const hb_slice *g;
    size_t n;
    (void)state;

    /* 65536 bytes parse; one more does not. */
    s = malloc(HB_FILTER_MAX_LEN + 2);
    assert_non_null(s);
    memset(s, 'g', HB_FILTER_MAX_LEN + 1);
    s[0] = '\'';
    memcpy(s + HB_FILTER_MAX_LEN - 11, "' in groups", 11);
    assert_int_equal(hb_filter_parse(s, HB_FILTER_MAX_LEN, &f, err, sizeof(err)), 0);
    assert_int_equal(hb_filter_candidate_groups(f, &g, &n), 1);
    assert_int_equal(n, 1);
    assert_int_equal(g[0].len, HB_FILTER_MAX_LEN - 12);
    hb_filter_free(f);
    memcpy(s + HB_FILTER_MAX_LEN - 10, "' in groups", 11);
    expect_error(s, HB_FILTER_MAX_LEN + 1, "filter is longer than 65536 bytes");
    free(s);

    /* 64 levels of "(" or "not" parse; 65 do not. */
    s = repeat("", "(", 64, "", "'a' in groups");
    {
        char *t = repeat(s, ")", 64, "", "");
        assert_true(in_groups(t, "a"));
        free(t);
    }
    free(s);
    s = repeat("", "(", 65, "", "'a' in groups");
    expect_err(s, "nesting deeper than 64 at position 64");
    free(s);
    s = repeat("", "not", 64, " ", " 'a' in groups");
    assert_true(in_groups(s, "a"));
    assert_false(in_groups(s, "b"));
    free(s);
    s = repeat("", "not", 65, " ", " 'a' in groups");
    expect_err(s, "nesting deeper than 64 at position 256");
    free(s);
    s = repeat("", "not (", 32, "", "'a' in groups");
    {
        char *t = repeat(s, ")", 32, "", "");
        assert_true(in_groups(t, "a")); /* an even number of nots */
        assert_false(in_groups(t, "b"));
        free(t);
    }
    free(s);
    s = repeat("", "not (", 33, "", "'a' in groups");
    expect_err(s, "nesting deeper than 64 at position 160");
    free(s);
    /* Depth is what is open at once, not a total. */
    s = repeat("", "((('a' in groups)))", 1000, " or ", "");
    assert_true(in_groups(s, "a"));
    free(s);

    /* 4096 nodes (4095 terms under one or) parse; 4097 do not. */
    s = repeat("", "'a'in groups", 4095, " or ", "");
    assert_true(strlen(s) <= HB_FILTER_MAX_LEN);
    assert_true(in_groups(s, "a"));
    expect_groups(s, "a");
    free(s);
    s = repeat("", "'a'in groups", 4096, " or ", "");
    assert_true(strlen(s) <= HB_FILTER_MAX_LEN);
    expect_err(s, "filter too complex: more than 4096 nodes at position 65520");
    free(s);

    /* Many distinct candidates all come back, in order. */
    s = malloc(4000 * 24);
    assert_non_null(s);
    {
        char *p = s;
        for (int i = 0; i < 3000; i++)
            p += sprintf(p, "%s'g%d'in groups", i ? " or " : "", i);
    }
    assert_int_equal(hb_filter_parse(s, strlen(s), &f, err, sizeof(err)), 0);
    assert_int_equal(hb_filter_candidate_groups(f, &g, &n), 1);
    assert_int_equal(n, 3000);
    assert_int_equal(g[0].len, 2);
    assert_memory_equal(g[0].base, "g0", 2);
    assert_int_equal(g[2999].len, 5);
    assert_memory_equal(g[2999].base, "g2999", 5);
    hb_filter_free(f);
    free(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_groups),     cmocka_unit_test(test_connection_and_user),
        cmocka_unit_test(test_not),           cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_short_circuit), cmocka_unit_test(test_quotes),
        cmocka_unit_test(test_whitespace),    cmocka_unit_test(test_candidates),
        cmocka_unit_test(test_errors),        cmocka_unit_test(test_error_buffer),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
