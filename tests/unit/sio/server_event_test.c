/* Tests for src/sio/server_event.c: which handler a server-side event from
 * another node reaches (its own, a dynamic parent's, the catch-all), the
 * default answer when there is none, the reply's life (answered, kept,
 * dropped, never answered), and hb_nsp_server_side_emit() with no bus and
 * with a bus that stands for the other nodes. No loop is needed: nothing
 * here starts a timer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hubbub/hubbub.h"
#include "sio/internal.h"
#include "sio/server.h"

/* --- a bus reply that records what it was asked to do ------------------------- */

typedef struct sent {
    int sends, releases;
    char last[64];            /* the last answer, "<none>" for none */
    int refuse;               /* send returns HB_EINVAL */
} sent;

static int rec_send(void *ud, const char *json, size_t len) {
    sent *x = ud;
    if (x->refuse)
        return HB_EINVAL;
    x->sends++;
    if (json == NULL)
        strcpy(x->last, "<none>");
    else
        snprintf(x->last, sizeof(x->last), "%.*s", (int)len, json);
    return 0;
}

static void rec_release(void *ud) {
    ((sent *)ud)->releases++;
}

static void deliver(hb_sio_server *srv, const char *nsp, const char *event, const char *args,
                    sent *x) {
    hb_sio_bus_reply r = {rec_send, rec_release, x};
    hb_sio_server_server_event(srv, nsp, event, args, strlen(args), x != NULL ? &r : NULL);
}

/* --- handlers ---------------------------------------------------------------------- */

typedef struct seen {
    int calls;
    char event[32], args[64], nsp[32];
    int had_reply;
    const char *answer;       /* hb_server_reply_send() with this, when set */
    int keep, drop;
    hb_server_reply *kept;
} seen;

static void on_event(hb_nsp *nsp, const char *event, const hb_args *args, hb_server_reply *reply,
                     void *ud) {
    seen *s = ud;
    s->calls++;
    snprintf(s->event, sizeof(s->event), "%s", event);
    snprintf(s->args, sizeof(s->args), "%s", args->json);
    snprintf(s->nsp, sizeof(s->nsp), "%s", hb_nsp_name(nsp));
    assert_int_equal(args->nbins, 0);
    s->had_reply = reply != NULL;
    if (reply == NULL)
        return;
    if (s->keep)
        s->kept = hb_server_reply_keep(reply);
    if (s->answer != NULL) {
        assert_int_equal(hb_server_reply_send(reply, s->answer), 0);
        assert_int_equal(hb_server_reply_send(reply, s->answer), UV_ECANCELED);
    }
    if (s->drop)
        hb_server_reply_drop(reply);
}

static void test_handlers_and_default(void **state) {
    hb_sio_server *srv = hb_sio_server_new(NULL, NULL, NULL);
    hb_nsp *root = hb_sio_server_of(srv, "/");
    seen ping = {0}, any = {0};
    sent x = {0};
    (void)state;
    assert_int_equal(hb_nsp_on_server_event(root, "ping", on_event, &ping), 0);
    ping.answer = "\"pong\"";

    /* its handler, with the args; the answer goes out, then the reply is released */
    deliver(srv, "/", "ping", "[1,\"a\"]", &x);
    assert_int_equal(ping.calls, 1);
    assert_string_equal(ping.event, "ping");
    assert_string_equal(ping.args, "[1,\"a\"]");
    assert_true(ping.had_reply);
    assert_int_equal(x.sends, 1);
    assert_string_equal(x.last, "\"pong\"");
    assert_int_equal(x.releases, 1);

    /* no answer wanted: no reply */
    deliver(srv, "/", "ping", "[]", NULL);
    assert_int_equal(ping.calls, 2);
    assert_false(ping.had_reply);

    /* no handler: answered at once with no value */
    memset(&x, 0, sizeof(x));
    deliver(srv, "/", "other", "[]", &x);
    assert_int_equal(x.sends, 1);
    assert_string_equal(x.last, "<none>");
    assert_int_equal(x.releases, 1);
    /* a namespace this node does not have: the same */
    memset(&x, 0, sizeof(x));
    deliver(srv, "/nowhere", "ping", "[]", &x);
    assert_int_equal(x.sends, 1);
    assert_int_equal(x.releases, 1);
    assert_int_equal(ping.calls, 2);

    /* the catch-all takes the events without a handler of their own */
    assert_int_equal(hb_nsp_on_server_event(root, NULL, on_event, &any), 0);
    memset(&x, 0, sizeof(x));
    deliver(srv, "/", "other", "[]", &x);
    assert_int_equal(any.calls, 1);
    assert_string_equal(any.event, "other");
    /* ... and a handler that does not answer leaves the sender waiting */
    assert_int_equal(x.sends, 0);
    assert_int_equal(x.releases, 1);
    deliver(srv, "/", "ping", "[]", NULL);
    assert_int_equal(ping.calls, 3);
    assert_int_equal(any.calls, 1);

    /* removed: the default again */
    assert_int_equal(hb_nsp_on_server_event(root, NULL, NULL, NULL), 0);
    assert_int_equal(hb_nsp_on_server_event(root, "ping", NULL, NULL), 0);
    memset(&x, 0, sizeof(x));
    deliver(srv, "/", "ping", "[]", &x);
    assert_int_equal(ping.calls, 3);
    assert_string_equal(x.last, "<none>");
    hb_sio_server_free(srv);
}

static void test_kept_and_dropped(void **state) {
    hb_sio_server *srv = hb_sio_server_new(NULL, NULL, NULL);
    hb_nsp *root = hb_sio_server_of(srv, "/");
    seen s = {0};
    sent x = {0};
    (void)state;
    assert_int_equal(hb_nsp_on_server_event(root, "later", on_event, &s), 0);
    s.keep = 1;
    deliver(srv, "/", "later", "[]", &x);
    assert_non_null(s.kept);
    assert_int_equal(x.sends, 0);
    assert_int_equal(x.releases, 0);
    /* not JSON: refused by the bus, still to answer */
    x.refuse = 1;
    assert_int_equal(hb_server_reply_send(s.kept, "nope"), HB_EINVAL);
    x.refuse = 0;
    assert_int_equal(x.releases, 0);
    assert_int_equal(hb_server_reply_send(s.kept, "{\"ok\":true}"), 0);
    assert_string_equal(x.last, "{\"ok\":true}");
    assert_int_equal(x.releases, 1);

    /* kept, then dropped later: released, nothing sent */
    memset(&x, 0, sizeof(x));
    s.kept = NULL;
    deliver(srv, "/", "later", "[]", &x);
    hb_server_reply_drop(s.kept);
    assert_int_equal(x.sends, 0);
    assert_int_equal(x.releases, 1);

    /* kept and answered in the same call: released once it returns */
    memset(&x, 0, sizeof(x));
    s.answer = "1";
    deliver(srv, "/", "later", "[]", &x);
    assert_int_equal(x.sends, 1);
    assert_int_equal(x.releases, 1);

    /* dropped during the call */
    memset(&x, 0, sizeof(x));
    s.keep = 0;
    s.answer = NULL;
    s.drop = 1;
    deliver(srv, "/", "later", "[]", &x);
    assert_int_equal(x.sends, 0);
    assert_int_equal(x.releases, 1);
    hb_sio_server_free(srv);
}

static void test_dynamic_parent(void **state) {
    hb_sio_server *srv = hb_sio_server_new(NULL, NULL, NULL);
    hb_nsp *parent = hb_sio_server_of_regex(srv, "^/dyn-[0-9]+$");
    seen s = {0};
    sent x = {0};
    (void)state;
    assert_int_equal(hb_nsp_on_server_event(parent, "hi", on_event, &s), 0);
    assert_non_null(hb_sio__nsp_dynamic(srv, "/dyn-1", "{}"));
    deliver(srv, "/dyn-1", "hi", "[]", &x);
    assert_int_equal(s.calls, 1);
    assert_string_equal(s.nsp, "/dyn-1");
    /* emitting needs a name: not on the parent */
    assert_int_equal(hb_nsp_server_side_emit(parent, "hi", NULL, 0, NULL, NULL), HB_EINVAL);
    hb_sio_server_free(srv);
}

/* --- emitting ------------------------------------------------------------------------------ */

typedef struct answers {
    int calls, err;
    size_t n;
    char json[64];
} answers;

static void on_answers(int err, const char *responses_json, size_t n, void *ud) {
    answers *a = ud;
    a->calls++;
    a->err = err;
    a->n = n;
    snprintf(a->json, sizeof(a->json), "%s", responses_json);
}

/* The bus: what was sent, and the done callback to finish it with. */
typedef struct fake_bus {
    int emits, result;
    char nsp[16], event[16], args[32];
    unsigned timeout_ms;
    hb_sio_bus_emit_cb done;
    void *dud;
} fake_bus;

static void no_publish(void *ud, const hb_sio_bus_msg *m) {
    (void)ud, (void)m;
}

static void no_request(void *ud, const hb_sio_bus_req *r) {
    (void)ud, (void)r;
}

static int fake_emit(void *ud, const char *nsp, const char *event, const char *args, size_t len,
                     unsigned timeout_ms, hb_sio_bus_emit_cb done, void *dud) {
    fake_bus *f = ud;
    f->emits++;
    snprintf(f->nsp, sizeof(f->nsp), "%s", nsp);
    snprintf(f->event, sizeof(f->event), "%s", event);
    snprintf(f->args, sizeof(f->args), "%.*s", (int)len, args);
    f->timeout_ms = timeout_ms;
    f->done = done;
    f->dud = dud;
    return f->result;
}

static void test_emit(void **state) {
    hb_sio_server *srv = hb_sio_server_new(NULL, NULL, NULL);
    hb_nsp *chat = hb_sio_server_of(srv, "/chat");
    answers a = {0};
    fake_bus f = {0};
    hb_sio_bus bus = {0};
    (void)state;
    /* no cluster: nobody else, every one of them answered */
    assert_int_equal(hb_nsp_server_side_emit(chat, "ev", "[1]", 0, on_answers, &a), 0);
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.err, 0);
    assert_int_equal(a.n, 0);
    assert_string_equal(a.json, "[]");
    assert_int_equal(hb_nsp_server_side_emit(chat, "ev", NULL, 0, NULL, NULL), 0);
    /* refused: not an array, reserved names */
    assert_int_equal(hb_nsp_server_side_emit(chat, "ev", "{}", 0, on_answers, &a), HB_EINVAL);
    assert_int_equal(hb_nsp_server_side_emit(chat, "connection", NULL, 0, on_answers, &a),
                     HB_EINVAL);
    assert_int_equal(hb_nsp_server_side_emit(chat, "new_namespace", NULL, 0, NULL, NULL),
                     HB_EINVAL);
    assert_int_equal(a.calls, 1);

    bus.publish = no_publish;
    bus.request = no_request;
    bus.server_emit = fake_emit;
    bus.ud = &f;
    hb_sio_server_set_bus(srv, &bus);
    /* to the bus, with the default timeout; the answers come later */
    assert_int_equal(hb_nsp_server_side_emit(chat, "ev", " [1, \"x\"] ", 0, on_answers, &a), 0);
    assert_int_equal(f.emits, 1);
    assert_string_equal(f.nsp, "/chat");
    assert_string_equal(f.event, "ev");
    assert_string_equal(f.args, "[1, \"x\"]");
    assert_int_equal(f.timeout_ms, 5000);
    assert_non_null(f.done);
    assert_int_equal(a.calls, 1);
    f.done(f.dud, HB_ETIMEDOUT, "[\"n1\"]", 1);
    assert_int_equal(a.calls, 2);
    assert_int_equal(a.err, HB_ETIMEDOUT);
    assert_string_equal(a.json, "[\"n1\"]");
    /* without an ack: no done */
    assert_int_equal(hb_nsp_server_side_emit(chat, "ev", NULL, 250, NULL, NULL), 0);
    assert_int_equal(f.emits, 2);
    assert_null(f.done);
    assert_string_equal(f.args, "[]");
    assert_int_equal(f.timeout_ms, 250);
    /* Redis away: the callback at once, with the error */
    f.result = HB_ECLUSTER;
    assert_int_equal(hb_nsp_server_side_emit(chat, "ev", NULL, 0, on_answers, &a), 0);
    assert_int_equal(a.calls, 3);
    assert_int_equal(a.err, HB_ECLUSTER);
    assert_string_equal(a.json, "[]");
    /* another error: returned, no callback */
    f.result = HB_ENOMEM;
    assert_int_equal(hb_nsp_server_side_emit(chat, "ev", NULL, 0, on_answers, &a), HB_ENOMEM);
    assert_int_equal(a.calls, 3);
    hb_sio_server_set_bus(srv, NULL);
    hb_sio_server_free(srv);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handlers_and_default),
        cmocka_unit_test(test_kept_and_dropped),
        cmocka_unit_test(test_dynamic_parent),
        cmocka_unit_test(test_emit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
