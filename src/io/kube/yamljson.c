#include "io/kube/yamljson.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

typedef struct frame {
    json_t *node;   /* object or array being filled */
    char *key;      /* pending key when node is an object (owned) */
} frame;

static json_t *scalar_value(const yaml_event_t *ev) {
    const char *v = (const char *)ev->data.scalar.value;
    size_t n = ev->data.scalar.length;
    if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
        if (n == 0 || strcmp(v, "null") == 0 || strcmp(v, "~") == 0) return json_null();
        if (strcmp(v, "true") == 0 || strcmp(v, "True") == 0) return json_true();
        if (strcmp(v, "false") == 0 || strcmp(v, "False") == 0) return json_false();
        const char *p = v;
        if (*p == '-' || *p == '+') p++;
        bool digits = *p != '\0';
        for (; *p; p++)
            if (*p < '0' || *p > '9') { digits = false; break; }
        if (digits && n < 19) {
            errno = 0;
            long long x = strtoll(v, NULL, 10);
            if (errno == 0) return json_integer(x);
        }
    }
    return json_stringn(v, n);
}

/* Adds child to the top frame; steals child. */
static int attach(frame *top, json_t *child, const yaml_event_t *ev, bool is_scalar, json_t **root,
                  const char *file, gs_error *err) {
    if (!top) { /* document root */
        *root = child;
        return 0;
    }
    if (json_is_array(top->node)) {
        json_array_append_new(top->node, child);
        return 0;
    }
    if (!top->key) {
        if (!is_scalar) {
            json_decref(child);
            return gs_error_setpos(err, GS_EPARSE, file, (int)ev->start_mark.line + 1,
                                   (int)ev->start_mark.column + 1, "mapping keys must be scalars");
        }
        const char *k = json_is_string(child) ? json_string_value(child) : NULL;
        char buf[64];
        if (!k) { /* plain scalar key like 1 or true: keep its text */
            if (json_is_integer(child)) snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(child));
            else if (json_is_true(child)) snprintf(buf, sizeof buf, "true");
            else if (json_is_false(child)) snprintf(buf, sizeof buf, "false");
            else snprintf(buf, sizeof buf, "null");
            k = buf;
        }
        top->key = strdup(k);
        json_decref(child);
        return top->key ? 0 : GS_ENOMEM;
    }
    if (json_object_get(top->node, top->key)) {
        json_decref(child);
        int rc = gs_error_setpos(err, GS_EPARSE, file, (int)ev->start_mark.line + 1,
                                 (int)ev->start_mark.column + 1, "duplicate key \"%s\"", top->key);
        return rc;
    }
    json_object_set_new(top->node, top->key, child);
    free(top->key);
    top->key = NULL;
    return 0;
}

int gs_yaml_to_json(const char *text, size_t len, const char *file, json_t **docs, gs_error *err) {
    *docs = NULL;
    if (len > GS_YAML_MAX_BYTES)
        return gs_error_set(err, GS_ETOOBIG, "%s: larger than %u bytes", file ? file : "yaml",
                            GS_YAML_MAX_BYTES);
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) return GS_ENOMEM;
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    json_t *out = json_array();
    frame stack[GS_YAML_MAX_DEPTH];
    int depth = 0;
    json_t *root = NULL;
    int rc = 0;
    bool done = false;
    while (!done && rc == 0) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            rc = gs_error_setpos(err, GS_EPARSE, file, (int)p.problem_mark.line + 1,
                                 (int)p.problem_mark.column + 1, "%s",
                                 p.problem ? p.problem : "YAML syntax error");
            break;
        }
        switch (ev.type) {
        case YAML_STREAM_END_EVENT: done = true; break;
        case YAML_DOCUMENT_START_EVENT: root = NULL; break;
        case YAML_DOCUMENT_END_EVENT:
            if (root) json_array_append_new(out, root);
            root = NULL;
            break;
        case YAML_ALIAS_EVENT:
            rc = gs_error_setpos(err, GS_EPARSE, file, (int)ev.start_mark.line + 1,
                                 (int)ev.start_mark.column + 1, "YAML aliases are not accepted");
            break;
        case YAML_SCALAR_EVENT:
            rc = attach(depth ? &stack[depth - 1] : NULL, scalar_value(&ev), &ev, true, &root, file, err);
            break;
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT: {
            if (depth >= GS_YAML_MAX_DEPTH) {
                rc = gs_error_setpos(err, GS_ETOOBIG, file, (int)ev.start_mark.line + 1,
                                     (int)ev.start_mark.column + 1, "nesting deeper than %d",
                                     GS_YAML_MAX_DEPTH);
                break;
            }
            json_t *n = ev.type == YAML_SEQUENCE_START_EVENT ? json_array() : json_object();
            if (depth && json_is_object(stack[depth - 1].node) && !stack[depth - 1].key) {
                json_decref(n);
                rc = gs_error_setpos(err, GS_EPARSE, file, (int)ev.start_mark.line + 1,
                                     (int)ev.start_mark.column + 1, "mapping keys must be scalars");
                break;
            }
            stack[depth].node = n;
            stack[depth].key = NULL;
            depth++;
            break;
        }
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT: {
            depth--;
            json_t *n = stack[depth].node;
            free(stack[depth].key);
            rc = attach(depth ? &stack[depth - 1] : NULL, n, &ev, false, &root, file, err);
            break;
        }
        default: break;
        }
        yaml_event_delete(&ev);
    }
    while (depth > 0) {
        depth--;
        free(stack[depth].key);
        json_decref(stack[depth].node);
    }
    if (rc != 0 && root) json_decref(root);
    yaml_parser_delete(&p);
    if (rc != 0) {
        json_decref(out);
        return rc;
    }
    *docs = out;
    return 0;
}
