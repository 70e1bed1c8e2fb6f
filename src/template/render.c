/*
 * The Mustache renderer: walks a compiled template's flat node array and
 * writes into a cn__buf.
 *
 * Everything a render needs besides the output lives in one rstate on the C
 * stack: the context stack (json_t pointers, never copied), the indentation
 * stack of the standalone partials/parents/blocks being expanded, and the
 * chain of parent tags whose argument blocks override parameter blocks. So a
 * render allocates nothing but output, and a compiled template is only read.
 *
 * Indentation is applied lazily: a line ending written from template text
 * sets `pending`; the next byte written (text or data) is preceded by the
 * whole indentation stack. That indents every line of an expansion without
 * re-parsing it, leaves newlines inside data alone, as the spec asks, and
 * writes nothing for a line that never gets any content.
 */
#include <stdio.h>
#include <stdlib.h>

#include "template/template_int.h"

#define MAX_STACK_IN 64
#define CTX_CAP (CN__TPL_MAX_RENDER_DEPTH + MAX_STACK_IN)

/* A parent tag being expanded: its argument blocks are nodes[node]'s
 * children in t. The chain runs from the innermost expansion outwards; the
 * outermost argument for a name wins (the spec's "top-level substitutions
 * take precedence"). */
typedef struct argframe {
  const cn__tpl *t;
  uint32_t node;
  const struct argframe *prev;
} argframe;

typedef struct rstate {
  cn__buf *out;
  const cn__tpl_partials *env;
  cn__tpl_error *err;
  const argframe *args;
  size_t limit; /* out->len must stay below this */
  uint64_t steps, max_steps;
  uint32_t nctx, nind, depth, pdepth;
  int pending;
  const json_t *ctx[CTX_CAP];
  cn_str ind[CN__TPL_MAX_RENDER_DEPTH + 1];
} rstate;

static int rfail(rstate *s, const cn__tpl *t, const cn__tpl_node *n, int code,
                 const char *what) {
  return cn__tpl_fail(s->err, code, t->name, n ? n->line : 0,
                      n ? n->col : 0, "%s", what);
}

/* cn__buf_append with the common case (room left) inlined. */
static inline int out_put(cn__buf *b, const char *p, size_t n) {
  if (b->ptr && b->cap - b->len >= n) {
    memcpy(b->ptr + b->len, p, n);
    b->len += n;
    return 0;
  }
  return cn__buf_append(b, p, n);
}

/* After a write: enforce the output limit. */
static int wrote(rstate *s, int rc) {
  if (rc)
    return rc == CN_ENOMEM
               ? cn__tpl_fail(s->err, CN_ENOMEM, "", 0, 0, "out of memory")
               : rc;
  if (s->out->len > s->limit)
    return cn__tpl_fail(s->err, CN_ETOOBIG, "", 0, 0,
                        "render output over its limit");
  return 0;
}

static int flush_indent(rstate *s) {
  s->pending = 0;
  for (uint32_t k = 0; k < s->nind; k++) {
    int rc = out_put(s->out, s->ind[k].ptr, s->ind[k].len);
    if (rc)
      return wrote(s, rc);
  }
  return 0;
}

/* Template text: every line ending may start an indented line. */
static int put_text(rstate *s, const char *p, size_t n) {
  int rc;
  if (!n)
    return 0;
  if (!s->nind) {
    s->pending = p[n - 1] == '\n';
    return wrote(s, out_put(s->out, p, n));
  }
  while (n) {
    if (s->pending && (rc = flush_indent(s)))
      return rc;
    const char *nl = memchr(p, '\n', n);
    size_t m = nl ? (size_t)(nl - p) + 1 : n;
    if ((rc = wrote(s, out_put(s->out, p, m))))
      return rc;
    s->pending = nl != NULL;
    p += m;
    n -= m;
  }
  return 0;
}

/* Data: indented if it starts a line, never re-indented inside. */
static int put_data(rstate *s, const char *p, size_t n, int escape) {
  int rc;
  if (!n)
    return 0;
  if (s->pending && s->nind && (rc = flush_indent(s)))
    return rc;
  s->pending = 0;
  return wrote(s, escape ? cn__tpl_escape(s->out, p, n)
                         : out_put(s->out, p, n));
}

/* 0 = safe; otherwise 1 + index into esc_rep. */
static const unsigned char esc_class[256] = {
    ['&'] = 1, ['<'] = 2, ['>'] = 3, ['"'] = 4, ['\''] = 5};
static const cn_str esc_rep[] = {CN_STR("&amp;"), CN_STR("&lt;"),
                                 CN_STR("&gt;"), CN_STR("&quot;"),
                                 CN_STR("&#39;")};

int cn__tpl_escape(cn__buf *out, const char *s, size_t n) {
  size_t i = 0;
  int rc = cn__buf_reserve(out, n);
  while (!rc && i < n) {
    size_t run = i;
    while (run < n && !esc_class[(unsigned char)s[run]])
      run++;
    if (run > i && (rc = out_put(out, s + i, run - i)))
      break;
    if (run < n) {
      const cn_str *r = &esc_rep[esc_class[(unsigned char)s[run]] - 1];
      rc = out_put(out, r->ptr, r->len);
      run++;
    }
    i = run;
  }
  return rc;
}

/* Reals with at most 15 significant digits and 4 decimals (prices,
 * ratings, 1.21): integer arithmetic instead of printf and strtod, which
 * cost more than the rest of a list item. Gives the same text as the loop
 * below: such a value's 15-digit rounding is exactly r / 10^k. */
static size_t fmt_short_real(double d, char *b) {
  static const double pow10[] = {1, 10, 100, 1000, 10000};
  if (!(d > -1e15 && d < 1e15) || d == 0)
    return 0;
  for (int k = 0; k < 5; k++) {
    double x = d * pow10[k];
    if (!(x > -1e15 && x < 1e15))
      return 0;
    long long r = (long long)(x < 0 ? x - 0.5 : x + 0.5);
    if ((double)r / pow10[k] != d)
      continue;
    char tmp[24];
    size_t n = 0, m = 0;
    unsigned long long u = r < 0 ? 0ULL - (unsigned long long)r
                                 : (unsigned long long)r;
    do {
      tmp[n++] = (char)('0' + u % 10);
      u /= 10;
    } while (u || n <= (size_t)k);
    if (r < 0)
      b[m++] = '-';
    while (n > (size_t)k)
      b[m++] = tmp[--n];
    if (k)
      b[m++] = '.';
    while (n)
      b[m++] = tmp[--n];
    return m;
  }
  return 0;
}

/* The shortest "%g" form that reads back as the same double. */
static size_t fmt_real(double d, char *b, size_t cap) {
  size_t quick = fmt_short_real(d, b);
  if (quick)
    return quick;
  int n = 0;
  for (int prec = 15; prec <= 17; prec++) {
    n = snprintf(b, cap, "%.*g", prec, d);
    if (strtod(b, NULL) == d)
      break;
  }
  return n > 0 ? (size_t)n : 0;
}

static int put_value(rstate *s, const json_t *v, int escape) {
  char b[40];
  size_t n;
  switch (v ? json_typeof(v) : JSON_NULL) {
  case JSON_STRING:
    return put_data(s, json_string_value(v), json_string_length(v), escape);
  case JSON_INTEGER:
    n = (size_t)snprintf(b, sizeof b, "%" JSON_INTEGER_FORMAT,
                         json_integer_value(v));
    return put_data(s, b, n, 0);
  case JSON_REAL:
    n = fmt_real(json_real_value(v), b, sizeof b);
    return put_data(s, b, n, 0);
  case JSON_TRUE:
    return put_data(s, "true", 4, 0);
  case JSON_FALSE:
    return put_data(s, "false", 5, 0);
  default:
    return 0;
  }
}

static int truthy(const json_t *v) {
  switch (v ? json_typeof(v) : JSON_NULL) {
  case JSON_OBJECT:
  case JSON_TRUE:
    return 1;
  case JSON_ARRAY:
    return json_array_size(v) > 0;
  case JSON_STRING:
    return json_string_length(v) > 0;
  case JSON_INTEGER:
    return json_integer_value(v) != 0;
  case JSON_REAL:
    return json_real_value(v) != 0.0;
  default:
    return 0;
  }
}

/* One step down a dotted name: an object key, or an array index. */
static const json_t *child(const json_t *v, const char *k, size_t n) {
  if (json_is_object(v))
    return json_object_getn(v, k, n);
  if (!json_is_array(v) || n > 9)
    return NULL;
  size_t idx = 0;
  for (size_t i = 0; i < n; i++) {
    if (k[i] < '0' || k[i] > '9')
      return NULL;
    idx = idx * 10 + (size_t)(k[i] - '0');
  }
  return json_array_get(v, idx);
}

/* Resolve n's dotted name: the first part through the context stack (the
 * innermost object that has it), the rest strictly inside that value. */
static const json_t *lookup(const rstate *s, const cn__tpl *t,
                            const cn__tpl_node *n) {
  if (n->nparts == 0)
    return s->nctx ? s->ctx[s->nctx - 1] : NULL;
  const cn__tpl_part *pp = &t->parts[n->part0];
  const json_t *v = NULL;
  for (uint32_t k = s->nctx; k-- > 0 && !v;)
    if (json_is_object(s->ctx[k]))
      v = json_object_getn(s->ctx[k], t->pool + pp[0].off, pp[0].len);
  for (uint32_t j = 1; v && j < n->nparts; j++)
    v = child(v, t->pool + pp[j].off, pp[j].len);
  return v;
}

static int render_nodes(rstate *s, const cn__tpl *t, uint32_t i,
                        uint32_t end);

static int render_in(rstate *s, const cn__tpl *t, uint32_t i,
                     const json_t *v) {
  const cn__tpl_node *n = &t->nodes[i];
  if (s->nctx == CTX_CAP)
    return rfail(s, t, n, CN_ETOOBIG, "context stack too deep");
  s->ctx[s->nctx++] = v;
  int rc = render_nodes(s, t, i + 1, n->end);
  s->nctx--;
  return rc;
}

/* The value of a plain name on the context stack, top first. */
static const json_t *lookup_word(const rstate *s, const char *k, size_t n) {
  for (uint32_t i = s->nctx; i-- > 0;)
    if (json_is_object(s->ctx[i])) {
      const json_t *v = json_object_getn(s->ctx[i], k, n);
      if (v)
        return v;
    }
  return NULL;
}

/* A "defer.<name>", "form.<name>", "live.<name>", "island.<name>[.<how>]"
 * or "error.reset" section (template.h). */
static int render_special(rstate *s, const cn__tpl *t, uint32_t i) {
  const cn__tpl_node *n = &t->nodes[i];
  const cn__tpl_part *pp = &t->parts[n->part0];
  cn_str ns = cn__str(t->pool + pp[0].off, pp[0].len);
  cn_str name = cn__str(t->pool + pp[1].off, pp[1].len);
  const json_t *bind;
  char spec[256];
  if (ns.len == 6) { /* island: its props are the value of its name */
    bind = lookup_word(s, name.ptr, name.len);
    if (n->nparts == 3) {
      int w = snprintf(spec, sizeof spec, "%.*s.%.*s", (int)name.len,
                       name.ptr, (int)pp[2].len, t->pool + pp[2].off);
      if (w < 0 || (size_t)w >= sizeof spec)
        return rfail(s, t, n, CN_EINVAL, "the island's name is too long");
      name = cn__str(spec, (size_t)w);
    }
  } else {
    bind = lookup_word(s, "bind", 4);
  }
  if (s->env->why)
    s->env->why[0] = '\0';
  int rc = s->env->special(s->env->ud, ns, name, 1, bind, s->out);
  if (rc == 1)
    return 0;
  if (rc < 0)
    return rfail(s, t, n, rc,
                 s->env->why && s->env->why[0] ? s->env->why
                                               : "the section could not start");
  rc = render_nodes(s, t, i + 1, n->end);
  if (!rc && (rc = s->env->special(s->env->ud, ns, name, 0, bind, s->out)) < 0)
    return rfail(s, t, n, rc, "the section could not end");
  return rc > 0 ? 0 : rc;
}

static int is_special(const rstate *s, const cn__tpl *t,
                      const cn__tpl_node *n) {
  const cn__tpl_part *pp = &t->parts[n->part0];
  if (!s->env || !s->env->special)
    return 0;
  if (pp[0].len == 6 && !memcmp(t->pool + pp[0].off, "island", 6))
    return n->nparts == 2 || n->nparts == 3;
  return n->nparts == 2 &&
         ((pp[0].len == 5 && !memcmp(t->pool + pp[0].off, "defer", 5)) ||
          (pp[0].len == 4 && !memcmp(t->pool + pp[0].off, "form", 4)) ||
          (pp[0].len == 4 && !memcmp(t->pool + pp[0].off, "live", 4)) ||
          (pp[0].len == 5 && !memcmp(t->pool + pp[0].off, "error", 5) &&
           pp[1].len == 5 && !memcmp(t->pool + pp[1].off, "reset", 5)));
}

static int render_section(rstate *s, const cn__tpl *t, uint32_t i) {
  const cn__tpl_node *n = &t->nodes[i];
  if (is_special(s, t, n))
    return render_special(s, t, i);
  const json_t *v = lookup(s, t, n);
  int rc = 0;
  if (json_is_array(v)) {
    size_t m = json_array_size(v);
    for (size_t k = 0; k < m && !rc; k++)
      rc = render_in(s, t, i, json_array_get(v, k));
  } else if (json_is_true(v)) {
    rc = render_nodes(s, t, i + 1, n->end);
  } else if (truthy(v)) {
    rc = render_in(s, t, i, v);
  }
  return rc;
}

/* Render [i, end) of t with n's indentation pushed. */
static int render_indented(rstate *s, const cn__tpl_node *site,
                           const cn__tpl *t, uint32_t i, uint32_t end,
                           const cn__tpl *site_t) {
  int pushed = 0, rc;
  if (site->indent_len) {
    if (s->nind == CN__ARRAY_LEN(s->ind))
      return rfail(s, site_t, site, CN_ETOOBIG, "indentation too deep");
    s->ind[s->nind++] = cn__str(site_t->pool + site->indent_off,
                                site->indent_len);
    pushed = 1;
  }
  if (site->flags & CN__TPL_F_LINE_START)
    s->pending = 1;
  rc = render_nodes(s, t, i, end);
  s->nind -= (uint32_t)pushed;
  return rc;
}

/* {{>name}}, {{>*name}}, {{<name}}...{{/name}}: expand another template
 * in the current context. */
static int render_partial(rstate *s, const cn__tpl *t, uint32_t i) {
  const cn__tpl_node *n = &t->nodes[i];
  cn_str name = cn__tpl_node_text(t, n);
  if (n->flags & CN__TPL_F_DYNAMIC) {
    const json_t *v = lookup(s, t, n);
    if (!json_is_string(v))
      return 0;
    name = cn__str(json_string_value(v), json_string_length(v));
  }
  const cn__tpl *p =
      s->env && s->env->lookup ? s->env->lookup(s->env->ud, name) : NULL;
  if (!p)
    return 0;
  if (s->pdepth >= CN__TPL_MAX_PARTIAL_DEPTH) {
    char msg[160];
    snprintf(msg, sizeof msg,
             "partials nested more than %d deep at {{%c%.*s}} "
             "(a partial that includes itself?)",
             CN__TPL_MAX_PARTIAL_DEPTH,
             n->kind == CN__TPL_PARENT ? '<' : '>',
             (int)CN__MIN(name.len, 60u), name.ptr);
    return rfail(s, t, n, CN_ETOOBIG, msg);
  }
  argframe f = {t, i, s->args};
  const argframe *saved = s->args;
  if (n->kind == CN__TPL_PARENT)
    s->args = &f;
  s->pdepth++;
  int rc = render_indented(s, n, p, 0, p->nnodes, t);
  s->pdepth--;
  s->args = saved;
  return rc;
}

/* {{$name}}: the outermost argument with that name, or the default. */
static int render_block(rstate *s, const cn__tpl *t, uint32_t i) {
  const cn__tpl_node *n = &t->nodes[i];
  const cn__tpl *bt = t;
  uint32_t bi = i;
  for (const argframe *f = s->args; f; f = f->prev) {
    const cn__tpl *pt = f->t;
    uint32_t end = pt->nodes[f->node].end;
    for (uint32_t j = f->node + 1; j < end; j = pt->nodes[j].end) {
      const cn__tpl_node *a = &pt->nodes[j];
      if (a->kind == CN__TPL_BLOCK && a->text_len == n->text_len &&
          memcmp(pt->pool + a->text_off, t->pool + n->text_off,
                 n->text_len) == 0) {
        bt = pt;
        bi = j;
        break;
      }
    }
  }
  return render_indented(s, n, bt, bi + 1, bt->nodes[bi].end, t);
}

static int render_nodes(rstate *s, const cn__tpl *t, uint32_t i,
                        uint32_t end) {
  int rc = 0;
  if (s->depth >= CN__TPL_MAX_RENDER_DEPTH)
    return rfail(s, t, i < t->nnodes ? &t->nodes[i] : NULL, CN_ETOOBIG,
                 "sections, blocks and partials nested too deep");
  s->depth++;
  while (i < end && !rc) {
    const cn__tpl_node *n = &t->nodes[i];
    if (++s->steps > s->max_steps) {
      rc = rfail(s, t, n, CN_ETOOBIG, "render took more steps than allowed");
      break;
    }
    switch (n->kind) {
    case CN__TPL_TEXT:
      rc = put_text(s, t->pool + n->text_off, n->text_len);
      break;
    case CN__TPL_VAR:
    case CN__TPL_RAW:
      rc = put_value(s, lookup(s, t, n), n->kind == CN__TPL_VAR);
      break;
    case CN__TPL_SECTION:
      rc = render_section(s, t, i);
      break;
    case CN__TPL_INVERTED:
      if (!truthy(lookup(s, t, n)))
        rc = render_nodes(s, t, i + 1, n->end);
      break;
    case CN__TPL_PARTIAL:
    case CN__TPL_PARENT:
      rc = render_partial(s, t, i);
      break;
    case CN__TPL_BLOCK:
      rc = render_block(s, t, i);
      break;
    default:
      break;
    }
    i = n->end;
  }
  s->depth--;
  return rc;
}

/* The end of the element that directly contains node `from` (nnodes at the
 * top level), so a span can be checked to stay among siblings. */
static uint32_t container_end(const cn__tpl *t, uint32_t from) {
  uint32_t i = 0, end = t->nnodes;
  while (i < end && i != from) {
    const cn__tpl_node *n = &t->nodes[i];
    if (from < n->end) { /* inside n: descend */
      end = n->end;
      i++;
    } else {
      i = n->end;
    }
  }
  return end;
}

int cn__tpl_render_span(const cn__tpl *t, uint32_t from, uint32_t to,
                        const json_t *const *stack, size_t nstack,
                        const cn__tpl_partials *partials, cn__buf *out,
                        cn__tpl_error *err) {
  if (err)
    memset(err, 0, sizeof *err);
  if (!t || !out || from > to || to > t->nnodes || nstack > MAX_STACK_IN ||
      (nstack && !stack))
    return cn__tpl_fail(err, CN_EINVAL, t ? t->name : "", 0, 0,
                        "invalid render arguments");
  uint32_t i = from;
  if (from < to && to > container_end(t, from))
    i = UINT32_MAX;
  while (i < to)
    i = t->nodes[i].end;
  if (i != to)
    return cn__tpl_fail(err, CN_EINVAL, t->name, 0, 0,
                        "span [%u, %u) is not a run of sibling nodes", from,
                        to);
  /* Not zero-filled: the stacks are only read below their counts. */
  rstate st, *s = &st;
  s->out = out;
  s->env = partials;
  s->err = err;
  s->args = NULL;
  s->steps = 0;
  s->nctx = s->nind = s->depth = s->pdepth = 0;
  s->pending = 0;
  size_t max_out = partials && partials->max_output
                       ? partials->max_output
                       : CN__TPL_DEFAULT_MAX_OUTPUT;
  s->limit = out->len + CN__MIN(max_out, SIZE_MAX - out->len);
  s->max_steps = partials && partials->max_steps ? partials->max_steps
                                                 : CN__TPL_DEFAULT_MAX_STEPS;
  for (size_t k = 0; k < nstack; k++)
    s->ctx[s->nctx++] = stack[k];
  int rc = render_nodes(s, t, from, to);
  if (rc && err && !err->name[0])
    snprintf(err->name, sizeof err->name, "%s", t->name);
  return rc;
}

int cn__tpl_render(const cn__tpl *t, const json_t *context,
                   const cn__tpl_partials *partials, cn__buf *out,
                   cn__tpl_error *err) {
  return cn__tpl_render_span(t, 0, t ? t->nnodes : 0, &context,
                             context ? 1 : 0, partials, out, err);
}
