/* hubbub's command line: every flag, its environment variable
 * (HUBBUB_<FLAG>, dashes as underscores) and its default, parsed into one
 * struct. The help text lives next to the table so they cannot drift. */
#ifndef HB_CLI_OPTIONS_H
#define HB_CLI_OPTIONS_H

#include <stddef.h>

enum { HB_CLI_MAX_LISTEN = 8, HB_CLI_MAX_CORS = 32 };

typedef struct hb_cli_options {
    const char *listen[HB_CLI_MAX_LISTEN + 1]; /* NULL-terminated */
    size_t nlisten;
    const char *path;
    const char *app;
    unsigned ping_interval;
    unsigned ping_timeout;
    unsigned connect_timeout;
    unsigned recovery_window;  /* 0: connection-state recovery off */
    size_t max_payload;
    const char *cors[HB_CLI_MAX_CORS + 1]; /* NULL-terminated */
    size_t ncors;
    const char *engineio_echo;
    const char *log_level;
    const char *log_format;
    unsigned shutdown_timeout;
    const char *access_key[3];  /* NULL-terminated; at most 2 */
    size_t naccess_key;
    int allow_anonymous;
    const char *redis;          /* NULL: no cluster */
    const char *node_id;
    const char *advertise;
    const char *public_url;
    unsigned node_ttl;          /* seconds; 0: the default */
} hb_cli_options;

/* Fills o from the environment, then argv. Returns 0 to run, 1 when --help
 * or --version was printed (exit 0), -1 after printing an error to stderr
 * (exit 2). Strings point into argv or the environment. */
int hb_cli_parse(hb_cli_options *o, int argc, char **argv);

#endif
