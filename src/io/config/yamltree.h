/* A bounded YAML reader: libyaml events -> a small tree of scalars, sequences and mappings,
 * each node carrying its 1-based line:col. It refuses what a configuration never needs and
 * an attacker loves: anchors and aliases (billion laughs), tags, nesting deeper than
 * max_depth, more than max_nodes nodes, collections longer than max_items, and duplicate
 * keys in a mapping. Documents that are empty (a bare `---` or only comments) are dropped. */
#ifndef GS_IO_YAMLTREE_H
#define GS_IO_YAMLTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/err.h"

typedef enum { GS_YAML_SCALAR, GS_YAML_SEQ, GS_YAML_MAP } gs_yaml_kind;

typedef struct gs_yaml_node {
    gs_yaml_kind kind;
    int line, col;            /* 1-based position of the node's start */
    bool plain;               /* SCALAR: unquoted plain style (so YAML typing applies) */
    char *str;                /* SCALAR: NUL-terminated value (owned by the tree) */
    size_t len;               /* SCALAR: length of str (never contains a NUL byte) */
    struct gs_yaml_node **kids; /* SEQ: items; MAP: key0, value0, key1, value1, ... */
    int32_t n;                /* number of entries in kids */
    int32_t cap;
} gs_yaml_node;

typedef struct gs_yaml_limits {
    int max_depth;            /* nesting of collections; default 32 */
    int32_t max_nodes;        /* all nodes of all documents; default 100000 */
    int32_t max_items;        /* entries of one sequence or mapping; default 4096 */
    int32_t max_docs;         /* documents in one stream; default 1000 */
} gs_yaml_limits;

typedef struct gs_yaml_stream {
    gs_yaml_node **docs;      /* roots of the non-empty documents, in order (owned) */
    int32_t ndocs;
    int32_t cap;
} gs_yaml_stream;

/* Parses text (len bytes; need not be NUL-terminated) into *out. lim may be NULL for the
 * defaults. On error returns GS_EPARSE/GS_ETOOBIG/GS_ENOMEM, fills err with file:line:col,
 * and leaves *out empty. The caller frees a successful result with gs_yaml_free. */
int gs_yaml_parse(gs_yaml_stream *out, const char *text, size_t len, const char *file,
                  const gs_yaml_limits *lim, gs_error *err);
void gs_yaml_free(gs_yaml_stream *s);

/* As gs_yaml_parse, for inputs that hold a single document (a cluster snapshot): a second
 * document start (`---`), even of an empty document, is an error at its position, so
 * out->ndocs ends 0 (empty input, or an empty/null document) or 1. `what` names the input in
 * messages ("a state file": "YAML anchors (&name) are not supported in a state file",
 * "one document expected in a state file", "more than N YAML values in a state file");
 * NULL reads "this file". Other messages are those of gs_yaml_parse. */
int gs_yaml_parse_one(gs_yaml_stream *out, const char *text, size_t len, const char *file,
                      const gs_yaml_limits *lim, const char *what, gs_error *err);

/* Helpers over a parsed tree. */
const char *gs_yaml_kind_name(const gs_yaml_node *n); /* "a string", "a sequence", "a mapping" */
/* A plain scalar that YAML reads as null: "", "~", "null", "Null", "NULL". */
bool gs_yaml_is_null(const gs_yaml_node *n);
/* Value of key in a mapping (NULL if absent or n is not a mapping); *key_out gets the key node. */
const gs_yaml_node *gs_yaml_get(const gs_yaml_node *map, const char *key,
                                const gs_yaml_node **key_out);

#endif
