/*
 * Taint: values that must never reach the browser (Next.js's
 * taintUniqueValue and taintObjectReference, and its rule that only
 * NEXT_PUBLIC_ variables reach client code).
 *
 * What is server-only:
 *   - every environment variable of the server (the process's and what the
 *     app's .env files set) except CN_PUBLIC_* ones, the variables that
 *     describe the machine and the session rather than the app (PATH, HOME,
 *     LANG, LC_*, TERM, XDG_*, npm_*, ... : cn__taint_env_watched), and
 *     values shorter than CN__TAINT_ENV_MIN bytes, which would turn up in
 *     pages by chance;
 *   - a value passed to cn_taint_value (at least CN__TAINT_MIN bytes);
 *   - an object passed to cn_taint_object.
 *
 * Where it is caught: in the bytes cairn writes for the browser (a rendered
 * page or streamed section, island props, an action's returned state, a
 * live query's result or re-rendered region, a data function's answer over
 * HTTP). Every needle is looked for as written raw and as cairn's encoders
 * write it (HTML-escaped, inside a JSON string, with "/" escaped, in a
 * script-safe JSON string), so escaping does not hide it. A tainted object
 * carries a member whose key holds a random per-process nonce: the key is
 * the needle, so a copy of the object is tainted too, and nobody outside
 * can forge or guess it. What is not caught: a value cut in pieces or
 * re-encoded by the app itself (base64, a URL's %-encoding), and route
 * handlers' answers, which say exactly what their code writes.
 *
 * Thread safety: the registry is global; reads (cn__taint_find) run on
 * every I/O thread under a shared lock, additions take it exclusively.
 * Memory: needles are copied; they live until cn__taint_reset.
 */
#ifndef CN_TAINT_H
#define CN_TAINT_H

#include "common/common.h"

#define CN__TAINT_MIN 4      /* bytes of a cn_taint_value */
#define CN__TAINT_ENV_MIN 8  /* bytes of a watched environment value */
#define CN__TAINT_MAX 4096   /* needles, encodings included */

/* What a hit names: "the environment variable SECRET" or the message
 * given when the value was tainted. Never the value itself. */
typedef struct cn__taint_hit {
  char what[192];
} cn__taint_hit;

/* Watch the environment's server-only values (the rules above): call once
 * the .env files are applied, before threads start. 0, CN_ENOMEM,
 * CN_ETOOBIG (more than CN__TAINT_MAX needles). */
int cn__taint_env(char **envp);

/* 1 when a variable of this name is server-only by name (not CN_PUBLIC_,
 * not one of the machine's own). */
int cn__taint_env_watched(const char *name, size_t len);

/* 1 when p[0..n) contains a server-only value; *hit names it. Costs one
 * pass over the bytes when anything is tainted, nothing otherwise. */
int cn__taint_find(const char *p, size_t n, cn__taint_hit *hit);

/* 1 when v, written as JSON, contains a server-only value or a tainted
 * object. */
int cn__taint_json(const json_t *v, cn__taint_hit *hit);

/* The sentence for a hit caught in where ("the rendered page", "the props
 * of island counter", ...), into buf. */
void cn__taint_describe(const cn__taint_hit *hit, const char *where,
                        char *buf, size_t cap);

/* Forget every needle (tests). Not safe while others read. */
void cn__taint_reset(void);

#endif
