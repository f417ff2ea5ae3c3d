/*
 * config_tree.h: internal to config/.  Reads a YAML (or JSON) document with
 * libyaml's event parser into a small tree of mappings, lists and scalars
 * that keeps the 1-based line and column of every node, so the validator
 * (config.c) can report errors at the offending node.
 *
 * Invariants kept by this module:
 *  - the tree respects the CONFIG_MAX_* limits of config.h: depth, items
 *    per list or map, bytes per scalar; a breach stops the read with one
 *    error at the node that breached it;
 *  - scalars are NUL-terminated and contain no NUL byte;
 *  - mapping keys are scalars; anchors, aliases and tags never reach the
 *    tree (they are errors);
 *  - the reader is iterative (no recursion on input depth).
 */
#ifndef TLOGWATCH_CONFIG_TREE_H
#define TLOGWATCH_CONFIG_TREE_H

#include <stddef.h>

#include "config/config.h"

enum config_node_kind {
    CONFIG_NODE_SCALAR = 0,
    CONFIG_NODE_LIST,
    CONFIG_NODE_MAP,
};

struct config_node {
    enum config_node_kind kind;
    unsigned long line; /* 1-based */
    unsigned long col;  /* 1-based */
    /* scalar */
    char *str; /* NUL-terminated, len bytes */
    size_t len;
    int plain; /* 1: plain style (unquoted), so may be null/bool/int */
    /* list: items[0..n); map: items[2i] key, items[2i+1] value */
    struct config_node **items;
    size_t n;
    size_t cap;
};

/*
 * Parse len bytes at buf.  Returns new tree (free with config_tree_free),
 * or NULL after adding the error(s) to *errs (name is the file name used
 * in them).  An empty document is an error.
 */
struct config_node *config_tree_parse(const void *buf, size_t len,
                                      const char *name,
                                      struct config_errors **errs);

/* config_tree_free(NULL) is a no-op. */
void config_tree_free(struct config_node *n);

/* Number of pairs of a map node. */
size_t config_tree_map_size(const struct config_node *map);

/* The value of key in map, or NULL; borrowed.  The first one if the key
 * is duplicated (the validator reports duplicates). */
const struct config_node *config_tree_get(const struct config_node *map,
                                          const char *key);

#endif
