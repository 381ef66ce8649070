/* Tests for src/sio/recovery.c: the offsets the log hands out, storing
 * packets (references and copies), saving and restoring sessions, the rule
 * that picks the missed packets by room, expiry through the window, the
 * caps on packets and sessions, a ring that wraps before it grows, and
 * offsets and pids that are unknown, garbled or from another log. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hubbub/error.h"
#include "sio/recovery.h"

enum { WINDOW = 1000 };

static hb_slice S(const char *s) {
    hb_slice r = {(const uint8_t *)s, strlen(s)};
    return r;
}

/* A text message whose bytes are text, as the encoder would make it. */
static hb_buf *msg(const char *text) {
    hb_buf *b = hb_buf_from(text, strlen(text));
    assert_non_null(b);
    return b;
}

/* Stores one single-message packet with body text, sent at now to the
 * rooms of the NULL-terminated lists to and except; writes its offset to
 * off (when not NULL) and returns the message (the caller's reference). */
static hb_buf *store(hb_sio_log *log, uint64_t now, const char *text, const char *const *to,
                     const char *const *except, char off[HB_SIO_OFFSET_LEN + 1]) {
    hb_slice t[8], e[8];
    size_t nt = 0, ne = 0;
    hb_buf *m = msg(text);
    for (; to != NULL && to[nt] != NULL; nt++)
        t[nt] = S(to[nt]);
    for (; except != NULL && except[ne] != NULL; ne++)
        e[ne] = S(except[ne]);
    if (off != NULL)
        hb_sio_log_next_offset(log, off);
    assert_int_equal(hb_sio_log_store(log, now, t, nt, e, ne, &m, 1), 0);
    return m;
}

static void save(hb_sio_log *log, uint64_t now, const char *pid, const char *sid,
                 const char *const *rooms) {
    hb_slice r[8];
    size_t n = 0;
    for (; rooms != NULL && rooms[n] != NULL; n++)
        r[n] = S(rooms[n]);
    assert_int_equal(hb_sio_log_save(log, now, pid, sid, r, n), 0);
}

/* The text of the single message of restored packet i. */
static void expect_packet(const hb_sio_restored *r, size_t i, const char *text) {
    assert_true(i < r->npackets);
    assert_int_equal(r->packet_msgs[i], 1);
    assert_int_equal(r->packets[i][0]->len, strlen(text));
    assert_memory_equal(r->packets[i][0]->data, text, strlen(text));
}

/* Restores pid from offset and checks that it failed and left out empty. */
static void expect_not_restored(hb_sio_log *log, uint64_t now, const char *pid,
                                const char *offset) {
    hb_sio_restored r;
    memset(&r, 0x5A, sizeof(r));
    assert_int_equal(hb_sio_log_restore(log, now, pid, offset, &r), 0);
    assert_int_equal(r.npackets, 0);
    assert_int_equal(r.nrooms, 0);
    assert_null(r.packets);
    assert_null(r.rooms);
    assert_string_equal(r.sid, "");
}

/* --- offsets ---------------------------------------------------------------------- */

static void test_offsets(void **state) {
    hb_sio_log *log = hb_sio_log_new(WINDOW), *other = hb_sio_log_new(WINDOW);
    char off[HB_SIO_OFFSET_LEN + 1], first[HB_SIO_OFFSET_LEN + 1], o2[HB_SIO_OFFSET_LEN + 1];
    char want[HB_SIO_OFFSET_LEN + 1];
    (void)state;
    assert_non_null(log);
    assert_non_null(other);

    /* "<8-character prefix>-<sequence in lower-case hex>", from 1. */
    hb_sio_log_next_offset(log, first);
    assert_int_equal(strlen(first), 10);
    assert_int_equal(first[8], '-');
    assert_string_equal(first + 9, "1");
    /* Asking again does not use the offset up. */
    hb_sio_log_next_offset(log, off);
    assert_string_equal(off, first);

    /* Each store takes the offset it was given; the next one counts up. */
    for (int i = 1; i <= 26; i++) {
        hb_buf *m;
        hb_sio_log_next_offset(log, off);
        snprintf(want, sizeof(want), "%.8s-%x", first, (unsigned)i);
        assert_string_equal(off, want);
        m = store(log, 0, "2[\"e\"]", NULL, NULL, NULL);
        hb_buf_unref(m);
    }
    hb_sio_log_next_offset(log, off);
    assert_string_equal(off + 8, "-1b");
    assert_int_equal(hb_sio_log_packets(log), 26);

    /* Purging old packets never hands an offset out twice. */
    hb_sio_log_purge(log, WINDOW + 1);
    assert_int_equal(hb_sio_log_packets(log), 0);
    hb_sio_log_next_offset(log, o2);
    assert_string_equal(o2, off);

    /* Another log (another namespace or process) has another prefix. */
    hb_sio_log_next_offset(other, o2);
    assert_string_equal(o2 + 8, "-1");
    assert_memory_not_equal(o2, first, 8);

    hb_sio_log_free(log);
    hb_sio_log_free(other);
    hb_sio_log_free(NULL);
}

/* --- storing ---------------------------------------------------------------------- */

static void test_store_keeps_references_and_copies(void **state) {
    hb_sio_log *log = hb_sio_log_new(WINDOW);
    hb_buf *m[3] = {msg("52-[\"bin\",{\"_placeholder\":true,\"num\":0}]"), msg("\x01\x02"),
                    msg("\x03")};
    char room[8] = "red", seen[HB_SIO_OFFSET_LEN + 1];
    hb_slice to = S(room);
    hb_sio_restored r;
    (void)state;
    assert_non_null(log);

    hb_buf_unref(store(log, 10, "seen", NULL, NULL, seen));
    /* A packet with attachments is one entry holding all its messages,
     * each referenced, not copied. */
    assert_int_equal(hb_sio_log_store(log, 11, &to, 1, NULL, 0, m, 3), 0);
    assert_int_equal(hb_sio_log_packets(log), 2);
    for (int i = 0; i < 3; i++)
        assert_int_equal(m[i]->refs, 2);
    /* The room name was copied: the caller's bytes may change. */
    strcpy(room, "XXX");
    save(log, 12, "pid", "sid", (const char *const[]){"red", NULL});
    assert_int_equal(hb_sio_log_restore(log, 13, "pid", seen, &r), 1);
    assert_int_equal(r.npackets, 1);
    assert_int_equal(r.packet_msgs[0], 3);
    for (int i = 0; i < 3; i++) {
        assert_ptr_equal(r.packets[0][i], m[i]);
        assert_int_equal(m[i]->refs, 3);
    }
    hb_sio_restored_free(&r);
    assert_int_equal(r.npackets, 0);
    assert_null(r.packets);
    hb_sio_restored_free(&r); /* twice is harmless */

    /* Freeing the log gives the references back. */
    hb_sio_log_free(log);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(m[i]->refs, 1);
        hb_buf_unref(m[i]);
    }
}

/* --- save and restore ------------------------------------------------------------- */

static void test_save_restore(void **state) {
    hb_sio_log *log = hb_sio_log_new(WINDOW);
    char o1[HB_SIO_OFFSET_LEN + 1];
    hb_buf *m1, *m2, *m3, *m4;
    hb_sio_restored r;
    (void)state;
    assert_non_null(log);

    /* The socket got three packets, went away after the first... */
    m1 = store(log, 100, "one", NULL, NULL, o1);
    save(log, 150, "PID-1", "SID-1", (const char *const[]){"SID-1", "room a", "", NULL});
    assert_int_equal(hb_sio_log_sessions(log), 1);
    m2 = store(log, 200, "two", NULL, NULL, NULL);
    m3 = store(log, 300, "three", (const char *const[]){"SID-1", NULL}, NULL, NULL);
    m4 = store(log, 310, "four", NULL, NULL, NULL);

    /* ...and comes back with the offset of the last one it had. */
    assert_int_equal(hb_sio_log_restore(log, 400, "PID-1", o1, &r), 1);
    assert_string_equal(r.sid, "SID-1");
    assert_int_equal(r.nrooms, 3);
    assert_string_equal(r.rooms[0], "SID-1");
    assert_int_equal(r.room_lens[0], 5);
    assert_string_equal(r.rooms[1], "room a");
    assert_int_equal(r.room_lens[1], 6);
    assert_string_equal(r.rooms[2], "");
    assert_int_equal(r.room_lens[2], 0);
    assert_int_equal(r.npackets, 3);
    /* The very messages that were stored, referenced, in offset order. */
    assert_ptr_equal(r.packets[0][0], m2);
    assert_ptr_equal(r.packets[1][0], m3);
    assert_ptr_equal(r.packets[2][0], m4);
    assert_int_equal(m2->refs, 3); /* caller, log, restored */

    /* A restored session is forgotten; the packets stay for others. */
    assert_int_equal(hb_sio_log_sessions(log), 0);
    assert_int_equal(hb_sio_log_packets(log), 4);
    expect_not_restored(log, 400, "PID-1", o1);

    /* What was restored outlives the log. */
    hb_sio_log_free(log);
    assert_int_equal(m2->refs, 2);
    expect_packet(&r, 1, "three");
    hb_sio_restored_free(&r);
    assert_int_equal(m1->refs, 1);
    assert_int_equal(m2->refs, 1);
    hb_buf_unref(m1);
    hb_buf_unref(m2);
    hb_buf_unref(m3);
    hb_buf_unref(m4);
}

static void test_restore_from_latest_offset(void **state) {
    hb_sio_log *log = hb_sio_log_new(WINDOW);
    char o1[HB_SIO_OFFSET_LEN + 1];
    hb_sio_restored r;
    hb_buf *m;
    (void)state;
    assert_non_null(log);

    /* Nothing was missed: restored, with no packets. */
    m = store(log, 1, "only", NULL, NULL, o1);
    save(log, 2, "p", "s", NULL);
    assert_int_equal(hb_sio_log_restore(log, 3, "p", o1, &r), 1);
    assert_string_equal(r.sid, "s");
    assert_int_equal(r.nrooms, 0);
    assert_int_equal(r.npackets, 0);
    hb_sio_restored_free(&r);
    hb_buf_unref(m);
    hb_sio_log_free(log);
}

static void test_many_sessions(void **state) {
    enum { N = 1500 };
    hb_sio_log *log = hb_sio_log_new(WINDOW);
    char off[HB_SIO_OFFSET_LEN + 1], pid[32], sid[32];
    hb_buf *m;
    (void)state;
    assert_non_null(log);

    /* Enough sessions for the pid table to grow several times. */
    m = store(log, 0, "x", NULL, NULL, off);
    for (int i = 0; i < N; i++) {
        snprintf(pid, sizeof(pid), "pid%d", i);
        snprintf(sid, sizeof(sid), "sid%d", i);
        save(log, 1, pid, sid, (const char *const[]){sid, NULL});
    }
    assert_int_equal(hb_sio_log_sessions(log), N);
    /* Each one is found by its own pid, in any order. */
    for (int k = 0; k < N; k++) {
        int i = (int)(((unsigned)k * 7919u) % N);
        hb_sio_restored r;
        snprintf(pid, sizeof(pid), "pid%d", i);
        snprintf(sid, sizeof(sid), "sid%d", i);
        assert_int_equal(hb_sio_log_restore(log, 2, pid, off, &r), 1);
        assert_string_equal(r.sid, sid);
        assert_int_equal(r.nrooms, 1);
        assert_string_equal(r.rooms[0], sid);
        hb_sio_restored_free(&r);
    }
    assert_int_equal(hb_sio_log_sessions(log), 0);
    hb_buf_unref(m);
    hb_sio_log_free(log);
}

/* --- which packets a session missed ----------------------------------------------- */

static void test_room_filter(void **state) {
    hb_sio_log *log = hb_sio_log_new(WINDOW);
    char start[HB_SIO_OFFSET_LEN + 1];
    hb_sio_restored r;
    const char *const sess[] = {"me", "red", "a,b", NULL};
    /* Packet text, to, except, and whether the session gets it. */
    static const struct {
        const char *text;
        const char *to[4];
        const char *except[4];
        int gets;
    } cases[] = {
        {"everyone", {NULL}, {NULL}, 1},
        {"to me", {"me", NULL}, {NULL}, 1},
        {"to red", {"red", NULL}, {NULL}, 1},
        {"to blue", {"blue", NULL}, {NULL}, 0},
        {"to blue or red", {"blue", "red", NULL}, {NULL}, 1},
        {"to a prefix of red", {"re", NULL}, {NULL}, 0},
        {"to a longer name", {"redder", NULL}, {NULL}, 0},
        {"to a room with a comma", {"a,b", NULL}, {NULL}, 1},
        {"to another socket", {"you", NULL}, {NULL}, 0},
        {"everyone but red", {NULL}, {"red", NULL}, 0},
        {"everyone but blue", {NULL}, {"blue", NULL}, 1},
        {"red but not blue", {"red", NULL}, {"blue", NULL}, 1},
        {"red but not me", {"red", NULL}, {"me", NULL}, 0},
        {"blue but not red", {"blue", NULL}, {"red", NULL}, 0},
        {"red and me but not a,b", {"red", "me", NULL}, {"x", "a,b", NULL}, 0},
        {"last", {NULL}, {NULL}, 1},
    };
    size_t ncases = sizeof(cases) / sizeof(cases[0]), want = 0, got = 0;
    (void)state;
    assert_non_null(log);

    hb_buf_unref(store(log, 0, "seen", NULL, NULL, start));
    save(log, 0, "pid", "me", sess);
    for (size_t i = 0; i < ncases; i++) {
        hb_buf_unref(store(log, 1, cases[i].text, cases[i].to, cases[i].except, NULL));
        want += (size_t)cases[i].gets;
    }
    assert_int_equal(hb_sio_log_restore(log, 2, "pid", start, &r), 1);
    assert_int_equal(r.npackets, want);
    for (size_t i = 0; i < ncases; i++) {
        if (!cases[i].gets)
            continue;
        expect_packet(&r, got++, cases[i].text);
    }
    hb_sio_restored_free(&r);

    /* A session in no room at all gets what went to everyone, and what
     * went to everyone but rooms (which it is never in). */
    save(log, 3, "bare", "bare-sid", NULL);
    assert_int_equal(hb_sio_log_restore(log, 4, "bare", start, &r), 1);
    assert_int_equal(r.npackets, 4);
    expect_packet(&r, 0, "everyone");
    expect_packet(&r, 1, "everyone but red");
    expect_packet(&r, 2, "everyone but blue");
    expect_packet(&r, 3, "last");
    hb_sio_restored_free(&r);
    hb_sio_log_free(log);
}

/* --- the window ------------------------------------------------------------------- */

static void test_window_expiry(void **state) {
    hb_sio_log *log = hb_sio_log_new(WINDOW);
    char o0[HB_SIO_OFFSET_LEN + 1], o1[HB_SIO_OFFSET_LEN + 1];
    hb_sio_restored r;
    hb_buf *m0, *m1;
    (void)state;
    assert_non_null(log);

    m0 = store(log, 1000, "at 1000", NULL, NULL, o0);
    m1 = store(log, 1500, "at 1500", NULL, NULL, o1);
    save(log, 1200, "old", "sid-old", NULL);
    save(log, 1600, "new", "sid-new", NULL);

    /* Exactly window ms old is still inside. */
    hb_sio_log_purge(log, 2000);
    assert_int_equal(hb_sio_log_packets(log), 2);
    assert_int_equal(hb_sio_log_sessions(log), 2);
    assert_int_equal(m0->refs, 2);

    /* One ms more and the first packet goes, and its reference with it. */
    hb_sio_log_purge(log, 2001);
    assert_int_equal(hb_sio_log_packets(log), 1);
    assert_int_equal(m0->refs, 1);
    /* A session whose offset has gone connects afresh... */
    expect_not_restored(log, 2001, "old", o0);
    /* ...which does not throw the session away: a good offset still works. */
    assert_int_equal(hb_sio_log_sessions(log), 2);
    assert_int_equal(hb_sio_log_restore(log, 2200, "old", o1, &r), 1);
    assert_string_equal(r.sid, "sid-old");
    assert_int_equal(r.npackets, 0);
    hb_sio_restored_free(&r);

    /* Restore purges by itself: "new" was saved at 1600, so at 2601 it is
     * gone even though nobody called purge. */
    expect_not_restored(log, 2601, "new", o1);
    assert_int_equal(hb_sio_log_sessions(log), 0);
    assert_int_equal(hb_sio_log_packets(log), 0);
    assert_int_equal(m1->refs, 1);

    /* Store and save purge too. */
    save(log, 3000, "s", "sid", NULL);
    hb_buf_unref(store(log, 3000, "x", NULL, NULL, NULL));
    hb_buf_unref(store(log, 4001, "y", NULL, NULL, NULL));
    assert_int_equal(hb_sio_log_packets(log), 1);
    save(log, 4002, "t", "sid2", NULL);
    assert_int_equal(hb_sio_log_sessions(log), 1);

    hb_buf_unref(m0);
    hb_buf_unref(m1);
    hb_sio_log_free(log);
}

static void test_zero_window(void **state) {
    hb_sio_log *log = hb_sio_log_new(0);
    char o[HB_SIO_OFFSET_LEN + 1];
    hb_sio_restored r;
    (void)state;
    assert_non_null(log);
    /* Only the same millisecond is within a window of 0. */
    hb_buf_unref(store(log, 50, "x", NULL, NULL, o));
    save(log, 50, "p", "s", NULL);
    assert_int_equal(hb_sio_log_restore(log, 50, "p", o, &r), 1);
    hb_sio_restored_free(&r);
    save(log, 50, "p", "s", NULL);
    expect_not_restored(log, 51, "p", o);
    assert_int_equal(hb_sio_log_packets(log), 0);
    assert_int_equal(hb_sio_log_sessions(log), 0);
    hb_sio_log_free(log);
}

/* The ring wraps (old packets purged from its front while new ones fill
 * the back) and then grows: the missed packets still come out in order. */
static void test_ring_wraps_then_grows(void **state) {
    hb_sio_log *log = hb_sio_log_new(15);
    char from[HB_SIO_OFFSET_LEN + 1], text[32], off[HB_SIO_OFFSET_LEN + 1];
    hb_sio_restored r;
    (void)state;
    assert_non_null(log);

    for (int i = 0; i < 32; i++) { /* A: gone at 16 */
        snprintf(text, sizeof(text), "A%d", i);
        hb_buf_unref(store(log, 0, text, NULL, NULL, NULL));
    }
    for (int i = 0; i < 32; i++) { /* B */
        snprintf(text, sizeof(text), "B%d", i);
        hb_buf_unref(store(log, 10, text, NULL, NULL, i == 0 ? from : NULL));
    }
    for (int i = 0; i < 40; i++) { /* C: purges A, wraps, then grows */
        snprintf(text, sizeof(text), "C%d", i);
        hb_buf_unref(store(log, 16, text, NULL, NULL, NULL));
    }
    assert_int_equal(hb_sio_log_packets(log), 72);
    save(log, 17, "p", "s", NULL);
    assert_int_equal(hb_sio_log_restore(log, 18, "p", from, &r), 1);
    assert_int_equal(r.npackets, 71);
    for (int i = 1; i < 32; i++) {
        snprintf(text, sizeof(text), "B%d", i);
        expect_packet(&r, (size_t)i - 1, text);
    }
    for (int i = 0; i < 40; i++) {
        snprintf(text, sizeof(text), "C%d", i);
        expect_packet(&r, 31 + (size_t)i, text);
    }
    hb_sio_restored_free(&r);
    /* The offsets went on counting through all of it. */
    hb_sio_log_next_offset(log, off);
    assert_string_equal(off + 8, "-69"); /* 104 + 1 */
    hb_sio_log_free(log);
}

/* --- caps ------------------------------------------------------------------------- */

static void test_packet_cap(void **state) {
    hb_sio_log *log = hb_sio_log_new(WINDOW);
    char o1[HB_SIO_OFFSET_LEN + 1], o2[HB_SIO_OFFSET_LEN + 1];
    hb_buf *m = msg("same"), *last;
    hb_sio_restored r;
    (void)state;
    assert_non_null(log);

    save(log, 0, "p", "s", NULL);
    hb_sio_log_next_offset(log, o1);
    for (size_t i = 0; i < HB_SIO_LOG_MAX_ENTRIES; i++) {
        if (i == 1)
            hb_sio_log_next_offset(log, o2);
        assert_int_equal(hb_sio_log_store(log, 0, NULL, 0, NULL, 0, &m, 1), 0);
    }
    assert_int_equal(hb_sio_log_packets(log), HB_SIO_LOG_MAX_ENTRIES);
    assert_int_equal(m->refs, 1 + HB_SIO_LOG_MAX_ENTRIES);

    /* One more: the oldest goes, the count stays. */
    last = store(log, 0, "last", NULL, NULL, NULL);
    assert_int_equal(hb_sio_log_packets(log), HB_SIO_LOG_MAX_ENTRIES);
    assert_int_equal(m->refs, HB_SIO_LOG_MAX_ENTRIES);
    expect_not_restored(log, 0, "p", o1);
    assert_int_equal(hb_sio_log_restore(log, 0, "p", o2, &r), 1);
    assert_int_equal(r.npackets, HB_SIO_LOG_MAX_ENTRIES - 1);
    assert_ptr_equal(r.packets[0][0], m);
    assert_ptr_equal(r.packets[r.npackets - 1][0], last);
    hb_sio_restored_free(&r);

    hb_sio_log_free(log);
    assert_int_equal(m->refs, 1);
    hb_buf_unref(m);
    hb_buf_unref(last);
}

static void test_session_cap(void **state) {
    hb_sio_log *log = hb_sio_log_new(WINDOW);
    char off[HB_SIO_OFFSET_LEN + 1], pid[32];
    hb_sio_restored r;
    (void)state;
    assert_non_null(log);

    hb_buf_unref(store(log, 0, "x", NULL, NULL, off));
    for (int i = 0; i < HB_SIO_LOG_MAX_SESSIONS; i++) {
        snprintf(pid, sizeof(pid), "p%d", i);
        assert_int_equal(hb_sio_log_save(log, 0, pid, "s", NULL, 0), 0);
    }
    assert_int_equal(hb_sio_log_sessions(log), HB_SIO_LOG_MAX_SESSIONS);
    /* One more: the oldest session goes, the count stays. */
    assert_int_equal(hb_sio_log_save(log, 0, "newest", "s-newest", NULL, 0), 0);
    assert_int_equal(hb_sio_log_sessions(log), HB_SIO_LOG_MAX_SESSIONS);
    expect_not_restored(log, 0, "p0", off);
    assert_int_equal(hb_sio_log_restore(log, 0, "p1", off, &r), 1);
    hb_sio_restored_free(&r);
    assert_int_equal(hb_sio_log_restore(log, 0, "newest", off, &r), 1);
    assert_string_equal(r.sid, "s-newest");
    hb_sio_restored_free(&r);
    assert_int_equal(hb_sio_log_sessions(log), HB_SIO_LOG_MAX_SESSIONS - 2);
    hb_sio_log_free(log);
}

/* --- what does not restore -------------------------------------------------------- */

static void test_bad_offsets(void **state) {
    hb_sio_log *log = hb_sio_log_new(WINDOW), *other = hb_sio_log_new(WINDOW);
    char o1[HB_SIO_OFFSET_LEN + 1], oa[HB_SIO_OFFSET_LEN + 1], foreign[HB_SIO_OFFSET_LEN + 1];
    char next[HB_SIO_OFFSET_LEN + 1], bad[64], pre[9];
    hb_sio_restored r;
    (void)state;
    assert_non_null(log);
    assert_non_null(other);

    hb_buf_unref(store(log, 0, "1", NULL, NULL, o1));
    for (int i = 2; i <= 12; i++) {
        char t[8];
        snprintf(t, sizeof(t), "%d", i);
        hb_buf_unref(store(log, 0, t, NULL, NULL, i == 10 ? oa : NULL));
    }
    assert_string_equal(oa + 8, "-a");
    hb_sio_log_next_offset(log, next); /* not stored yet */
    hb_sio_log_next_offset(other, foreign);
    hb_buf_unref(store(other, 0, "elsewhere", NULL, NULL, NULL));
    memcpy(pre, o1, 8);
    pre[8] = '\0';
    save(log, 0, "pid", "sid", NULL);

    expect_not_restored(log, 0, "pid", "");
    expect_not_restored(log, 0, "pid", "1");
    expect_not_restored(log, 0, "pid", "-1");
    expect_not_restored(log, 0, "pid", pre);          /* prefix alone */
    expect_not_restored(log, 0, "pid", next);         /* not stored yet */
    expect_not_restored(log, 0, "pid", foreign);      /* another log's */
    const char *tails[] = {
        "-",                  /* no number */
        "+1",                 /* wrong separator */
        "--1",                /* sign */
        "-0",                 /* before the first */
        "-01",                /* the right number, not the text we sent */
        "-A",                 /* upper case of "-a" */
        "-a ",                /* trailing space */
        " -a",                /* space before the separator */
        "-1x",                /* trailing garbage */
        "-g",                 /* not hex */
        "-ffffffffffffffff",  /* far past the end */
        "-10000000000000001", /* 17 digits */
        "-\xc3\xa9",          /* not ASCII */
    };
    for (size_t i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
        snprintf(bad, sizeof(bad), "%s%s", pre, tails[i]);
        expect_not_restored(log, 0, "pid", bad);
    }
    /* One changed character in the prefix. */
    snprintf(bad, sizeof(bad), "%s", oa);
    bad[3] = bad[3] == 'A' ? 'B' : 'A';
    expect_not_restored(log, 0, "pid", bad);
    /* A shorter prefix. */
    snprintf(bad, sizeof(bad), "%.7s-a", oa);
    expect_not_restored(log, 0, "pid", bad);

    /* None of that cost the session: the real offset restores it. */
    assert_int_equal(hb_sio_log_sessions(log), 1);
    assert_int_equal(hb_sio_log_restore(log, 0, "pid", oa, &r), 1);
    assert_int_equal(r.npackets, 2);
    expect_packet(&r, 0, "11");
    expect_packet(&r, 1, "12");
    hb_sio_restored_free(&r);
    hb_sio_log_free(log);
    hb_sio_log_free(other);
}

static void test_bad_pids(void **state) {
    hb_sio_log *log = hb_sio_log_new(WINDOW);
    char o[HB_SIO_OFFSET_LEN + 1];
    hb_sio_restored r;
    (void)state;
    assert_non_null(log);

    /* No session at all. */
    hb_buf_unref(store(log, 0, "x", NULL, NULL, o));
    expect_not_restored(log, 0, "anything", o);

    save(log, 0, "abcdefghijklmnopqrst", "sid", NULL); /* 20 characters, as ours */
    expect_not_restored(log, 0, "", o);
    expect_not_restored(log, 0, "abcdefghijklmnopqrs", o);   /* a prefix */
    expect_not_restored(log, 0, "abcdefghijklmnopqrstu", o); /* longer */
    expect_not_restored(log, 0, "ABCDEFGHIJKLMNOPQRST", o);  /* case */
    expect_not_restored(log, 0, "sid", o);                   /* the socket id */
    expect_not_restored(log, 0, "abcdefghijklmnopqrs\xff", o);
    assert_int_equal(hb_sio_log_sessions(log), 1);
    assert_int_equal(hb_sio_log_restore(log, 0, "abcdefghijklmnopqrst", o, &r), 1);
    assert_string_equal(r.sid, "sid");
    hb_sio_restored_free(&r);
    hb_sio_log_free(log);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_offsets),
        cmocka_unit_test(test_store_keeps_references_and_copies),
        cmocka_unit_test(test_save_restore),
        cmocka_unit_test(test_restore_from_latest_offset),
        cmocka_unit_test(test_many_sessions),
        cmocka_unit_test(test_room_filter),
        cmocka_unit_test(test_window_expiry),
        cmocka_unit_test(test_zero_window),
        cmocka_unit_test(test_ring_wraps_then_grows),
        cmocka_unit_test(test_packet_cap),
        cmocka_unit_test(test_session_cap),
        cmocka_unit_test(test_bad_offsets),
        cmocka_unit_test(test_bad_pids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
