/*
 * tilepath.c: request paths of the tlog-tiles read API for
 * tlogwatch-testlog --tiles: "/tile/<L>/<N>[.p/<W>]" and
 * "/tile/entries/<N>[.p/<W>]", N in 3-digit groups of which all but the
 * last are prefixed with "x" (C2SP tlog-tiles).
 *
 * A pure function of the path's bytes, with no state and no allocation,
 * so that tests/fuzz/fuzz_testlog_tilepath.c can include it alone.
 * Invariants: a path is accepted only when it is exactly the canonical
 * spelling of what it parsed to (no leading zeros in L or W, no empty
 * "x000/" groups), so every tile has one path; L * 8 < TL_MAX_LEVELS,
 * 1 <= W < 256, N fits in uint64_t and has at most TL_TILE_MAX_GROUPS
 * groups; a path longer than 127 bytes is refused unread.
 */
#include <stdio.h>
#include <string.h>

#include "testlog.h"

/* The canonical path of r into out (cap bytes).  0 / -1. */
static int
tile_path(const struct tl_tile_req *r, char *out, size_t cap)
{
    unsigned groups[TL_TILE_MAX_GROUPS];
    uint64_t n = r->index;
    size_t len;
    int k = 0, w;

    do {
        if (k == TL_TILE_MAX_GROUPS) {
            return -1;
        }
        groups[k++] = (unsigned)(n % 1000);
        n /= 1000;
    } while (n > 0);
    w = r->entries ? snprintf(out, cap, "/tile/entries/")
                   : snprintf(out, cap, "/tile/%u/", r->level);
    if (w < 0 || (size_t)w >= cap) {
        return -1;
    }
    len = (size_t)w;
    while (k-- > 0) {
        w = snprintf(out + len, cap - len, k > 0 ? "x%03u/" : "%03u",
                     groups[k]);
        if (w < 0 || (size_t)w >= cap - len) {
            return -1;
        }
        len += (size_t)w;
    }
    if (r->width != 0) {
        w = snprintf(out + len, cap - len, ".p/%u", r->width);
        if (w < 0 || (size_t)w >= cap - len) {
            return -1;
        }
    }
    return 0;
}

/* Up to max decimal digits at *p into *out; -1 when there are none. */
static int
parse_digits(const char **p, int max, uint64_t *out)
{
    uint64_t v = 0;
    int n = 0;

    while (n < max && **p >= '0' && **p <= '9') {
        v = v * 10 + (uint64_t)(**p - '0');
        (*p)++;
        n++;
    }
    *out = v;
    return n > 0 ? 0 : -1;
}

int
tl_tiles_parse_path(const char *path, struct tl_tile_req *out)
{
    struct tl_tile_req r;
    const char *p;
    char canon[128];
    uint64_t v;
    int groups = 0;

    memset(&r, 0, sizeof(r));
    if (strlen(path) >= sizeof(canon) || strncmp(path, "/tile/", 6) != 0) {
        return -1;
    }
    p = path + 6;
    if (strncmp(p, "entries/", 8) == 0) {
        r.entries = 1;
        p += 8;
    } else {
        if (parse_digits(&p, 2, &v) != 0 || *p != '/' ||
            v * TL_TILE_HEIGHT >= TL_MAX_LEVELS) {
            return -1;
        }
        r.level = (unsigned)v;
        p++;
    }
    for (;;) {
        int more = *p == 'x';
        const char *g = p + more;

        if (++groups > TL_TILE_MAX_GROUPS || parse_digits(&g, 3, &v) != 0 ||
            g - p != 3 + more || r.index > (UINT64_MAX - v) / 1000) {
            return -1;
        }
        r.index = r.index * 1000 + v;
        p = g;
        if (!more) {
            break;
        }
        if (*p != '/') {
            return -1;
        }
        p++;
    }
    if (strncmp(p, ".p/", 3) == 0) {
        p += 3;
        if (parse_digits(&p, 3, &v) != 0 || v == 0 || v >= TL_TILE_WIDTH) {
            return -1;
        }
        r.width = (unsigned)v;
    }
    /* the whole path, spelled canonically (no leading zeros in L or W, no
     * empty "x000/" groups) */
    if (*p != '\0' || tile_path(&r, canon, sizeof(canon)) != 0 ||
        strcmp(canon, path) != 0) {
        return -1;
    }
    *out = r;
    return 0;
}
