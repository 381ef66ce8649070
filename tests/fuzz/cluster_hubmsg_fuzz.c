/* libFuzzer target for hb_hubmsg_decode(): whatever it accepts must lie
 * within the input and encode back to the same bytes. The input lives in
 * an exact-size allocation so ASan sees every overread. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/hubmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *in = malloc(size ? size : 1), *out;
    hb_hubmsg m;
    size_t len;
    memcpy(in, data, size);
    if (hb_hubmsg_decode(in, size, &m) == 0) {
        if (hb_hubmsg_encode(&m, &out, &len) != 0 || len != size || memcmp(out, in, size) != 0)
            abort();
        free(out);
    }
    free(in);
    return 0;
}
