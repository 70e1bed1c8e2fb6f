/*
 * Verifying and signing JWTs. The order of the checks in cn__auth_verify
 * is the design (auth.h): nothing the token says is believed before the
 * step that vouches for it, and libjwt sees a token only once its
 * algorithm is the one pinned for its issuer and its key is that
 * algorithm's.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "auth/auth_int.h"

/* One base64url part holding a JSON object, parsed strictly. A NUL byte
 * is refused: jansson reads past it and libjwt stops at it, and two
 * readings of one token are one too many. */
static json_t *json_part(const char *p, size_t n) {
  cn__buf raw = {0};
  json_t *o = NULL;
  if (!cn__b64url_decode(cn__str(p, n), &raw) &&
      !memchr(raw.ptr, '\0', raw.len))
    o = json_loadb(raw.ptr, raw.len, JSON_REJECT_DUPLICATES, NULL);
  cn__buf_free(&raw);
  if (o && !json_is_object(o)) {
    json_decref(o);
    o = NULL;
  }
  return o;
}

/* The key of is that may verify a token whose header is h. */
static const cn__auth_key *pick_key(const cn__issuer *is, const json_t *h,
                                    const char **why) {
  const json_t *kidv = json_object_get(h, "kid");
  const char *kid = json_string_value(kidv);
  if (kidv && !kid) {
    *why = "its key id is not a string";
    return NULL;
  }
  for (size_t i = 0; i < is->nkeys; i++)
    if (kid ? is->keys[i].kid && !strcmp(is->keys[i].kid, kid)
            : is->nkeys == 1)
      return &is->keys[i];
  /* One key without a name answers to any kid: a PEM file names none. */
  if (kid && is->nkeys == 1 && !is->keys[0].kid)
    return &is->keys[0];
  *why = kid ? "no key of its issuer has its key id"
             : "its issuer has several keys and it names none (kid)";
  return NULL;
}

static int signature_ok(const cn__issuer *is, const cn__auth_key *k,
                        const char *token, size_t len) {
  if (!k->mat || !k->len) /* libjwt accepts anything with no key */
    return 0;
  char *copy = cn__malloc(len + 1);
  if (!copy)
    return CN_ENOMEM;
  memcpy(copy, token, len);
  copy[len] = '\0';
  jwt_t *j = NULL;
  int ok = jwt_decode(&j, copy, k->mat, (int)k->len) == 0 && j &&
           jwt_get_alg(j) == is->alg;
  jwt_free(j);
  cn__free(copy);
  return ok;
}

static int is_time(const json_t *v) { return json_is_number(v); }

/* The claims' checks, once the signature holds. */
static const char *claims_refusal(const cn__issuer *is, const json_t *c,
                                  int64_t now, int64_t skew) {
  const json_t *exp = json_object_get(c, "exp");
  const json_t *nbf = json_object_get(c, "nbf");
  const json_t *iat = json_object_get(c, "iat");
  const json_t *aud = json_object_get(c, "aud");
  const char *sub = json_string_value(json_object_get(c, "sub"));
  if (!is_time(exp))
    return "it has no expiry (exp)";
  if ((double)now > json_number_value(exp) + (double)skew)
    return "it has expired";
  if (nbf && !is_time(nbf))
    return "its nbf is not a time";
  if (nbf && json_number_value(nbf) > (double)(now + skew))
    return "it is not valid yet (nbf)";
  if (iat && !is_time(iat))
    return "its iat is not a time";
  if (iat && json_number_value(iat) > (double)(now + skew))
    return "it was issued in the future (iat)";
  if (!sub || !*sub || strlen(sub) > 1024)
    return "it has no subject (sub)";
  if (!aud)
    return is->naud ? "it names no audience (aud)" : NULL;
  /* RFC 7519 §4.1.3: a token that names audiences is for them only. */
  size_t n = json_is_array(aud) ? json_array_size(aud) : 1;
  for (size_t i = 0; i < n; i++) {
    const char *a =
        json_string_value(json_is_array(aud) ? json_array_get(aud, i) : aud);
    if (!a)
      return "its audience is not a string";
    for (size_t k = 0; k < is->naud; k++)
      if (!strcmp(a, is->aud[k]))
        return NULL;
  }
  return "it is for another audience (aud)";
}

int cn__auth_verify(const struct cn_auth_config *cfg, const char *token,
                    size_t len, int64_t now, json_t **claims,
                    const char **why) {
  json_t *h = NULL, *c = NULL;
  const cn__issuer *is = NULL;
  const cn__auth_key *k = NULL;
  const char *d1 = token ? memchr(token, '.', len) : NULL;
  const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token))
                      : NULL;
  const char *end = token + len;
  *claims = NULL;
  *why = NULL;
  if (!cfg || !cfg->started)
    *why = "no issuer is configured";
  else if (!len)
    *why = "it is empty";
  else if (len > cfg->max_token)
    *why = "it is larger than auth.max_token";
  else if (!d2 || memchr(d2 + 1, '.', (size_t)(end - d2 - 1)))
    *why = "it is not three base64url parts";
  else if (d2 + 1 == end)
    *why = "it has no signature"; /* "alg": "none" ends here too */
  else if (!(h = json_part(token, (size_t)(d1 - token))) ||
           !(c = json_part(d1 + 1, (size_t)(d2 - d1 - 1))))
    *why = "its header or payload is not a JSON object in base64url";
  if (*why)
    goto refuse;
  const char *alg = json_string_value(json_object_get(h, "alg"));
  const json_t *typ = json_object_get(h, "typ");
  if (json_object_get(h, "crit"))
    *why = "it has critical extensions (crit)";
  /* Not RFC 9068's "at+jwt" either: libjwt 1.10 refuses any typ but JWT
   * after the signature checks out, and the reason would read as a bad
   * signature. */
  else if (typ && (!json_is_string(typ) ||
                   strcasecmp(json_string_value(typ), "JWT")))
    *why = "its type (typ) is not JWT";
  else if (!(is = cn__auth_issuer(
                 cfg, json_string_value(json_object_get(c, "iss")))))
    *why = "its issuer (iss) is not configured";
  else if (!alg || strcmp(alg, is->alg_name))
    *why = "its algorithm is not the one its issuer uses";
  else if (!(k = pick_key(is, h, why)))
    ;
  else {
    int ok = signature_ok(is, k, token, len);
    if (ok < 0) {
      json_decref(h);
      json_decref(c);
      return ok;
    }
    if (!ok)
      *why = "its signature does not verify";
    else
      *why = claims_refusal(is, c, now, cfg->skew_s);
  }
  if (*why)
    goto refuse;
  json_decref(h);
  *claims = c;
  return 0;
refuse:
  json_decref(h);
  json_decref(c);
  return CN_EUNAUTH;
}

/* ------------------------------------------------------------ identity */

void cn__auth_identity(const json_t *claims, cn_identity *who) {
  memset(who, 0, sizeof *who);
  who->subject = json_string_value(json_object_get(claims, "sub"));
  who->issuer = json_string_value(json_object_get(claims, "iss"));
  who->claims = claims;
  const json_t *exp = json_object_get(claims, "exp");
  who->expires = json_is_number(exp) ? (int64_t)json_number_value(exp) : 0;
}

int cn__auth_identity_key(const json_t *claims, char out[65]) {
  static const char *const times[] = {"exp", "iat", "nbf", "jti"};
  json_t *c = json_copy((json_t *)claims);
  if (!c)
    return CN_ENOMEM;
  for (size_t i = 0; i < CN__ARRAY_LEN(times); i++)
    json_object_del(c, times[i]);
  char *text = json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref(c);
  if (!text)
    return CN_ENOMEM;
  unsigned char md[32];
  unsigned int mdlen = 0;
  int ok = EVP_Digest(text, strlen(text), md, &mdlen, EVP_sha256(), NULL);
  free(text);
  if (ok != 1 || mdlen != sizeof md)
    return CN_ENOMEM;
  for (size_t i = 0; i < sizeof md; i++)
    snprintf(out + 2 * i, 3, "%02x", md[i]);
  return 0;
}

/* ------------------------------------------------------------- signing */

int cn__auth_sign(const struct cn_auth_config *cfg, const char *iss,
                  const json_t *claims, uint64_t ttl_s, int64_t now,
                  char **token) {
  *token = NULL;
  const cn__issuer *is = cn__auth_issuer(cfg, iss);
  if (!is || !is->sign || !cfg->started)
    return CN_ENOENT;
  if (claims && !json_is_object(claims))
    return CN_EINVAL;
  if (!ttl_s)
    ttl_s = is->ttl_s;
  json_t *c = claims ? json_deep_copy(claims) : json_object();
  int rc = CN_ENOMEM;
  char *text = NULL, *signed_ = NULL;
  jwt_t *j = NULL;
  if (!c || json_object_set_new(c, "iss", json_string(is->iss)) ||
      json_object_set_new(c, "iat", json_integer(now)) ||
      json_object_set_new(c, "exp", json_integer(now + (int64_t)ttl_s)))
    goto cleanup;
  if (is->naud == 1 && !json_object_get(c, "aud") &&
      json_object_set_new(c, "aud", json_string(is->aud[0])))
    goto cleanup;
  if (!(text = json_dumps(c, JSON_COMPACT)) || jwt_new(&j) ||
      jwt_add_grants_json(j, text) ||
      jwt_set_alg(j, is->alg, is->sign, (int)is->sign_len) ||
      !(signed_ = jwt_encode_str(j)))
    goto cleanup;
  if ((*token = cn__strdup(signed_)))
    rc = 0;
cleanup:
  free(signed_);
  free(text);
  jwt_free(j);
  json_decref(c);
  return rc;
}
