/*
 * template.h: cairn's Mustache engine (the spec in
 * shared/conformance/mustache-spec: comments, delimiters, interpolation,
 * inverted, partials, sections, ~inheritance and ~dynamic-names; no lambdas).
 *
 * Who uses it: the page layer compiles every page.html, layout.html and
 * component once (at build, or at first use in development) and renders the
 * compiled templates straight into a response buffer, per request.
 *
 * Shape:
 *   - cn__tpl_compile turns source text into an immutable cn__tpl: one heap
 *     block holding a flattened tree of nodes, the name parts of every tag
 *     (dotted names are split at compile time) and a pool with the literal
 *     text. Whitespace rules (standalone lines, intrinsic block indentation)
 *     are settled at compile time, so rendering only copies bytes.
 *   - The tree is flat and addressable: node i is an element whose children
 *     are nodes [i+1, nodes[i].end); a leaf has end == i+1. A render can start
 *     at any sibling span (cn__tpl_render_span), which is what layouts need to
 *     split a page at {{{children}}}, streaming to flush the part before a
 *     deferred section, and live regions to re-render one section with new
 *     data.
 *   - Rendering never allocates except by growing the output buffer: the
 *     context stack, the indentation stack and the inheritance chain live in
 *     one state struct on the caller's stack, and the data is read in place
 *     from jansson values (never copied, never modified).
 *   - A cn__tpl is never written after compile, so any number of threads may
 *     render the same template at once without locks.
 *
 * Data model: the context is a json_t. Lookups walk the context stack from
 * the top for the first object holding the first part of a dotted name, then
 * descend strictly (an array is indexed by a part made of digits, as in
 * "items.0.name"). Falsey for sections: missing, null, false, "", 0, 0.0 and
 * the empty array (as in mustache.js). Interpolation writes strings
 * HTML-escaped (& < > " ' become &amp; &lt; &gt; &quot; &#39;) unless the tag
 * is {{{name}}} or {{&name}}; integers as integers, reals in the shortest form
 * that reads back the same (1.21, not 1.2099999999999999), true/false as
 * words, null/objects/arrays as nothing.
 *
 * Partials and parents ({{>name}}, {{<name}}...{{/name}}, and their dynamic
 * forms {{>*dotted.name}}) are resolved at render time through a lookup
 * callback that returns an already compiled template; an unknown name renders
 * as nothing, as the spec asks.
 */
#ifndef CN_TEMPLATE_H
#define CN_TEMPLATE_H

#include <stdint.h>

#include "common/common.h"

/* Partial and parent expansions nested deeper than this fail the render
 * (CN_ETOOBIG) instead of overflowing the stack. */
#define CN__TPL_MAX_PARTIAL_DEPTH 100
/* Sections, blocks and partials nested deeper than this, all together, fail
 * the render; sections nested deeper than CN__TPL_MAX_NESTING in one source
 * fail the compile. */
#define CN__TPL_MAX_RENDER_DEPTH 256
#define CN__TPL_MAX_NESTING 100
/* Default work limits of one render (see cn__tpl_partials). */
#define CN__TPL_DEFAULT_MAX_OUTPUT ((size_t)64 << 20)
#define CN__TPL_DEFAULT_MAX_STEPS ((uint64_t)1 << 24)

typedef struct cn__tpl cn__tpl;

enum cn__tpl_kind {
  CN__TPL_TEXT = 1, /* literal bytes: text */
  CN__TPL_VAR,      /* {{name}}: escaped */
  CN__TPL_RAW,      /* {{{name}}} or {{&name}} */
  CN__TPL_SECTION,  /* {{#name}} children {{/name}} */
  CN__TPL_INVERTED, /* {{^name}} children {{/name}} */
  CN__TPL_PARTIAL,  /* {{>name}} */
  CN__TPL_PARENT,   /* {{<name}} children are its argument BLOCKs {{/name}} */
  CN__TPL_BLOCK     /* {{$name}} default content {{/name}} */
};

/* Node flags. */
#define CN__TPL_F_DYNAMIC 0x1    /* PARTIAL/PARENT: name is looked up in data */
#define CN__TPL_F_LINE_START 0x2 /* standalone: indent the expansion's 1st line */

/* One name part, as offsets into the template's pool. */
typedef struct cn__tpl_part {
  uint32_t off, len;
} cn__tpl_part;

/* A node of the flattened tree. Offsets are into the template's pool; use
 * cn__tpl_node_text / cn__tpl_node_indent to get slices. */
typedef struct cn__tpl_node {
  uint8_t kind;    /* enum cn__tpl_kind */
  uint8_t flags;   /* CN__TPL_F_* */
  uint16_t nparts; /* dotted-name parts; 0 for "." (the top of the stack) */
  uint32_t end;    /* index one past this node's last descendant */
  uint32_t part0;  /* first part in the template's part array */
  uint32_t line;   /* 1-based position of the tag (0 for TEXT) */
  uint32_t col;
  uint32_t text_off, text_len;     /* TEXT: bytes; tags: the name as written */
  uint32_t indent_off, indent_len; /* PARTIAL/PARENT/BLOCK: added to lines */
} cn__tpl_node;

/* What went wrong, for the developer: the template's name (truncated to
 * fit), a 1-based line and column (of the tag's opening delimiter) and a
 * sentence. code is the same negative CN_E* the function returned. */
typedef struct cn__tpl_error {
  int code;
  uint32_t line;
  uint32_t column;
  char name[96];
  char message[160];
} cn__tpl_error;

/* The environment a render runs in. lookup(ud, name) returns the compiled
 * template for a partial or parent name, or NULL when there is none (the
 * tag then renders as nothing); it is called from the rendering thread and
 * must not block for long. The returned template must stay alive for the
 * whole render. The limits bound the work of one render, because partials
 * can recurse and fan out: past max_output bytes appended to out, or
 * max_steps nodes visited, the render fails with CN_ETOOBIG. 0 means the
 * CN__TPL_DEFAULT_* value. */
typedef struct cn__tpl_partials {
  const cn__tpl *(*lookup)(void *ud, cn_str name);
  void *ud;
  /* Sections the page layer gives a meaning: "defer.<name>" (a streamed
   * section, src/page), "form.<name>" (a form bound to a server action,
   * src/actions), "live.<name>" (a region kept live, src/page/live.c) and
   * "error.reset" (an error page's retry control, src/page/reset.c),
   * "island.<name>" or "island.<name>.<how>" (a client module mounted on
   * the section, src/islands; ns is then "island", name "<name>[.<how>]"
   * and bind the value of <name>, its props). When this is set, such a
   * section is rendered once, with
   * no context pushed: special(ud, ns, name, 1, bind, out) first, then its
   * children unless that call returned 1, then special(..., 0, ...) unless
   * it returned 1. bind is the value of "bind" where the section stands
   * (looked up like any name; NULL when there is none). A negative return
   * fails the render. When NULL, these are ordinary sections. */
  int (*special)(void *ud, cn_str ns, cn_str name, int open,
                 const json_t *bind, cn__buf *out);
  /* Where special may say why it failed (NUL-terminated, at most 160
   * bytes); the render's error then has these words. NULL: it cannot. */
  char *why;
  size_t max_output;
  uint64_t max_steps;
} cn__tpl_partials;

/* Parse src[0..len) (need not be NUL-terminated; may contain NUL bytes).
 * name labels errors and is copied (NULL is allowed). The source is copied
 * too: it may be freed as soon as this returns.
 * OUT: *out receives a template the caller owns (cn__tpl_free); it is set
 * to NULL on failure.
 * OUT: err (may be NULL) is filled on failure.
 * Returns 0, CN_EPARSE (unclosed tag, unclosed section, mismatched or
 * unexpected close tag, bad delimiter change, empty or malformed name,
 * nesting deeper than CN__TPL_MAX_NESTING), CN_ETOOBIG (source over 256
 * MiB), CN_EINVAL (src NULL with len > 0) or CN_ENOMEM. */
int cn__tpl_compile(const char *name, const char *src, size_t len,
                    cn__tpl **out, cn__tpl_error *err);

/* Release a template from cn__tpl_compile; NULL is a no-op. The caller
 * makes sure no render of it is still running. */
void cn__tpl_free(cn__tpl *t);

/* The name given to cn__tpl_compile ("" when it was NULL); owned by t. */
const char *cn__tpl_name(const cn__tpl *t);

/* The node array and its length; owned by t, read-only, valid until
 * cn__tpl_free. Node 0..count-1 in document order; the top-level elements
 * are 0, nodes[0].end, nodes[nodes[0].end].end, ... up to count. */
const cn__tpl_node *cn__tpl_nodes(const cn__tpl *t, uint32_t *count);

/* The text (TEXT) or name as written (tags) of node n of t; and the
 * indentation a PARTIAL/PARENT/BLOCK adds to the lines it expands. Slices
 * into t. */
cn_str cn__tpl_node_text(const cn__tpl *t, const cn__tpl_node *n);
cn_str cn__tpl_node_indent(const cn__tpl *t, const cn__tpl_node *n);

/* First node in document order, at or after index from, of the given kind
 * and name as written (e.g. CN__TPL_RAW "children" for a layout's slot).
 * OUT: *index. Returns 0 or CN_ENOENT. */
int cn__tpl_find(const cn__tpl *t, uint32_t from, int kind, cn_str name,
                 uint32_t *index);

/* Render all of t against context (any json_t; NULL is treated as an empty
 * context) into out, appending. partials may be NULL (no partials, default
 * limits). On failure (CN_ETOOBIG: partial recursion, nesting or work
 * limits; CN_ENOMEM) err (may be NULL) names the template and tag where it
 * happened and out holds a partial rendering the caller should discard.
 * Never aborts. Safe to call from many threads on the same t. */
int cn__tpl_render(const cn__tpl *t, const json_t *context,
                   const cn__tpl_partials *partials, cn__buf *out,
                   cn__tpl_error *err);

/* Render only the sibling nodes [from, to) of t, with a context stack given
 * bottom first (stack[nstack-1] is the top; nstack <= 64). from and to must
 * be boundaries between siblings of one element (or of the top level):
 * CN_EINVAL otherwise. This is the entry point for rendering a layout in two
 * halves around {{{children}}}, a streamed shell before a deferred section,
 * or one section (a live region) again with new data. Errors as
 * cn__tpl_render. */
int cn__tpl_render_span(const cn__tpl *t, uint32_t from, uint32_t to,
                        const json_t *const *stack, size_t nstack,
                        const cn__tpl_partials *partials, cn__buf *out,
                        cn__tpl_error *err);

/* Append s[0..n) to out HTML-escaped the way {{name}} does it; for other
 * modules that write values into HTML (metadata in <head>). 0 or
 * CN_ENOMEM. */
int cn__tpl_escape(cn__buf *out, const char *s, size_t n);

#endif /* CN_TEMPLATE_H */
