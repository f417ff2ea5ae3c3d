/*
 * config_tree.c: YAML/JSON bytes -> struct config_node tree with positions.
 * See config_tree.h for the invariants.  libyaml's event parser does the
 * syntax; this file only builds nodes, with an explicit stack bounded by
 * CONFIG_MAX_DEPTH, and turns libyaml's errors into positioned messages.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <yaml.h>

#include "config/config_tree.h"

struct tree_builder {
    const char *name;
    struct config_errors **errs;
    struct config_node *root;
    struct config_node *stack[CONFIG_MAX_DEPTH];
    size_t depth;
    int documents;
};

void
config_tree_free(struct config_node *n)
{
    size_t i;

    if (n == NULL) {
        return;
    }
    for (i = 0; i < n->n; i++) {
        config_tree_free(n->items[i]);
    }
    free(n->items);
    if (n->str != NULL) {
        /* a scalar may be a secret written literally in the file */
        OPENSSL_cleanse(n->str, n->len);
    }
    free(n->str);
    free(n);
}

size_t
config_tree_map_size(const struct config_node *map)
{
    return map->kind == CONFIG_NODE_MAP ? map->n / 2 : 0;
}

const struct config_node *
config_tree_get(const struct config_node *map, const char *key)
{
    size_t i;

    if (map == NULL || map->kind != CONFIG_NODE_MAP) {
        return NULL;
    }
    for (i = 0; i + 1 < map->n; i += 2) {
        if (strcmp(map->items[i]->str, key) == 0) {
            return map->items[i + 1];
        }
    }
    return NULL;
}

/* Report an error at a libyaml mark (0-based) and fail. */
static int
tree_error(struct tree_builder *b, const yaml_mark_t *m, const char *msg)
{
    (void)config_errors_add(b->errs, b->name, (unsigned long)m->line + 1,
                            (unsigned long)m->column + 1, "%s", msg);
    return -1;
}

/* Add child to the container on top of the stack (or make it the root). */
static int
tree_attach(struct tree_builder *b, struct config_node *child,
            const yaml_mark_t *m)
{
    struct config_node *parent;
    size_t limit;

    if (b->depth == 0) {
        b->root = child;
        return 0;
    }
    parent = b->stack[b->depth - 1];
    limit = parent->kind == CONFIG_NODE_MAP ? 2 * CONFIG_MAX_ITEMS
                                            : CONFIG_MAX_ITEMS;
    if (parent->n >= limit) {
        config_tree_free(child);
        return tree_error(b, m,
                          parent->kind == CONFIG_NODE_MAP
                              ? "mapping has more than 256 keys"
                              : "list has more than 256 items");
    }
    if (parent->kind == CONFIG_NODE_MAP && parent->n % 2 == 0 &&
        child->kind != CONFIG_NODE_SCALAR) {
        config_tree_free(child);
        return tree_error(b, m, "mapping keys must be plain strings");
    }
    if (parent->n == parent->cap) {
        size_t cap = parent->cap ? parent->cap * 2 : 8;
        struct config_node **items;

        items = realloc(parent->items, cap * sizeof(*items));
        if (items == NULL) {
            config_tree_free(child);
            return tree_error(b, m, "out of memory");
        }
        parent->items = items;
        parent->cap = cap;
    }
    parent->items[parent->n++] = child;
    return 0;
}

static struct config_node *
tree_node(enum config_node_kind kind, const yaml_mark_t *m)
{
    struct config_node *n = calloc(1, sizeof(*n));

    if (n == NULL) {
        return NULL;
    }
    n->kind = kind;
    n->line = (unsigned long)m->line + 1;
    n->col = (unsigned long)m->column + 1;
    return n;
}

/* Returns 1 at the end of the stream, 0 to go on, -1 on error. */
static int
tree_event(struct tree_builder *b, yaml_event_t *ev)
{
    const yaml_mark_t *m = &ev->start_mark;
    struct config_node *n;
    const yaml_char_t *anchor = NULL, *tag = NULL;

    switch (ev->type) {
    case YAML_STREAM_START_EVENT:
    case YAML_DOCUMENT_END_EVENT:
        return 0;
    case YAML_STREAM_END_EVENT:
        return 1;
    case YAML_DOCUMENT_START_EVENT:
        if (b->documents++ > 0) {
            return tree_error(b, m, "only one YAML document is allowed");
        }
        return 0;
    case YAML_ALIAS_EVENT:
        return tree_error(b, m, "YAML aliases (*name) are not supported");
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        b->depth--;
        return 0;
    case YAML_SCALAR_EVENT:
        anchor = ev->data.scalar.anchor;
        tag = ev->data.scalar.tag;
        break;
    case YAML_SEQUENCE_START_EVENT:
        anchor = ev->data.sequence_start.anchor;
        tag = ev->data.sequence_start.tag;
        break;
    case YAML_MAPPING_START_EVENT:
        anchor = ev->data.mapping_start.anchor;
        tag = ev->data.mapping_start.tag;
        break;
    default:
        return tree_error(b, m, "unexpected YAML event");
    }
    if (anchor != NULL) {
        return tree_error(b, m, "YAML anchors (&name) are not supported");
    }
    if (tag != NULL) {
        return tree_error(b, m, "YAML tags (!tag) are not supported");
    }

    if (ev->type == YAML_SCALAR_EVENT) {
        size_t len = ev->data.scalar.length;

        if (len > CONFIG_MAX_STRING) {
            return tree_error(b, m, "string longer than 4096 bytes");
        }
        if (memchr(ev->data.scalar.value, '\0', len) != NULL) {
            return tree_error(b, m, "string contains a NUL byte");
        }
        n = tree_node(CONFIG_NODE_SCALAR, m);
        if (n == NULL || (n->str = malloc(len + 1)) == NULL) {
            config_tree_free(n);
            return tree_error(b, m, "out of memory");
        }
        memcpy(n->str, ev->data.scalar.value, len);
        n->str[len] = '\0';
        n->len = len;
        n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        return tree_attach(b, n, m);
    }

    /* A list or a mapping opens a level. */
    if (b->depth >= CONFIG_MAX_DEPTH) {
        return tree_error(b, m, "nesting deeper than 16 levels");
    }
    n = tree_node(ev->type == YAML_MAPPING_START_EVENT ? CONFIG_NODE_MAP
                                                       : CONFIG_NODE_LIST,
                  m);
    if (n == NULL) {
        return tree_error(b, m, "out of memory");
    }
    if (tree_attach(b, n, m) != 0) {
        return -1;
    }
    b->stack[b->depth++] = n;
    return 0;
}

/* Line and column (1-based) of byte offset off in buf. */
static void
tree_offset_pos(const unsigned char *buf, size_t len, size_t off,
                unsigned long *line, unsigned long *col)
{
    size_t i;

    *line = 1;
    *col = 1;
    for (i = 0; i < off && i < len; i++) {
        if (buf[i] == '\n') {
            (*line)++;
            *col = 1;
        } else if ((buf[i] & 0xc0) != 0x80) {
            (*col)++;
        }
    }
}

static void
tree_syntax_error(struct tree_builder *b, const yaml_parser_t *p,
                  const unsigned char *buf, size_t len)
{
    unsigned long line, col;
    const char *problem = p->problem ? p->problem : "unknown error";

    switch (p->error) {
    case YAML_MEMORY_ERROR:
        (void)config_errors_add(b->errs, b->name, 0, 0, "out of memory");
        return;
    case YAML_READER_ERROR:
        tree_offset_pos(buf, len, p->problem_offset, &line, &col);
        (void)config_errors_add(b->errs, b->name, line, col,
                                "invalid input: %s", problem);
        return;
    default:
        line = (unsigned long)p->problem_mark.line + 1;
        col = (unsigned long)p->problem_mark.column + 1;
        if (p->context != NULL) {
            (void)config_errors_add(b->errs, b->name, line, col,
                                    "YAML syntax error: %s (%s at %lu:%lu)",
                                    problem, p->context,
                                    (unsigned long)p->context_mark.line + 1,
                                    (unsigned long)p->context_mark.column + 1);
        } else {
            (void)config_errors_add(b->errs, b->name, line, col,
                                    "YAML syntax error: %s", problem);
        }
        return;
    }
}

struct config_node *
config_tree_parse(const void *buf, size_t len, const char *name,
                  struct config_errors **errs)
{
    struct tree_builder b;
    yaml_parser_t parser;
    yaml_event_t ev;
    int rc = 0;

    memset(&b, 0, sizeof(b));
    b.name = name;
    b.errs = errs;
    if (!yaml_parser_initialize(&parser)) {
        (void)config_errors_add(errs, name, 0, 0, "out of memory");
        return NULL;
    }
    yaml_parser_set_input_string(&parser, buf, len);
    while (rc == 0) {
        if (!yaml_parser_parse(&parser, &ev)) {
            tree_syntax_error(&b, &parser, buf, len);
            rc = -1;
            break;
        }
        rc = tree_event(&b, &ev);
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    if (rc < 0) {
        config_tree_free(b.root);
        return NULL;
    }
    if (b.root == NULL || (b.root->kind == CONFIG_NODE_SCALAR &&
                           b.root->plain && b.root->len == 0)) {
        config_tree_free(b.root);
        (void)config_errors_add(errs, name, 1, 1, "configuration is empty");
        return NULL;
    }
    return b.root;
}
