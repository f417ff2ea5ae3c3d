/*
 * test_tiles.c: merkle/tiles.c (C2SP tlog-tiles primitives) against
 *  - the real Tessera test log in $TLOGWATCH_TESTDATA/rekor-v2/
 *    tessera-testlog (signed checkpoints, partial hash tiles and entry
 *    bundles, read at run time) and the consistency proofs derived from it
 *    (tessera-testlog-consistency-proofs.json);
 *  - synthetic trees built here (leaf i = the decimal text of i) of up to
 *    SYN_MAX leaves, whose tiles come from level hashes computed directly,
 *    and whose reference ranges and roots come from merkle_range_append;
 *  - negative twins: malformed bundles, tiles of the wrong width, missing
 *    tiles, flipped bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>

#include "merkle/merkle.h"
#include "merkle/note.h"
#include "merkle/tiles.h"
#include "merkle_testutil.h"

#define TESSERA_DIR "rekor-v2/tessera-testlog"
#define TESSERA_PROOFS "rekor-v2/tessera-testlog-consistency-proofs.json"
/* The test log has checkpoints 0..15; fewer means data went missing. */
#define TESSERA_MIN_SIZE 15
#define TESSERA_MAX_SIZE 255 /* all in tile 0 */

/* Largest synthetic tree: three levels of tiles. */
#define SYN_MAX 200000

/* ---- tile sources ------------------------------------------------- */

/* Where tile bytes come from: files under dir, or synthetic levels. */
struct tile_src {
    const char *dir;     /* the Tessera log directory, or NULL */
    uint8_t *levels[64]; /* synthetic: level h node hashes */
    uint64_t nlevel[64]; /* how many at each height */
    int flip_level;      /* a tile to corrupt: level, index, byte */
    uint64_t flip_index;
    size_t flip_byte;
};

/* The bytes of hash tile c (c->width hashes). New, or NULL when absent. */
static uint8_t *
src_tile(const struct tile_src *src, const struct tiles_coord *c, size_t *len)
{
    uint8_t *buf = NULL;

    if (src->dir != NULL) {
        char rel[TILES_PATH_MAX], path[MTU_PATH_MAX];
        assert_int_equal(
            tiles_path(c->level, c->index, c->width, rel, sizeof(rel)), 0);
        assert_int_equal(mtu_join(path, sizeof(path), src->dir, rel), 0);
        buf = (uint8_t *)mtu_read_file(path, len);
    } else {
        unsigned h = (unsigned)c->level * TILES_HEIGHT;
        uint64_t first = c->index * TILES_WIDTH;
        if (h >= 64 || first + c->width > src->nlevel[h]) {
            return NULL;
        }
        *len = (size_t)c->width * MERKLE_HASH_LEN;
        buf = malloc(*len);
        assert_non_null(buf);
        memcpy(buf, src->levels[h] + first * MERKLE_HASH_LEN, *len);
    }
    if (buf != NULL && c->level == src->flip_level &&
        c->index == src->flip_index && src->flip_byte < *len) {
        buf[src->flip_byte] ^= 0x01;
    }
    return buf;
}

/* A set for tree n holding exactly the tiles in need[0..k) but skip
 * (SIZE_MAX: none). */
static struct tiles_set *
src_set(const struct tile_src *src, uint64_t n, const struct tiles_coord *need,
        size_t k, size_t skip)
{
    struct tiles_set *ts = tiles_set_new(n);
    size_t i, len = 0;

    assert_non_null(ts);
    for (i = 0; i < k; i++) {
        uint8_t *b;
        if (i == skip) {
            continue;
        }
        assert_int_equal(need[i].width,
                         tiles_width(need[i].level, need[i].index, n));
        b = src_tile(src, &need[i], &len);
        assert_non_null(b);
        assert_int_equal(len, (size_t)need[i].width * MERKLE_HASH_LEN);
        assert_int_equal(tiles_set_put(ts, &need[i], b, len), 0);
        free(b);
    }
    assert_int_equal(tiles_set_count(ts), k - (skip < k ? 1 : 0));
    return ts;
}

/* Every coordinate once, each a tile that exists in the tree n. */
static void
check_needs(const struct tiles_coord *c, size_t k, uint64_t n)
{
    size_t i, j;

    assert_true(k <= TILES_SET_MAX);
    for (i = 0; i < k; i++) {
        assert_true(c[i].level >= 0);
        assert_true(c[i].width > 0);
        assert_int_equal(c[i].width, tiles_width(c[i].level, c[i].index, n));
        for (j = 0; j < i; j++) {
            assert_false(c[j].level == c[i].level && c[j].index == c[i].index);
        }
    }
}

/* The consistency proof m -> n from a set holding just the needed tiles
 * (all but skip).  Returns the tiles_consistency_proof result. */
static int
src_proof(const struct tile_src *src, uint64_t m, uint64_t n, size_t skip,
          uint8_t (*proof)[MERKLE_HASH_LEN], size_t *nproof, size_t *nneed)
{
    struct tiles_coord need[TILES_SET_MAX];
    struct tiles_set *ts;
    size_t k;
    int r;

    k = tiles_needed_consistency(m, n, need, TILES_SET_MAX);
    check_needs(need, k, n);
    if (nneed != NULL) {
        *nneed = k;
    }
    ts = src_set(src, n, need, k, skip);
    r = tiles_consistency_proof(ts, m, proof, MERKLE_MAX_PROOF, nproof);
    tiles_set_free(ts);
    return r;
}

static int
src_root(const struct tile_src *src, uint64_t n, size_t skip,
         uint8_t root[MERKLE_HASH_LEN])
{
    struct tiles_coord need[TILES_SET_MAX];
    struct tiles_set *ts;
    size_t k;
    int r;

    k = tiles_needed_root(n, need, TILES_SET_MAX);
    check_needs(need, k, n);
    ts = src_set(src, n, need, k, skip);
    r = tiles_root(ts, root);
    tiles_set_free(ts);
    return r;
}

static int
src_range(const struct tile_src *src, uint64_t at, uint64_t n, size_t skip,
          struct merkle_range *out)
{
    struct tiles_coord need[TILES_SET_MAX];
    struct tiles_set *ts;
    size_t k;
    int r;

    k = tiles_needed_range(at, n, need, TILES_SET_MAX);
    check_needs(need, k, n);
    ts = src_set(src, n, need, k, skip);
    r = tiles_range_at(ts, at, out);
    tiles_set_free(ts);
    return r;
}

/*
 * Negative twins of one consistency proof: without any one needed tile
 * the proof is refused; a flipped bit in any hash of a needed tile either
 * leaves the proof alone (a hash it does not use) or changes it so that
 * it no longer verifies; and every needed tile has a hash the proof uses.
 */
static void
proof_twins(struct tile_src *src, uint64_t m, uint64_t n,
            const uint8_t root1[MERKLE_HASH_LEN],
            const uint8_t root2[MERKLE_HASH_LEN])
{
    uint8_t good[MERKLE_MAX_PROOF][MERKLE_HASH_LEN];
    uint8_t bad[MERKLE_MAX_PROOF][MERKLE_HASH_LEN];
    struct tiles_coord need[TILES_SET_MAX];
    size_t ngood, nbad, k, i, changed;
    unsigned j;

    assert_int_equal(src_proof(src, m, n, SIZE_MAX, good, &ngood, &k), 0);
    assert_int_equal(tiles_needed_consistency(m, n, need, TILES_SET_MAX), k);
    for (i = 0; i < k; i++) {
        assert_int_equal(src_proof(src, m, n, i, bad, &nbad, NULL), -1);
        changed = 0;
        for (j = 0; j < need[i].width; j++) {
            src->flip_level = need[i].level;
            src->flip_index = need[i].index;
            src->flip_byte = (size_t)j * MERKLE_HASH_LEN + (j % 32);
            assert_int_equal(src_proof(src, m, n, SIZE_MAX, bad, &nbad, NULL),
                             0);
            assert_int_equal(nbad, ngood);
            if (memcmp(bad, good, ngood * MERKLE_HASH_LEN) != 0) {
                changed++;
                assert_int_not_equal(merkle_verify_consistency(
                                         m, n, root1, root2,
                                         (const uint8_t(*)[MERKLE_HASH_LEN])bad,
                                         nbad),
                                     MERKLE_OK);
            }
        }
        src->flip_level = -2;
        assert_true(changed > 0);
    }
}

/* ---- paths and widths --------------------------------------------- */

static void
expect_path(int level, uint64_t index, unsigned width, const char *want)
{
    char buf[TILES_PATH_MAX];
    size_t n = strlen(want);

    assert_int_equal(tiles_path(level, index, width, buf, sizeof(buf)), 0);
    assert_string_equal(buf, want);
    /* Exactly enough room, and one byte less. */
    assert_int_equal(tiles_path(level, index, width, buf, n + 1), 0);
    assert_string_equal(buf, want);
    assert_int_equal(tiles_path(level, index, width, buf, n), -1);
    assert_string_equal(buf, "");
}

static void
test_paths(void **state)
{
    char buf[TILES_PATH_MAX];

    (void)state;
    expect_path(0, 0, 0, "tile/0/000");
    expect_path(0, 0, 256, "tile/0/000");
    expect_path(0, 0, 1, "tile/0/000.p/1");
    expect_path(0, 0, 255, "tile/0/000.p/255");
    expect_path(1, 0, 0, "tile/1/000");
    expect_path(1, 999, 0, "tile/1/999");
    expect_path(1, 1000, 0, "tile/1/x001/000");
    expect_path(2, 1234067, 0, "tile/2/x001/x234/067");
    expect_path(2, 1234067, 5, "tile/2/x001/x234/067.p/5");
    expect_path(TILES_ENTRIES, 1234067, 8, "tile/entries/x001/x234/067.p/8");
    expect_path(TILES_ENTRIES, 0, 0, "tile/entries/000");
    expect_path(63, 0, 7, "tile/63/000.p/7");
    expect_path(0, UINT64_MAX, 0, "tile/0/x018/x446/x744/x073/x709/x551/615");

    /* Bad arguments. */
    assert_int_equal(tiles_path(-2, 0, 0, buf, sizeof(buf)), -1);
    assert_int_equal(tiles_path(64, 0, 0, buf, sizeof(buf)), -1);
    assert_int_equal(tiles_path(0, 0, 257, buf, sizeof(buf)), -1);
    assert_int_equal(tiles_path(0, 0, 0, NULL, 10), -1);
    assert_int_equal(tiles_path(0, 0, 0, buf, 0), -1);
}

static void
test_widths(void **state)
{
    (void)state;
    assert_int_equal(tiles_width(0, 0, 0), 0);
    assert_int_equal(tiles_width(0, 0, 1), 1);
    assert_int_equal(tiles_width(0, 0, 255), 255);
    assert_int_equal(tiles_width(0, 0, 256), 256);
    assert_int_equal(tiles_width(0, 1, 256), 0);
    assert_int_equal(tiles_width(0, 1, 257), 1);
    assert_int_equal(tiles_width(0, 0, 257), 256);
    assert_int_equal(tiles_width(TILES_ENTRIES, 1, 257), 1);
    assert_int_equal(tiles_width(1, 0, 255), 0);
    assert_int_equal(tiles_width(1, 0, 256), 1);
    assert_int_equal(tiles_width(1, 0, 511), 1);
    assert_int_equal(tiles_width(1, 0, 512), 2);
    assert_int_equal(tiles_width(1, 0, 65535), 255);
    assert_int_equal(tiles_width(1, 0, 65536), 256);
    assert_int_equal(tiles_width(2, 0, 65535), 0);
    assert_int_equal(tiles_width(2, 0, 65536), 1);
    assert_int_equal(tiles_width(1, 1, 65536), 0);
    assert_int_equal(tiles_width(1, 1, 70000), 17); /* 273 - 256 */
    assert_int_equal(tiles_width(0, 273, 70000), 112);
    assert_int_equal(tiles_width(2, 0, SYN_MAX), 3);
    assert_int_equal(tiles_width(7, 0, TILES_MAX_SIZE - 1), 127);
    assert_int_equal(tiles_width(8, 0, UINT64_MAX), 0);
    assert_int_equal(tiles_width(-2, 0, 1000), 0);
    assert_int_equal(tiles_width(0, UINT64_MAX, UINT64_MAX), 0);
}

/* ---- entry bundles ------------------------------------------------ */

struct bundle_seen {
    unsigned calls;
    unsigned stop_at;                         /* return 7 at this entry */
    const uint8_t (*hashes)[MERKLE_HASH_LEN]; /* expected leaf hashes */
    size_t mismatches;
};

static int
bundle_cb(const uint8_t *e, size_t n, unsigned i, void *arg)
{
    struct bundle_seen *s = arg;
    uint8_t h[MERKLE_HASH_LEN];

    if (i != s->calls) {
        s->mismatches++;
    }
    s->calls++;
    if (s->hashes != NULL) {
        merkle_leaf_hash(e, n, h);
        if (memcmp(h, s->hashes[i], MERKLE_HASH_LEN) != 0) {
            s->mismatches++;
        }
    }
    return i == s->stop_at ? 7 : 0;
}

static void
test_bundle_negative(void **state)
{
    /* Three entries "a", "", "bc". */
    static const uint8_t good[] = {0, 1, 'a', 0, 0, 0, 2, 'b', 'c'};
    uint8_t buf[sizeof(good) + 4];
    struct bundle_seen s;

    (void)state;
    memset(&s, 0, sizeof(s));
    s.stop_at = UINT32_MAX;
    assert_int_equal(tiles_parse_bundle(good, sizeof(good), 3, bundle_cb, &s),
                     0);
    assert_int_equal(s.calls, 3);
    assert_int_equal(tiles_parse_bundle(good, sizeof(good), 3, NULL, NULL), 0);

    /* A callback's value stops the walk. */
    memset(&s, 0, sizeof(s));
    s.stop_at = 1;
    assert_int_equal(tiles_parse_bundle(good, sizeof(good), 3, bundle_cb, &s),
                     7);
    assert_int_equal(s.calls, 2);

    /* Malformed: no callback at all. */
    memset(&s, 0, sizeof(s));
    s.stop_at = UINT32_MAX;
    /* Short: the last length claims one byte more than there is. */
    memcpy(buf, good, sizeof(good));
    buf[6] = 3;
    assert_int_equal(tiles_parse_bundle(buf, sizeof(good), 3, bundle_cb, &s),
                     -1);
    /* Cut inside the data, inside a length, after a length. */
    assert_int_equal(
        tiles_parse_bundle(good, sizeof(good) - 1, 3, bundle_cb, &s), -1);
    assert_int_equal(tiles_parse_bundle(good, 6, 3, bundle_cb, &s), -1);
    assert_int_equal(tiles_parse_bundle(good, 7, 3, bundle_cb, &s), -1);
    /* Trailing bytes. */
    memcpy(buf, good, sizeof(good));
    buf[sizeof(good)] = 0;
    assert_int_equal(
        tiles_parse_bundle(buf, sizeof(good) + 1, 3, bundle_cb, &s), -1);
    /* One entry too many in the bytes, one too few. */
    assert_int_equal(tiles_parse_bundle(good, sizeof(good), 2, bundle_cb, &s),
                     -1);
    assert_int_equal(tiles_parse_bundle(good, sizeof(good), 4, bundle_cb, &s),
                     -1);
    /* An extra empty entry is still an entry too many. */
    buf[sizeof(good) + 1] = 0;
    assert_int_equal(
        tiles_parse_bundle(buf, sizeof(good) + 2, 3, bundle_cb, &s), -1);
    assert_int_equal(
        tiles_parse_bundle(buf, sizeof(good) + 2, 4, bundle_cb, &s), 0);
    assert_int_equal(s.calls, 4);
    s.calls = 0;
    /* Widths out of range, NULL with a length, too long. */
    assert_int_equal(tiles_parse_bundle(good, sizeof(good), 0, bundle_cb, &s),
                     -1);
    assert_int_equal(tiles_parse_bundle(good, sizeof(good), 257, bundle_cb, &s),
                     -1);
    assert_int_equal(tiles_parse_bundle(NULL, 3, 3, bundle_cb, &s), -1);
    assert_int_equal(
        tiles_parse_bundle(good, TILES_MAX_BUNDLE + 1, 3, bundle_cb, &s), -1);
    assert_int_equal(s.calls, 0);
}

/* A full bundle of maximal entries is exactly TILES_MAX_BUNDLE bytes. */
static void
test_bundle_max(void **state)
{
    uint8_t *buf = calloc(1, TILES_MAX_BUNDLE + 1);
    size_t i;
    struct bundle_seen s;

    (void)state;
    assert_non_null(buf);
    for (i = 0; i < TILES_WIDTH; i++) {
        buf[i * (2 + 65535)] = 0xff;
        buf[i * (2 + 65535) + 1] = 0xff;
    }
    memset(&s, 0, sizeof(s));
    s.stop_at = UINT32_MAX;
    assert_int_equal(
        tiles_parse_bundle(buf, TILES_MAX_BUNDLE, TILES_WIDTH, bundle_cb, &s),
        0);
    assert_int_equal(s.calls, TILES_WIDTH);
    assert_int_equal(tiles_parse_bundle(buf, TILES_MAX_BUNDLE + 1, TILES_WIDTH,
                                        bundle_cb, &s),
                     -1);
    free(buf);
}

/* ---- the tile set ------------------------------------------------- */

static void
test_set_rules(void **state)
{
    uint8_t tile[TILES_TILE_MAX + MERKLE_HASH_LEN];
    struct tiles_coord c, need[4];
    struct tiles_set *ts;
    uint8_t root[MERKLE_HASH_LEN], proof[MERKLE_MAX_PROOF][MERKLE_HASH_LEN];
    struct merkle_range r;
    size_t np = 0;

    (void)state;
    memset(tile, 0x5a, sizeof(tile));
    assert_null(tiles_set_new(TILES_MAX_SIZE));
    tiles_set_free(NULL);
    ts = tiles_set_new(70000);
    assert_non_null(ts);
    assert_int_equal(tiles_set_tree_size(ts), 70000);

    /* Wrong widths, lengths, levels, tiles beyond the tree. */
    c.level = 0;
    c.index = 273;
    c.width = 111;
    assert_int_equal(tiles_set_put(ts, &c, tile, 111 * MERKLE_HASH_LEN), -1);
    c.width = 113;
    assert_int_equal(tiles_set_put(ts, &c, tile, 113 * MERKLE_HASH_LEN), -1);
    c.width = 112;
    assert_int_equal(tiles_set_put(ts, &c, tile, 111 * MERKLE_HASH_LEN), -1);
    assert_int_equal(tiles_set_put(ts, &c, tile, 113 * MERKLE_HASH_LEN), -1);
    assert_int_equal(tiles_set_put(ts, &c, NULL, 112 * MERKLE_HASH_LEN), -1);
    c.index = 274;
    assert_int_equal(tiles_set_put(ts, &c, tile, 112 * MERKLE_HASH_LEN), -1);
    c.index = 0;
    c.width = 256;
    c.level = TILES_ENTRIES;
    assert_int_equal(tiles_set_put(ts, &c, tile, TILES_TILE_MAX), -1);
    c.level = 8;
    assert_int_equal(tiles_set_put(ts, &c, tile, TILES_TILE_MAX), -1);
    c.level = 2;
    assert_int_equal(tiles_set_put(ts, &c, tile, TILES_TILE_MAX), -1);
    c.width = 1;
    assert_int_equal(tiles_set_put(ts, &c, tile, MERKLE_HASH_LEN), 0);
    /* The same tile twice. */
    assert_int_equal(tiles_set_put(ts, &c, tile, MERKLE_HASH_LEN), -1);
    assert_int_equal(tiles_set_count(ts), 1);

    /* Missing tiles: every output refused and untouched. */
    memset(root, 0, sizeof(root));
    assert_int_equal(tiles_root(ts, root), -1);
    assert_int_equal(tiles_range_at(ts, 65537, &r), -1);
    assert_int_equal(
        tiles_consistency_proof(ts, 1, proof, MERKLE_MAX_PROOF, &np), -1);
    assert_int_equal(np, 0);
    /* Impossible sizes. */
    assert_int_equal(tiles_range_at(ts, 70001, &r), -1);
    assert_int_equal(
        tiles_consistency_proof(ts, 0, proof, MERKLE_MAX_PROOF, &np), -1);
    assert_int_equal(
        tiles_consistency_proof(ts, 70001, proof, MERKLE_MAX_PROOF, &np), -1);
    /* Equal sizes: the empty proof, no tile needed. */
    assert_int_equal(tiles_consistency_proof(ts, 70000, NULL, 0, &np), 0);
    assert_int_equal(np, 0);
    /* The range at 65536 is the level-2 hash alone. */
    assert_int_equal(tiles_range_at(ts, 65536, &r), 0);
    assert_int_equal(r.size, 65536);
    assert_int_equal(r.nhashes, 1);
    assert_memory_equal(r.hashes[0], tile, MERKLE_HASH_LEN);
    assert_int_equal(tiles_range_at(ts, 0, &r), 0);
    assert_int_equal(r.nhashes, 0);
    tiles_set_free(ts);

    /* The empty tree: nothing needed, the empty root. */
    ts = tiles_set_new(0);
    assert_non_null(ts);
    assert_int_equal(tiles_needed_root(0, need, 4), 0);
    assert_int_equal(tiles_root(ts, root), 0);
    merkle_empty_root(tile);
    assert_memory_equal(root, tile, MERKLE_HASH_LEN);
    tiles_set_free(ts);

    /* A full set refuses more. */
    ts = tiles_set_new(TILES_MAX_SIZE - 1);
    assert_non_null(ts);
    c.level = 0;
    c.width = TILES_WIDTH;
    for (c.index = 0; c.index < TILES_SET_MAX; c.index++) {
        assert_int_equal(tiles_set_put(ts, &c, tile, TILES_TILE_MAX), 0);
    }
    assert_int_equal(tiles_set_put(ts, &c, tile, TILES_TILE_MAX), -1);
    assert_int_equal(tiles_set_count(ts), TILES_SET_MAX);
    tiles_set_free(ts);

    /* Needs for impossible sizes are empty. */
    assert_int_equal(tiles_needed_consistency(0, 5, need, 4), 0);
    assert_int_equal(tiles_needed_consistency(6, 5, need, 4), 0);
    assert_int_equal(tiles_needed_consistency(5, 5, need, 4), 0);
    assert_int_equal(tiles_needed_range(6, 5, need, 4), 0);
    assert_int_equal(tiles_needed_root(TILES_MAX_SIZE, need, 4), 0);
}

/* With too little room the count is the same and only cap are written. */
static void
test_needed_cap(void **state)
{
    struct tiles_coord all[TILES_SET_MAX], few[3], unset;
    size_t k, i;
    uint64_t m, n;

    (void)state;
    memset(&unset, 0xee, sizeof(unset));
    n = TILES_MAX_SIZE - 1;
    for (m = 1; m < n; m = m * 3 + 1) {
        k = tiles_needed_consistency(m, n, all, TILES_SET_MAX);
        assert_true(k > 0);
        check_needs(all, k, n);
        assert_int_equal(tiles_needed_consistency(m, n, NULL, 0), k);
        memset(few, 0xee, sizeof(few));
        assert_int_equal(tiles_needed_consistency(m, n, few, 2), k);
        for (i = 0; i < 2 && i < k; i++) {
            assert_memory_equal(&few[i], &all[i], sizeof(few[i]));
        }
        assert_memory_equal(&few[2], &unset, sizeof(unset));
    }
    k = tiles_needed_root(n, all, TILES_SET_MAX);
    check_needs(all, k, n);
    /* 63 set bits, 8 levels: one or two tiles a level. */
    assert_true(k >= 8 && k <= 16);
}

/* ---- the Tessera test log ----------------------------------------- */

struct tessera {
    char dir[MTU_PATH_MAX];
    struct merkle_note_key *key;
    uint64_t maxn;
    struct merkle_checkpoint cp[TESSERA_MAX_SIZE + 1];
};

/* The note verifier key named in PROVENANCE.md. New. */
static struct merkle_note_key *
tessera_key(void)
{
    static const char tag[] = "Note verifier key: ";
    char vkey[512];
    char *prov, *p;
    size_t n = 0;
    struct merkle_note_key *k;
    enum merkle_result err;

    prov = mtu_read_testdata("rekor-v2/PROVENANCE.md", NULL);
    assert_non_null(prov);
    p = strstr(prov, tag);
    assert_non_null(p);
    p += strlen(tag);
    while (p[n] != '\0' && p[n] != ' ' && p[n] != ')' && p[n] != '\n' &&
           n < sizeof(vkey) - 1) {
        vkey[n] = p[n];
        n++;
    }
    vkey[n] = '\0';
    free(prov);
    k = merkle_note_key_from_vkey(vkey, &err);
    if (k == NULL) {
        fail_msg("vkey %s: %s", vkey, merkle_strerror(err));
    }
    return k;
}

static int
tessera_setup(void **state)
{
    struct tessera *t = calloc(1, sizeof(*t));
    char rel[64];
    uint64_t n;

    assert_non_null(t);
    assert_int_equal(
        mtu_join(t->dir, sizeof(t->dir), mtu_testdata(), TESSERA_DIR), 0);
    t->key = tessera_key();
    for (n = 0; n <= TESSERA_MAX_SIZE; n++) {
        size_t len = 0;
        char *note;
        enum merkle_result r;
        snprintf(rel, sizeof(rel), TESSERA_DIR "/checkpoint.%u", (unsigned)n);
        note = mtu_read_testdata(rel, &len);
        if (note == NULL) {
            break;
        }
        r = merkle_checkpoint_verify(note, len, &t->key, 1, &t->cp[n]);
        free(note);
        if (r != MERKLE_OK) {
            fail_msg("%s: %s", rel, merkle_strerror(r));
        }
        assert_int_equal(t->cp[n].size, n);
    }
    assert_true(n > TESSERA_MIN_SIZE);
    t->maxn = n - 1;
    *state = t;
    return 0;
}

static int
tessera_teardown(void **state)
{
    struct tessera *t = *state;

    merkle_note_key_free(t->key);
    free(t);
    return 0;
}

struct path_seen {
    size_t dirlen;
    uint64_t maxn;
    size_t files;
    size_t unknown;
};

/* Every file under tile/ is one of the paths tiles_path makes. */
static void
tessera_file(const char *path, void *arg)
{
    struct path_seen *s = arg;
    const char *rel = path + s->dirlen + 1;
    char want[TILES_PATH_MAX];
    uint64_t n;

    s->files++;
    for (n = 1; n <= s->maxn; n++) {
        unsigned w = tiles_width(0, 0, n);
        assert_int_equal(tiles_path(0, 0, w, want, sizeof(want)), 0);
        if (strcmp(rel, want) == 0) {
            return;
        }
        assert_int_equal(tiles_path(TILES_ENTRIES, 0, w, want, sizeof(want)),
                         0);
        if (strcmp(rel, want) == 0) {
            return;
        }
    }
    print_error("unexpected file %s\n", rel);
    s->unknown++;
}

static void
test_tessera_paths(void **state)
{
    struct tessera *t = *state;
    char tiledir[MTU_PATH_MAX];
    struct path_seen s;
    size_t nfiles;

    memset(&s, 0, sizeof(s));
    s.dirlen = strlen(t->dir);
    s.maxn = t->maxn;
    assert_int_equal(mtu_join(tiledir, sizeof(tiledir), t->dir, "tile"), 0);
    nfiles = mtu_walk(tiledir, NULL, tessera_file, &s);
    assert_int_equal(nfiles, s.files);
    assert_int_equal(s.unknown, 0);
    /* One hash tile and one bundle per size, all of them found. */
    assert_int_equal(s.files, 2 * t->maxn);
}

static void
test_tessera_bundles(void **state)
{
    struct tessera *t = *state;
    char rel[TILES_PATH_MAX], path[MTU_PATH_MAX];
    uint64_t n;

    for (n = 1; n <= t->maxn; n++) {
        unsigned w = tiles_width(TILES_ENTRIES, 0, n);
        size_t blen = 0, hlen = 0;
        uint8_t *bundle, *hashes;
        struct bundle_seen s;

        assert_int_equal(w, n);
        assert_int_equal(tiles_path(0, 0, w, rel, sizeof(rel)), 0);
        assert_int_equal(mtu_join(path, sizeof(path), t->dir, rel), 0);
        hashes = (uint8_t *)mtu_read_file(path, &hlen);
        assert_non_null(hashes);
        assert_int_equal(hlen, (size_t)w * MERKLE_HASH_LEN);
        assert_int_equal(tiles_path(TILES_ENTRIES, 0, w, rel, sizeof(rel)), 0);
        assert_int_equal(mtu_join(path, sizeof(path), t->dir, rel), 0);
        bundle = (uint8_t *)mtu_read_file(path, &blen);
        assert_non_null(bundle);

        memset(&s, 0, sizeof(s));
        s.stop_at = UINT32_MAX;
        s.hashes = (const uint8_t(*)[MERKLE_HASH_LEN])hashes;
        assert_int_equal(tiles_parse_bundle(bundle, blen, w, bundle_cb, &s), 0);
        assert_int_equal(s.calls, w);
        assert_int_equal(s.mismatches, 0);
        /* Twins: the wrong width either way, one byte short or over. */
        assert_int_equal(tiles_parse_bundle(bundle, blen, w + 1, NULL, NULL),
                         -1);
        assert_int_equal(tiles_parse_bundle(bundle, blen, w - 1, NULL, NULL),
                         -1);
        assert_int_equal(tiles_parse_bundle(bundle, blen - 1, w, NULL, NULL),
                         -1);
        /* A leaf that differs no longer hashes to the tile. */
        hashes[(w - 1) * MERKLE_HASH_LEN] ^= 0x80;
        memset(&s, 0, sizeof(s));
        s.stop_at = UINT32_MAX;
        s.hashes = (const uint8_t(*)[MERKLE_HASH_LEN])hashes;
        assert_int_equal(tiles_parse_bundle(bundle, blen, w, bundle_cb, &s), 0);
        assert_int_equal(s.mismatches, 1);
        free(bundle);
        free(hashes);
    }
}

static void
test_tessera_roots(void **state)
{
    struct tessera *t = *state;
    struct tile_src src;
    uint8_t root[MERKLE_HASH_LEN];
    struct merkle_range r;
    uint64_t n, at;

    memset(&src, 0, sizeof(src));
    src.dir = t->dir;
    src.flip_level = -2;
    for (n = 0; n <= t->maxn; n++) {
        assert_int_equal(src_root(&src, n, SIZE_MAX, root), 0);
        assert_memory_equal(root, t->cp[n].root, MERKLE_HASH_LEN);
        /* The range at every smaller size has the older root. */
        for (at = 0; at <= n; at++) {
            assert_int_equal(src_range(&src, at, n, SIZE_MAX, &r), 0);
            assert_int_equal(r.size, at);
            merkle_range_root(&r, root);
            assert_memory_equal(root, t->cp[at].root, MERKLE_HASH_LEN);
        }
        if (n == 0) {
            continue;
        }
        /* Twins: a flipped hash, a missing tile. */
        src.flip_level = 0;
        src.flip_index = 0;
        src.flip_byte = (size_t)(n - 1) * MERKLE_HASH_LEN;
        assert_int_equal(src_root(&src, n, SIZE_MAX, root), 0);
        assert_memory_not_equal(root, t->cp[n].root, MERKLE_HASH_LEN);
        src.flip_level = -2;
        assert_int_equal(src_root(&src, n, 0, root), -1);
    }
}

static void
test_tessera_consistency(void **state)
{
    struct tessera *t = *state;
    struct tile_src src;
    char path[MTU_PATH_MAX];
    json_error_t jerr;
    json_t *doc, *proofs, *pc;
    size_t i, checked = 0, twins = 0;

    memset(&src, 0, sizeof(src));
    src.dir = t->dir;
    src.flip_level = -2;
    assert_int_equal(
        mtu_join(path, sizeof(path), mtu_testdata(), TESSERA_PROOFS), 0);
    doc = json_load_file(path, 0, &jerr);
    assert_non_null(doc);
    proofs = json_object_get(doc, "proofs");
    assert_true(json_is_array(proofs));

    json_array_foreach(proofs, i, pc)
    {
        uint8_t proof[MERKLE_MAX_PROOF][MERKLE_HASH_LEN];
        json_t *want = json_object_get(pc, "proof"), *h;
        json_int_t m = json_integer_value(json_object_get(pc, "size1"));
        json_int_t n = json_integer_value(json_object_get(pc, "size2"));
        size_t np = 0, j;

        assert_true(m >= 1 && m <= n && (uint64_t)n <= t->maxn);
        assert_true(json_is_array(want));
        assert_int_equal(src_proof(&src, (uint64_t)m, (uint64_t)n, SIZE_MAX,
                                   proof, &np, NULL),
                         0);
        assert_int_equal(np, json_array_size(want));
        assert_int_equal(
            np, merkle_consistency_proof_len((uint64_t)m, (uint64_t)n));
        json_array_foreach(want, j, h)
        {
            size_t len = 0;
            uint8_t *b = mtu_b64(json_string_value(h), &len);
            assert_non_null(b);
            assert_int_equal(len, MERKLE_HASH_LEN);
            assert_memory_equal(b, proof[j], MERKLE_HASH_LEN);
            free(b);
        }
        assert_int_equal(merkle_verify_consistency(
                             (uint64_t)m, (uint64_t)n, t->cp[m].root,
                             t->cp[n].root,
                             (const uint8_t(*)[MERKLE_HASH_LEN])proof, np),
                         MERKLE_OK);
        if (m < n) {
            proof_twins(&src, (uint64_t)m, (uint64_t)n, t->cp[m].root,
                        t->cp[n].root);
            twins++;
        }
        checked++;
    }
    json_decref(doc);
    /* Every pair 1 <= m <= n <= maxn, each once. */
    assert_int_equal(checked, t->maxn * (t->maxn + 1) / 2);
    assert_int_equal(twins, t->maxn * (t->maxn - 1) / 2);
}

/* ---- synthetic trees ---------------------------------------------- */

/* Sizes around tile boundaries and levels. */
static const uint64_t syn_trees[] = {1,      255,    256,    257,   511,
                                     512,    65535,  65536,  65537, 70000,
                                     131071, 131329, SYN_MAX};
/* Sizes whose ranges are snapshotted (sorted, <= SYN_MAX). */
static const uint64_t syn_at[] = {
    0,     1,     2,      3,      7,      8,      100,    255,    256,    257,
    300,   511,   512,    513,    4097,   65279,  65535,  65536,  65537,  65792,
    69999, 70000, 100000, 131071, 131072, 131073, 131329, 199999, SYN_MAX};
#define SYN_NAT (sizeof(syn_at) / sizeof(syn_at[0]))
#define SYN_NTREES (sizeof(syn_trees) / sizeof(syn_trees[0]))

struct synth {
    struct tile_src src;
    struct merkle_range snap[SYN_NAT];
    uint8_t roots[SYN_NAT][MERKLE_HASH_LEN];
};

static int
synth_setup(void **state)
{
    struct synth *s = calloc(1, sizeof(*s));
    struct merkle_range r;
    uint64_t i, j;
    unsigned h, k = 0;
    char text[24];

    assert_non_null(s);
    s->src.flip_level = -2;
    /* Level hashes computed directly, pair by pair. */
    s->src.nlevel[0] = SYN_MAX;
    s->src.levels[0] = malloc((size_t)SYN_MAX * MERKLE_HASH_LEN);
    assert_non_null(s->src.levels[0]);
    for (i = 0; i < SYN_MAX; i++) {
        int len = snprintf(text, sizeof(text), "%llu", (unsigned long long)i);
        merkle_leaf_hash((const uint8_t *)text, (size_t)len,
                         s->src.levels[0] + i * MERKLE_HASH_LEN);
    }
    for (h = 0; s->src.nlevel[h] > 1; h++) {
        uint64_t cnt = s->src.nlevel[h] / 2;
        s->src.nlevel[h + 1] = cnt;
        s->src.levels[h + 1] = malloc((size_t)cnt * MERKLE_HASH_LEN);
        assert_non_null(s->src.levels[h + 1]);
        for (j = 0; j < cnt; j++) {
            merkle_node_hash(s->src.levels[h] + 2 * j * MERKLE_HASH_LEN,
                             s->src.levels[h] + (2 * j + 1) * MERKLE_HASH_LEN,
                             s->src.levels[h + 1] + j * MERKLE_HASH_LEN);
        }
    }
    /* Reference ranges: one leaf at a time. */
    merkle_range_init(&r);
    for (i = 0; i <= SYN_MAX; i++) {
        while (k < SYN_NAT && syn_at[k] == i) {
            s->snap[k] = r;
            merkle_range_root(&r, s->roots[k]);
            k++;
        }
        if (i < SYN_MAX) {
            assert_int_equal(
                merkle_range_append(&r, s->src.levels[0] + i * MERKLE_HASH_LEN),
                MERKLE_OK);
        }
    }
    assert_int_equal(k, SYN_NAT);
    *state = s;
    return 0;
}

static int
synth_teardown(void **state)
{
    struct synth *s = *state;
    unsigned h;

    for (h = 0; h < 64; h++) {
        free(s->src.levels[h]);
    }
    free(s);
    return 0;
}

/* The reference root of tree n (n among syn_at or syn_trees). */
static void
synth_root(const struct synth *s, uint64_t n, uint8_t root[MERKLE_HASH_LEN])
{
    struct merkle_range r;
    size_t k;
    uint64_t i;

    for (k = 0; k < SYN_NAT; k++) {
        if (syn_at[k] == n) {
            memcpy(root, s->roots[k], MERKLE_HASH_LEN);
            return;
        }
    }
    /* Not snapshotted: append from the largest snapshot below. */
    for (k = SYN_NAT; k > 0 && syn_at[k - 1] > n; k--) {
    }
    assert_true(k > 0);
    r = s->snap[k - 1];
    for (i = r.size; i < n; i++) {
        assert_int_equal(
            merkle_range_append(&r, s->src.levels[0] + i * MERKLE_HASH_LEN),
            MERKLE_OK);
    }
    merkle_range_root(&r, root);
}

static void
test_synth_roots_ranges(void **state)
{
    struct synth *s = *state;
    uint8_t root[MERKLE_HASH_LEN], want[MERKLE_HASH_LEN];
    struct merkle_range r;
    size_t t, k;

    for (t = 0; t < SYN_NTREES; t++) {
        uint64_t n = syn_trees[t];
        synth_root(s, n, want);
        assert_int_equal(src_root(&s->src, n, SIZE_MAX, root), 0);
        assert_memory_equal(root, want, MERKLE_HASH_LEN);
        assert_int_equal(src_root(&s->src, n, 0, root), -1);
        for (k = 0; k < SYN_NAT && syn_at[k] <= n; k++) {
            memset(&r, 0, sizeof(r));
            assert_int_equal(src_range(&s->src, syn_at[k], n, SIZE_MAX, &r), 0);
            assert_int_equal(r.size, s->snap[k].size);
            assert_int_equal(r.nhashes, s->snap[k].nhashes);
            assert_memory_equal(r.hashes, s->snap[k].hashes,
                                (size_t)r.nhashes * MERKLE_HASH_LEN);
            if (syn_at[k] > 0) {
                assert_int_equal(src_range(&s->src, syn_at[k], n, 0, &r), -1);
            }
        }
    }
}

static void
test_synth_consistency(void **state)
{
    struct synth *s = *state;
    uint8_t proof[MERKLE_MAX_PROOF][MERKLE_HASH_LEN];
    uint8_t r1[MERKLE_HASH_LEN], r2[MERKLE_HASH_LEN];
    size_t t, k, np, nneed, pairs = 0;

    for (t = 0; t < SYN_NTREES; t++) {
        uint64_t n = syn_trees[t];
        synth_root(s, n, r2);
        for (k = 1; k < SYN_NAT && syn_at[k] <= n; k++) {
            uint64_t m = syn_at[k];
            assert_int_equal(
                src_proof(&s->src, m, n, SIZE_MAX, proof, &np, &nneed), 0);
            assert_int_equal(np, merkle_consistency_proof_len(m, n));
            assert_int_equal(merkle_verify_consistency(
                                 m, n, s->roots[k], r2,
                                 (const uint8_t(*)[MERKLE_HASH_LEN])proof, np),
                             MERKLE_OK);
            /* The proof is for m, not for a neighbour. */
            if (m < n && m > 1) {
                synth_root(s, m - 1, r1);
                assert_int_not_equal(
                    merkle_verify_consistency(
                        m - 1, n, r1, r2,
                        (const uint8_t(*)[MERKLE_HASH_LEN])proof, np),
                    MERKLE_OK);
            }
            /* Missing tiles: refused. */
            if (nneed > 0) {
                assert_int_equal(
                    src_proof(&s->src, m, n, nneed - 1, proof, &np, NULL), -1);
            }
            pairs++;
        }
        /* Also the neighbours of n, the odd sizes just below it. */
        if (n > 2) {
            uint64_t ms[2] = {n - 1, n / 2 + 1};
            for (k = 0; k < 2; k++) {
                synth_root(s, ms[k], r1);
                assert_int_equal(
                    src_proof(&s->src, ms[k], n, SIZE_MAX, proof, &np, NULL),
                    0);
                assert_int_equal(merkle_verify_consistency(
                                     ms[k], n, r1, r2,
                                     (const uint8_t(*)[MERKLE_HASH_LEN])proof,
                                     np),
                                 MERKLE_OK);
                pairs++;
            }
        }
    }
    printf("synthetic consistency pairs: %zu\n", pairs);
    assert_true(pairs > 100);
}

/* Twins on multi-level trees: every needed tile is used, every change to
 * a used hash breaks the proof. */
static void
test_synth_twins(void **state)
{
    struct synth *s = *state;
    static const uint64_t pairs[][2] = {{1, 257},         {255, 65537},
                                        {65536, 70000},   {70000, SYN_MAX},
                                        {131071, 131329}, {257, 131329}};
    uint8_t r1[MERKLE_HASH_LEN], r2[MERKLE_HASH_LEN];
    size_t i;

    for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        synth_root(s, pairs[i][0], r1);
        synth_root(s, pairs[i][1], r2);
        proof_twins(&s->src, pairs[i][0], pairs[i][1], r1, r2);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_widths),
        cmocka_unit_test(test_bundle_negative),
        cmocka_unit_test(test_bundle_max),
        cmocka_unit_test(test_set_rules),
        cmocka_unit_test(test_needed_cap),
        cmocka_unit_test_setup_teardown(test_tessera_paths, tessera_setup,
                                        tessera_teardown),
        cmocka_unit_test_setup_teardown(test_tessera_bundles, tessera_setup,
                                        tessera_teardown),
        cmocka_unit_test_setup_teardown(test_tessera_roots, tessera_setup,
                                        tessera_teardown),
        cmocka_unit_test_setup_teardown(test_tessera_consistency, tessera_setup,
                                        tessera_teardown),
        cmocka_unit_test_setup_teardown(test_synth_roots_ranges, synth_setup,
                                        synth_teardown),
        cmocka_unit_test_setup_teardown(test_synth_consistency, synth_setup,
                                        synth_teardown),
        cmocka_unit_test_setup_teardown(test_synth_twins, synth_setup,
                                        synth_teardown),
    };

    if (mtu_testdata() == NULL) {
        fprintf(stderr, "TLOGWATCH_TESTDATA is not set\n");
        return 1;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
