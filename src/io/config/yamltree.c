#include "io/config/yamltree.h"

#include <stdlib.h>
#include <string.h>
#include <yaml.h>

typedef struct builder {
    gs_yaml_stream *out;
    const char *file;
    gs_error *err;
    gs_yaml_limits lim;
    int32_t nodes;
    gs_yaml_node *stack[72];
    int depth;
    gs_yaml_node *root;       /* current document's root */
    const char *what;         /* the input, for messages ("gpuscale configuration") */
    bool one_doc;             /* a second document start is an error */
    int32_t starts;           /* document starts seen */
    bool named;               /* what was given by the caller (gs_yaml_parse_one) */
} builder;

static void node_free(gs_yaml_node *n) {
    if (!n) return;
    for (int32_t i = 0; i < n->n; i++) node_free(n->kids[i]);
    free(n->kids);
    free(n->str);
    free(n);
}

void gs_yaml_free(gs_yaml_stream *s) {
    if (!s) return;
    for (int32_t i = 0; i < s->ndocs; i++) node_free(s->docs[i]);
    free(s->docs);
    memset(s, 0, sizeof *s);
}

static int mark_line(const yaml_mark_t *m) { return m->line < 1000000000 ? (int)m->line + 1 : 0; }
static int mark_col(const yaml_mark_t *m) { return m->column < 1000000000 ? (int)m->column + 1 : 0; }

static int failm(builder *b, int code, const yaml_mark_t *m, const char *msg) {
    return gs_error_setpos(b->err, code, b->file, mark_line(m), mark_col(m), "%s", msg);
}

static int push_kid(gs_yaml_node *parent, gs_yaml_node *kid) {
    if (parent->n == parent->cap) {
        int32_t nc = parent->cap ? parent->cap * 2 : 8;
        gs_yaml_node **nk = realloc(parent->kids, (size_t)nc * sizeof *nk);
        if (!nk) return GS_ENOMEM;
        parent->kids = nk;
        parent->cap = nc;
    }
    parent->kids[parent->n++] = kid;
    return 0;
}

/* Attaches a new node to the open collection (or makes it the document root). */
static int attach(builder *b, gs_yaml_node *nn, const yaml_mark_t *m) {
    if (++b->nodes > b->lim.max_nodes) {
        node_free(nn);
        if (b->named)
            return gs_error_setpos(b->err, GS_ETOOBIG, b->file, mark_line(m), mark_col(m),
                                   "more than %d YAML values in %s", (int)b->lim.max_nodes, b->what);
        return failm(b, GS_ETOOBIG, m, "too many YAML nodes (the limit is a configuration's worth)");
    }
    if (b->depth == 0) {
        b->root = nn;
        return 0;
    }
    gs_yaml_node *top = b->stack[b->depth - 1];
    int32_t limit = top->kind == GS_YAML_MAP ? b->lim.max_items * 2 : b->lim.max_items;
    if (top->n >= limit) {
        node_free(nn);
        return failm(b, GS_ETOOBIG, m, "too many entries in one YAML collection");
    }
    if (top->kind == GS_YAML_MAP && top->n % 2 == 0) {
        /* a key: must be a scalar, and unique in this mapping */
        if (nn->kind != GS_YAML_SCALAR) {
            node_free(nn);
            return failm(b, GS_EPARSE, m, "a mapping key must be a plain string");
        }
        for (int32_t i = 0; i < top->n; i += 2) {
            if (top->kids[i]->len == nn->len && memcmp(top->kids[i]->str, nn->str, nn->len) == 0) {
                int rc = gs_error_setpos(b->err, GS_EPARSE, b->file, nn->line, nn->col,
                                         "duplicate key '%.*s' (first at line %d)",
                                         nn->len > 80 ? 80 : (int)nn->len, nn->str, top->kids[i]->line);
                node_free(nn);
                return rc;
            }
        }
    }
    if (push_kid(top, nn)) {
        node_free(nn);
        return gs_error_set(b->err, GS_ENOMEM, "out of memory reading YAML");
    }
    return 0;
}

static gs_yaml_node *new_node(gs_yaml_kind k, const yaml_mark_t *m) {
    gs_yaml_node *n = calloc(1, sizeof *n);
    if (!n) return NULL;
    n->kind = k;
    n->line = mark_line(m);
    n->col = mark_col(m);
    return n;
}

static int end_doc(builder *b) {
    gs_yaml_node *r = b->root;
    b->root = NULL;
    if (!r) return 0;
    if (gs_yaml_is_null(r)) { /* empty document */
        node_free(r);
        return 0;
    }
    gs_yaml_stream *s = b->out;
    if (s->ndocs >= b->lim.max_docs) {
        int rc = gs_error_setpos(b->err, GS_ETOOBIG, b->file, r->line, r->col,
                                 "too many YAML documents in one file (max %d)", b->lim.max_docs);
        node_free(r);
        return rc;
    }
    if (s->ndocs == s->cap) {
        int32_t nc = s->cap ? s->cap * 2 : 8;
        gs_yaml_node **nd = realloc(s->docs, (size_t)nc * sizeof *nd);
        if (!nd) { node_free(r); return gs_error_set(b->err, GS_ENOMEM, "out of memory reading YAML"); }
        s->docs = nd;
        s->cap = nc;
    }
    s->docs[s->ndocs++] = r;
    return 0;
}

/* "YAML anchors (&name) are not supported in gpuscale configuration" and its kin. */
static int unsupported(builder *b, const yaml_mark_t *m, const char *thing) {
    return gs_error_setpos(b->err, GS_EPARSE, b->file, mark_line(m), mark_col(m), "YAML %s are not supported in %s",
                           thing, b->what);
}

static int on_event(builder *b, const yaml_event_t *ev) {
    const yaml_mark_t *m = &ev->start_mark;
    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (++b->starts > 1 && b->one_doc)
            return gs_error_setpos(b->err, GS_EPARSE, b->file, mark_line(m), mark_col(m),
                                   "one document expected in %s", b->what);
        b->root = NULL;
        b->depth = 0;
        return 0;
    case YAML_DOCUMENT_END_EVENT:
        return end_doc(b);
    case YAML_ALIAS_EVENT:
        return unsupported(b, m, "aliases (*name)");
    case YAML_SCALAR_EVENT: {
        if (ev->data.scalar.anchor)
            return unsupported(b, m, "anchors (&name)");
        if (ev->data.scalar.tag)
            return unsupported(b, m, "tags (!tag)");
        size_t len = ev->data.scalar.length;
        if (memchr(ev->data.scalar.value, '\0', len))
            return failm(b, GS_EPARSE, m, "a NUL character is not allowed in a string");
        gs_yaml_node *n = new_node(GS_YAML_SCALAR, m);
        if (!n) return gs_error_set(b->err, GS_ENOMEM, "out of memory reading YAML");
        n->str = malloc(len + 1);
        if (!n->str) { free(n); return gs_error_set(b->err, GS_ENOMEM, "out of memory reading YAML"); }
        memcpy(n->str, ev->data.scalar.value, len);
        n->str[len] = '\0';
        n->len = len;
        n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        return attach(b, n, m);
    }
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        bool seq = ev->type == YAML_SEQUENCE_START_EVENT;
        const yaml_char_t *anchor = seq ? ev->data.sequence_start.anchor : ev->data.mapping_start.anchor;
        const yaml_char_t *tag = seq ? ev->data.sequence_start.tag : ev->data.mapping_start.tag;
        if (anchor)
            return unsupported(b, m, "anchors (&name)");
        if (tag)
            return unsupported(b, m, "tags (!tag)");
        if (b->depth >= b->lim.max_depth)
            return gs_error_setpos(b->err, GS_ETOOBIG, b->file, mark_line(m), mark_col(m),
                                   "YAML nested too deeply (max depth %d)", b->lim.max_depth);
        gs_yaml_node *n = new_node(seq ? GS_YAML_SEQ : GS_YAML_MAP, m);
        if (!n) return gs_error_set(b->err, GS_ENOMEM, "out of memory reading YAML");
        int rc = attach(b, n, m);
        if (rc) return rc;
        b->stack[b->depth++] = n;
        return 0;
    }
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        if (b->depth > 0) b->depth--;
        return 0;
    default:
        return 0;
    }
}

static int parse(gs_yaml_stream *out, const char *text, size_t len, const char *file,
                 const gs_yaml_limits *lim, const char *what, bool one_doc, gs_error *err) {
    memset(out, 0, sizeof *out);
    builder b;
    memset(&b, 0, sizeof b);
    b.out = out;
    b.what = what ? what : "gpuscale configuration";
    b.named = what != NULL;
    b.one_doc = one_doc;
    b.file = file ? file : "<input>";
    b.err = err;
    b.lim.max_depth = 32;
    b.lim.max_nodes = 100000;
    b.lim.max_items = 4096;
    b.lim.max_docs = 1000;
    if (lim) {
        if (lim->max_depth > 0 && lim->max_depth < 64) b.lim.max_depth = lim->max_depth;
        if (lim->max_nodes > 0) b.lim.max_nodes = lim->max_nodes;
        if (lim->max_items > 0) b.lim.max_items = lim->max_items;
        if (lim->max_docs > 0) b.lim.max_docs = lim->max_docs;
    }
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) return gs_error_set(err, GS_ENOMEM, "out of memory starting the YAML parser");
    if (!text) { /* libyaml asserts on a NULL input */
        text = "";
        len = 0;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    int rc = 0;
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            const char *problem = p.problem ? p.problem : "unknown error";
            if (p.error == YAML_MEMORY_ERROR) {
                rc = gs_error_set(err, GS_ENOMEM, "out of memory reading YAML");
            } else if (p.context) {
                rc = gs_error_setpos(err, GS_EPARSE, b.file, mark_line(&p.problem_mark),
                                     mark_col(&p.problem_mark), "malformed YAML: %s %s", problem,
                                     p.context);
            } else {
                rc = gs_error_setpos(err, GS_EPARSE, b.file, mark_line(&p.problem_mark),
                                     mark_col(&p.problem_mark), "malformed YAML: %s", problem);
            }
            break;
        }
        bool done = ev.type == YAML_STREAM_END_EVENT;
        rc = on_event(&b, &ev);
        yaml_event_delete(&ev);
        if (rc || done) break;
    }
    yaml_parser_delete(&p);
    if (rc) {
        /* the current document's root holds every node attached so far */
        if (b.root) node_free(b.root);
        gs_yaml_free(out);
        return rc;
    }
    return 0;
}

int gs_yaml_parse(gs_yaml_stream *out, const char *text, size_t len, const char *file,
                  const gs_yaml_limits *lim, gs_error *err) {
    return parse(out, text, len, file, lim, NULL, false, err);
}

int gs_yaml_parse_one(gs_yaml_stream *out, const char *text, size_t len, const char *file,
                      const gs_yaml_limits *lim, const char *what, gs_error *err) {
    return parse(out, text, len, file, lim, what ? what : "this file", true, err);
}

const char *gs_yaml_kind_name(const gs_yaml_node *n) {
    if (!n) return "nothing";
    switch (n->kind) {
    case GS_YAML_SCALAR: return gs_yaml_is_null(n) ? "null" : "a string";
    case GS_YAML_SEQ: return "a list";
    case GS_YAML_MAP: return "a mapping";
    }
    return "?";
}

bool gs_yaml_is_null(const gs_yaml_node *n) {
    if (!n || n->kind != GS_YAML_SCALAR || !n->plain) return false;
    return n->len == 0 || strcmp(n->str, "~") == 0 || strcmp(n->str, "null") == 0 ||
           strcmp(n->str, "Null") == 0 || strcmp(n->str, "NULL") == 0;
}

const gs_yaml_node *gs_yaml_get(const gs_yaml_node *map, const char *key,
                                const gs_yaml_node **key_out) {
    if (key_out) *key_out = NULL;
    if (!map || map->kind != GS_YAML_MAP) return NULL;
    for (int32_t i = 0; i + 1 < map->n; i += 2)
        if (strcmp(map->kids[i]->str, key) == 0) {
            if (key_out) *key_out = map->kids[i];
            return map->kids[i + 1];
        }
    return NULL;
}
