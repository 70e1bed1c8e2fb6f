/*
 * template_int.h: what the compiler (parse.c) and the renderer (render.c)
 * share and nobody else needs: the layout of a compiled template.
 *
 * A cn__tpl is one heap block, written once by cn__tpl_compile and never
 * again: this header, then the node array, the part array, the text pool and
 * the name. Everything points into the block, so cn__tpl_free is one free.
 */
#ifndef CN_TEMPLATE_INT_H
#define CN_TEMPLATE_INT_H

#include "template/template.h"

struct cn__tpl {
  const char *name;           /* NUL-terminated */
  const cn__tpl_node *nodes;  /* nnodes, document order */
  const cn__tpl_part *parts;  /* nparts, referenced by nodes[i].part0 */
  const char *pool;           /* literal text, names and indentations */
  uint32_t nnodes;
  uint32_t nparts;
  size_t pool_len;
};

/* Fill err (when not NULL) with code, name, position and a formatted
 * message; returns code so callers can `return cn__tpl_fail(...)`. */
int cn__tpl_fail(cn__tpl_error *err, int code, const char *name,
                 uint32_t line, uint32_t col, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

#endif /* CN_TEMPLATE_INT_H */
