/*
 * env.h: .env files, loaded the way Next.js loads them.
 *
 * An app keeps its settings in .env files beside cairn.json; the server reads
 * them with cn_env("NAME") (cairn.h), which is getenv: the files only add
 * variables the process environment does not already have. The order, first
 * found wins (Next.js's, from @next/env):
 *
 *   1. the process environment
 *   2. .env.<mode>.local
 *   3. .env.local            (not in the test mode: tests must not depend
 *                             on one developer's machine)
 *   4. .env.<mode>
 *   5. .env
 *
 * mode is "development" for `cairn dev`, "production" for `cairn start` and a
 * built server, and "test" whenever NODE_ENV or CAIRN_ENV is "test".
 *
 * The syntax is dotenv's (the npm package Next.js uses): KEY=value lines, an
 * optional `export ` prefix, `KEY: value` too, '#' comments (a '#' ends an
 * unquoted value), values in '...', "..." or `...` that may span lines, "\n"
 * and "\r" turned into control characters inside "..." only; lines that are
 * not assignments are skipped, never an error. Then dotenv-expand's
 * substitution: $NAME, ${NAME}, ${NAME:-default}, ${NAME-default},
 * ${NAME:+alt}, ${NAME+alt}, "\$" for a literal '$'. A name is looked up in
 * the process environment (which by then holds what files of higher
 * precedence set), then among the keys earlier in the same file.
 *
 * Who owns what: cn__env_read fills a cn__env the caller owns and frees with
 * cn__env_free; nothing global changes until cn__env_apply. `cairn dev`
 * reads into a cn__env and hands the variables to its server process without
 * touching its own environment; cn_main reads and applies before threads
 * start (setenv is not thread-safe).
 */
#ifndef CN_ENV_H
#define CN_ENV_H

#include <stddef.h>

#include "common/common.h"

/* One assignment of a dotenv file, as parsed (before expansion). */
typedef int cn__env_visit_fn(const char *key, size_t keylen,
                             const char *value, size_t valuelen, void *ud);

/* Parse dotenv text, calling visit for each assignment in file order (a key
 * repeated later in the file is visited again: the caller keeps the last).
 * value is unquoted and, for "...", has \n and \r turned into control
 * characters; it is not NUL-terminated. A non-zero return from visit stops
 * the walk and is returned. The text need not be NUL-terminated; a NUL byte
 * ends the line it is on, as it ends a C string. Returns 0 otherwise: dotenv
 * has no syntax errors. */
int cn__env_parse(const char *text, size_t len, cn__env_visit_fn *visit,
                  void *ud);

/* Expand $NAME references in value (the rules at the top). lookup(name, ud)
 * gives a variable's value or NULL; names are looked up as NUL-terminated
 * strings. OUT: *out, a NUL-terminated cn__malloc'd string the caller frees.
 * Expansion re-scans its own result (as dotenv-expand does) and gives up
 * after 64 substitutions of one value, so a self-reference cannot loop.
 * 0 or CN_ENOMEM. */
typedef const char *cn__env_lookup_fn(const char *name, void *ud);
int cn__env_expand(const char *value, size_t len, cn__env_lookup_fn *lookup,
                   void *ud, char **out);

typedef struct cn__env_var {
  char *key, *value; /* NUL-terminated, owned by the cn__env */
} cn__env_var;

typedef struct cn__env {
  cn__env_var *vars; /* what the files add, in the order they were found */
  size_t nvars, capvars;
  const char *files[4]; /* the files loaded, highest precedence first
                           (static names such as ".env.local") */
  size_t nfiles;
} cn__env;

/* "test" when NODE_ENV or CAIRN_ENV is "test" in environ (NULL: the
 * process's), else "development" when dev, else "production". Static. */
const char *cn__env_mode(int dev, char *const *environ_in);

/* Read the .env files of dir for mode (see the top) into out, which the
 * caller zeroes first and frees with cn__env_free. environ_in is the process
 * environment to respect (NULL: the process's own): keys it has are left
 * out. A file that does not exist is skipped; one that exists but cannot be
 * read is CN_EIO with the file named in err. 0, CN_EIO or CN_ENOMEM; on
 * error out holds what was read so far (free it all the same). */
int cn__env_read(cn__env *out, const char *dir, const char *mode,
                 char *const *environ_in, char *err, size_t errlen);

/* Set every variable of env in the process environment, never replacing
 * one that is set. Call before any thread starts. 0 or CN_ENOMEM. */
int cn__env_apply(const cn__env *env);

/* The value env gives key (NULL when it has none). */
const char *cn__env_get(const cn__env *env, const char *key);

void cn__env_free(cn__env *env);

/* Read and apply in one go, for a server starting (cn_main): the mode from
 * dev and the process environment, then the files of dir. Prints nothing.
 * OUT: *loaded_out, when not NULL, gets what was read (the names of the
 * files, to print them), freed by the caller with cn__env_free, also on
 * error. Returns what cn__env_read or cn__env_apply returned. */
int cn__env_load(const char *dir, int dev, cn__env *loaded_out, char *err,
                 size_t errlen);

#endif /* CN_ENV_H */
