/*
 * fuzz_jwt: tokens through cn__auth_verify against an HS256 issuer "f"
 * with audience "app" and a skew of 60 s, with two oracles written from
 * the contract in auth.h rather than from the code:
 *   - first byte even: the rest is a token as sent. If it is accepted,
 *     it is three parts whose header says exactly HS256 and whose
 *     signature is the HMAC we compute here over the first two.
 *   - first byte odd: the rest is "header JSON \0 payload JSON", which
 *     the harness signs correctly. Accepted exactly when the claims hold
 *     (checked here); a correct signature is never the reason for a
 *     refusal.
 * Seeds: fuzz/corpus/jwt/.
 */
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/auth_int.h"

#define SECRET "fuzzing-secret-of-at-least-32-bytes"
#define NOW ((int64_t)1800000000)

static struct cn_auth_config *cfg;

static const char *str(const json_t *v) {
  const char *s = json_string_value(v);
  return s ? s : "";
}

static void setup(void) {
  json_t *v = json_pack(
      "{s:[{s:s,s:s,s:s,s:s}]}", "issuers", "issuer", "f", "algorithm",
      "HS256", "secret", SECRET, "audience", "app");
  if (cn__auth_config_parse(v, &cfg, NULL, 0) ||
      cn__auth_start(cfg, NULL, 0))
    abort();
  json_decref(v);
}

static void mac(const char *p, size_t n, cn__buf *out) {
  unsigned char sig[32];
  unsigned int l = 0;
  HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), (const unsigned char *)p,
       n, sig, &l);
  cn__b64url_encode(sig, l, out);
}

static json_t *part(const char *p, size_t n) {
  cn__buf raw = {0};
  json_t *o = NULL;
  if (!cn__b64url_decode(cn__str(p, n), &raw))
    o = json_loadb(raw.ptr, raw.len, JSON_REJECT_DUPLICATES, NULL);
  cn__buf_free(&raw);
  return o;
}

static void check_token(const char *t, size_t n) {
  json_t *claims = NULL;
  const char *why = NULL;
  if (cn__auth_verify(cfg, t, n, NOW, &claims, &why))
    return;
  const char *d1 = memchr(t, '.', n), *d2 = d1 ? memchr(d1 + 1, '.',
                                                       n - (size_t)(d1 + 1 - t))
                                               : NULL;
  if (!d2)
    abort();
  json_t *h = part(t, (size_t)(d1 - t));
  if (!h || strcmp(str(json_object_get(h, "alg")),
                   "HS256"))
    abort();
  cn__buf want = {0};
  mac(t, (size_t)(d2 - t), &want);
  if (want.len != (size_t)(t + n - d2 - 1) || memcmp(want.ptr, d2 + 1,
                                                       want.len))
    abort();
  cn__buf_free(&want);
  json_decref(h);
  json_decref(claims);
}

static int num_le(const json_t *v, double bound) {
  return json_is_number(v) && json_number_value(v) <= bound;
}

/* What auth.h promises about claims, written independently. */
static int claims_hold(const json_t *h, const json_t *c) {
  const json_t *typ = json_object_get(h, "typ"), *aud;
  if (!json_is_object(h) || !json_is_object(c) ||
      strcmp(str(json_object_get(h, "alg")), "HS256") ||
      json_object_get(h, "crit"))
    return 0;
  if (typ && (!json_is_string(typ) || strcasecmp(json_string_value(typ), "jwt")))
    return 0;
  if (json_object_get(h, "kid") && !json_is_string(json_object_get(h, "kid")))
    return 0;
  if (strcmp(str(json_object_get(c, "iss")), "f"))
    return 0;
  const char *sub = json_string_value(json_object_get(c, "sub"));
  if (!sub || !*sub || strlen(sub) > 1024)
    return 0;
  const json_t *exp = json_object_get(c, "exp");
  if (!json_is_number(exp) || json_number_value(exp) + 60 < (double)NOW)
    return 0;
  if (json_object_get(c, "nbf") && !num_le(json_object_get(c, "nbf"), NOW + 60))
    return 0;
  if (json_object_get(c, "iat") && !num_le(json_object_get(c, "iat"), NOW + 60))
    return 0;
  if (!(aud = json_object_get(c, "aud")))
    return 0;
  if (json_is_string(aud))
    return !strcmp(json_string_value(aud), "app");
  /* an array: every member a string until one is "app" */
  for (size_t i = 0; json_is_array(aud) && i < json_array_size(aud); i++) {
    const char *a = json_string_value(json_array_get(aud, i));
    if (!a)
      return 0;
    if (!strcmp(a, "app"))
      return 1;
  }
  return 0;
}

static void check_claims(const char *p, size_t n) {
  const char *nul = memchr(p, 0, n);
  if (!nul)
    return;
  cn__buf t = {0};
  cn__b64url_encode(p, (size_t)(nul - p), &t);
  cn__buf_append(&t, ".", 1);
  cn__b64url_encode(nul + 1, n - (size_t)(nul + 1 - p), &t);
  size_t signed_len = t.len;
  cn__buf_append(&t, ".", 1);
  mac(t.ptr, signed_len, &t);
  json_t *h = json_loadb(p, (size_t)(nul - p), JSON_REJECT_DUPLICATES, NULL);
  json_t *c = json_loadb(nul + 1, n - (size_t)(nul + 1 - p),
                         JSON_REJECT_DUPLICATES, NULL);
  json_t *claims = NULL;
  const char *why = NULL;
  int rc = cn__auth_verify(cfg, t.ptr, t.len, NOW, &claims, &why);
  /* a NUL inside either part is refused, whatever jansson makes of it */
  size_t plen = n - (size_t)(nul + 1 - p);
  int want = t.len <= cfg->max_token && !memchr(nul + 1, 0, plen) &&
             claims_hold(h, c);
  if ((rc == 0) != want) {
    fprintf(stderr, "cairn says %s, the contract says %s\n",
            rc ? (why ? why : "refused") : "accepted",
            want ? "accept" : "refuse");
    abort();
  }
  if (why && !strcmp(why, "its signature does not verify"))
    abort();
  json_decref(claims);
  json_decref(h);
  json_decref(c);
  cn__buf_free(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!cfg)
    setup();
  if (size < 1 || size > 16384)
    return 0;
  if (data[0] & 1)
    check_claims((const char *)data + 1, size - 1);
  else
    check_token((const char *)data + 1, size - 1);
  return 0;
}
