/* hubbub's main: reads the options, creates the server through the public
 * API, sets up the built-in app chosen with --app (examples/, written on
 * that same API), and runs until SIGTERM/SIGINT. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/apps.h"
#include "cli/options.h"
#include "core/log.h"
#include "hubbub/hubbub.h"

static int setup_none(hb_server *srv) {
    (void)srv;
    return 0;
}

static const struct app {
    const char *name;
    int (*setup)(hb_server *srv);
    const char *what;
} apps[] = {
    {"none", setup_none, "no namespaces: every CONNECT gets \"Invalid namespace\""},
    HB_CLI_APPS
};

static const struct app *find_app(const char *name) {
    for (size_t i = 0; i < sizeof(apps) / sizeof(apps[0]); i++)
        if (strcmp(apps[i].name, name) == 0)
            return &apps[i];
    return NULL;
}

int main(int argc, char **argv) {
    hb_cli_options o;
    hb_server_opts so = {0};
    const struct app *app;
    hb_server *srv;
    int r;

    r = hb_cli_parse(&o, argc, argv);
    if (r != 0)
        return r > 0 ? 0 : 2;
    if (hb_log_parse_level(o.log_level) < 0) {
        fprintf(stderr, "hubbub: --log-level must be error, warn, info, debug or trace, not '%s'\n",
                o.log_level);
        return 2;
    }
    if ((app = find_app(o.app)) == NULL) {
        fprintf(stderr, "hubbub: unknown --app '%s' (available:", o.app);
        for (size_t i = 0; i < sizeof(apps) / sizeof(apps[0]); i++)
            fprintf(stderr, " %s", apps[i].name);
        fprintf(stderr, ")\n");
        return 2;
    }
    hb_log_set_level(hb_log_parse_level(o.log_level));
    hb_log_set_json(strcmp(o.log_format, "json") == 0);
    /* A service outlives the terminal or job that started it: a hangup
     * must not kill it silently (stop it with SIGTERM). */
    signal(SIGHUP, SIG_IGN);

    so.listen = o.listen;
    so.path = o.path;
    so.ping_interval_ms = o.ping_interval;
    so.ping_timeout_ms = o.ping_timeout;
    so.connect_timeout_ms = o.connect_timeout;
    so.max_payload = o.max_payload;
    so.cors_origins = o.ncors > 0 ? o.cors : NULL;
    so.recovery_ms = o.recovery_window;
    so.engineio_echo = o.engineio_echo;
    so.shutdown_timeout_ms = o.shutdown_timeout;
    so.access_keys = o.naccess_key > 0 ? o.access_key : NULL;
    so.allow_anonymous = o.allow_anonymous;
    so.redis_url = o.redis;
    so.node_id = o.node_id;
    so.advertise = o.advertise;
    so.public_url = o.public_url;
    so.node_ttl_s = o.node_ttl;
    srv = hb_server_new(&so);
    if (srv == NULL) {
        hb_log_error("main", "out of memory");
        return 1;
    }
    r = app->setup(srv);
    if (r != 0) {
        hb_log_error("main", "cannot set up --app %s: %s", app->name, hb_strerror(r));
        hb_server_free(srv);
        return 1;
    }
    hb_log_info("main", "app: %s (%s)", app->name, app->what);
    r = hb_server_run(srv);
    hb_server_free(srv);
    return r == 0 ? 0 : 1;
}
