/* libFuzzer target for the OData filter parser (src/api/filter.c). The input
 * is the filter text, in an exact-size allocation so ASan sees overreads. A
 * refused filter must come with a message; an accepted one is evaluated on
 * a few made-up connections, which must agree with the candidate groups and
 * ids it reports, and with `not (F)` and `(F) or (F)` built around it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/filter.h"
#include "hubbub/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x))                                                                                  \
            abort();                                                                               \
    } while (0)

/* A made-up connection: in a group when a hash of its name and the seed
 * says so, so that every name the filter uses is in about half of them. */
typedef struct {
    uint32_t seed;
} subject_groups;

static uint32_t hash(const char *s, size_t len, uint32_t seed) {
    uint32_t h = 2166136261u ^ seed;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h ^ (h >> 15);
}

static int in_group(void *ud, const char *g, size_t len) {
    const subject_groups *sg = ud;
    CHECK(g[len] == '\0');
    return (hash(g, len, sg->seed) & 1) != 0;
}

static int in_any(const subject_groups *sg, const hb_slice *g, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (in_group((void *)(uintptr_t)sg, (const char *)g[i].base, g[i].len))
            return 1;
    return 0;
}

static int same(const char *s, hb_slice v) {
    return strlen(s) == v.len && (v.len == 0 || memcmp(s, v.base, v.len) == 0);
}

static hb_filter *parse(const char *text, size_t len, int *rc) {
    hb_filter *f = NULL;
    char err[128];
    memset(err, 'x', sizeof(err));
    *rc = hb_filter_parse(text, len, &f, err, sizeof(err));
    CHECK(*rc == 0 || *rc == HB_EINVAL || *rc == HB_ENOMEM);
    CHECK(memchr(err, '\0', sizeof(err)) != NULL);
    if (*rc == 0)
        CHECK(f != NULL && err[0] == '\0');
    else
        CHECK(f == NULL && (*rc == HB_ENOMEM || err[0] != '\0'));
    return f;
}

/* Wraps text as pre + text + post in an exact-size allocation and parses. */
static hb_filter *parse_wrapped(const char *pre, const uint8_t *text, size_t len, const char *mid,
                                const char *post) {
    size_t a = strlen(pre), m = strlen(mid), b = strlen(post);
    size_t total = a + len + (m > 0 ? m + len : 0) + b;
    char *s = malloc(total > 0 ? total : 1), *p = s;
    hb_filter *f;
    int rc;
    CHECK(s != NULL);
    memcpy(p, pre, a);
    p += a;
    if (len > 0)
        memcpy(p, text, len);
    p += len;
    if (m > 0) {
        memcpy(p, mid, m);
        p += m;
        if (len > 0)
            memcpy(p, text, len);
        p += len;
    }
    memcpy(p, post, b);
    f = parse(s, total, &rc);
    free(s);
    return f;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char *const users[] = {NULL, "", "u", "a"};
    hb_filter *f, *neg, *twice;
    const hb_slice *groups, *ids;
    size_t n_groups, n_ids;
    int rc, has_groups, has_ids;
    char *text = malloc(size > 0 ? size : 1);

    CHECK(text != NULL);
    if (size > 0)
        memcpy(text, data, size);
    f = parse(text, size, &rc);
    free(text);
    if (f == NULL)
        return 0;

    has_groups = hb_filter_candidate_groups(f, &groups, &n_groups);
    has_ids = hb_filter_candidate_connections(f, &ids, &n_ids);
    CHECK(has_groups == 0 || has_groups == 1);
    CHECK(has_ids == 0 || has_ids == 1);
    CHECK(has_groups ? (groups != NULL && n_groups >= 1) : (groups == NULL && n_groups == 0));
    CHECK(has_ids ? (ids != NULL && n_ids >= 1) : (ids == NULL && n_ids == 0));
    for (size_t i = 0; i < n_groups; i++) {
        CHECK(groups[i].base[groups[i].len] == '\0');
        for (size_t j = 0; j < i; j++)
            CHECK(groups[j].len != groups[i].len ||
                  memcmp(groups[j].base, groups[i].base, groups[i].len) != 0);
    }
    for (size_t i = 0; i < n_ids; i++)
        CHECK(ids[i].base[ids[i].len] == '\0');

    /* `not (F)` and `(F) or (F)` parse unless they cross a limit. */
    neg = parse_wrapped("not (", data, size, "", ")");
    twice = parse_wrapped("(", data, size, ") or (", ")");

    for (uint32_t seed = 0; seed < 8; seed++) {
        subject_groups sg = {seed * 2654435761u};
        /* Connection ids: each candidate id, and two that are likely none. */
        for (size_t k = 0; k < n_ids + 2; k++) {
            const char *cid = k < n_ids ? (const char *)ids[k].base : k == n_ids ? "" : "zz";
            hb_filter_subject s = {cid, users[seed % 4], in_group, &sg};
            int m = hb_filter_match(f, &s);

            CHECK(m == 0 || m == 1);
            CHECK(hb_filter_match(f, &s) == m);
            if (m && has_groups)
                CHECK(in_any(&sg, groups, n_groups));
            if (m && has_ids) {
                size_t i = 0;
                while (i < n_ids && !same(cid, ids[i]))
                    i++;
                CHECK(i < n_ids);
            }
            if (neg != NULL)
                CHECK(hb_filter_match(neg, &s) == !m);
            if (twice != NULL)
                CHECK(hb_filter_match(twice, &s) == m);
            /* Without a callback the connection is in no group. */
            s.in_group = NULL;
            CHECK(!(hb_filter_match(f, &s) && has_groups));
        }
    }
    hb_filter_free(twice);
    hb_filter_free(neg);
    hb_filter_free(f);
    return 0;
}
