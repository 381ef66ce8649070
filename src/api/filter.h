/* The OData filter subset of Azure Web PubSub's REST API: the `filter` query
 * parameter of the :send calls and the "filter" field of :addToGroups and
 * :removeFromGroups. Parses a filter once into a small tree, evaluates it
 * against one connection at a time, and tells a caller which groups or ids
 * can hold every match so that it need not scan all connections. No I/O.
 *
 * Grammar (keywords and identifiers are case-sensitive; whitespace is spaces
 * and tabs; a string is single-quoted with '' for a quote):
 *
 *   filter  = or
 *   or      = and *( "or" and )
 *   and     = unary *( "and" unary )
 *   unary   = "not" unary / primary
 *   primary = "(" or ")"
 *           / string "in" "groups"
 *           / "connectionId" ("eq" / "ne") string
 *           / "userId" ("eq" / "ne") (string / "null")
 *
 * so `not` binds tighter than `and`, which binds tighter than `or`:
 * `'a' in groups or 'b' in groups and not ('c' in groups)` is
 * a OR (b AND NOT c). `userId ne 'u'` holds for anonymous connections, as
 * OData's `null ne 'u'` does. */
#ifndef HB_API_FILTER_H
#define HB_API_FILTER_H

#include <stddef.h>

#include "core/buf.h"

enum {
    HB_FILTER_MAX_LEN = 65536, /* bytes of filter text */
    HB_FILTER_MAX_DEPTH = 64,  /* nested "(" and "not" */
    HB_FILTER_MAX_NODES = 4096 /* terms plus and/or/not operators */
};

typedef struct hb_filter hb_filter;

/* Parses text[0..len) (need not be NUL-terminated; NULL when len is 0) into
 * a new filter that owns copies of its strings; text may be freed at once.
 * Returns 0 and *out (free it with hb_filter_free), HB_ENOMEM, or HB_EINVAL
 * with a one-line English message in err such as
 * "unexpected 'foo' at position 12; expected 'in', 'eq' or 'ne'" (positions
 * are 0-based byte offsets into text). err receives at most cap bytes and is
 * always NUL-terminated when cap > 0; err may be NULL when cap is 0. Errors:
 * empty or blank filter, text over HB_FILTER_MAX_LEN bytes, an unterminated
 * string, an unknown identifier, operator or function, a missing or extra
 * token, nesting over HB_FILTER_MAX_DEPTH, more than HB_FILTER_MAX_NODES
 * nodes. *out is left alone on error. */
int hb_filter_parse(const char *text, size_t len, hb_filter **out, char *err, size_t cap);

/* The connection a filter is evaluated against. Everything is borrowed for
 * the duration of hb_filter_match() only. */
typedef struct hb_filter_subject {
    const char *connection_id; /* NUL-terminated */
    const char *user_id;       /* NUL-terminated; NULL when anonymous */
    /* 1 if the connection is in group (len bytes, followed by a NUL that is
     * not counted), else 0. May be NULL: the connection is in no group. */
    int (*in_group)(void *ud, const char *group, size_t len);
    void *ud;
} hb_filter_subject;

/* 1 if the connection s matches f, else 0. Evaluates left to right and stops
 * as soon as the answer is known, so in_group may be called fewer times than
 * the filter names groups. */
int hb_filter_match(const hb_filter *f, const hb_filter_subject *s);

/* When every connection f matches must be in at least one group of a known
 * set (`'a' in groups or 'b' in groups and not ('c' in groups)` → {a, b}),
 * returns 1 with that set in *groups and *n: distinct names in their order of
 * appearance, borrowed from f until hb_filter_free (each base is followed by
 * a NUL that len does not count). A caller then scans only those groups'
 * members and still calls hb_filter_match() on each (once, even if it is in
 * several of the groups). Otherwise returns 0 with *groups NULL and *n 0: scan
 * every connection. Conservative: a filter under `not` gives 0. */
int hb_filter_candidate_groups(const hb_filter *f, const hb_slice **groups, size_t *n);

/* Likewise for connection ids: 1 and the distinct ids when a match must have
 * one of them (`connectionId eq 'x'`, several such ORed, or one ANDed with
 * anything), else 0. */
int hb_filter_candidate_connections(const hb_filter *f, const hb_slice **ids, size_t *n);

/* Frees f and every slice it lent. NULL is accepted. */
void hb_filter_free(hb_filter *f);

#endif
