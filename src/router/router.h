/*
 * router.h: the route tree. File paths under app/ and pages/api/ become URL
 * patterns ("/api/post/[pid]"), patterns go into a tree, and a request path
 * is matched against the tree with Next.js's precedence.
 *
 * Who does what:
 *   - The build step that walks app/ and pages/ turns each file into a
 *     pattern with cn__route_pattern_from_file(), adds the ones that answer
 *     requests (pages, route handlers, API routes) with cn__router_add(),
 *     then calls cn__router_finish() once, which validates the whole set and
 *     compiles the tree. `cairn routes` lists it with cn__router_foreach().
 *   - The server calls cn__router_match() per request. After finish the tree
 *     is read-only, so any number of threads may match at once.
 *
 * Semantics (Next.js's, where issue 3 does not say otherwise):
 *   - Segments: static; [id] one segment; [...slug] one or more (always an
 *     array); [[...slug]] zero or more (absent when it matched nothing).
 *   - Precedence at every level, whatever the insertion order: the node's own
 *     index, static children, [param], [...catchall], [[...optional]]. This is
 *     the order of Next's getSortedRoutes(), and matching returns the first
 *     route of that order whose regex would match (the tree backtracks, so
 *     /a/b can fall from a static child that dead-ends to a dynamic sibling).
 *     Each tree node is visited at most once per match: the cost is bounded
 *     by the tree, never exponential. Static children are a sorted array
 *     searched by bisection; no regex, no allocation on the static path.
 *   - Static children sort in JavaScript's UTF-16 code-unit order (what
 *     Array.prototype.sort() does), computed on the UTF-8 names.
 *   - Patterns live in decoded space: a request segment is percent-decoded
 *     before it is compared with a static segment or bound to a param, so
 *     /caf%C3%A9 reaches the folder "café" and %2F stays inside its segment.
 *
 * Conflicts and order independence: cn__router_add() checks only what
 * depends on the pattern alone (malformed brackets and dots, [[id]], a
 * catch-all not last, a name repeated in one path). cn__router_finish()
 * checks everything that involves two routes (different param names at one
 * place, required beside optional catch-all, an index beside an optional
 * catch-all, the same URL twice) by inserting the routes in a canonical order
 * (pattern bytes, then source file bytes). So the same set of files added in
 * any order gives the same errors, word for word, and the same tree.
 * Messages carry Next.js's wording and name the files involved.
 */
#ifndef CN_ROUTER_H
#define CN_ROUTER_H

#include <stddef.h>

#include "common/common.h"

/* Longest pattern and deepest route accepted (a route deeper than this is a
 * mistake, and the bound keeps matching's recursion shallow). */
#define CN__ROUTE_PATTERN_MAX 4096
#define CN__ROUTE_DEPTH_MAX 128

/* What a file under app/ or pages/ is, going by its name. */
typedef enum cn__route_kind {
  CN__ROUTE_NONE = 0,      /* not routed: other files, private, hidden */
  CN__ROUTE_PAGE,          /* app/.../page.html: a page template */
  CN__ROUTE_PAGE_LOADER,   /* app/.../page.c: loader, metadata, config */
  CN__ROUTE_HANDLER,       /* app/.../route.c: one function per method */
  CN__ROUTE_API,           /* pages/api/...c: one handler, every method */
  CN__ROUTE_LAYOUT,        /* app/.../layout.html */
  CN__ROUTE_LAYOUT_LOADER, /* app/.../layout.c */
  CN__ROUTE_LOADING,       /* app/.../loading.html */
  CN__ROUTE_ERROR,         /* app/.../error.html */
  CN__ROUTE_NOT_FOUND,     /* app/.../not-found.html */
  CN__ROUTE_ACTIONS        /* app/.../actions.c: actions for the pages below */
} cn__route_kind;

/* A static name for a kind ("page", "route handler", ...), for listings. */
const char *cn__route_kind_name(cn__route_kind kind);

/* 1 for the kinds that answer requests by themselves and so belong in the
 * tree (PAGE, HANDLER, API); the others attach to a segment. */
int cn__route_kind_is_endpoint(cn__route_kind kind);

/* Turn a file path relative to the app root ("app/(shop)/cart/page.html",
 * "pages/api/post/[pid].c") into its URL pattern ("/cart", "/api/post/[pid]")
 * and kind. Called by the build step for every file it finds.
 *   - app/: route groups "(name)" leave the URL; a folder "%5Fname" is the
 *     URL segment "_name"; parallel-route "@slot" folders and interception
 *     markers "(.)x" are refused (cairn does not implement them).
 *   - pages/api/: every .c file; index.c names its folder. Other files under
 *     pages/ are not routed. Groups are left out of the URL here too (the
 *     issue states the rule for all routed folders).
 *   - Any segment starting with "_" (private) or "." (hidden) anywhere in the
 *     path: kind NONE, no error, whatever else is wrong with the path.
 * OUT: *kind; out (NUL-terminated, outcap bytes) holds the pattern, "" for
 * NONE. Returns 0 (also for NONE), CN_EINVAL with a sentence in err (the
 * Next.js wording for malformed segments, prefixed with relpath) when the
 * path cannot be a route, CN_ETOOBIG when out is too small or the pattern is
 * over the limits above. err may be NULL. */
int cn__route_pattern_from_file(const char *relpath, cn__route_kind *kind,
                                char *out, size_t outcap, char *err,
                                size_t errlen);

/* Check one pattern on its own, exactly as cn__router_add() does: 0, or
 * CN_EINVAL / CN_ETOOBIG with the Next.js sentence (no file prefix) in err.
 * For the build step and tools that want to validate without a tree. */
int cn__route_pattern_check(const char *pattern, char *err, size_t errlen);

typedef struct cn__router cn__router;

/* A new, empty router; NULL when out of memory. The build step owns it and
 * frees it with cn__router_free (NULL is fine) after the server stops. */
cn__router *cn__router_new(void);
void cn__router_free(cn__router *r);

/* Add a route. pattern is "/" or "/seg/[param]/..." (no trailing slash, no
 * empty, "." or ".." segments); pattern and source_file (the file it came
 * from, used in messages; may be NULL) are copied; data is borrowed and
 * handed back by cn__router_match. Checks the pattern alone (see the top of
 * this file); conflicts with other routes are found by cn__router_finish.
 * Returns 0 (err ""); CN_EINVAL / CN_ETOOBIG with "<source_file>: <Next.js
 * sentence>" in err (the route is not added); CN_ESTATE after finish;
 * CN_ENOMEM. */
int cn__router_add(cn__router *r, const char *pattern, const char *source_file,
                   void *data, char *err, size_t errlen);

/* Validate the whole set and compile the tree; call once, after the last add
 * and before the first match or foreach. Every conflict is reported, one per
 * line in err (truncated to errlen), in a canonical order independent of
 * insertion order: "<file>: <Next.js sentence> (conflicts with <file>)", or,
 * for the same URL twice, Next's own two-file sentence ("Conflicting app and
 * page file found: ...", "Conflicting route and page at ...", ...). A route
 * that conflicts with one accepted before it (in that canonical order) is
 * left out of the tree; the others are matched normally.
 * Returns 0 (err ""); the code of the first conflict (CN_EEXIST for the
 * same URL twice, CN_EINVAL otherwise); CN_ESTATE when already finished;
 * CN_ENOMEM (the router then stays unfinished; finish may be called again).
 * The canonical order also decides which route of a conflicting pair is
 * kept, and which name comes first in "('a' !== 'b')". */
int cn__router_finish(cn__router *r, char *err, size_t errlen);

/* One bound param of a match. name is the router's (NUL-terminated, lives as
 * long as the router). values are slices of the request path when the
 * segment needed no decoding, else decoded NUL-terminated copies in the
 * arena; a plain [param] has nvalues 1, a catch-all one per segment. */
typedef struct cn__route_param {
  cn_str name;
  cn_str *values;
  size_t nvalues;
  int is_catchall; /* [...x] or [[...x]]: treat as an array even for 1 */
  cn_str value_;   /* storage for values when nvalues == 1 (do not use) */
} cn__route_param;

typedef struct cn__route_match {
  void *data;              /* the pointer given to cn__router_add */
  const char *pattern;     /* "/api/post/[pid]", the router's */
  const char *source_file; /* the router's copy; NULL if none was given */
  cn__route_param *params; /* in the arena; NULL when nparams == 0 */
  size_t nparams;          /* path order; an absent optional catch-all: none */
  /* 1 when the path ended in "/" (and was not "/"): the server answers 308
   * to `path`. Set even when nothing matched (Next redirects first). */
  int trailing_slash;
  cn_str path; /* raw_path without that trailing slash (a slice of it) */
} cn__route_match;

/* Match a request path: raw_path is the percent-encoded path without the
 * query, as sent. Case-sensitive. Each segment is split first and then
 * percent-decoded; a decoded "." or ".." segment, an empty segment ("//")
 * or a path not starting with "/" matches nothing.
 * OUT: *m (all of it, on every return). Memory for params and decoded values
 * comes from arena; nothing is allocated when no param is bound and no
 * segment needed decoding (and the path has at most 32 segments).
 * Returns 0; CN_ENOENT when no route matches; CN_EPARSE when the path has a
 * malformed escape or escapes that are not valid UTF-8 (decodeURIComponent
 * would throw), or a NUL byte, raw or as %00 (C code would cut a value
 * there): the server answers 400; checked on the whole path before matching.
 * CN_ESTATE before finish; CN_ENOMEM from the arena. Raw (unescaped) bytes
 * above 0x7F are passed through unchecked. */
int cn__router_match(const cn__router *r, cn_str raw_path, cn__arena *arena,
                     cn__route_match *m);

/* A route as listed by cn__router_foreach; everything is the router's. */
typedef struct cn__route_info {
  const char *pattern;
  const char *source_file;
  void *data;
} cn__route_info;

/* Visit the routes of a finished router in Next.js sorted order (the order
 * matching tries them). `cairn routes` prints the table with it. cb returns
 * 0 to go on; a non-zero return stops the walk and is returned. CN_ESTATE
 * before finish. */
typedef int cn__route_visit_fn(const cn__route_info *info, void *ud);
int cn__router_foreach(const cn__router *r, cn__route_visit_fn *cb, void *ud);

#endif /* CN_ROUTER_H */
