/*
 * The "auth" member of cairn.json and the keys it names:
 *
 *   "auth": {
 *     "cookie": "session",          a token may come in this cookie too
 *     "clock_skew": 60,             seconds allowed on exp, nbf, iat
 *     "max_token": "8kb",
 *     "issuers": [
 *       {"issuer": "https://id.example", "algorithm": "RS256",
 *        "jwks": "keys/jwks.json", "audience": ["app"]},
 *       {"issuer": "cairn-example", "algorithm": "HS256",
 *        "secret_env": "AUTH_SECRET", "ttl": 3600}
 *     ]
 *   }
 *
 * An HS256 issuer has a secret (secret or secret_env); an RS256 or ES256
 * issuer has public_key, jwks or private_key (the public key is derived
 * from it), and private_key beside either to sign. Anything else is an
 * error that names the key, at start, not at the first request.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "auth/auth_int.h"

static const struct cn_auth_config *the_config;

const struct cn_auth_config *cn__auth_global(void) { return the_config; }

const cn__issuer *cn__auth_issuer(const struct cn_auth_config *cfg,
                                  const char *iss) {
  for (size_t i = 0; cfg && iss && i < cfg->nissuers; i++)
    if (!strcmp(cfg->issuers[i].iss, iss))
      return &cfg->issuers[i];
  return NULL;
}

/* ------------------------------------------------------------- freeing */

static void free_keys(cn__issuer *is) {
  for (size_t k = 0; k < is->nkeys; k++) {
    cn__free(is->keys[k].kid);
    if (is->keys[k].mat)
      OPENSSL_cleanse(is->keys[k].mat, is->keys[k].len);
    cn__free(is->keys[k].mat);
  }
  cn__free(is->keys);
  if (is->sign)
    OPENSSL_cleanse(is->sign, is->sign_len);
  cn__free(is->sign);
  is->keys = NULL;
  is->nkeys = 0;
  is->sign = NULL;
}

static void config_free(struct cn_auth_config *c) {
  if (!c)
    return;
  for (size_t i = 0; i < c->nissuers; i++) {
    cn__issuer *is = &c->issuers[i];
    free_keys(is);
    for (size_t a = 0; a < is->naud; a++)
      cn__free(is->aud[a]);
    cn__free(is->aud);
    cn__free(is->iss);
    cn__free(is->secret);
    cn__free(is->secret_env);
    cn__free(is->public_key);
    cn__free(is->private_key);
    cn__free(is->jwks);
  }
  cn__free(c->issuers);
  cn__free((char *)c->cookie);
  cn__free(c);
}

/* Configurations parsed in this process, released at exit so that leak
 * checkers see a clean process (the header promises them for its life). */
static struct cn_auth_config **parsed;
static size_t nparsed;

static void free_parsed(void) {
  for (size_t i = 0; i < nparsed; i++)
    config_free(parsed[i]);
  cn__free(parsed);
}

static int remember(struct cn_auth_config *c) {
  struct cn_auth_config **g =
      cn__realloc(parsed, (nparsed + 1) * sizeof *parsed);
  if (!g)
    return CN_ENOMEM;
  if (!nparsed)
    atexit(free_parsed);
  parsed = g;
  parsed[nparsed++] = c;
  return 0;
}

/* ------------------------------------------------------------- parsing */

static int bad(char *err, size_t n, const char *fmt, const char *what) {
  if (err)
    snprintf(err, n, fmt, what);
  return CN_ECONFIG;
}

static int copy_str(const json_t *v, const char *key, char **out, char *err,
                    size_t n) {
  if (!json_is_string(v) || !json_string_length(v))
    return bad(err, n, "cairn.json: \"auth.issuers[].%s\" must be a "
                       "non-empty string", key);
  return (*out = cn__strdup(json_string_value(v))) ? 0 : CN_ENOMEM;
}

static int parse_audience(cn__issuer *is, const json_t *v, char *err,
                          size_t n) {
  size_t count = json_is_array(v) ? json_array_size(v) : 1;
  if (!(is->aud = cn__calloc(count ? count : 1, sizeof *is->aud)))
    return CN_ENOMEM;
  for (size_t i = 0; i < count; i++) {
    const json_t *a = json_is_array(v) ? json_array_get(v, i) : v;
    int rc = copy_str(a, "audience", &is->aud[is->naud], err, n);
    if (rc)
      return rc;
    is->naud++;
  }
  return 0;
}

static int parse_alg(cn__issuer *is, const json_t *v, char *err, size_t n) {
  static const struct {
    const char *name;
    jwt_alg_t alg;
  } algs[] = {{"HS256", JWT_ALG_HS256},
              {"RS256", JWT_ALG_RS256},
              {"ES256", JWT_ALG_ES256}};
  const char *s = json_string_value(v);
  for (size_t i = 0; s && i < CN__ARRAY_LEN(algs); i++)
    if (!strcmp(s, algs[i].name)) {
      is->alg = algs[i].alg;
      is->alg_name = algs[i].name;
      return 0;
    }
  return bad(err, n, "cairn.json: \"auth.issuers[].%s\" must be \"HS256\", "
                     "\"RS256\" or \"ES256\"", "algorithm");
}

static int parse_issuer(cn__issuer *is, const json_t *o, char *err,
                        size_t n) {
  const char *k;
  json_t *v;
  int rc = 0;
  if (!json_is_object(o))
    return bad(err, n, "cairn.json: \"auth.%s\" must hold objects",
               "issuers");
  is->ttl_s = 3600;
  json_object_foreach((json_t *)o, k, v) {
    if (!strcmp(k, "issuer"))
      rc = copy_str(v, k, &is->iss, err, n);
    else if (!strcmp(k, "algorithm"))
      rc = parse_alg(is, v, err, n);
    else if (!strcmp(k, "audience"))
      rc = parse_audience(is, v, err, n);
    else if (!strcmp(k, "secret"))
      rc = copy_str(v, k, &is->secret, err, n);
    else if (!strcmp(k, "secret_env"))
      rc = copy_str(v, k, &is->secret_env, err, n);
    else if (!strcmp(k, "public_key"))
      rc = copy_str(v, k, &is->public_key, err, n);
    else if (!strcmp(k, "private_key"))
      rc = copy_str(v, k, &is->private_key, err, n);
    else if (!strcmp(k, "jwks"))
      rc = copy_str(v, k, &is->jwks, err, n);
    else if (!strcmp(k, "ttl")) {
      if (!json_is_integer(v) || json_integer_value(v) < 1)
        rc = bad(err, n, "cairn.json: \"auth.issuers[].%s\" must be a "
                         "number of seconds >= 1", k);
      else
        is->ttl_s = (uint64_t)json_integer_value(v);
    } else
      rc = bad(err, n, "cairn.json: unknown key \"auth.issuers[].%s\"", k);
    if (rc)
      return rc;
  }
  if (!is->iss)
    return bad(err, n, "cairn.json: an auth issuer needs \"%s\"", "issuer");
  if (!is->alg_name)
    return bad(err, n, "cairn.json: auth issuer \"%s\" needs \"algorithm\"",
               is->iss);
  int hs = is->alg == JWT_ALG_HS256;
  int secrets = !!is->secret + !!is->secret_env;
  int pubs = !!is->public_key + !!is->jwks;
  if (hs && (secrets != 1 || pubs || is->private_key))
    return bad(err, n, "cairn.json: auth issuer \"%s\" (HS256) needs one of "
                       "\"secret\" or \"secret_env\", and no key files",
               is->iss);
  if (!hs && (secrets || pubs > 1 || (!pubs && !is->private_key)))
    return bad(err, n, "cairn.json: auth issuer \"%s\" needs one of "
                       "\"public_key\", \"jwks\" or \"private_key\" (and no "
                       "secret)", is->iss);
  return 0;
}

static int parse_top(struct cn_auth_config *c, const json_t *v, char *err,
                     size_t n) {
  const char *k;
  json_t *x;
  int rc = 0;
  json_object_foreach((json_t *)v, k, x) {
    if (!strcmp(k, "cookie")) {
      if (!json_is_string(x) || !json_string_length(x))
        return bad(err, n, "cairn.json: \"auth.%s\" must be a cookie name",
                   k);
      if (!(c->cookie = cn__strdup(json_string_value(x))))
        return CN_ENOMEM;
    } else if (!strcmp(k, "clock_skew")) {
      if (!json_is_integer(x) || json_integer_value(x) < 0 ||
          json_integer_value(x) > 3600)
        return bad(err, n, "cairn.json: \"auth.%s\" must be seconds from 0 "
                           "to 3600", k);
      c->skew_s = json_integer_value(x);
    } else if (!strcmp(k, "max_token")) {
      size_t sz = 0;
      if (json_is_integer(x) && json_integer_value(x) > 0)
        sz = (size_t)json_integer_value(x);
      else if (json_is_string(x) &&
               cn__parse_size(json_string_value(x), &sz))
        sz = 0;
      if (sz < 256 || sz > (1u << 20))
        return bad(err, n, "cairn.json: \"auth.%s\" must be a size from 256 "
                           "bytes to 1mb", k);
      c->max_token = sz;
    } else if (!strcmp(k, "issuers")) {
      if (!json_is_array(x) || !json_array_size(x))
        return bad(err, n, "cairn.json: \"auth.%s\" must be a non-empty "
                           "array", k);
      if (!(c->issuers = cn__calloc(json_array_size(x), sizeof *c->issuers)))
        return CN_ENOMEM;
      for (size_t i = 0; i < json_array_size(x); i++) {
        cn__issuer *is = &c->issuers[c->nissuers++];
        if ((rc = parse_issuer(is, json_array_get(x, i), err, n)))
          return rc;
        if (cn__auth_issuer(c, is->iss) != is)
          return bad(err, n, "cairn.json: auth issuer \"%s\" is listed "
                             "twice", is->iss);
      }
    } else {
      return bad(err, n, "cairn.json: unknown key \"auth.%s\"", k);
    }
  }
  if (!c->nissuers)
    return bad(err, n, "cairn.json: \"auth\" needs \"%s\"", "issuers");
  return 0;
}

int cn__auth_config_parse(const json_t *v, struct cn_auth_config **out,
                          char *err, size_t n) {
  *out = NULL;
  if (!json_is_object(v))
    return bad(err, n, "cairn.json: \"%s\" must be an object", "auth");
  struct cn_auth_config *c = cn__calloc(1, sizeof *c);
  if (!c)
    return CN_ENOMEM;
  c->skew_s = 60;
  c->max_token = 8192;
  int rc = parse_top(c, v, err, n);
  if (!rc)
    rc = remember(c);
  if (rc) {
    if (rc == CN_ENOMEM && err)
      snprintf(err, n, "cairn.json: out of memory reading \"auth\"");
    config_free(c);
    return rc;
  }
  *out = c;
  return 0;
}

/* ---------------------------------------------------------------- keys */

static int read_file(const char *path, cn__buf *out, char *err, size_t n) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(err, n, "auth: cannot read %s: %s", path, strerror(errno));
    return CN_ECONFIG;
  }
  char chunk[4096];
  size_t got;
  int rc = 0;
  while (!rc && (got = fread(chunk, 1, sizeof chunk, f)) > 0)
    if (out->len + got > (1u << 20))
      rc = bad(err, n, "auth: %s is larger than 1 MiB", path);
    else if (cn__buf_append(out, chunk, got))
      rc = CN_ENOMEM;
  if (!rc && (ferror(f) || cn__buf_append(out, "", 1)))
    rc = bad(err, n, "auth: cannot read %s", path);
  fclose(f);
  if (!rc)
    out->len--; /* the NUL is there, not counted */
  return rc;
}

int cn__auth_pem(EVP_PKEY *pkey, int priv, unsigned char **mat,
                  size_t *len) {
  BIO *b = BIO_new(BIO_s_mem());
  char *p;
  int rc = CN_ENOMEM;
  if (b && (priv ? PEM_write_bio_PrivateKey(b, pkey, NULL, NULL, 0, NULL,
                                            NULL)
                 : PEM_write_bio_PUBKEY(b, pkey)) == 1) {
    long l = BIO_get_mem_data(b, &p);
    if (l > 0 && (*mat = cn__malloc((size_t)l + 1))) {
      memcpy(*mat, p, (size_t)l);
      (*mat)[l] = '\0';
      *len = (size_t)l;
      rc = 0;
    }
  }
  BIO_free(b);
  return rc;
}

/* Every key passes this, whatever its source. */
int cn__auth_key_fits(const cn__issuer *is, EVP_PKEY *pkey) {
  if (is->alg == JWT_ALG_RS256)
    return EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA &&
           EVP_PKEY_get_bits(pkey) >= 2048;
  char group[64] = "";
  size_t gl = 0;
  return EVP_PKEY_get_base_id(pkey) == EVP_PKEY_EC &&
         EVP_PKEY_get_utf8_string_param(pkey, "group", group, sizeof group,
                                        &gl) == 1 &&
         (!strcmp(group, "prime256v1") || !strcmp(group, "P-256"));
}

static int load_pem(cn__issuer *is, const char *path, int priv, char *err,
                    size_t n) {
  cn__buf text = {0};
  EVP_PKEY *pkey = NULL;
  int rc = read_file(path, &text, err, n);
  if (rc)
    goto cleanup;
  BIO *b = BIO_new_mem_buf(text.ptr, (int)text.len);
  pkey = !b ? NULL
            : priv ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL)
                   : PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
  BIO_free(b);
  if (!pkey) {
    rc = bad(err, n, "auth: %s is not a PEM key of the kind its name says "
                     "(public_key: PUBLIC KEY, private_key: PRIVATE KEY)",
             path);
    goto cleanup;
  }
  if (!cn__auth_key_fits(is, pkey)) {
    snprintf(err, n, "auth: %s is not a %s key (RS256: RSA of 2048 bits or "
                     "more; ES256: EC on P-256)", path, is->alg_name);
    rc = CN_ECONFIG;
    goto cleanup;
  }
  if (priv && (rc = cn__auth_pem(pkey, 1, &is->sign, &is->sign_len)))
    goto cleanup;
  if (!priv || !is->nkeys) { /* a private key alone: verify with its half */
    if (!(is->keys = cn__calloc(1, sizeof *is->keys))) {
      rc = CN_ENOMEM;
      goto cleanup;
    }
    if ((rc = cn__auth_pem(pkey, 0, &is->keys[0].mat, &is->keys[0].len)))
      goto cleanup;
    is->nkeys = 1;
  }
cleanup:
  EVP_PKEY_free(pkey);
  if (text.ptr)
    OPENSSL_cleanse(text.ptr, text.len);
  cn__buf_free(&text);
  return rc;
}

static int load_secret(cn__issuer *is, char *err, size_t n) {
  const char *s = is->secret;
  if (is->secret_env && !(s = getenv(is->secret_env)))
    return bad(err, n, "auth: the environment variable %s (the secret of an "
                       "HS256 issuer) is not set; put it in .env or the "
                       "environment", is->secret_env);
  if (strlen(s) < 32) /* RFC 7518 §3.2: at least the hash's size */
    return bad(err, n, "auth: the HS256 secret of issuer \"%s\" must be at "
                       "least 32 bytes", is->iss);
  is->keys = cn__calloc(1, sizeof *is->keys);
  is->sign = (unsigned char *)cn__strdup(s);
  if (!is->keys || !is->sign)
    return CN_ENOMEM;
  is->sign_len = strlen(s);
  is->keys[0].mat = (unsigned char *)cn__strdup(s);
  if (!is->keys[0].mat)
    return CN_ENOMEM;
  is->keys[0].len = is->sign_len;
  is->nkeys = 1;
  return 0;
}

static int load_issuer(cn__issuer *is, char *err, size_t n) {
  free_keys(is); /* a second start reads them afresh */
  if (is->alg == JWT_ALG_HS256)
    return load_secret(is, err, n);
  int rc = 0;
  if (is->public_key)
    rc = load_pem(is, is->public_key, 0, err, n);
  else if (is->jwks) {
    cn__buf text = {0};
    rc = read_file(is->jwks, &text, err, n);
    if (!rc)
      rc = cn__auth_jwks(is, text.ptr, text.len, err, n);
    cn__buf_free(&text);
  }
  if (!rc && is->private_key)
    rc = load_pem(is, is->private_key, 1, err, n);
  return rc;
}

int cn__auth_start(struct cn_auth_config *cfg, char *err, size_t n) {
  for (size_t i = 0; cfg && i < cfg->nissuers; i++) {
    int rc = load_issuer(&cfg->issuers[i], err, n);
    if (rc == CN_ENOMEM)
      snprintf(err, n, "auth: out of memory loading keys");
    if (rc)
      return rc;
  }
  if (cfg)
    cfg->started = 1;
  the_config = cfg;
  return 0;
}
