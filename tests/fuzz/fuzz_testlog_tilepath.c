/*
 * fuzz_testlog_tilepath.c: libFuzzer target for the tlog-tiles request
 * path parser of tlogwatch-testlog --tiles (tests/testlog/tilepath.c,
 * included whole: the test log is a program, not a library).
 *
 * The input, NUL-terminated (a request path as evhttp hands it over, cut
 * at the first NUL), is parsed with tl_tiles_parse_path.
 *
 * Invariants checked (abort on breach): an accepted path has L * 8 <
 * TL_MAX_LEVELS, W = 0 or 1 <= W < 256, and re-encodes to exactly the
 * input (one path per tile); a rejected path leaves *out untouched.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../testlog/tilepath.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tl_tile_req r, sentinel;
    char *path, again[128];

    if (size > 4096) {
        return 0;
    }
    path = malloc(size + 1);
    if (path == NULL) {
        return 0;
    }
    memcpy(path, data, size);
    path[size] = '\0';
    memset(&sentinel, 0xa5, sizeof(sentinel));
    r = sentinel;
    if (tl_tiles_parse_path(path, &r) == 0) {
        if (r.level * TL_TILE_HEIGHT >= TL_MAX_LEVELS ||
            r.width >= TL_TILE_WIDTH || (r.entries != 0 && r.entries != 1) ||
            (r.entries && r.level != 0) ||
            tile_path(&r, again, sizeof(again)) != 0 ||
            strcmp(again, path) != 0) {
            abort();
        }
    } else if (memcmp(&r, &sentinel, sizeof(r)) != 0) {
        abort();
    }
    free(path);
    return 0;
}
