/* The OData filter subset: a one-token-lookahead recursive-descent parser
 * into an array of nodes, the evaluator, and the candidate-set analysis.
 * A filter is one allocation sized from the text's length before parsing
 * (every node starts at a distinct token, so there are at most len nodes,
 * and unescaped strings with their NULs fit in len bytes), which keeps the
 * parser free of growth and unwinding paths. A small hash table in the same
 * block drops repeated candidates in linear time: a 64 KiB filter of ~3600
 * distinct groups took 23 ms with pairwise compares. */
#include "api/filter.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hubbub/error.h"

enum kind {
    K_OR,
    K_AND,
    K_NOT,
    K_IN_GROUPS, /* 'str' in groups */
    K_CONN_EQ,   /* connectionId eq 'str' */
    K_CONN_NE,
    K_USER_EQ, /* userId eq 'str' */
    K_USER_NE,
    K_USER_NULL, /* userId eq null */
    K_USER_SET   /* userId ne null */
};

#define NONE UINT32_MAX
#define UNBOUNDED UINT32_MAX

/* and/or are n-ary (a chain `a or b or c` is one node with three operands
 * linked through next), so the tree's height grows only with "(" and
 * "not", which the parser caps: evaluation may recurse. */
typedef struct {
    uint8_t kind;
    uint32_t first; /* and, or, not: the first operand */
    uint32_t next;  /* the next operand of the parent and/or */
    hb_slice str;   /* leaves with a string: a copy in chars, NUL after */
} node;

struct hb_filter {
    node *nodes;
    uint32_t n_nodes, cap_nodes, root;
    int has_groups, has_ids;
    hb_slice *cands; /* groups at [0, n_groups), ids right after */
    size_t n_groups, n_ids;
    uint32_t *slots; /* n_slots (a power of two >= 2 * cap_nodes): indices into
                      * the set being collected, or NONE */
    size_t n_slots;
    char *chars;
    size_t n_chars;
};

enum tok { T_END, T_LPAREN, T_RPAREN, T_STRING, T_WORD, T_OTHER };

typedef struct {
    const char *s;
    size_t len;
    size_t pos;        /* where scanning resumes after cur */
    enum tok type;     /* cur: the lookahead token */
    size_t tpos, tlen; /* its start and length (a string's with quotes) */
    int depth;         /* "(" and "not" currently open */
    hb_filter *f;
    char *err;
    size_t cap;
} parser;

static const char *const AND_OR[] = {"and", "or", NULL};
static const char *const EQ_NE[] = {"eq", "ne", NULL};
static const char *const IN[] = {"in", NULL};
static const char *const GROUPS[] = {"groups", NULL};
static const char *const NUL_WORD[] = {"null", NULL};
static const char *const PRIMARY[] = {"connectionId", "userId", "not", NULL};
#define PRIMARY_EXPECTED "a string, 'connectionId', 'userId', 'not' or '('"

static int fail(parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(parser *p, const char *fmt, ...) {
    if (p->cap > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->err, p->cap, fmt, ap);
        va_end(ap);
    }
    return HB_EINVAL;
}

static int is_word_char(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static int is_space(unsigned char c) {
    return c == ' ' || c == '\t';
}

/* Reads the next token into cur. Fails only on an unterminated string. */
static int advance(parser *p) {
    const char *s = p->s;
    size_t i = p->pos, j;

    while (i < p->len && is_space((unsigned char)s[i]))
        i++;
    p->tpos = i;
    if (i == p->len) {
        p->type = T_END;
        p->tlen = 0;
        return 0;
    }
    j = i + 1;
    if (s[i] == '(' || s[i] == ')') {
        p->type = s[i] == '(' ? T_LPAREN : T_RPAREN;
    } else if (s[i] == '\'') {
        for (;;) {
            if (j == p->len)
                return fail(p, "unterminated string starting at position %zu", i);
            if (s[j] == '\'') {
                if (j + 1 < p->len && s[j + 1] == '\'') {
                    j += 2;
                    continue;
                }
                j++;
                break;
            }
            j++;
        }
        p->type = T_STRING;
    } else if (is_word_char((unsigned char)s[i])) {
        while (j < p->len && is_word_char((unsigned char)s[j]))
            j++;
        p->type = T_WORD;
    } else {
        /* A run of punctuation, so that "==" or "/any" shows whole. */
        while (j < p->len && !is_word_char((unsigned char)s[j]) && !is_space((unsigned char)s[j]) &&
               s[j] != '(' && s[j] != ')' && s[j] != '\'')
            j++;
        p->type = T_OTHER;
    }
    p->tlen = j - i;
    p->pos = j;
    return 0;
}

static int is_word(const parser *p, const char *w) {
    size_t n = strlen(w);
    return p->type == T_WORD && p->tlen == n && memcmp(p->s + p->tpos, w, n) == 0;
}

static int same_ignoring_case(const char *a, size_t n, const char *b) {
    size_t i;
    for (i = 0; i < n && b[i] != '\0'; i++) {
        unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
        if (x >= 'A' && x <= 'Z')
            x = (unsigned char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (unsigned char)(y - 'A' + 'a');
        if (x != y)
            return 0;
    }
    return i == n && b[i] == '\0';
}

/* Writes s[0..n) for a message: printable ASCII as is, other bytes as \xNN
 * (the message may end up in JSON or a log line), at most 32 source bytes. */
static void quote_bytes(char *out, size_t cap, const char *s, size_t n) {
    size_t o = 0, i, lim = n > 32 ? 32 : n;
    for (i = 0; i < lim && o + 8 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f)
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
    }
    if (i < n && o + 4 < cap) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

/* "unexpected <cur> at position N; expected <what>", with a hint when cur
 * is one of hints spelt in another case (keywords are case-sensitive). */
static int unexpected(parser *p, const char *what, const char *const *hints) {
    char tok[160], shown[200], hint[64] = "";
    const char *t = p->s + p->tpos;

    switch (p->type) {
    case T_END:
        snprintf(shown, sizeof(shown), "end of filter");
        break;
    case T_STRING:
        quote_bytes(tok, sizeof(tok), t + 1, p->tlen - 2);
        snprintf(shown, sizeof(shown), "string '%s'", tok);
        break;
    default:
        quote_bytes(tok, sizeof(tok), t, p->tlen);
        snprintf(shown, sizeof(shown), "'%s'", tok);
        break;
    }
    for (; p->type == T_WORD && hints != NULL && *hints != NULL; hints++) {
        if (same_ignoring_case(t, p->tlen, *hints)) {
            snprintf(hint, sizeof(hint), " (did you mean '%s'?)", *hints);
            break;
        }
    }
    return fail(p, "unexpected %s at position %zu; expected %s%s", shown, p->tpos, what, hint);
}

static int new_node(parser *p, enum kind k, uint32_t *idx) {
    hb_filter *f = p->f;
    node *n;
    /* cap_nodes >= HB_FILTER_MAX_NODES or >= the nodes the text can hold;
     * the second test only guards that reasoning. */
    if (f->n_nodes >= HB_FILTER_MAX_NODES || f->n_nodes >= f->cap_nodes)
        return fail(p, "filter too complex: more than %d nodes at position %zu",
                    HB_FILTER_MAX_NODES, p->tpos);
    *idx = f->n_nodes++;
    n = &f->nodes[*idx];
    n->kind = (uint8_t)k;
    n->first = NONE;
    n->next = NONE;
    n->str.base = NULL;
    n->str.len = 0;
    return 0;
}

/* Copies the current string token, unescaping '', into chars. */
static hb_slice take_string(parser *p) {
    hb_filter *f = p->f;
    const char *q = p->s + p->tpos + 1, *end = p->s + p->tpos + p->tlen - 1;
    char *dst = f->chars + f->n_chars;
    size_t n = 0;
    hb_slice out;

    while (q < end) {
        dst[n++] = *q;
        q += *q == '\'' ? 2 : 1;
    }
    dst[n] = '\0';
    f->n_chars += n + 1;
    out.base = (const uint8_t *)dst;
    out.len = n;
    return out;
}

static int parse_or(parser *p, uint32_t *out);

static int enter(parser *p) {
    if (++p->depth > HB_FILTER_MAX_DEPTH)
        return fail(p, "nesting deeper than %d at position %zu", HB_FILTER_MAX_DEPTH, p->tpos);
    return 0;
}

/* string in groups / connectionId|userId eq|ne value */
static int parse_term(parser *p, uint32_t *out) {
    int rc, user, ne;
    enum kind k;

    if (p->type == T_STRING) {
        if ((rc = new_node(p, K_IN_GROUPS, out)) != 0)
            return rc;
        p->f->nodes[*out].str = take_string(p);
        if ((rc = advance(p)) != 0)
            return rc;
        if (!is_word(p, "in"))
            return unexpected(p, "'in'", IN);
        if ((rc = advance(p)) != 0)
            return rc;
        if (!is_word(p, "groups"))
            return unexpected(p, "'groups'", GROUPS);
        return advance(p);
    }

    user = is_word(p, "userId");
    if (!user && !is_word(p, "connectionId")) {
        /* Tell `contains(userId, 'x')` from a misspelt name (`NOT (`). */
        size_t j = p->pos;
        const char *const *h = PRIMARY;
        while (j < p->len && is_space((unsigned char)p->s[j]))
            j++;
        while (*h != NULL && !same_ignoring_case(p->s + p->tpos, p->tlen, *h))
            h++;
        if (p->type == T_WORD && *h == NULL && j < p->len && p->s[j] == '(') {
            char tok[160];
            quote_bytes(tok, sizeof(tok), p->s + p->tpos, p->tlen);
            return fail(p, "unsupported function '%s' at position %zu; expected " PRIMARY_EXPECTED,
                        tok, p->tpos);
        }
        return unexpected(p, PRIMARY_EXPECTED, PRIMARY);
    }
    if ((rc = advance(p)) != 0)
        return rc;
    if (is_word(p, "eq"))
        ne = 0;
    else if (is_word(p, "ne"))
        ne = 1;
    else
        return unexpected(p, "'eq' or 'ne'", EQ_NE);
    if ((rc = advance(p)) != 0)
        return rc;
    if (p->type == T_STRING) {
        k = user ? (ne ? K_USER_NE : K_USER_EQ) : (ne ? K_CONN_NE : K_CONN_EQ);
        if ((rc = new_node(p, k, out)) != 0)
            return rc;
        p->f->nodes[*out].str = take_string(p);
    } else if (user && is_word(p, "null")) {
        if ((rc = new_node(p, ne ? K_USER_SET : K_USER_NULL, out)) != 0)
            return rc;
    } else {
        /* connectionId is never null, so only userId takes null. */
        return unexpected(p, user ? "a string or 'null'" : "a string", user ? NUL_WORD : NULL);
    }
    return advance(p);
}

static int parse_unary(parser *p, uint32_t *out) {
    int rc;
    uint32_t child;

    if (is_word(p, "not")) {
        if ((rc = enter(p)) != 0 || (rc = new_node(p, K_NOT, out)) != 0 || (rc = advance(p)) != 0 ||
            (rc = parse_unary(p, &child)) != 0)
            return rc;
        p->f->nodes[*out].first = child;
        p->depth--;
        return 0;
    }
    if (p->type == T_LPAREN) {
        if ((rc = enter(p)) != 0 || (rc = advance(p)) != 0 || (rc = parse_or(p, out)) != 0)
            return rc;
        if (p->type != T_RPAREN)
            return unexpected(p, "'and', 'or' or ')'", AND_OR);
        p->depth--;
        return advance(p);
    }
    return parse_term(p, out);
}

/* operand *(op operand) for op "and" (K_AND) or "or" (K_OR). */
static int parse_chain(parser *p, uint32_t *out, enum kind k) {
    const char *op = k == K_AND ? "and" : "or";
    uint32_t first, last, next;
    int rc = k == K_AND ? parse_unary(p, &first) : parse_chain(p, &first, K_AND);

    if (rc != 0)
        return rc;
    if (!is_word(p, op)) {
        *out = first;
        return 0;
    }
    if ((rc = new_node(p, k, out)) != 0)
        return rc;
    p->f->nodes[*out].first = first;
    last = first;
    while (is_word(p, op)) {
        if ((rc = advance(p)) != 0)
            return rc;
        rc = k == K_AND ? parse_unary(p, &next) : parse_chain(p, &next, K_AND);
        if (rc != 0)
            return rc;
        p->f->nodes[last].next = next;
        last = next;
    }
    return 0;
}

static int parse_or(parser *p, uint32_t *out) {
    return parse_chain(p, out, K_OR);
}

/* How many leaves of kind leaf a match must hit one of (1 for the leaf, the
 * sum over an or, the smallest over an and), or UNBOUNDED. Not does not
 * bound: `not ('a' in groups)` matches connections in no group at all. */
static uint32_t cand_count(const hb_filter *f, uint32_t i, enum kind leaf) {
    const node *n = &f->nodes[i];
    uint32_t c, k, acc;

    if (n->kind == leaf)
        return 1;
    if (n->kind == K_OR) {
        for (acc = 0, c = n->first; c != NONE; c = f->nodes[c].next) {
            if ((k = cand_count(f, c, leaf)) == UNBOUNDED)
                return UNBOUNDED;
            acc += k; /* at most the node count */
        }
        return acc;
    }
    if (n->kind == K_AND) {
        for (acc = UNBOUNDED, c = n->first; c != NONE; c = f->nodes[c].next)
            if ((k = cand_count(f, c, leaf)) < acc)
                acc = k;
        return acc;
    }
    return UNBOUNDED;
}

static uint32_t hash(hb_slice s) {
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < s.len; i++)
        h = (h ^ s.base[i]) * 16777619u;
    return h;
}

/* Appends the leaves cand_count() counted, skipping repeats. */
static void cand_collect(const hb_filter *f, uint32_t i, enum kind leaf, hb_slice *out, size_t *n) {
    const node *nd = &f->nodes[i];
    uint32_t c, best = NONE, k, least = UNBOUNDED;

    if (nd->kind == leaf) {
        size_t mask = f->n_slots - 1, h = hash(nd->str) & mask;
        for (; f->slots[h] != NONE; h = (h + 1) & mask) {
            const hb_slice *o = &out[f->slots[h]];
            if (o->len == nd->str.len &&
                (o->len == 0 || memcmp(o->base, nd->str.base, o->len) == 0))
                return;
        }
        f->slots[h] = (uint32_t)*n;
        out[(*n)++] = nd->str;
    } else if (nd->kind == K_OR) {
        for (c = nd->first; c != NONE; c = f->nodes[c].next)
            cand_collect(f, c, leaf, out, n);
    } else if (nd->kind == K_AND) {
        for (c = nd->first; c != NONE; c = f->nodes[c].next)
            if ((k = cand_count(f, c, leaf)) < least) {
                least = k;
                best = c;
            }
        if (best != NONE)
            cand_collect(f, best, leaf, out, n);
    }
}

static void find_candidates(hb_filter *f) {
    if (cand_count(f, f->root, K_IN_GROUPS) != UNBOUNDED) {
        f->has_groups = 1;
        memset(f->slots, 0xff, f->n_slots * sizeof(uint32_t));
        cand_collect(f, f->root, K_IN_GROUPS, f->cands, &f->n_groups);
    }
    if (cand_count(f, f->root, K_CONN_EQ) != UNBOUNDED) {
        f->has_ids = 1;
        memset(f->slots, 0xff, f->n_slots * sizeof(uint32_t));
        cand_collect(f, f->root, K_CONN_EQ, f->cands + f->n_groups, &f->n_ids);
    }
}

int hb_filter_parse(const char *text, size_t len, hb_filter **out, char *err, size_t cap) {
    parser p;
    hb_filter *f;
    size_t cap_nodes, n_slots, size;
    uint32_t root;
    int rc;

    memset(&p, 0, sizeof(p));
    p.s = text;
    p.len = len;
    p.err = err;
    p.cap = err != NULL ? cap : 0;
    if (p.cap > 0)
        err[0] = '\0';
    if (out == NULL || (text == NULL && len > 0))
        return fail(&p, "no filter text or no place for the result");
    if (len > HB_FILTER_MAX_LEN)
        return fail(&p, "filter is longer than %d bytes", HB_FILTER_MAX_LEN);
    if ((rc = advance(&p)) != 0)
        return rc;
    if (p.type == T_END)
        return fail(&p, "empty filter");

    /* Every node begins at its own token of at least one byte. Candidates
     * are leaves, so as many slices as nodes hold both sets. Each string
     * unescaped, plus its NUL, is shorter than its quoted token. */
    cap_nodes = len < HB_FILTER_MAX_NODES ? len : HB_FILTER_MAX_NODES;
    for (n_slots = 2; n_slots < 2 * cap_nodes; n_slots *= 2)
        ;
    size = sizeof(*f) + cap_nodes * (sizeof(node) + sizeof(hb_slice)) + n_slots * sizeof(uint32_t) +
           len;
    f = malloc(size);
    if (f == NULL)
        return HB_ENOMEM;
    memset(f, 0, sizeof(*f));
    f->nodes = (node *)(void *)(f + 1);
    f->cap_nodes = (uint32_t)cap_nodes;
    f->cands = (hb_slice *)(void *)(f->nodes + cap_nodes);
    f->slots = (uint32_t *)(void *)(f->cands + cap_nodes);
    f->n_slots = n_slots;
    f->chars = (char *)(f->slots + n_slots);
    p.f = f;

    rc = parse_or(&p, &root);
    if (rc == 0 && p.type != T_END)
        rc = unexpected(&p, "'and', 'or' or end of filter", AND_OR);
    if (rc != 0) {
        free(f);
        return rc;
    }
    f->root = root;
    find_candidates(f);
    *out = f;
    return 0;
}

static int same(const char *s, hb_slice v) {
    return s != NULL && strlen(s) == v.len && (v.len == 0 || memcmp(s, v.base, v.len) == 0);
}

static int eval(const hb_filter *f, uint32_t i, const hb_filter_subject *s) {
    const node *n = &f->nodes[i];
    uint32_t c;

    switch ((enum kind)n->kind) {
    case K_OR:
        for (c = n->first; c != NONE; c = f->nodes[c].next)
            if (eval(f, c, s))
                return 1;
        return 0;
    case K_AND:
        for (c = n->first; c != NONE; c = f->nodes[c].next)
            if (!eval(f, c, s))
                return 0;
        return 1;
    case K_NOT:
        return !eval(f, n->first, s);
    case K_IN_GROUPS:
        return s->in_group != NULL &&
               s->in_group(s->ud, (const char *)n->str.base, n->str.len) != 0;
    case K_CONN_EQ:
        return same(s->connection_id, n->str);
    case K_CONN_NE:
        return !same(s->connection_id, n->str);
    case K_USER_EQ:
        return same(s->user_id, n->str);
    case K_USER_NE:
        return !same(s->user_id, n->str);
    case K_USER_NULL:
        return s->user_id == NULL;
    case K_USER_SET:
        return s->user_id != NULL;
    }
    return 0;
}

int hb_filter_match(const hb_filter *f, const hb_filter_subject *s) {
    return eval(f, f->root, s);
}

int hb_filter_candidate_groups(const hb_filter *f, const hb_slice **groups, size_t *n) {
    *groups = f->has_groups ? f->cands : NULL;
    *n = f->has_groups ? f->n_groups : 0;
    return f->has_groups;
}

int hb_filter_candidate_connections(const hb_filter *f, const hb_slice **ids, size_t *n) {
    *ids = f->has_ids ? f->cands + f->n_groups : NULL;
    *n = f->has_ids ? f->n_ids : 0;
    return f->has_ids;
}

void hb_filter_free(hb_filter *f) {
    free(f);
}
