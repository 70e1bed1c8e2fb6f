/* Inside src/auth: an issuer as configured and its keys once loaded. */
#ifndef CN_AUTH_INT_H
#define CN_AUTH_INT_H

#include <jwt.h>
#include <openssl/evp.h>

#include "auth/auth.h"

/* A verification key: an HS256 secret, or a public key as PEM text
 * (NUL-terminated, len without the NUL), which is what libjwt takes. */
struct cn__auth_key {
  char *kid; /* from a JWKS; NULL otherwise */
  unsigned char *mat;
  size_t len;
};

struct cn__issuer {
  char *iss;
  jwt_alg_t alg;        /* pinned: the only one its tokens may use */
  const char *alg_name; /* "HS256", "RS256" or "ES256" */
  char **aud;           /* audiences this app answers to */
  size_t naud;
  uint64_t ttl_s;       /* cn_auth_sign's default lifetime */
  /* where the keys come from (one of secret/secret_env/public_key/jwks;
   * private_key may go beside public_key or jwks, for signing) */
  char *secret, *secret_env, *public_key, *private_key, *jwks;
  cn__auth_key *keys;
  size_t nkeys;
  unsigned char *sign; /* the signing key (secret or private PEM) */
  size_t sign_len;
};

/* The issuer named iss, or NULL. */
const cn__issuer *cn__auth_issuer(const struct cn_auth_config *cfg,
                                  const char *iss);

/* 1 when pkey may verify (or sign) for is: RSA of 2048 bits or more for
 * RS256, EC on P-256 for ES256. */
int cn__auth_key_fits(const cn__issuer *is, EVP_PKEY *pkey);

/* PEM text of pkey's public (priv 0) or private half. OUT: *mat (heap,
 * NUL-terminated), *len. 0 or CN_ENOMEM. */
int cn__auth_pem(EVP_PKEY *pkey, int priv, unsigned char **mat, size_t *len);

/* JWKS text into PEM keys of iss's family. OUT: iss->keys. 0; CN_ECONFIG
 * with the reason in err. */
int cn__auth_jwks(cn__issuer *iss, const char *text, size_t len, char *err,
                  size_t n);

#endif
