/* Tests for src/core/log.c: the text and JSON line formats read back through
 * a pipe (so a missing flush shows), level filtering and parsing, arguments
 * left unevaluated when disabled, escaping of hostile bytes (JSON lines are
 * parsed by jansson), long messages, and whole lines from two threads. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/log.h"

static int g_fds[2];
static FILE *g_out;
static char g_buf[1 << 17];

static int setup(void **state) {
    (void)state;
    if (pipe(g_fds) != 0)
        return -1;
    fcntl(g_fds[0], F_SETFL, O_NONBLOCK);
    g_out = fdopen(g_fds[1], "w");
    if (g_out == NULL)
        return -1;
    setvbuf(g_out, NULL, _IOFBF, 1 << 16); /* nothing shows without a flush */
    hb_log_set_stream(g_out);
    hb_log_set_level(HB_LOG_INFO);
    hb_log_set_json(0);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    hb_log_set_stream(NULL);
    hb_log_set_json(0);
    hb_log_set_level(HB_LOG_INFO);
    fclose(g_out);
    close(g_fds[0]);
    return 0;
}

/* Everything the pipe holds now, NUL-terminated. */
static size_t drain(void) {
    size_t n = 0;
    for (;;) {
        ssize_t r = read(g_fds[0], g_buf + n, sizeof(g_buf) - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    g_buf[n] = '\0';
    return n;
}

static void assert_matches(const char *s, const char *pattern) {
    regex_t re;
    assert_int_equal(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
    int rc = regexec(&re, s, 0, NULL, 0);
    regfree(&re);
    if (rc != 0)
        fail_msg("\"%s\" does not match /%s/", s, pattern);
}

#define TIME_RE "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z"

static void assert_time_is_now(const char *s) {
    struct tm tm;
    int ms;
    memset(&tm, 0, sizeof(tm));
    assert_int_equal(sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon,
                            &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms),
                     7);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t t = timegm(&tm);
    time_t now = time(NULL);
    /* time() reads glibc's coarse clock, which can lag the log's
     * CLOCK_REALTIME by a tick across a second boundary: allow one second. */
    assert_true(t <= now + 1 && t >= now - 5);
}

/* Runs first, before anything is set: INFO, text, stderr. */
static void test_defaults(void **state) {
    (void)state;
    assert_int_equal(hb_log_level(), HB_LOG_INFO);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(stderr);
    int saved = dup(2);
    assert_true(saved >= 0);
    assert_true(dup2(fds[1], 2) == 2);
    hb_log(HB_LOG_DEBUG, "core", "filtered");
    hb_log(HB_LOG_INFO, "core", "to stderr");
    assert_true(dup2(saved, 2) == 2);
    close(saved);
    close(fds[1]);
    char buf[256];
    ssize_t n = read(fds[0], buf, sizeof(buf) - 1);
    close(fds[0]);
    assert_true(n > 0);
    buf[n] = '\0';
    assert_matches(buf, "^" TIME_RE " INFO  core: to stderr\n$");
}

static void test_text_line(void **state) {
    (void)state;
    hb_log(HB_LOG_INFO, "http", "listening on http://%s:%d", "127.0.0.1", 3000);
    drain();
    assert_matches(g_buf, "^" TIME_RE " INFO  http: listening on http://127\\.0\\.0\\.1:3000\n$");
    assert_time_is_now(g_buf);
}

static void test_level_labels(void **state) {
    (void)state;
    static const char *labels[] = {" ERROR m: x\n", " WARN  m: x\n", " INFO  m: x\n",
                                   " DEBUG m: x\n", " TRACE m: x\n"};
    hb_log_set_level(HB_LOG_TRACE);
    for (int level = HB_LOG_ERROR; level <= HB_LOG_TRACE; level++) {
        hb_log(level, "m", "x");
        assert_int_equal(drain(), 24 + strlen(labels[level]));
        assert_string_equal(g_buf + 24, labels[level]);
    }
}

static int g_evaluated;

static int side_effect(void) {
    return ++g_evaluated;
}

static void test_level_filter(void **state) {
    (void)state;
    hb_log_set_level(HB_LOG_WARN);
    assert_int_equal(hb_log_level(), HB_LOG_WARN);
    assert_true(hb_log_enabled(HB_LOG_ERROR));
    assert_true(hb_log_enabled(HB_LOG_WARN));
    assert_false(hb_log_enabled(HB_LOG_INFO));

    g_evaluated = 0;
    hb_log(HB_LOG_INFO, "m", "direct call, filtered too");
    hb_log_info("m", "%d", side_effect());
    hb_log_debug("m", "%d", side_effect());
    hb_log_trace("m", "%d", side_effect());
    assert_int_equal(drain(), 0);
    assert_int_equal(g_evaluated, 0);

    hb_log_warn("m", "w%d", side_effect());
    hb_log_error("m", "e%d", side_effect());
    assert_int_equal(g_evaluated, 2);
    drain();
    assert_matches(g_buf, "^" TIME_RE " WARN  m: w1\n" TIME_RE " ERROR m: e2\n$");

    hb_log_set_level(HB_LOG_TRACE);
    hb_log_trace("m", "t%d", side_effect());
    drain();
    assert_matches(g_buf, "^" TIME_RE " TRACE m: t3\n$");

    hb_log_set_level(99);
    assert_int_equal(hb_log_level(), HB_LOG_TRACE);
    hb_log_set_level(-3);
    assert_int_equal(hb_log_level(), HB_LOG_ERROR);
    hb_log_info("m", "%d", side_effect());
    assert_int_equal(drain(), 0);
    assert_int_equal(g_evaluated, 3);
}

static void test_parse_level(void **state) {
    (void)state;
    assert_int_equal(hb_log_parse_level("error"), HB_LOG_ERROR);
    assert_int_equal(hb_log_parse_level("warn"), HB_LOG_WARN);
    assert_int_equal(hb_log_parse_level("info"), HB_LOG_INFO);
    assert_int_equal(hb_log_parse_level("debug"), HB_LOG_DEBUG);
    assert_int_equal(hb_log_parse_level("trace"), HB_LOG_TRACE);
    assert_int_equal(hb_log_parse_level("WARN"), HB_LOG_WARN);
    assert_int_equal(hb_log_parse_level("Trace"), HB_LOG_TRACE);
    assert_int_equal(hb_log_parse_level("warning"), -1);
    assert_int_equal(hb_log_parse_level("info "), -1);
    assert_int_equal(hb_log_parse_level("inf"), -1);
    assert_int_equal(hb_log_parse_level(""), -1);
    assert_int_equal(hb_log_parse_level("2"), -1);
    assert_int_equal(hb_log_parse_level(NULL), -1);
}

/* Parses the single JSON line in g_buf. */
static json_t *json_line(void) {
    size_t n = strlen(g_buf);
    assert_true(n > 2);
    assert_int_equal(g_buf[n - 1], '\n');
    assert_null(memchr(g_buf, '\n', n - 1));
    json_error_t err;
    json_t *j = json_loadb(g_buf, n, JSON_ALLOW_NUL, &err);
    if (j == NULL)
        fail_msg("not JSON (%s): %s", err.text, g_buf);
    assert_true(json_is_object(j));
    return j;
}

static void test_json_line(void **state) {
    (void)state;
    hb_log_set_json(1);
    hb_log(HB_LOG_WARN, "http", "listening on http://%s:%d", "127.0.0.1", 3000);
    drain();
    assert_matches(g_buf, "^\\{\"time\":\"" TIME_RE "\",\"level\":\"warn\",\"module\":\"http\","
                          "\"msg\":\"listening on http://127\\.0\\.0\\.1:3000\"\\}\n$");
    json_t *j = json_line();
    assert_int_equal(json_object_size(j), 4);
    assert_time_is_now(json_string_value(json_object_get(j, "time")));
    assert_string_equal(json_string_value(json_object_get(j, "level")), "warn");
    assert_string_equal(json_string_value(json_object_get(j, "module")), "http");
    json_decref(j);

    hb_log_set_level(HB_LOG_TRACE);
    static const char *names[] = {"error", "warn", "info", "debug", "trace"};
    for (int level = HB_LOG_ERROR; level <= HB_LOG_TRACE; level++) {
        hb_log(level, NULL, "x");
        drain();
        j = json_line();
        assert_string_equal(json_string_value(json_object_get(j, "level")), names[level]);
        assert_null(json_object_get(j, "module")); /* NULL module: no key */
        json_decref(j);
    }
}

static void test_json_escaping(void **state) {
    (void)state;
    hb_log_set_json(1);
    /* Every kind of hostile byte, then what a JSON reader must get back. */
    static const char in[] = "q\" b\\ n\n r\r t\t \x01\x1f\x7f / "
                             "\xc3\xa9 \xf0\x9f\x98\x80 "   /* valid: é, U+1F600 */
                             "\xff \xc3 \xc0\xaf "          /* bad byte, cut, overlong */
                             "\xed\xa0\x80 \xf4\x90\x80\x80 " /* surrogate, > U+10FFFF */
                             "\xe0\x80\xaf \xf0\x8f\xbf\xbf " /* overlong 3 and 4 bytes */
                             "\xe2\x82";                    /* cut at the end */
    static const char out[] = "q\" b\\ n\n r\r t\t \x01\x1f\x7f / "
                              "\xc3\xa9 \xf0\x9f\x98\x80 "
                              "\xef\xbf\xbd \xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd "
                              "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd "
                              "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd "
                              "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd "
                              "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd "
                              "\xef\xbf\xbd\xef\xbf\xbd";
    hb_log(HB_LOG_INFO, "mod\"\n", "%s%c%s", in, 0, "after NUL");
    drain();
    /* The short escapes, readable in the raw line. */
    assert_non_null(strstr(g_buf, "\"msg\":\"q\\\" b\\\\ n\\n r\\r t\\t \\u0001\\u001f\x7f / "));
    assert_non_null(strstr(g_buf, "\\u0000after NUL\"}\n"));
    json_t *j = json_line();
    assert_string_equal(json_string_value(json_object_get(j, "module")), "mod\"\n");
    json_t *msg = json_object_get(j, "msg");
    size_t len = json_string_length(msg);
    assert_int_equal(len, sizeof(out) - 1 + 1 + strlen("after NUL"));
    assert_memory_equal(json_string_value(msg), out, sizeof(out) - 1);
    assert_memory_equal(json_string_value(msg) + sizeof(out), "after NUL", 9);
    json_decref(j);
}

static void test_text_escaping(void **state) {
    (void)state;
    hb_log(HB_LOG_INFO, "m\n", "a\nb\r\tc\x01\x7f \xc3\xa9 \\ %c.", 0);
    drain();
    assert_string_equal(g_buf + 24, " INFO  m\\n: a\\nb\\r\\tc\\x01\\x7f \xc3\xa9 \\ \\x00.\n");
}

static void test_module_null_text(void **state) {
    (void)state;
    hb_log(HB_LOG_ERROR, NULL, "no module");
    drain();
    assert_matches(g_buf, "^" TIME_RE " ERROR no module\n$");
}

/* Lengths around the internal buffers come out whole, in both formats. */
static void test_long_messages(void **state) {
    (void)state;
    static const size_t lens[] = {0, 1, 600, 1022, 1023, 1024, 1025, 4000, 4096, 30000};
    char *msg = malloc(30001);
    assert_non_null(msg);
    for (int json = 0; json <= 1; json++) {
        hb_log_set_json(json);
        for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
            size_t n = lens[i];
            for (size_t k = 0; k < n; k++)
                msg[k] = (char)('a' + k % 26);
            if (n > 0)
                msg[n - 1] = json ? '"' : '\n'; /* escaped at the very end */
            msg[n] = '\0';
            hb_log(HB_LOG_INFO, "long", "%s", msg);
            size_t got = drain();
            if (json) {
                json_t *j = json_line();
                assert_string_equal(json_string_value(json_object_get(j, "msg")), msg);
                json_decref(j);
            } else {
                size_t head = 24 + strlen(" INFO  long: ");
                assert_int_equal(got, head + n + (n > 0) + 1);
                assert_memory_equal(g_buf + head, msg, n > 0 ? n - 1 : 0);
                if (n > 0)
                    assert_memory_equal(g_buf + head + n - 1, "\\n\n", 3);
            }
        }
    }
    free(msg);
}

/* Even when the write fails and sets errno itself. */
static void test_errno_preserved(void **state) {
    (void)state;
    errno = EBADF;
    hb_log(HB_LOG_INFO, "m", "%s", "x");
    assert_int_equal(errno, EBADF);
    assert_true(drain() > 0);
    FILE *ro = fopen("/dev/null", "r");
    assert_non_null(ro);
    hb_log_set_stream(ro);
    errno = ENOENT;
    hb_log(HB_LOG_INFO, "m", "into a read-only stream");
    assert_int_equal(errno, ENOENT);
    assert_true(ferror(ro));
    hb_log_set_stream(g_out);
    fclose(ro);
}

enum { THREAD_LINES = 2000 };

static void *log_thread(void *arg) {
    const char *name = arg;
    for (int i = 0; i < THREAD_LINES; i++)
        hb_log(HB_LOG_INFO, name, "line %d of %s with some padding to make it longer %0100d", i,
               name, 0);
    return NULL;
}

/* Two threads sharing a stream never interleave inside a line. */
static void test_threads_whole_lines(void **state) {
    (void)state;
    FILE *f = tmpfile();
    assert_non_null(f);
    hb_log_set_stream(f);
    pthread_t a, b;
    assert_int_equal(pthread_create(&a, NULL, log_thread, "alpha"), 0);
    assert_int_equal(pthread_create(&b, NULL, log_thread, "beta"), 0);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    hb_log_set_stream(g_out);
    rewind(f);
    char line[512];
    int counts[2] = {0, 0};
    regex_t re;
    assert_int_equal(regcomp(&re,
                             "^" TIME_RE " INFO  (alpha|beta): line [0-9]+ of (alpha|beta) with "
                             "some padding to make it longer 0{100}\n$",
                             REG_EXTENDED | REG_NOSUB),
                     0);
    while (fgets(line, sizeof(line), f) != NULL) {
        if (regexec(&re, line, 0, NULL, 0) != 0)
            fail_msg("torn line: %s", line);
        counts[strstr(line, "beta") != NULL]++;
    }
    regfree(&re);
    fclose(f);
    assert_int_equal(counts[0], THREAD_LINES);
    assert_int_equal(counts[1], THREAD_LINES);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test_setup_teardown(test_text_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_level_filter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_level_labels, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_level, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_escaping, setup, teardown),
        cmocka_unit_test_setup_teardown(test_text_escaping, setup, teardown),
        cmocka_unit_test_setup_teardown(test_module_null_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_messages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errno_preserved, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads_whole_lines, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
