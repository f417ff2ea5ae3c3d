/*
 * tiles.c: C2SP tlog-tiles primitives: paths, widths, entry bundles, and
 * RFC 9162 consistency proofs, compact ranges and roots read from a set of
 * hash tiles (see tiles.h for the layout).
 *
 * Proofs are built from "spans" [lo, hi) of leaves, the subtrees of RFC
 * 9162 2.1.4.1 SUBPROOF, computed iteratively; a span is hashed from the
 * perfect subtrees ("nodes") that cover it, folded right to left as in
 * merkle_range_root; a node is hashed up from the <= 128 hashes of one
 * tile.  The work of any call is bounded: <= 64 spans, <= 64 nodes per
 * span, <= 127 node hashes per node.
 *
 * Invariants: no recursion, no I/O; the set owns a copy of every tile it
 * holds, each exactly width * 32 bytes with width == tiles_width() for the
 * set's tree size; outputs are written only on success.
 */
#include <stdlib.h>
#include <string.h>

#include "merkle/tiles.h"

/* Highest hash tile level of a tree below 2^63 leaves (heights <= 62). */
#define TILES_HASH_LEVEL_MAX 7
/* Spans in one consistency proof: <= 63 siblings and the seed. */
#define TILES_SPANS_MAX 64
/* Nodes that cover one span, or the compact range at one size. */
#define TILES_NODES_MAX 64

struct tiles_tile {
    struct tiles_coord c;
    uint8_t *bytes; /* owned: c.width * MERKLE_HASH_LEN bytes */
};

struct tiles_set {
    uint64_t n;
    size_t count;
    struct tiles_tile tiles[TILES_SET_MAX];
};

/* A perfect subtree: leaves [index << height, (index + 1) << height). */
struct tiles_node {
    unsigned height;
    uint64_t index;
};

/* Leaves [lo, hi) of one proof hash. */
struct tiles_span {
    uint64_t lo, hi;
};

/* Tiles gathered for a tiles_needed_* answer, deduplicated. */
struct tiles_needs {
    size_t count;
    struct tiles_coord c[TILES_SET_MAX];
};

/* Number of significant bits of x (0 for 0). */
static unsigned
tiles_bit_len(uint64_t x)
{
    unsigned n = 0;

    while (x != 0) {
        n++;
        x >>= 1;
    }
    return n;
}

/* Append s to buf (room for TILES_PATH_MAX); the caller keeps it short. */
static void
path_put(char *buf, size_t *len, const char *s)
{
    while (*s != '\0' && *len < TILES_PATH_MAX - 1) {
        buf[(*len)++] = *s++;
    }
    buf[*len] = '\0';
}

/* Append v in decimal, zero-padded to at least `digits` digits. */
static void
path_put_u64(char *buf, size_t *len, uint64_t v, unsigned digits)
{
    char tmp[24];
    size_t i = sizeof(tmp) - 1;

    tmp[i] = '\0';
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
        if (digits > 0) {
            digits--;
        }
    } while (v != 0 || digits > 0);
    path_put(buf, len, tmp + i);
}

int
tiles_path(int level, uint64_t index, unsigned width, char *out, size_t cap)
{
    char buf[TILES_PATH_MAX];
    unsigned groups[8];
    size_t ngroups = 0, len = 0;

    if (out == NULL || cap == 0) {
        return -1;
    }
    out[0] = '\0';
    if ((level != TILES_ENTRIES && (level < 0 || level > TILES_MAX_LEVEL)) ||
        width > TILES_WIDTH) {
        return -1;
    }
    /* Three decimal digits a group, least significant first; <= 7. */
    do {
        groups[ngroups++] = (unsigned)(index % 1000);
        index /= 1000;
    } while (index != 0 && ngroups < sizeof(groups) / sizeof(groups[0]));

    buf[0] = '\0';
    if (level == TILES_ENTRIES) {
        path_put(buf, &len, "tile/entries/");
    } else {
        path_put(buf, &len, "tile/");
        path_put_u64(buf, &len, (uint64_t)level, 1);
        path_put(buf, &len, "/");
    }
    while (ngroups > 1) {
        ngroups--;
        path_put(buf, &len, "x");
        path_put_u64(buf, &len, groups[ngroups], 3);
        path_put(buf, &len, "/");
    }
    path_put_u64(buf, &len, groups[0], 3);
    if (width > 0 && width < TILES_WIDTH) {
        path_put(buf, &len, ".p/");
        path_put_u64(buf, &len, width, 1);
    }
    /* At most 13 + 7 * 5 + 6 bytes: always fits buf. */
    if (len >= cap) {
        return -1;
    }
    memcpy(out, buf, len + 1);
    return 0;
}

unsigned
tiles_width(int level, uint64_t index, uint64_t n)
{
    uint64_t count, first;

    if (level == TILES_ENTRIES) {
        level = 0;
    }
    if (level < 0 || level > TILES_HASH_LEVEL_MAX ||
        index > (UINT64_MAX >> TILES_HEIGHT)) {
        return 0;
    }
    /* Nodes of height 8 * level in the tree; this tile starts at first. */
    count = n >> (TILES_HEIGHT * (unsigned)level);
    first = index << TILES_HEIGHT;
    if (count <= first) {
        return 0;
    }
    return count - first >= TILES_WIDTH ? TILES_WIDTH
                                        : (unsigned)(count - first);
}

int
tiles_parse_bundle(const uint8_t *buf, size_t len, unsigned width,
                   int (*cb)(const uint8_t *e, size_t n, unsigned i, void *arg),
                   void *arg)
{
    size_t off = 0, elen;
    unsigned i;
    int r;

    if (width == 0 || width > TILES_WIDTH || len > TILES_MAX_BUNDLE ||
        (buf == NULL && len > 0)) {
        return -1;
    }
    /* Structure first, so that a malformed bundle reaches no callback. */
    for (i = 0; i < width; i++) {
        if (len - off < 2) {
            return -1;
        }
        elen = (size_t)buf[off] << 8 | buf[off + 1];
        off += 2;
        if (len - off < elen) {
            return -1;
        }
        off += elen;
    }
    if (off != len) {
        return -1;
    }
    if (cb == NULL) {
        return 0;
    }
    off = 0;
    for (i = 0; i < width; i++) {
        elen = (size_t)buf[off] << 8 | buf[off + 1];
        off += 2;
        r = cb(buf + off, elen, i, arg);
        if (r != 0) {
            return r;
        }
        off += elen;
    }
    return 0;
}

struct tiles_set *
tiles_set_new(uint64_t n)
{
    struct tiles_set *ts;

    if (n >= TILES_MAX_SIZE) {
        return NULL;
    }
    ts = calloc(1, sizeof(*ts));
    if (ts == NULL) {
        return NULL;
    }
    ts->n = n;
    return ts;
}

void
tiles_set_free(struct tiles_set *ts)
{
    size_t i;

    if (ts == NULL) {
        return;
    }
    for (i = 0; i < ts->count; i++) {
        free(ts->tiles[i].bytes);
    }
    free(ts);
}

uint64_t
tiles_set_tree_size(const struct tiles_set *ts)
{
    return ts != NULL ? ts->n : 0;
}

size_t
tiles_set_count(const struct tiles_set *ts)
{
    return ts != NULL ? ts->count : 0;
}

static const struct tiles_tile *
set_find(const struct tiles_set *ts, int level, uint64_t index)
{
    size_t i;

    for (i = 0; i < ts->count; i++) {
        if (ts->tiles[i].c.level == level && ts->tiles[i].c.index == index) {
            return &ts->tiles[i];
        }
    }
    return NULL;
}

int
tiles_set_put(struct tiles_set *ts, const struct tiles_coord *c,
              const uint8_t *bytes, size_t len)
{
    struct tiles_tile *t;
    unsigned w;

    if (ts == NULL || c == NULL || bytes == NULL || c->level < 0 ||
        c->level > TILES_HASH_LEVEL_MAX) {
        return -1;
    }
    w = tiles_width(c->level, c->index, ts->n);
    if (w == 0 || c->width != w || len != (size_t)w * MERKLE_HASH_LEN) {
        return -1;
    }
    if (ts->count >= TILES_SET_MAX ||
        set_find(ts, c->level, c->index) != NULL) {
        return -1;
    }
    t = &ts->tiles[ts->count];
    t->bytes = malloc(len);
    if (t->bytes == NULL) {
        return -1;
    }
    memcpy(t->bytes, bytes, len);
    t->c = *c;
    ts->count++;
    return 0;
}

/*
 * The perfect subtrees covering [lo, hi), left to right: from lo, each time
 * the largest aligned subtree that fits.  For an RFC 9162 subtree (lo a
 * multiple of a power of two >= hi - lo) these are one per set bit of
 * hi - lo, largest first, and their right-to-left fold is its hash.
 * Returns the count, or 0 when more than cap would be needed.
 */
static size_t
span_nodes(uint64_t lo, uint64_t hi, struct tiles_node *out, size_t cap)
{
    size_t k = 0;
    unsigned h;

    while (lo < hi) {
        h = 62;
        while (h > 0 && ((lo & (((uint64_t)1 << h) - 1)) != 0 ||
                         ((uint64_t)1 << h) > hi - lo)) {
            h--;
        }
        if (k >= cap) {
            return 0;
        }
        out[k].height = h;
        out[k].index = lo >> h;
        k++;
        lo += (uint64_t)1 << h;
    }
    return k;
}

/*
 * The spans of the consistency proof from m to n (0 < m <= n < 2^63), in
 * proof order: RFC 9162 SUBPROOF unrolled.  Walking down from [0, n), each
 * step keeps the half holding leaf m - 1's right edge and records the other
 * half; the proof is the final span (unless it is the old tree itself)
 * then the recorded halves, innermost first.  Returns the count (<= 64).
 */
static size_t
consistency_spans(uint64_t m, uint64_t n, struct tiles_span *out)
{
    struct tiles_span sib[TILES_SPANS_MAX];
    uint64_t lo = 0, hi = n, k;
    size_t nsib = 0, count = 0;
    int whole = 1; /* [lo, hi) is still a prefix of the old tree's root */

    while (m != hi - lo && nsib < TILES_SPANS_MAX - 1) {
        /* 0 < m < hi - lo: k is the largest power of two below hi - lo. */
        k = (uint64_t)1 << (tiles_bit_len(hi - lo - 1) - 1);
        if (m <= k) {
            sib[nsib].lo = lo + k;
            sib[nsib].hi = hi;
            hi = lo + k;
        } else {
            sib[nsib].lo = lo;
            sib[nsib].hi = lo + k;
            m -= k;
            lo += k;
            whole = 0;
        }
        nsib++;
    }
    if (!whole) {
        out[count].lo = lo;
        out[count].hi = hi;
        count++;
    }
    while (nsib > 0) {
        nsib--;
        out[count++] = sib[nsib];
    }
    return count;
}

/* Where node nd of the tree n is read: its tile and its first hash. */
static void
node_tile(const struct tiles_node *nd, uint64_t n, struct tiles_coord *c,
          unsigned *off)
{
    unsigned r = nd->height % TILES_HEIGHT;
    uint64_t first = nd->index << r;

    c->level = (int)(nd->height / TILES_HEIGHT);
    c->index = first >> TILES_HEIGHT;
    c->width = tiles_width(c->level, c->index, n);
    *off = (unsigned)(first & (TILES_WIDTH - 1));
}

/* A node exists in the tree n when (index + 1) << height <= n. */
static int
node_valid(const struct tiles_node *nd, uint64_t n)
{
    return nd->height < 63 && nd->index < (n >> nd->height);
}

/* Hash node nd from its tile in ts.  0 or -1 (tile missing). */
static int
set_node(const struct tiles_set *ts, const struct tiles_node *nd,
         uint8_t out[MERKLE_HASH_LEN])
{
    uint8_t buf[TILES_WIDTH / 2][MERKLE_HASH_LEN];
    const struct tiles_tile *t;
    struct tiles_coord c;
    unsigned off, count, j;

    if (!node_valid(nd, ts->n)) {
        return -1;
    }
    node_tile(nd, ts->n, &c, &off);
    count = 1u << (nd->height % TILES_HEIGHT);
    t = set_find(ts, c.level, c.index);
    if (t == NULL || t->c.width != c.width || off + count > t->c.width) {
        return -1;
    }
    memcpy(buf, t->bytes + (size_t)off * MERKLE_HASH_LEN,
           (size_t)count * MERKLE_HASH_LEN);
    /* Pairwise up: buf[j] is written after buf[2j], buf[2j+1] are read. */
    for (; count > 1; count /= 2) {
        for (j = 0; j < count / 2; j++) {
            merkle_node_hash(buf[2 * j], buf[2 * j + 1], buf[j]);
        }
    }
    memcpy(out, buf[0], MERKLE_HASH_LEN);
    return 0;
}

/* Hash span [lo, hi) (an RFC 9162 subtree) from ts.  0 or -1. */
static int
set_span(const struct tiles_set *ts, const struct tiles_span *sp,
         uint8_t out[MERKLE_HASH_LEN])
{
    struct tiles_node nodes[TILES_NODES_MAX];
    uint8_t h[MERKLE_HASH_LEN], left[MERKLE_HASH_LEN];
    size_t k;

    k = span_nodes(sp->lo, sp->hi, nodes, TILES_NODES_MAX);
    if (k == 0 || set_node(ts, &nodes[k - 1], h) != 0) {
        return -1;
    }
    while (k > 1) {
        k--;
        if (set_node(ts, &nodes[k - 1], left) != 0) {
            return -1;
        }
        merkle_node_hash(left, h, h);
    }
    memcpy(out, h, MERKLE_HASH_LEN);
    return 0;
}

static void
needs_add_node(struct tiles_needs *nd, const struct tiles_node *node,
               uint64_t n)
{
    struct tiles_coord c;
    unsigned off;
    size_t i;

    node_tile(node, n, &c, &off);
    for (i = 0; i < nd->count; i++) {
        if (nd->c[i].level == c.level && nd->c[i].index == c.index) {
            return;
        }
    }
    /* Cannot fill up: <= 64 spans of <= 64 nodes, but only one span of a
     * proof is not a single node, so <= 127 nodes in all. */
    if (nd->count < TILES_SET_MAX) {
        nd->c[nd->count++] = c;
    }
}

static void
needs_add_span(struct tiles_needs *nd, const struct tiles_span *sp, uint64_t n)
{
    struct tiles_node nodes[TILES_NODES_MAX];
    size_t k, i;

    k = span_nodes(sp->lo, sp->hi, nodes, TILES_NODES_MAX);
    for (i = 0; i < k; i++) {
        needs_add_node(nd, &nodes[i], n);
    }
}

static size_t
needs_out(const struct tiles_needs *nd, struct tiles_coord *out, size_t cap)
{
    size_t k = nd->count < cap ? nd->count : cap;

    if (out != NULL && k > 0) {
        memcpy(out, nd->c, k * sizeof(*out));
    }
    return nd->count;
}

size_t
tiles_needed_consistency(uint64_t m, uint64_t n, struct tiles_coord *out,
                         size_t cap)
{
    struct tiles_span spans[TILES_SPANS_MAX];
    struct tiles_needs nd;
    size_t k, i;

    if (m == 0 || m > n || n >= TILES_MAX_SIZE) {
        return 0;
    }
    nd.count = 0;
    k = consistency_spans(m, n, spans);
    for (i = 0; i < k; i++) {
        needs_add_span(&nd, &spans[i], n);
    }
    return needs_out(&nd, out, cap);
}

size_t
tiles_needed_range(uint64_t at, uint64_t n, struct tiles_coord *out, size_t cap)
{
    struct tiles_span sp;
    struct tiles_needs nd;

    if (at > n || n >= TILES_MAX_SIZE) {
        return 0;
    }
    nd.count = 0;
    sp.lo = 0;
    sp.hi = at;
    needs_add_span(&nd, &sp, n);
    return needs_out(&nd, out, cap);
}

size_t
tiles_needed_root(uint64_t n, struct tiles_coord *out, size_t cap)
{
    return tiles_needed_range(n, n, out, cap);
}

int
tiles_consistency_proof(const struct tiles_set *ts, uint64_t m,
                        uint8_t (*proof)[MERKLE_HASH_LEN], size_t cap,
                        size_t *nproof)
{
    struct tiles_span spans[TILES_SPANS_MAX];
    uint8_t hashes[TILES_SPANS_MAX][MERKLE_HASH_LEN];
    size_t k, i;

    if (ts == NULL || nproof == NULL || m == 0 || m > ts->n) {
        return -1;
    }
    k = m == ts->n ? 0 : consistency_spans(m, ts->n, spans);
    if (k > MERKLE_MAX_PROOF || k > cap || (k > 0 && proof == NULL)) {
        return -1;
    }
    for (i = 0; i < k; i++) {
        if (set_span(ts, &spans[i], hashes[i]) != 0) {
            return -1;
        }
    }
    if (k > 0) {
        memcpy(proof, hashes, k * MERKLE_HASH_LEN);
    }
    *nproof = k;
    return 0;
}

int
tiles_range_at(const struct tiles_set *ts, uint64_t at,
               struct merkle_range *out)
{
    struct tiles_node nodes[TILES_NODES_MAX];
    uint8_t hashes[TILES_NODES_MAX][MERKLE_HASH_LEN];
    size_t k, i;

    if (ts == NULL || out == NULL || at > ts->n) {
        return -1;
    }
    k = span_nodes(0, at, nodes, TILES_NODES_MAX);
    if (k > MERKLE_RANGE_MAX) {
        return -1;
    }
    for (i = 0; i < k; i++) {
        if (set_node(ts, &nodes[i], hashes[i]) != 0) {
            return -1;
        }
    }
    return merkle_range_load(out, at, (const uint8_t(*)[MERKLE_HASH_LEN])hashes,
                             k) == MERKLE_OK
               ? 0
               : -1;
}

int
tiles_root(const struct tiles_set *ts, uint8_t root[MERKLE_HASH_LEN])
{
    struct merkle_range r;

    if (ts == NULL || root == NULL || tiles_range_at(ts, ts->n, &r) != 0) {
        return -1;
    }
    merkle_range_root(&r, root);
    return 0;
}
