/* libFuzzer target for hb_rest_list_merge(), which reads the group
 * listing pages other nodes answered. The input is a query string, then
 * pages, separated by NUL bytes; each page lives in an exact-size
 * allocation so ASan sees every overread. A merge that succeeds must be
 * a JSON object with a "value" array of at most maxpagesize entries. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/rest.h"

#define MAX_PARTS 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *nul = memchr(data, 0, size);
    size_t qlen = nul ? (size_t)(nul - data) : size, at = nul ? qlen + 1 : size, n = 0;
    char *query = malloc(qlen + 1), *out = NULL;
    hb_rest_part parts[MAX_PARTS];
    memcpy(query, data, qlen);
    query[qlen] = '\0';
    while (at < size && n < MAX_PARTS) {
        const uint8_t *end = memchr(data + at, 0, size - at);
        size_t len = end ? (size_t)(end - (data + at)) : size - at;
        uint8_t *copy = malloc(len ? len : 1);
        memcpy(copy, data + at, len);
        parts[n].body = copy;
        parts[n++].len = len;
        at += len + 1;
    }
    if (hb_rest_list_merge("/api/hubs/h/groups/g/connections", query, parts, n, &out) == 0) {
        json_t *root = json_loads(out, 0, NULL);
        if (!json_is_array(json_object_get(root, "value")) ||
            json_array_size(json_object_get(root, "value")) > 200)
            abort();
        json_decref(root);
        free(out);
    }
    for (size_t i = 0; i < n; i++)
        free((void *)parts[i].body);
    free(query);
    return 0;
}
