/*
 * actions.h: Server Actions' security and plumbing, apart from pages:
 * action IDs, sealed bound arguments, the CSRF origin check, the form
 * validation rules and the client script.
 *
 * Keys. One 32-byte secret per process, chosen at start (cn__actions_init):
 * CAIRN_ACTIONS_KEY from the environment when set (so many instances accept
 * each other's forms), else the key `cairn build` generated for this build
 * (so IDs and sealed data differ between builds), else a random one. Two
 * subkeys are derived from it with HMAC-SHA256, one for IDs and one for
 * sealing, so an ID never helps forge a seal.
 *
 * IDs are HMAC(id key, "<file>#<name>") cut to 20 bytes, 40 hex digits:
 * unguessable, stable within a build, different across builds.
 *
 * Sealed arguments are AES-256-GCM: base64url(nonce 12 | ciphertext | tag
 * 16) of the JSON {"a": <action id>, "b": <bound value>}; the action ID
 * inside ties a seal to its action, so one form's arguments cannot be
 * replayed against another action.
 *
 * Thread safety: after cn__actions_init, every function may be called from
 * any thread.
 */
#ifndef CN_ACTIONS_H
#define CN_ACTIONS_H

#include "common/common.h"

#define CN__ACTION_ID_LEN 40

/* Choose the process's key. build_key_hex: the build's key (64 hex
 * digits), NULL when there is none. Returns 0; CN_ECONFIG with a sentence
 * on stderr when CAIRN_ACTIONS_KEY is set but is not 64 hex digits or
 * base64 of 32 bytes (a mistyped shared key must not silently become a
 * random one). */
int cn__actions_init(const char *build_key_hex);

/* A fingerprint of the process's key (16 hex digits, not the key): what
 * the build's prerendered pages were rendered with, compared at start.
 * OUT: out, NUL-terminated. */
void cn__actions_fingerprint(char out[17]);

/* The ID of action name declared by file ("app/signup/page.c"). OUT: out,
 * NUL-terminated. */
void cn__action_id(const char *file, const char *name,
                   char out[CN__ACTION_ID_LEN + 1]);

/* Seal bind (any JSON) for action id. OUT: appended to out (base64url, no
 * padding). 0 or CN_ENOMEM. */
int cn__action_seal(const char *id, const json_t *bind, cn__buf *out);

/* Open a sealed token for action id. OUT: *bind, a new reference. CN_EPARSE
 * for anything tampered, truncated, sealed with another key or for another
 * action; CN_ENOMEM. */
int cn__action_unseal(const char *id, cn_str token, json_t **bind);

/* CSRF: the request's Origin against its host. origin.ptr NULL: no Origin
 * header (allowed, the caller warns). Returns 1 when allowed: the origin's
 * host (with port) equals host, case-insensitively, or matches one of
 * allowed[0..n): exact hosts, "*" standing for exactly one label and "**"
 * for one or more labels, both in the leftmost place only; 0 when refused
 * ("null", unparsable origins included). */
int cn__action_origin_ok(cn_str origin, cn_str host,
                         const char *const *allowed, size_t n);

/* 1 when host matches pattern as above (exposed for tests). */
int cn__host_pattern(const char *pattern, cn_str host);

/* The client script, served at CN__ACTIONS_SCRIPT_PATH. Static. */
#define CN__ACTIONS_SCRIPT_PATH "/_cairn/actions.js"
const char *cn__actions_script(void);

#endif /* CN_ACTIONS_H */
