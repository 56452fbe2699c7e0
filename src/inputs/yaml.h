/* Small YAML layer over libyaml for the Topology and Manifest readers.
 *
 * A file is read (at most YAML_MAX_SIZE bytes), parsed with libyaml's event
 * parser and turned into a plain tree of ynode whose positions are 1-based
 * line/column (from libyaml's marks). Loading enforces the rules shared by every
 * input file (docs/manifest.md): UTF-8 without NUL or other raw control
 * characters, exactly one YAML document, no duplicate mapping keys, nesting at most
 * YAML_MAX_DEPTH deep, aliases only to complete nodes; syntax errors reported as one
 * "file:line:col: message" line (libyaml's wording).
 *
 * The typed getters report "file:line:col: field.path: message" errors into a
 * diag_list; field paths look like components[1].interface. */
#ifndef MO_YAML_H
#define MO_YAML_H

#include <stdbool.h>
#include <stddef.h>

#include "util/cleanup.h"
#include "util/diag.h"
#include "util/strv.h"

#define YAML_MAX_SIZE ((size_t)1024 * 1024)
/* Deepest nesting of sequences and mappings accepted; our inputs need 5 levels. */
#define YAML_MAX_DEPTH 64

enum ynode_kind { YNODE_SCALAR, YNODE_SEQUENCE, YNODE_MAPPING };

struct ynode;

struct ypair {
    struct ynode *key;
    struct ynode *value;
};

struct ynode {
    enum ynode_kind kind;
    /* 1-based start of the node: its first property (&anchor, !tag) if any, else its
     * content (a quote, a block scalar's '|' or '>', a '-', a bracket, a first key); an
     * alias's '*'; for an empty value, where it would be */
    int line, col;
    /* YNODE_SCALAR */
    char *text; /* value, NUL-terminated */
    size_t len; /* length of text (may contain NUL bytes) */
    bool plain; /* plain (unquoted, non-block) style */
    char *tag;  /* resolved tag ("tag:yaml.org,2002:str"), NULL if none */
    /* YNODE_SEQUENCE */
    struct ynode **items;
    size_t nitems;
    /* YNODE_MAPPING, in document order */
    struct ypair *pairs;
    size_t npairs;
    /* internal */
    bool borrowed; /* alias copy: text/items/pairs belong to another node */
    struct ynode *next_alloc;
};

struct ydoc {
    char *path; /* as given, used in messages */
    char *text; /* raw bytes of the file, NUL-terminated */
    size_t len;
    struct ynode *root;  /* NULL when the stream holds no document */
    struct ynode *nodes; /* every node, for freeing */
};

/* Getter flags. */
#define YAML_REQUIRED 0x1u /* absent key: "field: required field missing" */
#define YAML_NONEMPTY 0x2u /* empty string / sequence / mapping: "field: must not be empty" */
/* a string printed on one line of an output (names, types, paths): a control character,
 * even written as an escape ("\n"), is "field: \"a\\nb\": control characters are not allowed ..." */
#define YAML_ONELINE 0x4u

/* Reads path (at most YAML_MAX_SIZE bytes) and parses it. Returns 0, or -1 after
 * adding errors to d (doc is then empty; yaml_doc_free is still safe). */
MO_MUST_CHECK int yaml_load_file(const char *path, struct ydoc *doc, struct diag_list *d);
/* Parses text (len bytes; copied) as if read from path. */
MO_MUST_CHECK int yaml_load_string(const char *path, const char *text, size_t len, struct ydoc *doc,
                                   struct diag_list *d);

/* An input file: its path (for messages and to resolve relative paths) and, when
 * text is not NULL, its contents already in memory (nothing is read from disk;
 * fuzzers and tests use this). */
struct yaml_input {
    const char *path;
    const char *text;
    size_t len;
};
/* yaml_load_string when in->text is set, else yaml_load_file(in->path). */
MO_MUST_CHECK int yaml_load_input(const struct yaml_input *in, struct ydoc *doc, struct diag_list *d);
/* Frees the tree and the text; doc must be loaded or zeroed ({ 0 }). */
void yaml_doc_free(struct ydoc *doc);
/* A struct ydoc freed at the end of its scope: _cleanup_ydoc_ struct ydoc doc = { 0 }; */
#define _cleanup_ydoc_ _cleanup_(yaml_doc_free)
/* Hands the raw file text to the caller (doc->text becomes NULL). */
char *yaml_doc_take_text(struct ydoc *doc, size_t *len);

/* Whether s (len bytes) holds a control character (below 0x20, or 0x7f). */
bool yaml_has_control(const char *s, size_t len);

/* Plain "", "~", "null", "Null", "NULL" (or a !!null tag). */
bool yaml_is_null(const struct ynode *n);
/* "null", "a scalar", "a sequence", "a mapping" for messages. */
const char *yaml_kind_name(const struct ynode *n);
/* s in double quotes, with \", \\, \n, \t and other control bytes escaped so
 * that a message always stays on one line. */
char *yaml_quote(const char *s);
/* Field paths: "prefix.key" (or "key" without prefix) and "prefix[i]". */
char *yaml_path_key(const char *prefix, const char *key);
char *yaml_path_index(const char *prefix, size_t i);

/* Looks up a scalar key in a mapping; NULL when absent (or map is not a mapping). */
const struct ypair *yaml_map_find(const struct ynode *map, const char *key);
const struct ynode *yaml_map_get(const struct ynode *map, const char *key);
/* Warns "file:line:col: unknown key \"x\"" for every key not in known (NULL
 * terminated); a key that is not a scalar is an error. Returns 0 or -1. */
int yaml_map_check_keys(const struct ydoc *doc, const struct ynode *map, const char *const *known, struct diag_list *d);

/* The document's root, which must be a mapping; reports an error otherwise. */
MO_MUST_CHECK const struct ynode *yaml_root_mapping(const struct ydoc *doc, struct diag_list *d);

/* In the getters below, prefix is the field path of map (NULL at top level) and
 * errors are located at the value of the field (at its key when the value is
 * empty), or at `at` when it is not NULL;
 * a missing field is reported at `at`, else at map. They return 0 when the
 * field is valid or absent (and not required), -1 after reporting an error. */

/* The value node of map[key] when it has the given kind; NULL when absent or wrong
 * ("field: expected a mapping, got a scalar"). *err is set to true on error. */
const struct ynode *yaml_get_node(const struct ydoc *doc, const struct ynode *map, const char *prefix, const char *key,
                                  enum ynode_kind kind, unsigned flags, const struct ynode *at, bool *err,
                                  struct diag_list *d);
/* A string: any non-null scalar, as its text. *out is a copy, or NULL when absent. */
int yaml_get_string(const struct ydoc *doc, const struct ynode *map, const char *prefix, const char *key,
                    unsigned flags, const struct ynode *at, char **out, struct diag_list *d);
/* Checks that map[key] (if present) is the string `want`:
 * "field: \"x\": expected \"want\"". */
int yaml_expect_string(const struct ydoc *doc, const struct ynode *map, const char *prefix, const char *key,
                       unsigned flags, const char *want, struct diag_list *d);
/* A YAML integer: an untagged (or !!int) plain scalar in decimal, 0x hex or 0o
 * octal notation, in [min, max]. "10" (quoted), 10.0, out of range: error
 * "field: 10.0: must be an integer from min to max". *present tells whether the
 * key exists. */
int yaml_get_int(const struct ydoc *doc, const struct ynode *map, const char *prefix, const char *key, unsigned flags,
                 long min, long max, const struct ynode *at, long *out, bool *present, struct diag_list *d);
/* Parses n as a YAML integer (see yaml_get_int); false if it is not one. */
bool yaml_scalar_int(const struct ynode *n, long long *out);
/* A sequence of scalars, appended to out as their text ("1" for 1); an item that
 * is not a scalar is an error "field[i]: expected a scalar, got a mapping". */
int yaml_get_scalar_list(const struct ydoc *doc, const struct ynode *map, const char *prefix, const char *key,
                         unsigned flags, const struct ynode *at, struct strv *out, bool *present, struct diag_list *d);

/* Reports "file:line:col: message" at node n of doc (printf style). */
void yaml_diag_error(struct diag_list *d, const struct ydoc *doc, const struct ynode *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void yaml_diag_warn(struct diag_list *d, const struct ydoc *doc, const struct ynode *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
