/* Logging: one line per record on stderr, as readable text or JSON lines.
 *
 * The level, format and stream are process-wide and may be read from any
 * thread; each record is written with one fwrite and flushed, so records
 * from different threads never interleave and a reader on a pipe sees each
 * line as soon as it is logged. Text:
 *   2026-11-25T20:42:44.123Z INFO  http: listening on http://127.0.0.1:3000
 * JSON:
 *   {"time":"2026-11-25T20:42:44.123Z","level":"info","module":"http","msg":"listening on ..."} */
#ifndef HB_CORE_LOG_H
#define HB_CORE_LOG_H

#include <stdio.h>

enum { HB_LOG_ERROR = 0, HB_LOG_WARN = 1, HB_LOG_INFO = 2, HB_LOG_DEBUG = 3, HB_LOG_TRACE = 4 };

/* Records at or below level are written; the default is HB_LOG_INFO. Out of
 * range values are clamped to [HB_LOG_ERROR, HB_LOG_TRACE]. */
void hb_log_set_level(int level);
int hb_log_level(void);

/* "error", "warn", "info", "debug" or "trace" (any case) to its level; -1 for
 * anything else, NULL included. */
int hb_log_parse_level(const char *s);

/* 0: text (the default); non-zero: JSON lines. */
void hb_log_set_json(int json);

/* Where records go; NULL means stderr (the default). The stream is borrowed:
 * it must stay open until another one is set. For tests. */
void hb_log_set_stream(FILE *f);

/* Writes one record if level is enabled. module (a short name such as
 * "http") may be NULL, and is then left out. The formatted message is never
 * split: in text, control characters are escaped (\n, \t, \x01...) so a
 * record stays one line; in JSON, it is escaped as a JSON string and bytes
 * that are not UTF-8 become U+FFFD, so every line is valid JSON. Very long
 * messages are written whole unless memory runs out, when they are cut.
 * errno is preserved. */
void hb_log(int level, const char *module, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define hb_log_enabled(level) ((level) <= hb_log_level())

/* Like hb_log, but the arguments are not evaluated when the level is off. */
#define hb_log__at(level, module, ...)                                                            \
    do {                                                                                           \
        if (hb_log_enabled(level))                                                                 \
            hb_log((level), (module), __VA_ARGS__);                                                \
    } while (0)
#define hb_log_error(module, ...) hb_log__at(HB_LOG_ERROR, module, __VA_ARGS__)
#define hb_log_warn(module, ...) hb_log__at(HB_LOG_WARN, module, __VA_ARGS__)
#define hb_log_info(module, ...) hb_log__at(HB_LOG_INFO, module, __VA_ARGS__)
#define hb_log_debug(module, ...) hb_log__at(HB_LOG_DEBUG, module, __VA_ARGS__)
#define hb_log_trace(module, ...) hb_log__at(HB_LOG_TRACE, module, __VA_ARGS__)

#endif
