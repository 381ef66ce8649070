/* Tests for src/groups/groups.c: registering and removing members, joining
 * and leaving (twice, or groups one is not in), groups dropped when they
 * empty, a member's groups in join order, selection (every member, the union
 * of several groups in order, except groups, skip, groups that do not
 * exist), names with NULs and binary bytes, 10,000 groups and hundreds of
 * members, freeing a registry with members still in groups, the watcher
 * told of each group's first and last member, named members (a group of
 * their own, which they may leave and join again, beside groups of the
 * same name), and random operations checked against a plain model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "groups/groups.h"
#include "hubbub/error.h"

/* A member's owner, as a socket would embed it; the member is deliberately
 * not the first field. */
typedef struct {
    int id;
    hb_group_member gm;
} sock;

static sock *sock_of(const hb_group_member *m) {
    return (sock *)(void *)((char *)m - offsetof(sock, gm));
}

static void init_socks(sock *s, size_t n) {
    memset(s, 0, n * sizeof(*s));
    for (size_t i = 0; i < n; i++)
        s[i].id = (int)i;
}

static int join(hb_groups *g, sock *s, const char *name) {
    return hb_groups_join(g, &s->gm, name, strlen(name));
}

static int leave(hb_groups *g, sock *s, const char *name) {
    return hb_groups_leave(g, &s->gm, name, strlen(name));
}

static int has(const sock *s, const char *name) {
    return hb_groups_has(&s->gm, name, strlen(name));
}

static size_t size(const hb_groups *g, const char *name) {
    return hb_groups_size(g, name, strlen(name));
}

static hb_slice sl(const char *s) {
    hb_slice r = {(const uint8_t *)s, strlen(s)};
    return r;
}

/* Selects with f into a fresh vector and checks the ids, in order. */
static void expect_select(hb_groups *g, const hb_groups_filter *f, const int *ids, size_t n) {
    hb_group_vec v = {0};
    assert_int_equal(hb_groups_select(g, f, &v), 0);
    if (v.n != n) {
        char got[512] = "";
        size_t off = 0;
        for (size_t i = 0; i < v.n && off < sizeof(got) - 16; i++)
            off += (size_t)snprintf(got + off, sizeof(got) - off, " %d", sock_of(v.items[i])->id);
        fail_msg("selected %zu members (%s), want %zu", v.n, got, n);
    }
    for (size_t i = 0; i < n; i++)
        if (sock_of(v.items[i])->id != ids[i])
            fail_msg("selected[%zu] = %d, want %d", i, sock_of(v.items[i])->id, ids[i]);
    hb_group_vec_free(&v);
    assert_null(v.items);
    assert_int_equal(v.n, 0);
}

#define EXPECT(g, f, ...)                                                          \
    do {                                                                           \
        const int want_[] = {__VA_ARGS__};                                         \
        expect_select((g), (f), want_, sizeof(want_) / sizeof(want_[0]));          \
    } while (0)
#define EXPECT_NONE(g, f) expect_select((g), (f), NULL, 0)

/* Checks a member's groups, in join order, as C strings. */
static void expect_links(const sock *s, const char *const *names, size_t n) {
    size_t i = 0;
    for (const hb_group_link *l = s->gm.links; l != NULL; l = hb_group_link_next(l), i++) {
        size_t len;
        const char *name = hb_group_link_name(l, &len);
        if (i >= n)
            fail_msg("member %d: extra group \"%.*s\"", s->id, (int)len, name);
        if (len != strlen(names[i]) || memcmp(name, names[i], len) != 0)
            fail_msg("member %d: group %zu is \"%.*s\", want \"%s\"", s->id, i, (int)len, name,
                     names[i]);
        assert_int_equal(name[len], '\0');
    }
    if (i != n)
        fail_msg("member %d: %zu groups, want %zu", s->id, i, n);
}

#define LINKS(s, ...)                                                              \
    do {                                                                           \
        const char *const want_[] = {__VA_ARGS__};                                 \
        expect_links((s), want_, sizeof(want_) / sizeof(want_[0]));                \
    } while (0)

static void test_empty_registry(void **state) {
    (void)state;
    hb_groups_free(NULL);
    hb_groups *g = hb_groups_new();
    assert_non_null(g);
    assert_int_equal(hb_groups_count(g), 0);
    assert_int_equal(size(g, "room"), 0);
    hb_groups_filter all = {0};
    EXPECT_NONE(g, &all);
    hb_slice to[] = {sl("room")};
    hb_groups_filter f = {.to = to, .nto = 1};
    EXPECT_NONE(g, &f);
    hb_group_vec v = {0};
    hb_group_vec_free(&v); /* a zeroed vector is fine to free */
    hb_groups_free(g);
}

static void test_add_remove(void **state) {
    (void)state;
    sock s[4];
    init_socks(s, 4);
    hb_groups *g = hb_groups_new();
    hb_groups_filter all = {0};
    for (int i = 0; i < 4; i++)
        hb_groups_add(g, &s[i].gm);
    assert_int_equal(hb_groups_count(g), 4);
    assert_null(s[0].gm.links);
    EXPECT(g, &all, 0, 1, 2, 3);

    hb_groups_remove(g, &s[1].gm); /* middle */
    assert_int_equal(hb_groups_count(g), 3);
    EXPECT(g, &all, 0, 2, 3);
    hb_groups_remove(g, &s[0].gm); /* head */
    EXPECT(g, &all, 2, 3);
    hb_groups_remove(g, &s[3].gm); /* tail */
    EXPECT(g, &all, 2);
    assert_int_equal(hb_groups_count(g), 1);

    /* Registering again puts a member last. */
    hb_groups_add(g, &s[0].gm);
    hb_groups_add(g, &s[3].gm);
    EXPECT(g, &all, 2, 0, 3);
    hb_groups_remove(g, &s[2].gm); /* head */
    hb_groups_remove(g, &s[0].gm);
    hb_groups_remove(g, &s[3].gm);
    assert_int_equal(hb_groups_count(g), 0);
    EXPECT_NONE(g, &all);
    hb_groups_add(g, &s[1].gm);
    EXPECT(g, &all, 1);
    hb_groups_remove(g, &s[1].gm);
    hb_groups_free(g);
}

static void test_join_leave(void **state) {
    (void)state;
    sock s[3];
    init_socks(s, 3);
    hb_groups *g = hb_groups_new();
    for (int i = 0; i < 3; i++)
        hb_groups_add(g, &s[i].gm);

    assert_int_equal(join(g, &s[0], "room"), 0);
    assert_int_equal(join(g, &s[1], "room"), 0);
    assert_true(has(&s[0], "room"));
    assert_true(has(&s[1], "room"));
    assert_false(has(&s[2], "room"));
    assert_int_equal(size(g, "room"), 2);

    /* Joining twice is one membership. */
    assert_int_equal(join(g, &s[0], "room"), 0);
    assert_int_equal(size(g, "room"), 2);
    LINKS(&s[0], "room");
    hb_slice to[] = {sl("room")};
    hb_groups_filter f = {.to = to, .nto = 1};
    EXPECT(g, &f, 0, 1);

    /* Leaving: 1 when it was in, 0 otherwise, and nothing else changes. */
    assert_int_equal(leave(g, &s[2], "room"), 0);
    assert_int_equal(leave(g, &s[2], "nowhere"), 0);
    assert_int_equal(leave(g, &s[0], "nowhere"), 0);
    assert_int_equal(size(g, "room"), 2);
    assert_int_equal(leave(g, &s[0], "room"), 1);
    assert_false(has(&s[0], "room"));
    assert_null(s[0].gm.links);
    assert_int_equal(size(g, "room"), 1);
    EXPECT(g, &f, 1);
    assert_int_equal(leave(g, &s[0], "room"), 0);
    assert_int_equal(size(g, "room"), 1);

    /* Rejoining puts the member last in the group. */
    assert_int_equal(join(g, &s[0], "room"), 0);
    EXPECT(g, &f, 1, 0);
    assert_int_equal(size(g, "room"), 2);

    for (int i = 0; i < 3; i++)
        hb_groups_remove(g, &s[i].gm);
    hb_groups_free(g);
}

static void test_group_dropped_when_empty(void **state) {
    (void)state;
    sock s[2];
    init_socks(s, 2);
    hb_groups *g = hb_groups_new();
    hb_groups_add(g, &s[0].gm);
    hb_groups_add(g, &s[1].gm);
    hb_slice to[] = {sl("r")};
    hb_groups_filter f = {.to = to, .nto = 1};

    assert_int_equal(join(g, &s[0], "r"), 0);
    assert_int_equal(join(g, &s[1], "r"), 0);
    assert_int_equal(join(g, &s[1], "other"), 0);
    assert_int_equal(leave(g, &s[0], "r"), 1);
    assert_int_equal(size(g, "r"), 1);
    assert_int_equal(leave(g, &s[1], "r"), 1);
    assert_int_equal(size(g, "r"), 0);
    EXPECT_NONE(g, &f);
    assert_int_equal(size(g, "other"), 1); /* the others are untouched */

    /* Recreated on the next join, with only its new members. */
    assert_int_equal(join(g, &s[1], "r"), 0);
    assert_int_equal(size(g, "r"), 1);
    EXPECT(g, &f, 1);

    /* Removing the last member drops the groups too. */
    hb_groups_remove(g, &s[1].gm);
    assert_int_equal(size(g, "r"), 0);
    assert_int_equal(size(g, "other"), 0);
    EXPECT_NONE(g, &f);
    hb_groups_remove(g, &s[0].gm);
    hb_groups_free(g);
}

static void test_has_exact_name(void **state) {
    (void)state;
    sock s[1];
    init_socks(s, 1);
    hb_groups *g = hb_groups_new();
    hb_groups_add(g, &s[0].gm);
    assert_false(has(&s[0], "ab"));
    assert_int_equal(join(g, &s[0], "ab"), 0);
    assert_true(has(&s[0], "ab"));
    assert_false(has(&s[0], "a"));
    assert_false(has(&s[0], "abc"));
    assert_false(has(&s[0], "AB"));
    assert_false(has(&s[0], ""));
    assert_int_equal(size(g, "a"), 0);
    assert_int_equal(size(g, "abc"), 0);
    assert_int_equal(hb_groups_has(&s[0].gm, "abc", 2), 1); /* only len bytes count */
    hb_groups_remove(g, &s[0].gm);
    assert_false(has(&s[0], "ab"));
    hb_groups_free(g);
}

static void test_links_join_order(void **state) {
    (void)state;
    sock s[1];
    init_socks(s, 1);
    hb_groups *g = hb_groups_new();
    hb_groups_add(g, &s[0].gm);
    assert_null(s[0].gm.links);
    assert_int_equal(join(g, &s[0], "c"), 0);
    assert_int_equal(join(g, &s[0], "a"), 0);
    assert_int_equal(join(g, &s[0], "b"), 0);
    assert_int_equal(join(g, &s[0], "a"), 0); /* no move, no copy */
    LINKS(&s[0], "c", "a", "b");
    assert_int_equal(leave(g, &s[0], "a"), 1); /* middle */
    LINKS(&s[0], "c", "b");
    assert_int_equal(join(g, &s[0], "a"), 0);
    LINKS(&s[0], "c", "b", "a");
    assert_int_equal(leave(g, &s[0], "c"), 1); /* head */
    LINKS(&s[0], "b", "a");
    assert_int_equal(leave(g, &s[0], "a"), 1); /* tail */
    LINKS(&s[0], "b");
    assert_int_equal(join(g, &s[0], "d"), 0);
    LINKS(&s[0], "b", "d");
    assert_int_equal(leave(g, &s[0], "b"), 1);
    assert_int_equal(leave(g, &s[0], "d"), 1);
    assert_null(s[0].gm.links);
    hb_groups_remove(g, &s[0].gm);
    hb_groups_free(g);
}

static void test_select_all(void **state) {
    (void)state;
    sock s[5];
    init_socks(s, 5);
    hb_groups *g = hb_groups_new();
    /* Registered 3, 1, 4, 0, 2; joins in another order must not matter. */
    const int reg[] = {3, 1, 4, 0, 2};
    for (int i = 0; i < 5; i++)
        hb_groups_add(g, &s[reg[i]].gm);
    assert_int_equal(join(g, &s[2], "x"), 0);
    assert_int_equal(join(g, &s[0], "x"), 0);
    assert_int_equal(join(g, &s[4], "y"), 0);

    hb_groups_filter all = {0};
    EXPECT(g, &all, 3, 1, 4, 0, 2);
    hb_groups_filter skip = {.skip = &s[4].gm};
    EXPECT(g, &skip, 3, 1, 0, 2);
    hb_slice ex[] = {sl("x")};
    hb_groups_filter exc = {.except = ex, .nexcept = 1};
    EXPECT(g, &exc, 3, 1, 4);
    hb_slice ex2[] = {sl("x"), sl("y")};
    hb_groups_filter exc2 = {.except = ex2, .nexcept = 2, .skip = &s[1].gm};
    EXPECT(g, &exc2, 3);
    hb_slice ex_none[] = {sl("nope")};
    hb_groups_filter exc3 = {.except = ex_none, .nexcept = 1};
    EXPECT(g, &exc3, 3, 1, 4, 0, 2);

    /* The stamps of one selection do not leak into the next. */
    EXPECT(g, &all, 3, 1, 4, 0, 2);

    for (int i = 0; i < 5; i++)
        hb_groups_remove(g, &s[i].gm);
    hb_groups_free(g);
}

static void test_select_union(void **state) {
    (void)state;
    sock s[6];
    init_socks(s, 6);
    hb_groups *g = hb_groups_new();
    for (int i = 0; i < 6; i++)
        hb_groups_add(g, &s[i].gm);
    /* a: 3, 1     b: 2, 1, 4, 3     c: 5, 0 */
    assert_int_equal(join(g, &s[3], "a"), 0);
    assert_int_equal(join(g, &s[2], "b"), 0);
    assert_int_equal(join(g, &s[1], "a"), 0);
    assert_int_equal(join(g, &s[1], "b"), 0);
    assert_int_equal(join(g, &s[4], "b"), 0);
    assert_int_equal(join(g, &s[5], "c"), 0);
    assert_int_equal(join(g, &s[3], "b"), 0);
    assert_int_equal(join(g, &s[0], "c"), 0);

    hb_slice ab[] = {sl("a"), sl("b")};
    hb_groups_filter f = {.to = ab, .nto = 2};
    EXPECT(g, &f, 3, 1, 2, 4);
    hb_slice ba[] = {sl("b"), sl("a")};
    f.to = ba;
    EXPECT(g, &f, 2, 1, 4, 3);
    hb_slice cab[] = {sl("c"), sl("a"), sl("b")};
    f.to = cab;
    f.nto = 3;
    EXPECT(g, &f, 5, 0, 3, 1, 2, 4);
    hb_slice aa[] = {sl("a"), sl("a")}; /* a group twice */
    f.to = aa;
    f.nto = 2;
    EXPECT(g, &f, 3, 1);

    /* A to group that does not exist selects nobody, wherever it is. */
    hb_slice missing[] = {sl("zzz")};
    f.to = missing;
    f.nto = 1;
    EXPECT_NONE(g, &f);
    hb_slice mixed[] = {sl("zzz"), sl("a"), sl("zz"), sl("c")};
    f.to = mixed;
    f.nto = 4;
    EXPECT(g, &f, 3, 1, 5, 0);

    /* Except groups and skip with a union. */
    hb_slice ex_a[] = {sl("a")};
    hb_groups_filter e = {.to = ab, .nto = 2, .except = ex_a, .nexcept = 1};
    EXPECT(g, &e, 2, 4);
    e.skip = &s[4].gm;
    EXPECT(g, &e, 2);
    hb_slice ex_missing[] = {sl("zzz"), sl("c")};
    hb_groups_filter e2 = {.to = ab, .nto = 2, .except = ex_missing, .nexcept = 2};
    EXPECT(g, &e2, 3, 1, 2, 4); /* c shares nobody with a and b */
    hb_slice ex_b[] = {sl("b")};
    hb_groups_filter e3 = {.to = ab, .nto = 2, .except = ex_b, .nexcept = 1};
    EXPECT_NONE(g, &e3); /* a is inside b */
    hb_groups_filter e4 = {.to = ab, .nto = 2, .skip = &s[1].gm};
    EXPECT(g, &e4, 3, 2, 4);
    hb_groups_filter e5 = {.to = ab, .nto = 2, .skip = &s[5].gm}; /* in neither */
    EXPECT(g, &e5, 3, 1, 2, 4);

    for (int i = 0; i < 6; i++)
        hb_groups_remove(g, &s[i].gm);
    hb_groups_free(g);
}

/* hb_groups_select appends: a second selection into the same vector keeps
 * the first one's members, and each selection has each member once. */
static void test_select_appends(void **state) {
    (void)state;
    sock s[3];
    init_socks(s, 3);
    hb_groups *g = hb_groups_new();
    for (int i = 0; i < 3; i++)
        hb_groups_add(g, &s[i].gm);
    assert_int_equal(join(g, &s[1], "a"), 0);
    assert_int_equal(join(g, &s[2], "a"), 0);
    hb_slice a[] = {sl("a")};
    hb_groups_filter f = {.to = a, .nto = 1};
    hb_groups_filter all = {0};
    hb_group_vec v = {0};
    assert_int_equal(hb_groups_select(g, &f, &v), 0);
    assert_int_equal(hb_groups_select(g, &all, &v), 0);
    assert_int_equal(hb_groups_select(g, &f, &v), 0);
    const int want[] = {1, 2, 0, 1, 2, 1, 2};
    assert_int_equal(v.n, 7);
    for (size_t i = 0; i < 7; i++)
        assert_int_equal(sock_of(v.items[i])->id, want[i]);
    hb_group_vec_free(&v);
    /* and the vector is reusable after a free */
    assert_int_equal(hb_groups_select(g, &f, &v), 0);
    assert_int_equal(v.n, 2);
    assert_ptr_equal(v.items[0], &s[1].gm);
    hb_group_vec_free(&v);
    for (int i = 0; i < 3; i++)
        hb_groups_remove(g, &s[i].gm);
    hb_groups_free(g);
}

static void test_binary_names(void **state) {
    (void)state;
    sock s[4];
    init_socks(s, 4);
    hb_groups *g = hb_groups_new();
    for (int i = 0; i < 4; i++)
        hb_groups_add(g, &s[i].gm);
    static const char anb[] = {'a', 0, 'b'};
    static const char anc[] = {'a', 0, 'c'};
    static const char an[] = {'a', 0};
    static const char bin[] = {(char)0xff, (char)0x80, 0, (char)0xc3, 0x28, (char)0xfe};
    static const char nul[] = {0};
    assert_int_equal(hb_groups_join(g, &s[0].gm, anb, 3), 0);
    assert_int_equal(hb_groups_join(g, &s[1].gm, anc, 3), 0);
    assert_int_equal(hb_groups_join(g, &s[2].gm, an, 2), 0);
    assert_int_equal(hb_groups_join(g, &s[3].gm, "a", 1), 0);
    assert_int_equal(hb_groups_join(g, &s[0].gm, bin, sizeof(bin)), 0);
    assert_int_equal(hb_groups_join(g, &s[1].gm, nul, 1), 0);
    assert_int_equal(hb_groups_join(g, &s[2].gm, "", 0), 0);

    /* Each is its own group: nothing stops at the NUL. */
    assert_int_equal(hb_groups_size(g, anb, 3), 1);
    assert_int_equal(hb_groups_size(g, anc, 3), 1);
    assert_int_equal(hb_groups_size(g, an, 2), 1);
    assert_int_equal(hb_groups_size(g, "a", 1), 1);
    assert_int_equal(hb_groups_size(g, bin, sizeof(bin)), 1);
    assert_int_equal(hb_groups_size(g, bin, 2), 0);
    assert_int_equal(hb_groups_size(g, nul, 1), 1);
    assert_int_equal(hb_groups_size(g, "", 0), 1);
    assert_true(hb_groups_has(&s[0].gm, anb, 3));
    assert_false(hb_groups_has(&s[0].gm, anc, 3));
    assert_false(hb_groups_has(&s[0].gm, an, 2));
    assert_false(hb_groups_has(&s[0].gm, "a", 1));
    assert_true(hb_groups_has(&s[1].gm, nul, 1));
    assert_false(hb_groups_has(&s[1].gm, "", 0));
    assert_true(hb_groups_has(&s[2].gm, "", 0));
    assert_false(hb_groups_has(&s[2].gm, nul, 1));

    /* The link gives the name back whole, with a NUL after it. */
    const hb_group_link *l = s[0].gm.links;
    size_t len;
    const char *name = hb_group_link_name(l, &len);
    assert_int_equal(len, 3);
    assert_memory_equal(name, anb, 3);
    assert_int_equal(name[3], 0);
    l = hb_group_link_next(l);
    name = hb_group_link_name(l, &len);
    assert_int_equal(len, sizeof(bin));
    assert_memory_equal(name, bin, sizeof(bin));
    assert_null(hb_group_link_next(l));
    l = s[2].gm.links; /* an, then "" */
    l = hb_group_link_next(l);
    name = hb_group_link_name(l, &len);
    assert_int_equal(len, 0);
    assert_int_equal(name[0], 0);

    /* Selecting and leaving by binary names. */
    hb_slice to[] = {{(const uint8_t *)anc, 3}, {(const uint8_t *)"", 0}, {(const uint8_t *)bin, 6}};
    hb_groups_filter f = {.to = to, .nto = 3};
    EXPECT(g, &f, 1, 2, 0);
    hb_slice ex[] = {{(const uint8_t *)nul, 1}, {(const uint8_t *)an, 2}};
    f.except = ex;
    f.nexcept = 2;
    EXPECT(g, &f, 0); /* 1 is in "\0", 2 in "a\0" */
    assert_int_equal(hb_groups_leave(g, &s[0].gm, anc, 3), 0);
    assert_int_equal(hb_groups_leave(g, &s[0].gm, anb, 2), 0);
    assert_int_equal(hb_groups_leave(g, &s[0].gm, anb, 3), 1);
    assert_int_equal(hb_groups_size(g, anb, 3), 0);
    assert_int_equal(hb_groups_size(g, anc, 3), 1);
    assert_int_equal(hb_groups_leave(g, &s[2].gm, "", 0), 1);
    assert_int_equal(hb_groups_size(g, "", 0), 0);
    assert_int_equal(hb_groups_size(g, nul, 1), 1);
    for (int i = 0; i < 4; i++)
        hb_groups_remove(g, &s[i].gm);
    hb_groups_free(g);
}

/* 10,000 groups (the table grows many times), two members in each, then
 * half of them emptied and dropped from the grown table. */
static void test_many_groups(void **state) {
    (void)state;
    enum { NG = 10000, NM = 10 };
    sock s[NM];
    char name[32];
    init_socks(s, NM);
    hb_groups *g = hb_groups_new();
    for (int i = 0; i < NM; i++)
        hb_groups_add(g, &s[i].gm);
    /* Group i: s[i % 10], then s[(i + 3) % 10]. */
    for (int i = 0; i < NG; i++) {
        snprintf(name, sizeof(name), "group-%d", i);
        assert_int_equal(join(g, &s[i % NM], name), 0);
        assert_int_equal(join(g, &s[(i + 3) % NM], name), 0);
    }
    for (int i = 0; i < NG; i++) {
        snprintf(name, sizeof(name), "group-%d", i);
        assert_int_equal(size(g, name), 2);
        assert_true(has(&s[i % NM], name));
        assert_true(has(&s[(i + 3) % NM], name));
        assert_false(has(&s[(i + 1) % NM], name));
    }
    assert_int_equal(size(g, "group-10000"), 0);
    assert_int_equal(size(g, "group-"), 0);
    /* s[5]'s groups, in join order: 2 (as i+3), 5, 12, 15, ... */
    {
        int want = 2, n = 0;
        for (const hb_group_link *l = s[5].gm.links; l != NULL; l = hb_group_link_next(l), n++) {
            size_t len;
            const char *got = hb_group_link_name(l, &len);
            snprintf(name, sizeof(name), "group-%d", want);
            assert_int_equal(len, strlen(name));
            assert_memory_equal(got, name, len);
            want += (want % NM == 2) ? 3 : 7;
        }
        assert_int_equal(n, 2 * NG / NM);
    }
    hb_slice to[] = {sl("group-5"), sl("group-17"), sl("group-9999")};
    hb_groups_filter f = {.to = to, .nto = 3};
    EXPECT(g, &f, 5, 8, 7, 0, 9, 2);

    /* Empty every group whose number is even; drop the first member of the
     * others. */
    for (int i = 0; i < NG; i++) {
        snprintf(name, sizeof(name), "group-%d", i);
        assert_int_equal(leave(g, &s[i % NM], name), 1);
        if (i % 2 == 0)
            assert_int_equal(leave(g, &s[(i + 3) % NM], name), 1);
    }
    for (int i = 0; i < NG; i++) {
        snprintf(name, sizeof(name), "group-%d", i);
        assert_int_equal(size(g, name), i % 2 == 0 ? 0 : 1);
        assert_false(has(&s[i % NM], name));
        assert_int_equal(has(&s[(i + 3) % NM], name), i % 2 != 0);
    }
    EXPECT(g, &f, 8, 0, 2); /* each keeps only its second member */
    hb_groups_free(g); /* members still in 5,000 groups */
}

/* More members than the vector's inline room, at and around each boundary
 * of its growth. */
static void test_many_members(void **state) {
    (void)state;
    enum { NM = 300 };
    static sock s[NM];
    static const int sizes[] = {1, 7, 8, 9, 15, 16, 17, 33, 64, 65, 300};
    char name[32];
    init_socks(s, NM);
    hb_groups *g = hb_groups_new();
    for (int i = 0; i < NM; i++)
        hb_groups_add(g, &s[i].gm);
    assert_int_equal(hb_groups_count(g), NM);
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        /* Group "n<size>" is joined by the last <size> members, backwards. */
        snprintf(name, sizeof(name), "n%d", sizes[k]);
        for (int i = NM - 1; i >= NM - sizes[k]; i--)
            assert_int_equal(join(g, &s[i], name), 0);
        assert_int_equal(size(g, name), (size_t)sizes[k]);
        hb_slice to[] = {sl(name)};
        hb_groups_filter f = {.to = to, .nto = 1};
        hb_group_vec v = {0};
        assert_int_equal(hb_groups_select(g, &f, &v), 0);
        assert_int_equal(v.n, sizes[k]);
        assert_true(v.cap >= v.n);
        for (int j = 0; j < sizes[k]; j++)
            assert_int_equal(sock_of(v.items[j])->id, NM - 1 - j);
        hb_group_vec_free(&v);
    }
    /* Everyone, in registration order; and everyone but the odd ones. */
    for (int i = 1; i < NM; i += 2)
        assert_int_equal(join(g, &s[i], "odd"), 0);
    hb_groups_filter all = {0};
    hb_group_vec v = {0};
    assert_int_equal(hb_groups_select(g, &all, &v), 0);
    assert_int_equal(v.n, NM);
    for (int i = 0; i < NM; i++)
        assert_ptr_equal(v.items[i], &s[i].gm);
    hb_group_vec_free(&v);
    hb_slice ex[] = {sl("odd")};
    hb_groups_filter even = {.except = ex, .nexcept = 1, .skip = &s[10].gm};
    assert_int_equal(hb_groups_select(g, &even, &v), 0);
    assert_int_equal(v.n, NM / 2 - 1);
    for (size_t i = 0, want = 0; i < v.n; i++, want += 2) {
        if (want == 10)
            want += 2;
        assert_int_equal(sock_of(v.items[i])->id, (int)want);
    }
    hb_group_vec_free(&v);
    /* A union of two large groups: n300 (all, backwards), then nothing new. */
    hb_slice to[] = {sl("n300"), sl("odd")};
    hb_groups_filter u = {.to = to, .nto = 2};
    assert_int_equal(hb_groups_select(g, &u, &v), 0);
    assert_int_equal(v.n, NM);
    hb_group_vec_free(&v);
    hb_slice to2[] = {sl("odd"), sl("n300")};
    u.to = to2;
    assert_int_equal(hb_groups_select(g, &u, &v), 0);
    assert_int_equal(v.n, NM);
    for (int i = 0; i < NM / 2; i++)
        assert_int_equal(sock_of(v.items[i])->id, 2 * i + 1);
    for (int i = NM / 2; i < NM; i++) /* then the evens, from n300's order */
        assert_int_equal(sock_of(v.items[i])->id, NM - 2 - 2 * (i - NM / 2));
    hb_group_vec_free(&v);
    for (int i = 0; i < NM; i++)
        hb_groups_remove(g, &s[i].gm);
    assert_int_equal(hb_groups_count(g), 0);
    assert_int_equal(size(g, "n300"), 0);
    assert_int_equal(size(g, "odd"), 0);
    hb_groups_free(g);
}

static void test_remove_member_in_many_groups(void **state) {
    (void)state;
    enum { NG = 3000 };
    sock s[3];
    char name[32];
    init_socks(s, 3);
    hb_groups *g = hb_groups_new();
    for (int i = 0; i < 3; i++)
        hb_groups_add(g, &s[i].gm);
    for (int i = 0; i < NG; i++) {
        snprintf(name, sizeof(name), "r%d", i);
        if (i % 3 == 0)
            assert_int_equal(join(g, &s[1], name), 0);
        assert_int_equal(join(g, &s[0], name), 0);
        if (i % 3 == 1)
            assert_int_equal(join(g, &s[2], name), 0);
    }
    hb_groups_remove(g, &s[0].gm);
    assert_null(s[0].gm.links);
    assert_int_equal(hb_groups_count(g), 2);
    for (int i = 0; i < NG; i++) {
        snprintf(name, sizeof(name), "r%d", i);
        assert_int_equal(size(g, name), i % 3 == 2 ? 0 : 1);
        assert_false(has(&s[0], name));
    }
    /* The others' memberships are intact, in order. */
    int n = 0;
    for (const hb_group_link *l = s[1].gm.links; l != NULL; l = hb_group_link_next(l), n++) {
        size_t len;
        const char *got = hb_group_link_name(l, &len);
        snprintf(name, sizeof(name), "r%d", 3 * n);
        assert_int_equal(len, strlen(name));
        assert_memory_equal(got, name, len);
    }
    assert_int_equal(n, NG / 3);
    hb_slice to[] = {sl("r0"), sl("r1"), sl("r2"), sl("r3")};
    hb_groups_filter f = {.to = to, .nto = 4};
    EXPECT(g, &f, 1, 2);
    hb_groups_filter all = {0};
    EXPECT(g, &all, 1, 2);
    /* It can come back. */
    hb_groups_add(g, &s[0].gm);
    assert_int_equal(join(g, &s[0], "r0"), 0);
    EXPECT(g, &f, 1, 0, 2);
    EXPECT(g, &all, 1, 2, 0);
    for (int i = 0; i < 3; i++)
        hb_groups_remove(g, &s[i].gm);
    hb_groups_free(g);
}

/* Freeing the registry with members still in groups frees every link and
 * group (LeakSanitizer checks at exit) and touches no member. */
static void test_free_with_members_joined(void **state) {
    (void)state;
    sock *s = calloc(5, sizeof(*s));
    assert_non_null(s);
    init_socks(s, 5);
    hb_groups *g = hb_groups_new();
    for (int i = 0; i < 5; i++)
        hb_groups_add(g, &s[i].gm);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(join(g, &s[i], "all"), 0);
        assert_int_equal(join(g, &s[i], i % 2 ? "odd" : "even"), 0);
        assert_int_equal(join(g, &s[i], "a-rather-longer-group-name-than-the-others"), 0);
    }
    hb_groups_remove(g, &s[4].gm); /* one gone before */
    sock copy[5];
    memcpy(copy, s, sizeof(copy));
    hb_groups_free(g);
    assert_memory_equal(copy, s, sizeof(copy)); /* not touched */
    free(s);
}

/* Random operations checked against a plain model: membership lists in join
 * order and the registration order. */
enum { RM = 24, RG = 12 };

typedef struct {
    int registered[RM];
    int reg[RM], nreg;
    int gm[RG][RM], ngm[RG]; /* members of each group, join order */
    int mg[RM][RG], nmg[RM]; /* groups of each member, join order */
} model;

static const char *const rnames[RG] = {"g0", "g1", "g2", "g3", "g4", "g5", "g6",
                                       "g7", "\0", "g0\0", "\xff\xfe", ""};
static const size_t rlens[RG] = {2, 2, 2, 2, 2, 2, 2, 2, 1, 3, 2, 0};

static uint64_t g_rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(uint32_t n) {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (uint32_t)(g_rng >> 32) % n;
}

static int list_remove(int *a, int *n, int x) {
    for (int i = 0; i < *n; i++)
        if (a[i] == x) {
            memmove(a + i, a + i + 1, (size_t)(*n - i - 1) * sizeof(*a));
            (*n)--;
            return 1;
        }
    return 0;
}

static int list_has(const int *a, int n, int x) {
    for (int i = 0; i < n; i++)
        if (a[i] == x)
            return 1;
    return 0;
}

static void check_model(hb_groups *g, const model *md, const sock *s) {
    assert_int_equal(hb_groups_count(g), md->nreg);
    for (int k = 0; k < RG; k++)
        assert_int_equal(hb_groups_size(g, rnames[k], rlens[k]), md->ngm[k]);
    for (int m = 0; m < RM; m++) {
        if (!md->registered[m])
            continue;
        int i = 0;
        for (const hb_group_link *l = s[m].gm.links; l != NULL; l = hb_group_link_next(l), i++) {
            size_t len;
            const char *name = hb_group_link_name(l, &len);
            assert_true(i < md->nmg[m]);
            assert_int_equal(len, rlens[md->mg[m][i]]);
            assert_memory_equal(name, rnames[md->mg[m][i]], len);
        }
        assert_int_equal(i, md->nmg[m]);
        for (int k = 0; k < RG; k++)
            assert_int_equal(hb_groups_has(&s[m].gm, rnames[k], rlens[k]),
                             list_has(md->mg[m], md->nmg[m], k));
    }
}

static void check_random_select(hb_groups *g, const model *md, sock *s) {
    hb_slice to[4], ex[3];
    int tok[4], exk[3], want[RM], nwant = 0, excl[RM] = {0}, seen[RM] = {0};
    hb_groups_filter f = {.to = to, .nto = rnd(5), .except = ex, .nexcept = rnd(4)};
    int skip = md->nreg > 0 && rnd(2) ? md->reg[rnd((uint32_t)md->nreg)] : -1;
    if (skip >= 0)
        f.skip = &s[skip].gm;
    for (size_t i = 0; i < f.nto; i++) {
        tok[i] = (int)rnd(RG);
        to[i].base = (const uint8_t *)rnames[tok[i]];
        to[i].len = rlens[tok[i]];
    }
    for (size_t i = 0; i < f.nexcept; i++) {
        exk[i] = (int)rnd(RG);
        ex[i].base = (const uint8_t *)rnames[exk[i]];
        ex[i].len = rlens[exk[i]];
        for (int j = 0; j < md->ngm[exk[i]]; j++)
            excl[md->gm[exk[i]][j]] = 1;
    }
    if (f.nto == 0) {
        for (int i = 0; i < md->nreg; i++)
            if (!excl[md->reg[i]] && md->reg[i] != skip)
                want[nwant++] = md->reg[i];
    } else {
        for (size_t i = 0; i < f.nto; i++)
            for (int j = 0; j < md->ngm[tok[i]]; j++) {
                int m = md->gm[tok[i]][j];
                if (!excl[m] && !seen[m] && m != skip) {
                    seen[m] = 1;
                    want[nwant++] = m;
                }
            }
    }
    expect_select(g, &f, want, (size_t)nwant);
}

static void test_random_against_model(void **state) {
    (void)state;
    static sock s[RM];
    static model md;
    memset(&md, 0, sizeof(md));
    init_socks(s, RM);
    hb_groups *g = hb_groups_new();
    int joins = 0, leaves = 0, left = 0, removes = 0, selects = 0;
    for (int step = 0; step < 20000; step++) {
        int op = (int)rnd(16), m = (int)rnd(RM), k = (int)rnd(RG);
        if (op == 0 || !md.registered[m]) {
            if (!md.registered[m]) {
                memset(&s[m].gm, 0, sizeof(s[m].gm));
                hb_groups_add(g, &s[m].gm);
                md.registered[m] = 1;
                md.reg[md.nreg++] = m;
            } else {
                hb_groups_remove(g, &s[m].gm);
                md.registered[m] = 0;
                list_remove(md.reg, &md.nreg, m);
                for (int i = 0; i < md.nmg[m]; i++)
                    list_remove(md.gm[md.mg[m][i]], &md.ngm[md.mg[m][i]], m);
                md.nmg[m] = 0;
                removes++;
            }
        } else if (op < 8) {
            assert_int_equal(hb_groups_join(g, &s[m].gm, rnames[k], rlens[k]), 0);
            if (!list_has(md.mg[m], md.nmg[m], k)) {
                md.mg[m][md.nmg[m]++] = k;
                md.gm[k][md.ngm[k]++] = m;
            }
            joins++;
        } else if (op < 13) {
            int want = list_remove(md.mg[m], &md.nmg[m], k);
            if (want)
                list_remove(md.gm[k], &md.ngm[k], m);
            assert_int_equal(hb_groups_leave(g, &s[m].gm, rnames[k], rlens[k]), want);
            leaves++;
            left += want;
        } else {
            check_random_select(g, &md, s);
            selects++;
        }
        if (step % 64 == 0)
            check_model(g, &md, s);
    }
    check_model(g, &md, s);
    /* Every kind of operation really happened. */
    assert_true(joins > 1000 && leaves > 1000 && left > 300 && removes > 300 && selects > 1000);
    hb_groups_free(g);
}

/* What a watcher saw: "+name" when a group came, "-name" when it went. */
typedef struct watch_log {
    char text[256];
    int slots_ok;
} watch_log;

/* --- named members (a socket's own room) ---------------------------------- */

typedef struct {
    int id;
    hb_group_named gn;
    char name[16];
} nsock;

static nsock *nsock_of(const hb_group_member *m) {
    return (nsock *)(void *)((char *)m - offsetof(nsock, gn.member));
}

/* Selects with f and checks the named members' ids, in order. */
static void expect_named(hb_groups *g, const hb_groups_filter *f, const int *ids, size_t n) {
    hb_group_vec v = {0};
    assert_int_equal(hb_groups_select(g, f, &v), 0);
    if (v.n != n)
        fail_msg("selected %zu members, want %zu", v.n, n);
    for (size_t i = 0; i < n; i++)
        if (nsock_of(v.items[i])->id != ids[i])
            fail_msg("selected[%zu] = %d, want %d", i, nsock_of(v.items[i])->id, ids[i]);
    hb_group_vec_free(&v);
}

#define NEXPECT(g, f, ...)                                                         \
    do {                                                                           \
        const int want_[] = {__VA_ARGS__};                                         \
        expect_named((g), (f), want_, sizeof(want_) / sizeof(want_[0]));           \
    } while (0)

/* Checks a named member's groups as hb_group_iter lists them. */
static void expect_iter(const nsock *s, const char *const *names, size_t n) {
    hb_group_iter it;
    const char *name;
    size_t len, i = 0;
    hb_group_iter_init(&it, &s->gn);
    for (; (name = hb_group_iter_next(&it, &len)) != NULL; i++) {
        if (i >= n)
            fail_msg("member %d: extra group \"%.*s\"", s->id, (int)len, name);
        if (len != strlen(names[i]) || memcmp(name, names[i], len) != 0)
            fail_msg("member %d: group %zu is \"%.*s\", want \"%s\"", s->id, i, (int)len, name,
                     names[i]);
    }
    if (i != n)
        fail_msg("member %d: %zu groups, want %zu", s->id, i, n);
}

#define ITER(s, ...)                                                               \
    do {                                                                           \
        const char *const want_[] = {__VA_ARGS__};                                 \
        expect_iter((s), want_, sizeof(want_) / sizeof(want_[0]));                 \
    } while (0)

static void add_named(hb_groups *g, nsock *s, int id, const char *name) {
    memset(s, 0, sizeof(*s));
    s->id = id;
    snprintf(s->name, sizeof(s->name), "%s", name);
    assert_int_equal(hb_groups_add_named(g, &s->gn, s->name, strlen(s->name)), 0);
}

static int njoin(hb_groups *g, nsock *s, const char *name) {
    return hb_groups_join(g, &s->gn.member, name, strlen(name));
}

static int nleave(hb_groups *g, nsock *s, const char *name) {
    return hb_groups_leave(g, &s->gn.member, name, strlen(name));
}

static int nhas(const nsock *s, const char *name) {
    return hb_groups_named_has(&s->gn, name, strlen(name));
}

/* A named member is in its own group from the start, which costs no group:
 * size, has, select and the walk all see it, and it comes first. */
static void test_named_own_group(void **state) {
    (void)state;
    nsock a, b;
    hb_groups *g = hb_groups_new();
    add_named(g, &a, 1, "sidA");
    add_named(g, &b, 2, "sidB");
    assert_int_equal(hb_groups_count(g), 2);
    assert_int_equal(size(g, "sidA"), 1);
    assert_int_equal(size(g, "sidB"), 1);
    assert_int_equal(size(g, "sid"), 0);
    assert_true(nhas(&a, "sidA"));
    assert_false(nhas(&a, "sidB"));
    assert_false(hb_groups_named_has(&a.gn, "sidA\0", 5));
    assert_false(hb_groups_named_has(&a.gn, "sid", 3));
    ITER(&a, "sidA");
    assert_int_equal(njoin(g, &a, "lobby"), 0);
    assert_int_equal(njoin(g, &a, "sidA"), 0); /* already in: nothing changes */
    ITER(&a, "sidA", "lobby");
    assert_int_equal(size(g, "sidA"), 1);
    hb_slice to[] = {sl("sidA")};
    hb_groups_filter f = {.to = to, .nto = 1};
    NEXPECT(g, &f, 1);
    hb_slice to2[] = {sl("sidB"), sl("lobby"), sl("sidA")};
    hb_groups_filter f2 = {.to = to2, .nto = 3};
    NEXPECT(g, &f2, 2, 1);
    f2.skip = &b.gn.member;
    NEXPECT(g, &f2, 1);
    /* Everyone but sidA; "lobby" but sidA. */
    hb_slice ex[] = {sl("sidA")};
    hb_groups_filter all = {.except = ex, .nexcept = 1};
    NEXPECT(g, &all, 2);
    hb_slice lobby[] = {sl("lobby")};
    hb_groups_filter f3 = {.to = lobby, .nto = 1, .except = ex, .nexcept = 1};
    expect_named(g, &f3, NULL, 0);
    hb_groups_remove_named(g, &a.gn);
    assert_int_equal(hb_groups_count(g), 1);
    assert_int_equal(size(g, "sidA"), 0);
    assert_int_equal(size(g, "lobby"), 0);
    expect_named(g, &f, NULL, 0);
    hb_groups_remove_named(g, &b.gn);
    assert_int_equal(hb_groups_count(g), 0);
    hb_groups_free(g);
}

/* socket.leave(socket.id) is allowed: it then no longer gets what is sent
 * to its id, until it joins it again. */
static void test_named_leave_own_and_rejoin(void **state) {
    (void)state;
    nsock a;
    hb_groups *g = hb_groups_new();
    add_named(g, &a, 1, "sidA");
    assert_int_equal(njoin(g, &a, "r"), 0);
    assert_int_equal(nleave(g, &a, "sidA"), 1);
    assert_int_equal(nleave(g, &a, "sidA"), 0);
    assert_false(nhas(&a, "sidA"));
    assert_true(nhas(&a, "r"));
    assert_int_equal(size(g, "sidA"), 0);
    ITER(&a, "r");
    hb_slice to[] = {sl("sidA")};
    hb_groups_filter f = {.to = to, .nto = 1};
    expect_named(g, &f, NULL, 0);
    hb_slice ex[] = {sl("sidA")};
    hb_groups_filter all = {.except = ex, .nexcept = 1};
    NEXPECT(g, &all, 1); /* not in it, so not excepted */
    assert_int_equal(njoin(g, &a, "sidA"), 0);
    assert_true(nhas(&a, "sidA"));
    assert_int_equal(size(g, "sidA"), 1);
    ITER(&a, "sidA", "r");
    NEXPECT(g, &f, 1);
    hb_groups_remove_named(g, &a.gn);
    hb_groups_free(g);
}

/* Another member may join a group named as a named member is: the group
 * then has both, the named one first, each once. */
static void test_named_and_group_of_same_name(void **state) {
    (void)state;
    nsock a, b, c;
    hb_groups *g = hb_groups_new();
    add_named(g, &a, 1, "sidA");
    add_named(g, &b, 2, "sidB");
    add_named(g, &c, 3, "sidC");
    assert_int_equal(njoin(g, &b, "sidA"), 0);
    assert_int_equal(njoin(g, &c, "sidA"), 0);
    assert_int_equal(size(g, "sidA"), 3);
    assert_true(nhas(&b, "sidA"));
    ITER(&b, "sidB", "sidA");
    hb_slice to[] = {sl("sidA"), sl("sidB")};
    hb_groups_filter f = {.to = to, .nto = 2};
    NEXPECT(g, &f, 1, 2, 3);
    hb_slice ex[] = {sl("sidA")};
    hb_groups_filter all = {.except = ex, .nexcept = 1};
    expect_named(g, &all, NULL, 0);
    /* a leaving its own group leaves the others in the group of its name */
    assert_int_equal(nleave(g, &a, "sidA"), 1);
    assert_int_equal(size(g, "sidA"), 2);
    NEXPECT(g, &f, 2, 3);
    assert_int_equal(nleave(g, &b, "sidA"), 1);
    assert_int_equal(size(g, "sidA"), 1);
    hb_groups_remove_named(g, &c.gn);
    assert_int_equal(size(g, "sidA"), 0);
    hb_groups_remove_named(g, &b.gn);
    hb_groups_remove_named(g, &a.gn);
    hb_groups_free(g);
}

/* Two members with one name are both its members. */
static void test_named_same_name_twice(void **state) {
    (void)state;
    nsock a, b;
    hb_groups *g = hb_groups_new();
    add_named(g, &a, 1, "twin");
    add_named(g, &b, 2, "twin");
    assert_int_equal(size(g, "twin"), 2);
    hb_slice to[] = {sl("twin")};
    hb_groups_filter f = {.to = to, .nto = 1};
    hb_group_vec v = {0};
    assert_int_equal(hb_groups_select(g, &f, &v), 0);
    assert_int_equal(v.n, 2);
    hb_group_vec_free(&v);
    assert_int_equal(nleave(g, &b, "twin"), 1);
    NEXPECT(g, &f, 1);
    hb_groups_remove_named(g, &a.gn);
    assert_int_equal(size(g, "twin"), 0);
    hb_groups_remove_named(g, &b.gn);
    hb_groups_free(g);
}

/* Many named members (the table grows many times), plain members beside
 * them, half removed: each name still finds exactly its member. */
static void test_named_many(void **state) {
    (void)state;
    enum { N = 10000 };
    nsock *s = calloc(N, sizeof(*s));
    sock plain[2];
    char name[16];
    hb_groups *g = hb_groups_new();
    assert_non_null(s);
    init_socks(plain, 2);
    hb_groups_add(g, &plain[0].gm);
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof(name), "s%d", i);
        add_named(g, &s[i], i, name);
        if (i % 3 == 0)
            assert_int_equal(njoin(g, &s[i], "third"), 0);
    }
    hb_groups_add(g, &plain[1].gm);
    assert_int_equal(hb_groups_count(g), N + 2);
    assert_int_equal(join(g, &plain[1], "s7"), 0);
    for (int i = 0; i < N; i += 2)
        hb_groups_remove_named(g, &s[i].gn);
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof(name), "s%d", i);
        hb_slice to[] = {sl(name)};
        hb_groups_filter f = {.to = to, .nto = 1};
        hb_group_vec v = {0};
        assert_int_equal(hb_groups_select(g, &f, &v), 0);
        if (i == 7) {
            assert_int_equal(v.n, 2);
            assert_ptr_equal(v.items[1], &plain[1].gm);
        } else {
            assert_int_equal(v.n, i % 2);
        }
        if (i % 2)
            assert_ptr_equal(v.items[0], &s[i].gn.member);
        hb_group_vec_free(&v);
    }
    assert_int_equal(hb_groups_count(g), N / 2 + 2);
    /* every third one, of the odd ones left */
    assert_int_equal(size(g, "third"), (size_t)((N / 3 + 1) / 2));
    hb_slice all_but_third[] = {sl("third")};
    hb_groups_filter f = {.except = all_but_third, .nexcept = 1};
    hb_group_vec v = {0};
    assert_int_equal(hb_groups_select(g, &f, &v), 0);
    assert_int_equal(v.n, N / 2 + 2 - (N / 3 + 1) / 2);
    hb_group_vec_free(&v);
    /* freed with members still registered: nothing leaks (ASan) */
    hb_groups_free(g);
    free(s);
}

static void on_watch(void *ud, const char *name, size_t len, int alive, void **slot) {
    watch_log *w = ud;
    size_t n = strlen(w->text);
    snprintf(w->text + n, sizeof(w->text) - n, "%c%.*s ", alive ? '+' : '-', (int)len, name);
    if (alive) {
        w->slots_ok &= *slot == NULL;
        *slot = w; /* the watcher's data, seen again when the group goes */
    } else {
        w->slots_ok &= *slot == w;
    }
}

static void test_watch_first_and_last(void **state) {
    hb_groups *g = hb_groups_new();
    sock a = {1, {0}}, b = {2, {0}};
    watch_log w = {"", 1};
    (void)state;
    hb_groups_watch(g, on_watch, &w);
    hb_groups_add(g, &a.gm);
    hb_groups_add(g, &b.gm);
    assert_int_equal(hb_groups_join(g, &a.gm, "x", 1), 0);
    assert_int_equal(hb_groups_join(g, &b.gm, "x", 1), 0); /* not the first */
    assert_int_equal(hb_groups_join(g, &a.gm, "x", 1), 0); /* twice is once */
    assert_int_equal(hb_groups_join(g, &b.gm, "y", 1), 0);
    hb_groups_leave(g, &a.gm, "x", 1);                     /* not the last */
    hb_groups_leave(g, &b.gm, "x", 1);
    hb_groups_remove(g, &b.gm);                            /* takes y with it */
    assert_string_equal(w.text, "+x +y -x -y ");
    assert_true(w.slots_ok);
    hb_groups_remove(g, &a.gm);
    hb_groups_free(g);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_registry),
        cmocka_unit_test(test_add_remove),
        cmocka_unit_test(test_join_leave),
        cmocka_unit_test(test_group_dropped_when_empty),
        cmocka_unit_test(test_has_exact_name),
        cmocka_unit_test(test_links_join_order),
        cmocka_unit_test(test_select_all),
        cmocka_unit_test(test_select_union),
        cmocka_unit_test(test_select_appends),
        cmocka_unit_test(test_binary_names),
        cmocka_unit_test(test_many_groups),
        cmocka_unit_test(test_many_members),
        cmocka_unit_test(test_remove_member_in_many_groups),
        cmocka_unit_test(test_free_with_members_joined),
        cmocka_unit_test(test_watch_first_and_last),
        cmocka_unit_test(test_named_own_group),
        cmocka_unit_test(test_named_leave_own_and_rejoin),
        cmocka_unit_test(test_named_and_group_of_same_name),
        cmocka_unit_test(test_named_same_name_twice),
        cmocka_unit_test(test_named_many),
        cmocka_unit_test(test_random_against_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
