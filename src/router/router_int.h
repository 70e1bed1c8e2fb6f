/*
 * router_int.h: what the router's files share and nobody else sees.
 *
 * A route owns three heap strings: its pattern (intact, handed out as
 * m->pattern), its source file, and `names`, a copy of the pattern in which
 * the byte after every segment name was overwritten with NUL, so each
 * segment's name is a NUL-terminated string without another allocation.
 * Tree nodes point into routes' names; routes and nodes die together in
 * cn__router_free.
 */
#ifndef CN_ROUTER_INT_H
#define CN_ROUTER_INT_H

#include "router/router.h"

typedef enum cn__seg_type {
  CN__SEG_STATIC = 0,
  CN__SEG_PARAM,    /* [x] */
  CN__SEG_CATCHALL, /* [...x] */
  CN__SEG_OPTIONAL  /* [[...x]] */
} cn__seg_type;

/* One segment of a pattern. For a static segment name is its text; for a
 * dynamic one, the param name. raw is the whole segment ("[[...x]]"), for
 * messages. Both point into the string that was parsed. */
typedef struct cn__route_seg {
  cn__seg_type type;
  cn_str name;
  cn_str raw;
} cn__route_seg;

/* Parse and check pattern (len bytes, need not be NUL-terminated) into
 * segs[0..*nsegs) (room for CN__ROUTE_DEPTH_MAX). The checks and their order
 * are those of Next's UrlNode._insert for a single path. 0, or CN_EINVAL /
 * CN_ETOOBIG with the bare sentence in err. */
int cn__route_parse(const char *pattern, size_t len, cn__route_seg *segs,
                    size_t *nsegs, char *err, size_t errlen);

/* snprintf into err (which may be NULL or errlen 0), never overflowing. */
void cn__route_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Three-way comparison of static names in JavaScript's UTF-16 code-unit
 * order (what Array.prototype.sort() gives), on UTF-8 bytes. */
int cn__route_name_cmp(cn_str a, cn_str b);

typedef struct cn__route {
  char *pattern;
  char *source; /* NULL when none was given */
  char *names;
  void *data;
  cn__route_seg *segs; /* names and raws point into names */
  size_t nsegs;
} cn__route;

typedef struct cn__rnode cn__rnode;
struct cn__rnode {
  cn_str name;              /* this node's static name (static children) */
  const cn__route *index;   /* the route ending here */
  cn__rnode **kids;         /* static children, sorted by cn__route_name_cmp */
  size_t nkids, capkids;
  cn__rnode *param;         /* the [x] child */
  cn_str param_name;
  const cn__route *param_owner; /* first route through [x], for messages */
  const cn__route *rest;    /* [...x] route ending here */
  const cn__route *opt;     /* [[...x]] route ending here */
};

struct cn__router {
  cn__route **routes; /* in insertion order */
  size_t nroutes, caproutes;
  cn__rnode *root;    /* built by finish */
  int finished;
};

/* The static child of n called name, or NULL (bisection). */
const cn__rnode *cn__rnode_find(const cn__rnode *n, cn_str name);

#endif /* CN_ROUTER_INT_H */
