/* Tests for hb_status_json() (src/server/status.c): the fields of one
 * node, the cluster part only in cluster mode, names escaped as JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/metrics.h"
#include "server/status.h"

static json_t *parse(const hb_status *st) {
    size_t len;
    char *text = hb_status_json(st, &len);
    json_t *j;
    assert_non_null(text);
    assert_int_equal(len, strlen(text));
    j = json_loads(text, 0, NULL);
    assert_non_null(j);
    free(text);
    return j;
}

static void test_one_node(void **state) {
    hb_status st = {0};
    json_t *j;
    (void)state;
    hb_metrics_g.sessions_open[HB_MT_WEBSOCKET] = 3;
    hb_metrics_g.sessions_open[HB_MT_POLLING] = 1;
    st.version = "9.9.9";
    st.address = "127.0.0.1:3000";
    st.uptime_s = 42;
    j = parse(&st);
    assert_string_equal(json_string_value(json_object_get(j, "version")), "9.9.9");
    assert_true(json_is_null(json_object_get(json_object_get(j, "node"), "id")));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "node"), "uptime_s")), 42);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "node"), "state")),
                        "running");
    assert_true(json_is_null(json_object_get(j, "cluster")));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "sessions"), "websocket")), 3);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "sessions"), "polling")), 1);
    assert_int_equal(json_array_size(json_object_get(j, "hubs")), 0);
    json_decref(j);
}

static void test_cluster_and_hubs(void **state) {
    static const hb_status_node nodes[] = {{"n0", "10.0.0.1:3000"}, {"n\"1", "10.0.0.2:3000"}};
    static const hb_status_hub hubs[] = {{"chat", 5, 2}};
    hb_status st = {0};
    json_t *j, *cl, *h;
    (void)state;
    st.version = "1.0.0";
    st.address = "10.0.0.1:3000";
    st.node_id = "n0";
    st.redis_up = 0;
    st.stopping = 1;
    st.nodes = nodes;
    st.nnodes = 2;
    st.hubs = hubs;
    st.nhubs = 1;
    j = parse(&st);
    cl = json_object_get(j, "cluster");
    assert_string_equal(json_string_value(json_object_get(cl, "redis")), "away");
    assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(cl, "nodes"), 1), "id")),
                        "n\"1");
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "node"), "state")),
                        "stopping");
    h = json_array_get(json_object_get(j, "hubs"), 0);
    assert_string_equal(json_string_value(json_object_get(h, "name")), "chat");
    assert_int_equal(json_integer_value(json_object_get(h, "connections")), 5);
    assert_int_equal(json_integer_value(json_object_get(h, "app_servers")), 2);
    json_decref(j);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_node),
        cmocka_unit_test(test_cluster_and_hubs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
