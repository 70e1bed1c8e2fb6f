/*
 * A JSON Web Key Set (RFC 7517) read at start into the PEM keys libjwt
 * takes. An identity provider publishes keys of several kinds in one set;
 * only those of the issuer's pinned family are kept (RSA for RS256, EC
 * P-256 for ES256), and a key that names another "alg" or a use other
 * than "sig" is left out, so that a key can never be used for what its
 * owner did not mean it for. A set with no usable key is an error.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/param_build.h>

#include "auth/auth_int.h"

/* A base64url member of a JWK as bytes. */
static int member_bytes(const json_t *k, const char *name, cn__buf *out) {
  const char *s = json_string_value(json_object_get(k, name));
  if (!s || !*s)
    return CN_EPARSE;
  return cn__b64url_decode(cn__cstr(s), out);
}

static EVP_PKEY *from_params(const char *type, OSSL_PARAM_BLD *bld) {
  OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
  EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
  EVP_PKEY *pkey = NULL;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
      EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
    pkey = NULL;
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  return pkey;
}

static EVP_PKEY *rsa_key(const json_t *k) {
  cn__buf n = {0}, e = {0};
  BIGNUM *bn = NULL, *be = NULL;
  OSSL_PARAM_BLD *bld = NULL;
  EVP_PKEY *pkey = NULL;
  if (member_bytes(k, "n", &n) || member_bytes(k, "e", &e))
    goto cleanup;
  bn = BN_bin2bn((unsigned char *)n.ptr, (int)n.len, NULL);
  be = BN_bin2bn((unsigned char *)e.ptr, (int)e.len, NULL);
  if (!bn || !be || !(bld = OSSL_PARAM_BLD_new()) ||
      !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
      !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be))
    goto cleanup;
  pkey = from_params("RSA", bld);
cleanup:
  OSSL_PARAM_BLD_free(bld);
  BN_free(bn);
  BN_free(be);
  cn__buf_free(&n);
  cn__buf_free(&e);
  return pkey;
}

static EVP_PKEY *ec_key(const json_t *k) {
  cn__buf x = {0}, y = {0};
  OSSL_PARAM_BLD *bld = NULL;
  EVP_PKEY *pkey = NULL;
  unsigned char point[65];
  const char *crv = json_string_value(json_object_get(k, "crv"));
  if (!crv || strcmp(crv, "P-256") || member_bytes(k, "x", &x) ||
      member_bytes(k, "y", &y) || x.len != 32 || y.len != 32)
    goto cleanup;
  point[0] = 0x04; /* uncompressed: x then y */
  memcpy(point + 1, x.ptr, 32);
  memcpy(point + 33, y.ptr, 32);
  if (!(bld = OSSL_PARAM_BLD_new()) ||
      !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
                                       "prime256v1", 0) ||
      !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point,
                                        sizeof point))
    goto cleanup;
  pkey = from_params("EC", bld);
cleanup:
  OSSL_PARAM_BLD_free(bld);
  cn__buf_free(&x);
  cn__buf_free(&y);
  return pkey;
}

/* 1 when k is meant for is's algorithm, as far as k says. */
static int meant_for(const cn__issuer *is, const json_t *k) {
  const char *kty = json_string_value(json_object_get(k, "kty"));
  const char *alg = json_string_value(json_object_get(k, "alg"));
  const char *use = json_string_value(json_object_get(k, "use"));
  const char *want = is->alg == JWT_ALG_RS256 ? "RSA" : "EC";
  if (!kty || strcmp(kty, want))
    return 0;
  if (json_object_get(k, "alg") && (!alg || strcmp(alg, is->alg_name)))
    return 0;
  return !json_object_get(k, "use") || (use && !strcmp(use, "sig"));
}

int cn__auth_jwks(cn__issuer *is, const char *text, size_t len, char *err,
                  size_t n) {
  json_error_t je;
  json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
  json_t *keys = json_object_get(doc, "keys");
  int rc = 0;
  if (!json_is_array(keys)) {
    snprintf(err, n, "auth: %s: a JWKS is an object with \"keys\": [...]%s%s",
             is->jwks, doc ? "" : ": ", doc ? "" : je.text);
    rc = CN_ECONFIG;
    goto cleanup;
  }
  if (!(is->keys = cn__calloc(json_array_size(keys) + 1, sizeof *is->keys))) {
    rc = CN_ENOMEM;
    goto cleanup;
  }
  for (size_t i = 0; i < json_array_size(keys); i++) {
    const json_t *k = json_array_get(keys, i);
    if (!json_is_object(k) || !meant_for(is, k))
      continue;
    EVP_PKEY *pkey = is->alg == JWT_ALG_RS256 ? rsa_key(k) : ec_key(k);
    if (!pkey || !cn__auth_key_fits(is, pkey)) {
      EVP_PKEY_free(pkey);
      snprintf(err, n, "auth: %s: key %zu is not a valid %s key", is->jwks,
               i, is->alg_name);
      rc = CN_ECONFIG;
      goto cleanup;
    }
    cn__auth_key *dst = &is->keys[is->nkeys];
    const char *kid = json_string_value(json_object_get(k, "kid"));
    rc = cn__auth_pem(pkey, 0, &dst->mat, &dst->len);
    EVP_PKEY_free(pkey);
    if (rc)
      goto cleanup;
    is->nkeys++;
    if (kid && !(dst->kid = cn__strdup(kid))) {
      rc = CN_ENOMEM;
      goto cleanup;
    }
  }
  if (!is->nkeys) {
    snprintf(err, n, "auth: %s holds no %s signing key", is->jwks,
             is->alg_name);
    rc = CN_ECONFIG;
  }
cleanup:
  json_decref(doc);
  return rc;
}
