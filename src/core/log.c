/* Log records: formatting, escaping and the single write per line. The
 * settings are atomics so that worker threads can log while the main thread
 * changes the level; stdio's per-stream lock keeps lines whole. */
#include "core/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static atomic_int log_level = HB_LOG_INFO;
static atomic_int log_json;
static _Atomic(FILE *) log_stream; /* NULL: stderr */

static const char *const level_names[] = {"error", "warn", "info", "debug", "trace"};
static const char *const level_labels[] = {"ERROR", "WARN ", "INFO ", "DEBUG", "TRACE"};

enum {
    MSG_STACK = 1024,   /* most messages format without malloc */
    LINE_STACK = 4096,
    MODULE_MAX = 64,    /* a module is a short name; longer is cut */
    FIXED_MAX = 96,     /* everything but the escaped module and message */
    ESC_MAX = 6,        /* the longest escape of one byte: \u00XX */
};

static int clamp_level(int level) {
    if (level < HB_LOG_ERROR)
        return HB_LOG_ERROR;
    if (level > HB_LOG_TRACE)
        return HB_LOG_TRACE;
    return level;
}

void hb_log_set_level(int level) {
    atomic_store_explicit(&log_level, clamp_level(level), memory_order_relaxed);
}

int hb_log_level(void) {
    return atomic_load_explicit(&log_level, memory_order_relaxed);
}

int hb_log_parse_level(const char *s) {
    if (s == NULL)
        return -1;
    for (int i = HB_LOG_ERROR; i <= HB_LOG_TRACE; i++)
        if (strcasecmp(s, level_names[i]) == 0)
            return i;
    return -1;
}

void hb_log_set_json(int json) {
    atomic_store_explicit(&log_json, json != 0, memory_order_relaxed);
}

void hb_log_set_stream(FILE *f) {
    atomic_store_explicit(&log_stream, f, memory_order_relaxed);
}

static const char hex[] = "0123456789abcdef";

/* The length of the well-formed UTF-8 sequence (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF) that starts s, or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n) {
    unsigned c = s[0], lo = 0x80, hi = 0xbf;
    size_t len;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0)
            lo = 0xa0; /* overlong */
        else if (c == 0xed)
            hi = 0x9f; /* surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0)
            lo = 0x90; /* overlong */
        else if (c == 0xf4)
            hi = 0x8f; /* above U+10FFFF */
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return len;
}

/* Text: control characters become C-style escapes so a record is one line
 * and a hostile value cannot forge another record. Other bytes pass. At
 * most 4 bytes out per byte in. */
static size_t escape_text(char *out, const char *in, size_t n) {
    const unsigned char *s = (const unsigned char *)in;
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (c >= 0x20 && c != 0x7f) {
            out[o++] = (char)c;
            continue;
        }
        out[o++] = '\\';
        switch (c) {
        case '\n': out[o++] = 'n'; break;
        case '\r': out[o++] = 'r'; break;
        case '\t': out[o++] = 't'; break;
        default:
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    return o;
}

/* JSON string contents (RFC 8259), with ill-formed UTF-8 replaced by U+FFFD
 * one byte at a time. At most ESC_MAX bytes out per byte in. */
static size_t escape_json(char *out, const char *in, size_t n) {
    const unsigned char *s = (const unsigned char *)in;
    size_t o = 0;

    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        if (c >= 0x80) {
            size_t len = utf8_seq(s + i, n - i);
            if (len == 0) {
                memcpy(out + o, "\\ufffd", 6);
                o += 6;
                i++;
            } else {
                memcpy(out + o, s + i, len);
                o += len;
                i += len;
            }
            continue;
        }
        i++;
        if (c >= 0x20 && c != '"' && c != '\\') {
            out[o++] = (char)c;
            continue;
        }
        out[o++] = '\\';
        switch (c) {
        case '"': out[o++] = '"'; break;
        case '\\': out[o++] = '\\'; break;
        case '\b': out[o++] = 'b'; break;
        case '\f': out[o++] = 'f'; break;
        case '\n': out[o++] = 'n'; break;
        case '\r': out[o++] = 'r'; break;
        case '\t': out[o++] = 't'; break;
        default:
            memcpy(out + o, "u00", 3);
            o += 3;
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    return o;
}

static size_t append(char *out, const char *s) {
    size_t n = strlen(s);
    memcpy(out, s, n);
    return n;
}

/* "2026-11-25T20:42:44.123Z": UTC with milliseconds. */
static void format_time(char out[40]) {
    struct timespec ts;
    struct tm tm;

    clock_gettime(CLOCK_REALTIME, &ts);
    time_t sec = ts.tv_sec;
    if (gmtime_r(&sec, &tm) == NULL)
        memset(&tm, 0, sizeof(tm));
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    unsigned ms = (unsigned)(ts.tv_nsec / 1000000) % 1000;
    out[n++] = '.';
    out[n++] = (char)('0' + ms / 100);
    out[n++] = (char)('0' + ms / 10 % 10);
    out[n++] = (char)('0' + ms % 10);
    out[n++] = 'Z';
    out[n] = '\0';
}

void hb_log(int level, const char *module, const char *fmt, ...) {
    if (level > hb_log_level())
        return;
    level = clamp_level(level);
    int saved_errno = errno;

    /* Format the message, on the heap only when it is long. */
    char msg_stack[MSG_STACK];
    char *msg = msg_stack, *msg_heap = NULL;
    size_t msg_len;
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(msg_stack, sizeof(msg_stack), fmt, ap);
    va_end(ap);
    if (n < 0) {
        msg = "(log format error)";
        msg_len = strlen(msg);
    } else if ((size_t)n < sizeof(msg_stack)) {
        msg_len = (size_t)n;
    } else if ((msg_heap = malloc((size_t)n + 1)) != NULL) {
        vsnprintf(msg_heap, (size_t)n + 1, fmt, ap2);
        msg = msg_heap;
        msg_len = (size_t)n;
    } else {
        msg_len = sizeof(msg_stack) - 1; /* out of memory: cut */
    }
    va_end(ap2);

    size_t mod_len = module != NULL ? strnlen(module, MODULE_MAX) : 0;

    /* Room for the worst-case escaping; if the heap cannot give it, cut
     * the message to what the stack line holds. */
    char line_stack[LINE_STACK];
    char *line = line_stack, *line_heap = NULL;
    size_t need = FIXED_MAX + ESC_MAX * (mod_len + msg_len);
    if (need > sizeof(line_stack)) {
        line = line_heap = malloc(need);
        if (line == NULL) {
            size_t fits = (sizeof(line_stack) - FIXED_MAX) / ESC_MAX - mod_len;
            line = line_stack;
            if (msg_len > fits)
                msg_len = fits;
        }
    }

    char time_buf[40];
    format_time(time_buf);
    size_t o = 0;
    if (atomic_load_explicit(&log_json, memory_order_relaxed)) {
        o += append(line + o, "{\"time\":\"");
        o += append(line + o, time_buf);
        o += append(line + o, "\",\"level\":\"");
        o += append(line + o, level_names[level]);
        if (module != NULL) {
            o += append(line + o, "\",\"module\":\"");
            o += escape_json(line + o, module, mod_len);
        }
        o += append(line + o, "\",\"msg\":\"");
        o += escape_json(line + o, msg, msg_len);
        o += append(line + o, "\"}\n");
    } else {
        o += append(line + o, time_buf);
        line[o++] = ' ';
        o += append(line + o, level_labels[level]);
        line[o++] = ' ';
        if (module != NULL) {
            o += escape_text(line + o, module, mod_len);
            o += append(line + o, ": ");
        }
        o += escape_text(line + o, msg, msg_len);
        line[o++] = '\n';
    }

    FILE *f = atomic_load_explicit(&log_stream, memory_order_relaxed);
    if (f == NULL)
        f = stderr;
    fwrite(line, 1, o, f);
    fflush(f);

    free(line_heap);
    free(msg_heap);
    errno = saved_errno;
}
