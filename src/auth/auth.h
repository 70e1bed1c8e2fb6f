/*
 * Who is asking: JSON Web Tokens verified against the issuers cairn.json
 * names ("auth"), and signed for the ones that hold a private key.
 *
 * Debian's libjwt (1.10) is used for the signature only, because it
 * trusts too much: it verifies with whatever algorithm the token's header
 * names (an HS256 token MACed with an RSA public key's PEM passes when
 * that PEM is the key; HS512 passes for HS256), a NULL key accepts any
 * token, and it checks no claim. So everything around the signature is
 * ours, in this order, each step refusing before the next runs:
 *   size cap → three base64url parts → header and payload parsed by
 *   jansson with duplicates rejected → "crit" refused → issuer looked up
 *   by "iss" → the header's "alg" equal to the one pinned for that issuer
 *   → a key of that algorithm's family (never empty) → libjwt's signature
 *   check → "exp" (required), "nbf", "iat", "aud", "sub" (required).
 *
 * Configuration is two steps because secrets may come from .env, which is
 * loaded after cairn.json: cn__auth_config_parse checks the shape when
 * cairn.json is read; cn__auth_start reads the secrets, key files and
 * JWKS, then makes the configuration the process's (one app per process,
 * as with the data layer). Both report every problem by name.
 *
 * Ownership: the configuration belongs to the library from parse to exit.
 * A request's identity lives in its arena; its claims are a jansson
 * reference dropped when the request is freed (cn__auth_req_done).
 */
#ifndef CN_AUTH_H
#define CN_AUTH_H

#include "cairn.h"
#include "common/common.h"

typedef struct cn__auth_key cn__auth_key;
typedef struct cn__issuer cn__issuer;

struct cn_auth_config {
  cn__issuer *issuers;
  size_t nissuers;
  const char *cookie;  /* read a token from this cookie too; NULL: none */
  int64_t skew_s;      /* clock skew allowed on exp/nbf/iat (60) */
  size_t max_token;    /* bytes (8 KiB) */
  int started;         /* cn__auth_start ran: keys are loaded */
};

/* The "auth" member of cairn.json. Shape only: names, algorithms, that
 * each issuer has one source of keys. OUT: *out, owned by the library
 * until exit. 0; CN_ECONFIG with the reason in err; CN_ENOMEM. */
int cn__auth_config_parse(const json_t *v, struct cn_auth_config **out,
                          char *err, size_t n);

/* Read every issuer's keys (secret, secret_env, public_key, private_key,
 * jwks; paths relative to the app, the working directory) and make cfg
 * the process's. Called by the runtime after .env is loaded; cfg NULL
 * leaves the process without auth (every token refused). 0; CN_ECONFIG
 * with the reason in err (a missing variable, an unreadable or wrong
 * key, a secret shorter than 32 bytes). */
int cn__auth_start(struct cn_auth_config *cfg, char *err, size_t n);

/* The process's configuration (NULL: none). */
const struct cn_auth_config *cn__auth_global(void);

/* Verify token (len bytes, not necessarily NUL-terminated) at time now
 * (unix seconds). OUT: *claims a new reference to the verified payload;
 * *why on refusal, a static phrase for the log. 0 or CN_EUNAUTH (any
 * refusal; also for a NULL cfg); CN_ENOMEM. */
int cn__auth_verify(const struct cn_auth_config *cfg, const char *token,
                    size_t len, int64_t now, json_t **claims,
                    const char **why);

/* Fill who from verified claims (borrowed: who points into them). */
void cn__auth_identity(const json_t *claims, cn_identity *who);

/* A key that tells identities apart (hex SHA-256 of issuer, subject and
 * the claims other than their times, which authorization may read), for
 * sharing work between callers who are the same. out: 65 bytes. */
int cn__auth_identity_key(const json_t *claims, char out[65]);

/* Sign claims as issuer iss (see cn_auth_sign). OUT: *token, heap,
 * cn__free. 0; CN_ENOENT (no such issuer, or it has no signing key);
 * CN_EINVAL (claims not an object); CN_ENOMEM. */
int cn__auth_sign(const struct cn_auth_config *cfg, const char *iss,
                  const json_t *claims, uint64_t ttl_s, int64_t now,
                  char **token);

/* Log a refusal (rate-limited: a flood of bad tokens must not become a
 * flood of log lines). */
void cn__auth_log(const char *where, const char *why);

/* The request is being freed: drop its identity's claims. */
void cn__auth_req_done(cn_req *req);

#endif
