/*
 * The Mustache compiler: source text -> one immutable cn__tpl block.
 *
 * Three passes over the source, all linear:
 *   scan   finds every tag (following delimiter changes) and notes, for each,
 *          whether only whitespace precedes it on its line (lclear) and only
 *          whitespace and a line ending follow it (rclear);
 *   match  pairs open and close tags and reports structural errors;
 *   build  decides what whitespace each tag swallows (the spec's standalone
 *          rules, including the inheritance spec's rules for parent and block
 *          pairs and the intrinsic indentation of blocks), then emits nodes
 *          and copies the surviving text into the pool.
 * Whitespace decisions need both ends of a pair (a parent is standalone when
 * its open tag clears on the left and its close tag on the right), which is
 * why matching is a pass of its own.
 */
#include <stdarg.h>
#include <stdio.h>

#include "template/template_int.h"

#define MAX_SOURCE ((size_t)256 << 20)
#define NONE UINT32_MAX

enum {
  T_VAR,
  T_RAW,
  T_SECTION,
  T_INVERTED,
  T_CLOSE,
  T_PARTIAL,
  T_PARENT,
  T_BLOCK,
  T_COMMENT,
  T_DELIM
};

typedef struct tag {
  uint8_t type;
  uint8_t dynamic; /* {{>*name}} / {{<*name}} */
  uint8_t lclear;  /* only SP/HT between the line start and the tag */
  uint8_t rclear;  /* only SP/HT and then a line ending or EOF after it */
  uint32_t start, end; /* the tag, delimiters included */
  uint32_t lstart;     /* start of the tag's line */
  uint32_t rend;       /* if rclear: past the trailing blanks and line end */
  uint32_t cont, clen; /* trimmed content after the sigil */
  uint32_t name, nlen; /* content without the dynamic '*' */
  uint32_t match;      /* the other tag of a pair */
  uint32_t line, col;
} tag;

/* An element (section, inverted, parent, block) open during build. */
typedef struct elem {
  uint32_t tag;
  uint32_t node;       /* its node, unless ignored */
  uint8_t ignored;     /* inside a parent but not in an argument block */
  uint8_t body_ignored;
  uint8_t is_arg;      /* a block directly inside a parent */
  uint32_t intr, ilen; /* intrinsic indentation (relative), in src */
} elem;

typedef struct cstate {
  const char *src;
  uint32_t len;
  const char *name;
  cn__tpl_error *err;
  cn__buf tags, nodes, parts, pool;
  uint32_t ntags, nnodes, nparts;
  uint32_t last_text; /* a TEXT node that the next text may extend */
  /* scan position, for line/column numbers */
  uint32_t line, lbeg, counted;
} cstate;

#define TAGS(c) ((tag *)(c)->tags.ptr)
#define NODES(c) ((cn__tpl_node *)(c)->nodes.ptr)

int cn__tpl_fail(cn__tpl_error *err, int code, const char *name,
                 uint32_t line, uint32_t col, const char *fmt, ...) {
  if (!err)
    return code;
  err->code = code;
  err->line = line;
  err->column = col;
  snprintf(err->name, sizeof err->name, "%s", name ? name : "");
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->message, sizeof err->message, fmt, ap);
  va_end(ap);
  return code;
}

static int oom(cstate *c) {
  return cn__tpl_fail(c->err, CN_ENOMEM, c->name, 0, 0, "out of memory");
}

static int is_blank(char ch) { return ch == ' ' || ch == '\t'; }
static int is_space(char ch) {
  return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == '\f' ||
         ch == '\v';
}

/* Count lines up to pos so tags get their line and column. */
static void advance(cstate *c, uint32_t pos) {
  const char *s = c->src;
  uint32_t p = c->counted;
  while (p < pos) {
    const char *nl = memchr(s + p, '\n', pos - p);
    if (!nl)
      break;
    p = (uint32_t)(nl - s) + 1;
    c->line++;
    c->lbeg = p;
  }
  c->counted = pos;
}

/* First k >= from where s[k..] starts with ct and, when pre is not 0, the
 * byte before it is pre ("}}}" and "=}}" ends). NONE when absent. */
static uint32_t find_close(const cstate *c, uint32_t from, char pre,
                           cn_str ct) {
  uint32_t k = from + (pre ? 1 : 0);
  while (k <= c->len) {
    const char *p = memmem(c->src + k, c->len - k, ct.ptr, ct.len);
    if (!p)
      return NONE;
    k = (uint32_t)(p - c->src);
    if (!pre || c->src[k - 1] == pre)
      return k;
    k++;
  }
  return NONE;
}

static int tag_type(char sigil) {
  switch (sigil) {
  case '&': return T_RAW;
  case '#': return T_SECTION;
  case '^': return T_INVERTED;
  case '/': return T_CLOSE;
  case '>': return T_PARTIAL;
  case '<': return T_PARENT;
  case '$': return T_BLOCK;
  case '!': return T_COMMENT;
  default: return T_VAR;
  }
}

static const char *sigil_of(int type) {
  switch (type) {
  case T_SECTION: return "#";
  case T_INVERTED: return "^";
  case T_PARENT: return "<";
  case T_BLOCK: return "$";
  default: return "/";
  }
}

/* {{=<% %>=}}: two delimiters, separated by blanks, with no blanks or '='
 * inside. On success *ot and *ct point into the source. */
static int set_delims(cstate *c, const tag *t, cn_str *ot, cn_str *ct) {
  const char *s = c->src + t->cont;
  uint32_t n = t->clen, i = 0, a, b;
  while (i < n && !is_space(s[i]) && s[i] != '=')
    i++;
  a = i;
  while (i < n && is_space(s[i]))
    i++;
  b = i;
  while (i < n && !is_space(s[i]) && s[i] != '=')
    i++;
  if (a == 0 || b == a || i == b || i != n)
    return cn__tpl_fail(c->err, CN_EPARSE, c->name, t->line, t->col,
                        "bad delimiter change: want {{=<open> <close>=}} "
                        "with no spaces or '=' inside the delimiters");
  *ot = cn__str(s, a);
  *ct = cn__str(s + b, i - b);
  return 0;
}

/* Trim [*a, *b) of whitespace at both ends. */
static void trim(const char *s, uint32_t *a, uint32_t *b) {
  while (*a < *b && is_space(s[*a]))
    (*a)++;
  while (*b > *a && is_space(s[*b - 1]))
    (*b)--;
}

/* The content of the tag at t->start (already past the open delimiter at
 * a): its type, content and end. */
static int read_tag(cstate *c, tag *t, uint32_t a, cn_str ct) {
  const char *s = c->src;
  char sig = a < c->len ? s[a] : 0;
  uint32_t cs, ce, k;
  if (sig == '{' || sig == '=') {
    t->type = sig == '{' ? T_RAW : T_DELIM;
    k = find_close(c, a + 1, sig == '{' ? '}' : '=', ct);
    cs = a + 1;
    ce = k == NONE ? 0 : k - 1;
  } else {
    t->type = (uint8_t)tag_type(sig);
    k = find_close(c, a, 0, ct);
    cs = a + (t->type == T_VAR ? 0 : 1);
    ce = k;
  }
  if (k == NONE)
    return cn__tpl_fail(c->err, CN_EPARSE, c->name, t->line, t->col,
                        "unclosed tag: no \"%.*s\" after it", (int)ct.len,
                        ct.ptr);
  if (ce < cs)
    ce = cs;
  t->end = k + (uint32_t)ct.len;
  trim(s, &cs, &ce);
  t->cont = cs;
  t->clen = ce - cs;
  if (t->type == T_COMMENT || t->type == T_DELIM)
    return 0;
  if ((t->type == T_PARTIAL || t->type == T_PARENT) && cs < ce &&
      s[cs] == '*') {
    t->dynamic = 1;
    cs++;
    trim(s, &cs, &ce);
  }
  t->name = cs;
  t->nlen = ce - cs;
  if (t->nlen == 0)
    return cn__tpl_fail(c->err, CN_EPARSE, c->name, t->line, t->col,
                        "empty tag name");
  for (uint32_t i = cs; i < ce; i++)
    if (is_space(s[i]))
      return cn__tpl_fail(c->err, CN_EPARSE, c->name, t->line, t->col,
                          "tag name \"%.*s\" contains whitespace",
                          (int)CN__MIN(t->nlen, 60u), s + cs);
  return 0;
}

/* Pass 1: every tag, with its line context. */
static int scan(cstate *c) {
  const char *s = c->src;
  cn_str ot = CN_STR("{{"), ct = CN_STR("}}");
  uint32_t p = 0;
  c->line = 1;
  for (;;) {
    const char *o = memmem(s + p, c->len - p, ot.ptr, ot.len);
    if (!o)
      return 0;
    tag t = {0};
    t.start = (uint32_t)(o - s);
    advance(c, t.start);
    t.line = c->line;
    t.col = t.start - c->lbeg + 1;
    t.lstart = c->lbeg;
    t.lclear = c->lbeg >= p;
    for (uint32_t i = c->lbeg; t.lclear && i < t.start; i++)
      t.lclear = is_blank(s[i]);
    t.match = NONE;
    int rc = read_tag(c, &t, t.start + (uint32_t)ot.len, ct);
    if (rc)
      return rc;
    if (t.type == T_DELIM && (rc = set_delims(c, &t, &ot, &ct)))
      return rc;
    uint32_t q = t.end;
    while (q < c->len && is_blank(s[q]))
      q++;
    if (q == c->len || s[q] == '\n' ||
        (s[q] == '\r' && q + 1 < c->len && s[q + 1] == '\n')) {
      t.rclear = 1;
      t.rend = q == c->len ? q : q + (s[q] == '\r' ? 2 : 1);
    }
    advance(c, t.end);
    if (cn__buf_append(&c->tags, &t, sizeof t))
      return oom(c);
    c->ntags++;
    p = t.end;
  }
}

static int opens(int type) {
  return type == T_SECTION || type == T_INVERTED || type == T_PARENT ||
         type == T_BLOCK;
}

/* Pass 2: pair open and close tags. */
static int match(cstate *c) {
  uint32_t stack[CN__TPL_MAX_NESTING];
  uint32_t depth = 0;
  tag *tags = TAGS(c);
  for (uint32_t i = 0; i < c->ntags; i++) {
    tag *t = &tags[i];
    if (opens(t->type)) {
      if (depth == CN__TPL_MAX_NESTING)
        return cn__tpl_fail(c->err, CN_EPARSE, c->name, t->line, t->col,
                            "sections nested more than %d deep",
                            CN__TPL_MAX_NESTING);
      stack[depth++] = i;
    } else if (t->type == T_CLOSE) {
      if (depth == 0)
        return cn__tpl_fail(c->err, CN_EPARSE, c->name, t->line, t->col,
                            "unexpected {{/%.*s}}: nothing is open",
                            (int)CN__MIN(t->clen, 60u), c->src + t->cont);
      tag *o = &tags[stack[depth - 1]];
      if (o->clen != t->clen ||
          memcmp(c->src + o->cont, c->src + t->cont, t->clen) != 0)
        return cn__tpl_fail(
            c->err, CN_EPARSE, c->name, t->line, t->col,
            "{{/%.*s}} does not close {{%s%.*s}} opened at line %u",
            (int)CN__MIN(t->clen, 40u), c->src + t->cont, sigil_of(o->type),
            (int)CN__MIN(o->clen, 40u), c->src + o->cont, o->line);
      o->match = i;
      t->match = stack[--depth];
    }
  }
  if (depth) {
    tag *o = &tags[stack[depth - 1]];
    return cn__tpl_fail(c->err, CN_EPARSE, c->name, o->line, o->col,
                        "unclosed {{%s%.*s}}: no {{/%.*s}} before the end",
                        sigil_of(o->type), (int)CN__MIN(o->clen, 40u),
                        c->src + o->cont, (int)CN__MIN(o->clen, 40u),
                        c->src + o->cont);
  }
  return 0;
}

/* Skip, at a line start a, the intrinsic indentations of the open blocks
 * (outermost first) as far as they match; returns the new position. */
static uint32_t strip(const cstate *c, const elem *st, uint32_t depth,
                      uint32_t a, uint32_t b) {
  for (uint32_t i = 0; i < depth; i++) {
    uint32_t n = st[i].ilen;
    if (!n)
      continue;
    if (b - a < n || memcmp(c->src + a, c->src + st[i].intr, n) != 0)
      break;
    a += n;
  }
  return a;
}

/* The blanks at the start of the line beginning at a, relative to the open
 * blocks' intrinsic indentation: OUT *off and *len (into src). */
static void line_indent(const cstate *c, const elem *st, uint32_t depth,
                        uint32_t a, uint32_t *off, uint32_t *len) {
  uint32_t b = a;
  while (b < c->len && is_blank(c->src[b]))
    b++;
  a = strip(c, st, depth, a, b);
  *off = a;
  *len = b - a;
}

static int pool_add(cstate *c, const char *p, size_t n, uint32_t *off) {
  *off = (uint32_t)c->pool.len;
  return cn__buf_append(&c->pool, p, n) ? oom(c) : 0;
}

/* Copy src[lo, hi) into the pool as text, dropping the intrinsic
 * indentation at each line start; extends the previous TEXT node when
 * nothing came between. */
static int emit_text(cstate *c, const elem *st, uint32_t depth, uint32_t lo,
                     uint32_t hi) {
  if (lo >= hi || (depth && st[depth - 1].body_ignored))
    return 0;
  const char *s = c->src;
  size_t pool0 = c->pool.len;
  uint32_t pos = lo, off;
  int strips = 0;
  for (uint32_t i = 0; i < depth; i++)
    strips |= st[i].ilen != 0;
  while (pos < hi) {
    if (strips && (pos == 0 || s[pos - 1] == '\n'))
      pos = strip(c, st, depth, pos, hi);
    const char *nl = strips ? memchr(s + pos, '\n', hi - pos) : NULL;
    uint32_t e = nl ? (uint32_t)(nl - s) + 1 : hi;
    if (e > pos && pool_add(c, s + pos, e - pos, &off))
      return CN_ENOMEM;
    pos = e;
  }
  uint32_t n = (uint32_t)(c->pool.len - pool0);
  if (!n)
    return 0;
  if (c->last_text != NONE) {
    cn__tpl_node *lt = &NODES(c)[c->last_text];
    if (lt->text_off + lt->text_len == pool0) {
      lt->text_len += n;
      return 0;
    }
  }
  cn__tpl_node node = {.kind = CN__TPL_TEXT, .end = c->nnodes + 1,
                       .text_off = (uint32_t)pool0, .text_len = n};
  if (cn__buf_append(&c->nodes, &node, sizeof node))
    return oom(c);
  c->last_text = c->nnodes++;
  return 0;
}

/* Split a dotted name into parts ("." has none). */
static int add_parts(cstate *c, const tag *t, cn__tpl_node *n) {
  const char *s = c->src + t->name;
  uint32_t len = t->nlen;
  n->part0 = c->nparts;
  if (len == 1 && s[0] == '.')
    return 0;
  uint32_t a = 0;
  for (uint32_t i = 0; i <= len; i++) {
    if (i < len && s[i] != '.')
      continue;
    if (i == a || n->nparts == UINT16_MAX)
      return cn__tpl_fail(c->err, CN_EPARSE, c->name, t->line, t->col,
                          "malformed dotted name \"%.*s\"",
                          (int)CN__MIN(len, 60u), s);
    cn__tpl_part part = {n->text_off + a, i - a};
    if (cn__buf_append(&c->parts, &part, sizeof part))
      return oom(c);
    c->nparts++;
    n->nparts++;
    a = i + 1;
  }
  return 0;
}

/* Append the node for tag t; indentation (when ilen) comes from src. */
static int add_node(cstate *c, const tag *t, int kind, int flags,
                    uint32_t ioff, uint32_t ilen) {
  cn__tpl_node n = {.kind = (uint8_t)kind, .flags = (uint8_t)flags,
                    .end = c->nnodes + 1, .line = t->line, .col = t->col};
  n.text_len = t->nlen;
  if (pool_add(c, c->src + t->name, t->nlen, &n.text_off))
    return CN_ENOMEM;
  n.indent_len = ilen;
  if (ilen && pool_add(c, c->src + ioff, ilen, &n.indent_off))
    return CN_ENOMEM;
  int dotted = kind == CN__TPL_VAR || kind == CN__TPL_RAW ||
               kind == CN__TPL_SECTION || kind == CN__TPL_INVERTED ||
               (flags & CN__TPL_F_DYNAMIC);
  int rc = dotted ? add_parts(c, t, &n) : 0;
  if (rc)
    return rc;
  if (cn__buf_append(&c->nodes, &n, sizeof n))
    return oom(c);
  c->nnodes++;
  c->last_text = NONE;
  return 0;
}

/* What whitespace tag t swallows: *tl its line's leading blanks, *tr its
 * trailing blanks and line ending. top is the innermost open element (for a
 * close tag: the one it closes). The rules, from the spec's tests and its
 * whitespace notes (mustache/spec specs/whitespace.md, issues #130/#131):
 *   - a non-interpolation tag alone on its line (blanks aside) swallows the
 *     line: its leading blanks and its line ending;
 *   - a parent pair is standalone when its open tag clears on the left and
 *     its close tag on the right; the open's leading blanks then become the
 *     expansion's indentation and the close's line ending goes;
 *   - an argument block ({{$x}} directly inside a parent) follows ignored
 *     text, so only its right side counts: a line ending right after it
 *     belongs to the tag, and the next line's leading blanks are the block's
 *     intrinsic indentation (removed from its lines, see emit_text); its
 *     close tag swallows nothing, like the end of a file;
 *   - a parameter block's tags follow the plain rule; its pair, when
 *     standalone, gives the expansion an indentation (open_block). */
static void decide(const cstate *c, const tag *t, const elem *top, int *tl,
                   int *tr) {
  const tag *tags = TAGS(c);
  int sa = t->lclear && t->rclear;
  *tl = *tr = 0;
  switch (t->type) {
  case T_VAR:
  case T_RAW:
    return;
  case T_PARENT: /* a pair: what is inside it is never output */
    *tl = t->lclear && tags[t->match].rclear;
    return;
  case T_BLOCK:
    if (top && tags[top->tag].type == T_PARENT) {
      *tr = t->rclear; /* argument: what precedes it is ignored text */
      return;
    }
    break;
  case T_CLOSE:
    if (tags[t->match].type == T_PARENT) {
      *tr = t->rclear && tags[t->match].lclear;
      return;
    }
    if (top && top->is_arg) /* an argument ends like a file: keep all */
      return;
    break;
  default:
    break;
  }
  *tl = *tr = sa;
}

static int open_block(cstate *c, elem *st, uint32_t depth, const tag *t,
                      elem *e) {
  const tag *tags = TAGS(c);
  const elem *top = depth ? &st[depth - 1] : NULL;
  uint32_t ioff = 0, ilen = 0;
  int flags = 0;
  e->is_arg = top && tags[top->tag].type == T_PARENT;
  if (e->is_arg) {
    e->ignored = e->body_ignored = top->ignored;
    if (t->rclear && t->rend < c->len)
      line_indent(c, st, depth, t->rend, &e->intr, &e->ilen);
  } else {
    e->ignored = e->body_ignored = top ? top->body_ignored : 0;
    if (t->lclear && tags[t->match].rclear) { /* standalone pair */
      if (t->rclear) {
        if (t->rend < c->len)
          line_indent(c, st, depth, t->rend, &e->intr, &e->ilen);
        ioff = e->intr;
        ilen = e->ilen;
        flags = CN__TPL_F_LINE_START;
      } else {
        line_indent(c, st, depth, t->lstart, &ioff, &ilen);
      }
    }
  }
  e->node = c->nnodes;
  return e->ignored ? 0 : add_node(c, t, CN__TPL_BLOCK, flags, ioff, ilen);
}

/* Emit the node(s) for tag i and maintain the element stack. */
static int handle_tag(cstate *c, elem *st, uint32_t *depth, uint32_t i,
                      int tl, int tr) {
  const tag *t = &TAGS(c)[i];
  elem *top = *depth ? &st[*depth - 1] : NULL;
  int ignoring = top ? top->body_ignored : 0;
  int dyn = t->dynamic ? CN__TPL_F_DYNAMIC : 0;
  uint32_t ioff = 0, ilen = 0;
  elem e = {.tag = i, .node = c->nnodes};
  int rc = 0;
  switch (t->type) {
  case T_VAR:
  case T_RAW:
    return ignoring ? 0
                    : add_node(c, t, t->type == T_VAR ? CN__TPL_VAR
                                                      : CN__TPL_RAW, 0, 0, 0);
  case T_PARTIAL:
    if (ignoring)
      return 0;
    if (tl && tr)
      line_indent(c, st, *depth, t->lstart, &ioff, &ilen);
    return add_node(c, t, CN__TPL_PARTIAL,
                    dyn | (tl && tr ? CN__TPL_F_LINE_START : 0), ioff, ilen);
  case T_SECTION:
  case T_INVERTED:
  case T_PARENT:
    e.ignored = (uint8_t)ignoring;
    e.body_ignored = t->type == T_PARENT ? 1 : e.ignored;
    if (!ignoring) {
      if (t->type == T_PARENT && tl)
        line_indent(c, st, *depth, t->lstart, &ioff, &ilen);
      int kind = t->type == T_SECTION    ? CN__TPL_SECTION
                 : t->type == T_INVERTED ? CN__TPL_INVERTED
                                         : CN__TPL_PARENT;
      int ls = t->type == T_PARENT && tl ? CN__TPL_F_LINE_START : 0;
      rc = add_node(c, t, kind, dyn | ls, ioff, ilen);
    }
    break;
  case T_BLOCK:
    rc = open_block(c, st, *depth, t, &e);
    break;
  case T_CLOSE:
    if (!top->ignored)
      NODES(c)[top->node].end = c->nnodes;
    c->last_text = NONE;
    (*depth)--;
    return 0;
  default:
    return 0;
  }
  if (rc)
    return rc;
  st[(*depth)++] = e;
  return 0;
}

/* Pass 3: whitespace decisions, nodes and text. */
static int build(cstate *c) {
  elem st[CN__TPL_MAX_NESTING];
  uint32_t depth = 0, lo = 0;
  c->last_text = NONE;
  for (uint32_t i = 0; i < c->ntags; i++) {
    const tag *t = &TAGS(c)[i];
    int tl, tr, rc;
    decide(c, t, depth ? &st[depth - 1] : NULL, &tl, &tr);
    uint32_t hi = tl ? t->lstart : t->start;
    if ((rc = emit_text(c, st, depth, lo, hi < lo ? lo : hi)))
      return rc;
    if ((rc = handle_tag(c, st, &depth, i, tl, tr)))
      return rc;
    lo = tr ? t->rend : t->end;
  }
  return emit_text(c, st, depth, lo, c->len);
}

/* Lay the result out in one block. */
static int finish(cstate *c, cn__tpl **out) {
  size_t hdr = (sizeof(cn__tpl) + 15) & ~(size_t)15;
  size_t nb = (size_t)c->nnodes * sizeof(cn__tpl_node);
  size_t pb = (size_t)c->nparts * sizeof(cn__tpl_part);
  const char *name = c->name ? c->name : "";
  size_t namelen = strlen(name) + 1;
  char *blk = cn__malloc(hdr + nb + pb + c->pool.len + namelen);
  if (!blk)
    return oom(c);
  cn__tpl *t = (cn__tpl *)blk;
  char *p = blk + hdr;
  if (nb)
    memcpy(p, c->nodes.ptr, nb);
  t->nodes = (const cn__tpl_node *)p;
  p += nb;
  if (pb)
    memcpy(p, c->parts.ptr, pb);
  t->parts = (const cn__tpl_part *)p;
  p += pb;
  if (c->pool.len)
    memcpy(p, c->pool.ptr, c->pool.len);
  t->pool = p;
  p += c->pool.len;
  memcpy(p, name, namelen);
  t->name = p;
  t->nnodes = c->nnodes;
  t->nparts = c->nparts;
  t->pool_len = c->pool.len;
  *out = t;
  return 0;
}

int cn__tpl_compile(const char *name, const char *src, size_t len,
                    cn__tpl **out, cn__tpl_error *err) {
  cstate c = {.src = src, .len = (uint32_t)len, .name = name, .err = err};
  int rc;
  *out = NULL;
  if (err)
    memset(err, 0, sizeof *err);
  if (!src && len)
    return cn__tpl_fail(err, CN_EINVAL, name, 0, 0, "no source");
  if (len > MAX_SOURCE)
    return cn__tpl_fail(err, CN_ETOOBIG, name, 0, 0,
                        "template larger than %zu bytes", MAX_SOURCE);
  if (!src)
    c.src = "";
  if ((rc = scan(&c)) || (rc = match(&c)) || (rc = build(&c)))
    goto cleanup;
  rc = finish(&c, out);
cleanup:
  cn__buf_free(&c.tags);
  cn__buf_free(&c.nodes);
  cn__buf_free(&c.parts);
  cn__buf_free(&c.pool);
  return rc;
}

void cn__tpl_free(cn__tpl *t) { cn__free(t); }

const char *cn__tpl_name(const cn__tpl *t) { return t->name; }

const cn__tpl_node *cn__tpl_nodes(const cn__tpl *t, uint32_t *count) {
  if (count)
    *count = t->nnodes;
  return t->nodes;
}

cn_str cn__tpl_node_text(const cn__tpl *t, const cn__tpl_node *n) {
  return cn__str(t->pool + n->text_off, n->text_len);
}

cn_str cn__tpl_node_indent(const cn__tpl *t, const cn__tpl_node *n) {
  return cn__str(t->pool + n->indent_off, n->indent_len);
}

int cn__tpl_find(const cn__tpl *t, uint32_t from, int kind, cn_str name,
                 uint32_t *index) {
  for (uint32_t i = from; i < t->nnodes; i++) {
    const cn__tpl_node *n = &t->nodes[i];
    if (n->kind == kind && n->text_len == name.len &&
        memcmp(t->pool + n->text_off, name.ptr, name.len) == 0) {
      *index = i;
      return 0;
    }
  }
  return CN_ENOENT;
}
