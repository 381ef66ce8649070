/* Flag parsing for hubbub. Each flag has one row in `flags`: its name, the
 * kind of value, where it goes and its help line; --help prints the table
 * and the environment is read through the same rows. */
#include "cli/options.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hubbub/hubbub.h"

enum kind { K_STR, K_LIST, K_MS, K_SEC, K_SIZE, K_BOOL };

typedef struct flag {
    const char *name;
    enum kind kind;
    size_t off;   /* offset of the field in hb_cli_options */
    size_t count; /* for lists: offset of the count field */
    size_t max;   /* for lists: capacity */
    const char *arg;
    const char *help;
} flag;

#define F(field) offsetof(hb_cli_options, field)

static const flag flags[] = {
    {"listen", K_LIST, F(listen), F(nlisten), HB_CLI_MAX_LISTEN, "HOST:PORT",
     "address to serve HTTP and WebSocket on (repeatable; default 127.0.0.1:3000)"},
    {"path", K_STR, F(path), 0, 0, "PATH",
     "Engine.IO/Socket.IO path of the default hub (default /socket.io/)"},
    {"app", K_STR, F(app), 0, 0, "NAME",
     "built-in app on the Socket.IO server: demo (the chat of `make run`), protocol (the "
     "reference behaviour for protocol tests), testbed (every API, for tests), bench (the "
     "benchmarks' server side) or none (default)"},
    {"ping-interval", K_MS, F(ping_interval), 0, 0, "MS",
     "server ping every MS milliseconds (default 25000)"},
    {"ping-timeout", K_MS, F(ping_timeout), 0, 0, "MS",
     "close a session whose pong is MS milliseconds late (default 20000)"},
    {"connect-timeout", K_MS, F(connect_timeout), 0, 0, "MS",
     "close a session that joins no namespace within MS (default 45000)"},
    {"recovery-window", K_MS, F(recovery_window), 0, 0, "MS",
     "connection-state recovery: a client that reconnects within MS gets its socket id, rooms "
     "and missed events back (default off)"},
    {"max-payload", K_SIZE, F(max_payload), 0, 0, "BYTES",
     "largest message or polling body accepted: 413 / close 1009 above (default 1000000)"},
    {"cors-origin", K_LIST, F(cors), F(ncors), HB_CLI_MAX_CORS, "ORIGIN",
     "allow browser requests from ORIGIN, with credentials (repeatable; * allows any origin, "
     "without credentials)"},
    {"engineio-echo", K_STR, F(engineio_echo), 0, 0, "PATH",
     "also serve a raw Engine.IO endpoint at PATH that sends each message back (tests)"},
    {"access-key", K_LIST, F(access_key), F(naccess_key), 2, "KEY",
     "access key of the Azure-compatible service (repeatable: a second key for rotation; "
     "default: a new random key, printed in the connection string at start)"},
    {"allow-anonymous", K_BOOL, F(allow_anonymous), 0, 0, "",
     "let clients connect to /clients/socketio/hubs/<hub>/ without an access_token"},
    {"redis", K_STR, F(redis), 0, 0, "URL",
     "cluster mode: act as one service with the other nodes on this Redis (hubs, app "
     "servers, REST, rooms, broadcasts), redis://HOST:PORT (docs/cluster.md; default off: "
     "one node, no Redis)"},
    {"node-id", K_STR, F(node_id), 0, 0, "ID",
     "this node's name in the cluster registry (default: random)"},
    {"advertise", K_STR, F(advertise), 0, 0, "HOST:PORT",
     "address other nodes and app servers reach this one at (default: the first --listen)"},
    {"public-url", K_STR, F(public_url), 0, 0, "URL",
     "cluster mode: the one address app servers and clients use for the whole cluster (a load "
     "balancer in front of every node), e.g. http://lb:3000; app servers are then asked for "
     "their tunnels to each node there, and the nodes route them (default: each node's "
     "--advertise address)"},
    {"node-ttl", K_SEC, F(node_ttl), 0, 0, "SECONDS",
     "a node that stops refreshing leaves the registry after SECONDS (default 10)"},
    {"log-level", K_STR, F(log_level), 0, 0, "LEVEL",
     "error, warn, info (default), debug or trace"},
    {"log-format", K_STR, F(log_format), 0, 0, "FORMAT", "text (default) or json lines"},
    {"shutdown-timeout", K_MS, F(shutdown_timeout), 0, 0, "MS",
     "on SIGTERM/SIGINT, wait at most MS for sessions to close (default 5000)"},
};

static void usage(FILE *f) {
    fprintf(f, "Usage: hubbub [OPTION]...\n"
               "Hubbub: a Socket.IO service. Holds clients' Engine.IO/Socket.IO connections\n"
               "(WebSocket and long-polling) and serves them on one port.\n\n"
               "Options (each also settable as HUBBUB_<OPTION>, e.g. HUBBUB_PING_INTERVAL=300):\n");
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
        char left[64];
        snprintf(left, sizeof(left), "--%s %s", flags[i].name, flags[i].arg);
        fprintf(f, "  %-28s %s\n", left, flags[i].help);
    }
    fprintf(f, "  %-28s %s\n", "--help", "print this help and exit");
    fprintf(f, "  %-28s %s\n", "--version", "print the version and exit");
    fprintf(f, "\nEndpoints: <path> (Engine.IO), /clients/socketio/hubs/<hub>/, /api/health, "
               "/metrics,\n/server/tunnel (app servers), /api/hubs/<hub>/... (REST).\n"
               "Signals: SIGTERM or SIGINT stop gracefully (a second one: at once); SIGHUP is "
               "ignored.\n");
}

static int set(hb_cli_options *o, const flag *fl, const char *value, const char *origin) {
    char *p = (char *)o + fl->off;
    char *end;
    unsigned long long v;
    switch (fl->kind) {
    case K_STR:
        *(const char **)p = value;
        return 0;
    case K_LIST: {
        size_t *n = (size_t *)((char *)o + fl->count);
        if (*n >= fl->max) {
            fprintf(stderr, "hubbub: too many %s values (at most %zu)\n", origin, fl->max);
            return -1;
        }
        ((const char **)p)[(*n)++] = value;
        return 0;
    }
    case K_MS:
    case K_SEC:
    case K_SIZE:
        errno = 0;
        v = strtoull(value, &end, 10);
        if (errno != 0 || end == value || *end != '\0' || value[0] == '-' ||
            (fl->kind == K_MS && (v == 0 || v > 24ull * 3600 * 1000)) ||
            (fl->kind == K_SEC && (v == 0 || v > 3600)) ||
            (fl->kind == K_SIZE && (v == 0 || v > (1ull << 31)))) {
            fprintf(stderr, "hubbub: invalid value for %s: '%s' (expected a positive %s)\n",
                    origin, value,
                    fl->kind == K_MS    ? "number of milliseconds"
                    : fl->kind == K_SEC ? "number of seconds, at most 3600"
                                        : "byte count");
            return -1;
        }
        if (fl->kind == K_MS || fl->kind == K_SEC)
            *(unsigned *)p = (unsigned)v;
        else
            *(size_t *)p = (size_t)v;
        return 0;
    case K_BOOL:
        *(int *)p = strcmp(value, "0") != 0 && strcmp(value, "false") != 0 &&
                    strcmp(value, "no") != 0;
        return 0;
    }
    return -1;
}

static void defaults(hb_cli_options *o) {
    memset(o, 0, sizeof(*o));
    o->path = "/socket.io/";
    o->app = "none";
    o->ping_interval = 25000;
    o->ping_timeout = 20000;
    o->connect_timeout = 45000;
    o->max_payload = 1000000;
    o->log_level = "info";
    o->log_format = "text";
    o->shutdown_timeout = 5000;
}

int hb_cli_parse(hb_cli_options *o, int argc, char **argv) {
    size_t nflags = sizeof(flags) / sizeof(flags[0]);
    int from_env_listen = 0, from_env_cors = 0, from_env_keys = 0;
    defaults(o);
    for (size_t i = 0; i < nflags; i++) {
        char env[64] = "HUBBUB_";
        size_t n = strlen(env);
        const char *v;
        for (const char *c = flags[i].name; *c && n + 1 < sizeof(env); c++)
            env[n++] = *c == '-' ? '_' : (char)toupper((unsigned char)*c);
        env[n] = '\0';
        v = getenv(env);
        if (v != NULL && *v != '\0') {
            if (set(o, &flags[i], v, env) != 0)
                return -1;
            if (flags[i].off == F(listen))
                from_env_listen = 1;
            if (flags[i].off == F(cors))
                from_env_cors = 1;
            if (flags[i].off == F(access_key))
                from_env_keys = 1;
        }
    }
    for (int a = 1; a < argc; a++) {
        const char *arg = argv[a];
        const char *value = NULL;
        const flag *fl = NULL;
        size_t len;
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            usage(stdout);
            return 1;
        }
        if (strcmp(arg, "--version") == 0) {
            printf("hubbub %s\n", HUBBUB_VERSION);
            return 1;
        }
        if (strncmp(arg, "--", 2) != 0) {
            fprintf(stderr, "hubbub: unexpected argument '%s' (see hubbub --help)\n", arg);
            return -1;
        }
        arg += 2;
        len = strcspn(arg, "=");
        for (size_t i = 0; i < nflags; i++)
            if (strlen(flags[i].name) == len && strncmp(flags[i].name, arg, len) == 0)
                fl = &flags[i];
        if (fl == NULL) {
            fprintf(stderr, "hubbub: unknown option '--%.*s' (see hubbub --help)\n", (int)len, arg);
            return -1;
        }
        if (arg[len] == '=') {
            value = arg + len + 1;
        } else if (fl->kind == K_BOOL) {
            value = "1"; /* a switch: present means on */
        } else if (a + 1 < argc) {
            value = argv[++a];
        } else {
            fprintf(stderr, "hubbub: option '--%s' needs a value (%s)\n", fl->name, fl->arg);
            return -1;
        }
        /* A list given on the command line replaces the environment's. */
        if (fl->off == F(listen) && from_env_listen) {
            o->nlisten = 0;
            from_env_listen = 0;
        }
        if (fl->off == F(cors) && from_env_cors) {
            o->ncors = 0;
            from_env_cors = 0;
        }
        if (fl->off == F(access_key) && from_env_keys) {
            o->naccess_key = 0;
            from_env_keys = 0;
        }
        if (set(o, fl, value, fl->name) != 0)
            return -1;
    }
    o->cors[o->ncors] = NULL;
    o->access_key[o->naccess_key] = NULL;
    for (size_t i = 0; i < o->naccess_key; i++)
        if (strlen(o->access_key[i]) < 8) {
            /* Anyone can sign with an empty or tiny secret. */
            fprintf(stderr, "hubbub: --access-key must be at least 8 characters\n");
            return -1;
        }
    if (o->nlisten == 0)
        o->listen[o->nlisten++] = "127.0.0.1:3000";
    o->listen[o->nlisten] = NULL;
    if (o->path[0] != '/') {
        fprintf(stderr, "hubbub: --path must start with '/': '%s'\n", o->path);
        return -1;
    }
    if (o->engineio_echo != NULL && o->engineio_echo[0] != '/') {
        fprintf(stderr, "hubbub: --engineio-echo must start with '/': '%s'\n", o->engineio_echo);
        return -1;
    }
    if ((o->node_id != NULL || o->advertise != NULL || o->node_ttl != 0 ||
         o->public_url != NULL) && o->redis == NULL) {
        fprintf(stderr, "hubbub: --node-id, --advertise, --public-url and --node-ttl need --redis\n");
        return -1;
    }
    if (o->public_url != NULL && strncmp(o->public_url, "http://", 7) != 0 &&
        strncmp(o->public_url, "https://", 8) != 0) {
        fprintf(stderr, "hubbub: --public-url must start with http:// or https://: '%s'\n",
                o->public_url);
        return -1;
    }
    if (strcmp(o->log_format, "text") != 0 && strcmp(o->log_format, "json") != 0) {
        fprintf(stderr, "hubbub: --log-format must be text or json, not '%s'\n", o->log_format);
        return -1;
    }
    return 0;
}
