/* hubbub's main: reads the options, wires the layers together (HTTP server,
 * Engine.IO mounts, built-in routes), runs the loop, and stops gracefully on
 * SIGTERM/SIGINT: stop accepting, close every session with the protocol's
 * goodbye, and exit once they are gone or the deadline passes. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "cli/options.h"
#include "core/log.h"
#include "core/metrics.h"
#include "eio/server.h"
#include "http/server.h"
#include "hubbub/error.h"
#include "net/loop.h"

typedef struct app {
    hb_cli_options opts;
    uv_loop_t uv;
    hb_loop loop;
    hb_http_server *http;
    hb_eio_server *echo;    /* --engineio-echo */
    hb_eio_server *main;    /* --path and the hubs */
    uv_signal_t sigterm, sigint;
    uv_timer_t deadline;
    int stopping;
} app;

/* --- the echo endpoint: every message goes back as it came ----------------- */

static void echo_open(void *ud, hb_eio_session *s, const hb_http_request *req) {
    (void)ud, (void)s, (void)req;
}
static void echo_message(void *ud, hb_eio_session *s, int binary, uint8_t *data, size_t len) {
    (void)ud;
    hb_eio_session_send_message(s, binary, data, len);
}
static void echo_close(void *ud, hb_eio_session *s, int reason) {
    (void)ud, (void)s, (void)reason;
}
static const hb_eio_handler echo_handler = {echo_open, echo_message, echo_close};

/* --- the default hub without an app: sessions live, messages are dropped ---- */

static void none_message(void *ud, hb_eio_session *s, int binary, uint8_t *data, size_t len) {
    (void)ud, (void)s, (void)binary, (void)data, (void)len;
}
static const hb_eio_handler none_handler = {echo_open, none_message, echo_close};

/* --- built-in HTTP routes -------------------------------------------------- */

static void route_health(void *ud, hb_http_conn *hc, hb_http_request *req) {
    app *a = ud;
    static const char ok[] = "{\"status\":\"ok\"}";
    static const char stopping[] = "{\"status\":\"stopping\"}";
    (void)req;
    if (a->stopping)
        hb_http_respond(hc, 503, "application/json", NULL, stopping, sizeof(stopping) - 1);
    else
        hb_http_respond(hc, 200, "application/json", NULL, ok, sizeof(ok) - 1);
}

static void route_metrics(void *ud, hb_http_conn *hc, hb_http_request *req) {
    size_t len;
    char *text;
    (void)ud, (void)req;
    text = hb_metrics_render(&len);
    if (text == NULL) {
        hb_http_respond_json_error(hc, 503, 503, "Out of memory");
        return;
    }
    hb_http_respond(hc, 200, "text/plain; version=0.0.4; charset=utf-8", NULL, text, len);
    free(text);
}

/* --- stopping -------------------------------------------------------------- */

static void close_walk(uv_handle_t *h, void *arg) {
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static void on_deadline(uv_timer_t *t) {
    app *a = t->data;
    hb_log_warn("main", "shutdown deadline passed with %zu connections open; closing them",
                hb_http_server_conn_count(a->http));
    uv_stop(&a->uv);
}

static void stop(app *a, const char *why) {
    if (a->stopping) {
        hb_log_warn("main", "%s again: exiting now", why);
        uv_stop(&a->uv);
        return;
    }
    a->stopping = 1;
    hb_log_info("main", "%s: stopping (closing %zu sessions)", why,
                (a->echo ? hb_eio_server_session_count(a->echo) : 0) +
                    hb_eio_server_session_count(a->main));
    hb_http_server_stop_listening(a->http);
    if (a->echo)
        hb_eio_server_close_all(a->echo, HB_CLOSE_SHUTDOWN);
    hb_eio_server_close_all(a->main, HB_CLOSE_SHUTDOWN);
    hb_http_server_close_idle(a->http);
    uv_close((uv_handle_t *)&a->sigterm, NULL);
    uv_close((uv_handle_t *)&a->sigint, NULL);
    uv_timer_start(&a->deadline, on_deadline, a->opts.shutdown_timeout, 0);
    uv_unref((uv_handle_t *)&a->deadline);
}

static void on_signal(uv_signal_t *s, int signum) {
    stop(s->data, signum == SIGTERM ? "SIGTERM" : "SIGINT");
}

/* --- starting -------------------------------------------------------------- */

static int split_host_port(const char *s, char *host, size_t cap, int *port) {
    const char *colon = strrchr(s, ':');
    const char *h = s;
    size_t hlen;
    char *end;
    long p;
    if (colon == NULL)
        return -1;
    hlen = (size_t)(colon - s);
    if (hlen >= 2 && s[0] == '[' && s[hlen - 1] == ']') {
        h = s + 1;
        hlen -= 2;
    }
    if (hlen == 0 || hlen >= cap)
        return -1;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    p = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || *end != '\0' || p < 0 || p > 65535)
        return -1;
    *port = (int)p;
    return 0;
}

static int start(app *a) {
    hb_cli_options *o = &a->opts;
    hb_http_server_opts hopts = {0};
    hb_eio_opts eopts = {0};
    int err;

    hopts.max_body = o->max_payload;
    hopts.cors_origins = o->cors;
    a->http = hb_http_server_new(&a->loop, &hopts);
    eopts.ping_interval_ms = o->ping_interval;
    eopts.ping_timeout_ms = o->ping_timeout;
    eopts.max_payload = o->max_payload;
    a->main = hb_eio_server_new(&a->loop, a->http, &eopts, &none_handler, a);
    if (a->http == NULL || a->main == NULL)
        return HB_ENOMEM;
    if ((err = hb_eio_server_mount(a->main, o->path, 0)) != 0 ||
        (err = hb_eio_server_mount(a->main, "/clients/socketio/hubs/", 1)) != 0 ||
        (err = hb_http_server_route(a->http, "/api/health", route_health, a)) != 0 ||
        (err = hb_http_server_route(a->http, "/metrics", route_metrics, a)) != 0)
        return err;
    if (o->engineio_echo != NULL) {
        a->echo = hb_eio_server_new(&a->loop, a->http, &eopts, &echo_handler, a);
        if (a->echo == NULL)
            return HB_ENOMEM;
        if ((err = hb_eio_server_mount(a->echo, o->engineio_echo, 0)) != 0)
            return err;
    }
    for (size_t i = 0; i < o->nlisten; i++) {
        char host[128];
        int port;
        if (split_host_port(o->listen[i], host, sizeof(host), &port) != 0) {
            hb_log_error("main", "invalid --listen '%s' (expected HOST:PORT, e.g. 127.0.0.1:3000)",
                         o->listen[i]);
            return HB_EINVAL;
        }
        err = hb_http_server_listen(a->http, host, port);
        if (err != 0) {
            hb_log_error("main", "cannot listen on %s: %s%s", o->listen[i], hb_strerror(err),
                         err == UV_EADDRINUSE ? " (is another server running on that port?)" : "");
            return err;
        }
        hb_log_info("main", "listening on http://%s",
                    hb_http_server_listener_name(a->http, hb_http_server_listener_count(a->http) - 1));
    }
    hb_log_info("main", "Engine.IO at %s and /clients/socketio/hubs/<hub>/%s%s", o->path,
                o->engineio_echo ? ", echo at " : "", o->engineio_echo ? o->engineio_echo : "");
    return 0;
}

int main(int argc, char **argv) {
    app *a = calloc(1, sizeof(*a));
    int r, code = 0;
    if (a == NULL)
        return 1;
    r = hb_cli_parse(&a->opts, argc, argv);
    if (r != 0) {
        free(a);
        return r > 0 ? 0 : 2;
    }
    hb_log_set_level(hb_log_parse_level(a->opts.log_level));
    if (hb_log_parse_level(a->opts.log_level) < 0) {
        fprintf(stderr, "hubbub: --log-level must be error, warn, info, debug or trace, not '%s'\n",
                a->opts.log_level);
        free(a);
        return 2;
    }
    hb_log_set_json(strcmp(a->opts.log_format, "json") == 0);
    signal(SIGPIPE, SIG_IGN);
    uv_loop_init(&a->uv);
    if (hb_loop_init(&a->loop, &a->uv) != 0) {
        hb_log_error("main", "out of memory");
        return 1;
    }
    uv_signal_init(&a->uv, &a->sigterm);
    uv_signal_init(&a->uv, &a->sigint);
    uv_timer_init(&a->uv, &a->deadline);
    a->sigterm.data = a->sigint.data = a->deadline.data = a;
    uv_signal_start(&a->sigterm, on_signal, SIGTERM);
    uv_signal_start(&a->sigint, on_signal, SIGINT);

    r = start(a);
    if (r != 0) {
        code = 1;
        a->stopping = 1;
        if (a->http != NULL)
            hb_http_server_stop_listening(a->http);
    } else {
        uv_run(&a->uv, UV_RUN_DEFAULT);
        if (a->stopping)
            hb_log_info("main", "stopped");
    }
    /* Close whatever is left (all of it after a deadline) through the
     * layers that own it, let libuv finish the closes, and only then free,
     * so that every byte is released before exit. */
    if (a->main)
        hb_eio_server_close_all(a->main, HB_CLOSE_SHUTDOWN);
    if (a->echo)
        hb_eio_server_close_all(a->echo, HB_CLOSE_SHUTDOWN);
    if (a->http)
        hb_http_server_close_all(a->http);
    hb_loop_close(&a->loop);
    uv_walk(&a->uv, close_walk, NULL);
    uv_run(&a->uv, UV_RUN_DEFAULT);
    hb_loop_free(&a->loop);
    hb_eio_server_free(a->echo);
    hb_eio_server_free(a->main);
    hb_http_server_free(a->http);
    if (uv_loop_close(&a->uv) != 0)
        hb_log_warn("main", "event loop closed with handles still open");
    free(a);
    return code;
}
