/*
 * JWT verification: the attack matrix of issue 9 and every claim check,
 * with tokens minted here by OpenSSL directly (not by libjwt, the library
 * under suspicion), plus the configuration's refusals and signing.
 */
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "auth/auth_int.h"
#include "check.h"

#define SECRET "0123456789abcdef0123456789abcdef-secret"
#define NOW ((int64_t)1800000000)

static char dir[64];
static EVP_PKEY *rsa, *rsa_other, *ec, *ec_other;

/* ------------------------------------------------------------- helpers */

static void write_file(const char *name, const char *text) {
  char path[128];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  fputs(text, f);
  fclose(f);
}

static void write_pem(const char *name, EVP_PKEY *k, int priv) {
  char path[128];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  if (priv)
    PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
  else
    PEM_write_PUBKEY(f, k);
  fclose(f);
}

static char *b64(const void *p, size_t n) {
  cn__buf b = {0};
  cn__b64url_encode(p, n, &b);
  cn__buf_append(&b, "", 1);
  return b.ptr;
}

/* A token of header and payload (JSON text) signed as alg says: "HS256"
 * and "HS512" with secret (len bytes), "RS256" and "ES256" with pk,
 * "none" with nothing. The caller frees it. */
static char *mint(const char *header, const char *payload, const char *alg,
                  const void *secret, size_t len, EVP_PKEY *pk) {
  char *h = b64(header, strlen(header)), *p = b64(payload, strlen(payload));
  cn__buf in = {0};
  cn__buf_appendf(&in, "%s.%s", h, p);
  unsigned char sig[600];
  size_t siglen = 0;
  if (!strcmp(alg, "HS256") || !strcmp(alg, "HS512")) {
    unsigned int l = 0;
    HMAC(alg[2] == '2' ? EVP_sha256() : EVP_sha512(), secret, (int)len,
         (unsigned char *)in.ptr, in.len, sig, &l);
    siglen = l;
  } else if (strcmp(alg, "none")) {
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    siglen = sizeof sig;
    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pk);
    EVP_DigestSign(md, sig, &siglen, (unsigned char *)in.ptr, in.len);
    EVP_MD_CTX_free(md);
    if (!strcmp(alg, "ES256")) { /* JWS wants r | s, not DER */
      const unsigned char *d = sig;
      ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &d, (long)siglen);
      BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, 32);
      BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + 32, 32);
      ECDSA_SIG_free(es);
      siglen = 64;
    }
  }
  char *s = b64(sig, siglen);
  cn__buf_appendf(&in, ".%s", s);
  cn__buf_append(&in, "", 1);
  free(h);
  free(p);
  free(s);
  return in.ptr;
}

static struct cn_auth_config *config(const char *json, char *err,
                                     size_t n) {
  json_t *v = json_loads(json, 0, NULL);
  struct cn_auth_config *c = NULL;
  int rc = cn__auth_config_parse(v, &c, err, n);
  json_decref(v);
  if (rc)
    return NULL;
  if (cn__auth_start(c, err, n))
    return NULL;
  return c;
}

static const char *verdict(const struct cn_auth_config *c, const char *tok) {
  json_t *claims = NULL;
  const char *why = NULL;
  int rc = cn__auth_verify(c, tok, strlen(tok), NOW, &claims, &why);
  json_decref(claims);
  return rc ? why : "ok";
}

/* ------------------------------------------------------------- tests */

static const char *const CONFIG =
    "{\"clock_skew\": 30, \"issuers\": ["
    "{\"issuer\": \"hs\", \"algorithm\": \"HS256\", \"secret\": \"" SECRET
    "\", \"audience\": \"app\"},"
    "{\"issuer\": \"rs\", \"algorithm\": \"RS256\", \"public_key\": "
    "\"KEYDIR/rsa.pub\"},"
    "{\"issuer\": \"es\", \"algorithm\": \"ES256\", \"jwks\": "
    "\"KEYDIR/jwks.json\"}]}";

static struct cn_auth_config *main_config(void) {
  static struct cn_auth_config *c;
  if (c)
    return c;
  cn__buf b = {0};
  const char *at = CONFIG, *k;
  while ((k = strstr(at, "KEYDIR"))) {
    cn__buf_append(&b, at, (size_t)(k - at));
    cn__buf_appendf(&b, "%s", dir);
    at = k + 6;
  }
  cn__buf_appendf(&b, "%s", at);
  char err[256] = "";
  c = config(b.ptr, err, sizeof err);
  if (!c)
    fprintf(stderr, "config: %s\n", err);
  cn__buf_free(&b);
  return c;
}

#define HS_HEAD "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"

TEST(the_attack_matrix) {
  struct cn_auth_config *c = main_config();
  CHECK(c != NULL);
  if (!c)
    return;
  char rsa_pub[4096] = "";
  FILE *f = fopen(strcat(strcpy(rsa_pub, dir), "/rsa.pub"), "r");
  size_t pl = fread(rsa_pub, 1, sizeof rsa_pub - 1, f);
  rsa_pub[pl] = '\0';
  fclose(f);
  const char *hs_ok = "{\"iss\":\"hs\",\"sub\":\"ann\",\"aud\":\"app\","
                      "\"exp\":1800000100}";
  const char *rs_ok = "{\"iss\":\"rs\",\"sub\":\"bob\",\"exp\":1800000100}";
  struct {
    const char *name, *header, *payload, *alg, *want;
    const void *secret;
    size_t len;
    EVP_PKEY *pk;
  } t[] = {
      {"valid HS256", HS_HEAD, hs_ok, "HS256", "ok", SECRET, 39, NULL},
      {"valid RS256", "{\"alg\":\"RS256\"}", rs_ok, "RS256", "ok", 0, 0, rsa},
      {"valid ES256 from the JWKS", "{\"alg\":\"ES256\",\"kid\":\"k1\"}",
       "{\"iss\":\"es\",\"sub\":\"cy\",\"exp\":1800000100}", "ES256", "ok", 0,
       0, ec},
      {"ES256 by another key of the set",
       "{\"alg\":\"ES256\",\"kid\":\"k2\"}",
       "{\"iss\":\"es\",\"sub\":\"cy\",\"exp\":1800000100}", "ES256", "ok", 0,
       0, ec_other},
      {"ES256 signed by k2, claiming k1", "{\"alg\":\"ES256\",\"kid\":\"k1\"}",
       "{\"iss\":\"es\",\"sub\":\"cy\",\"exp\":1800000100}", "ES256",
       "its signature does not verify", 0, 0, ec_other},
      {"ES256 with a kid not in the set", "{\"alg\":\"ES256\",\"kid\":\"k9\"}",
       "{\"iss\":\"es\",\"sub\":\"cy\",\"exp\":1800000100}", "ES256",
       "no key of its issuer has its key id", 0, 0, ec},
      {"ES256 naming no kid among two keys", "{\"alg\":\"ES256\"}",
       "{\"iss\":\"es\",\"sub\":\"cy\",\"exp\":1800000100}", "ES256",
       "its issuer has several keys and it names none (kid)", 0, 0, ec},
      {"no token's worth of signature: alg none", "{\"alg\":\"none\"}",
       hs_ok, "none", "it has no signature", 0, 0, NULL},
      {"alg none with a MAC anyway", "{\"alg\":\"none\"}", hs_ok, "HS256",
       "its algorithm is not the one its issuer uses", SECRET, 39, NULL},
      {"HS256 MACed with the RS256 issuer's public PEM", HS_HEAD, rs_ok,
       "HS256", "its algorithm is not the one its issuer uses", rsa_pub, 0,
       NULL},
      {"HS512 for an HS256 issuer", "{\"alg\":\"HS512\"}", hs_ok, "HS512",
       "its algorithm is not the one its issuer uses", SECRET, 39, NULL},
      {"RS256 signed by another key", "{\"alg\":\"RS256\"}", rs_ok, "RS256",
       "its signature does not verify", 0, 0, rsa_other},
      {"HS256 with another secret", HS_HEAD, hs_ok, "HS256",
       "its signature does not verify", "another secret of 32 bytes or more",
       34, NULL},
      {"expired", HS_HEAD,
       "{\"iss\":\"hs\",\"sub\":\"a\",\"aud\":\"app\",\"exp\":1799999960}",
       "HS256", "it has expired", SECRET, 39, NULL},
      {"expired, within the skew", HS_HEAD,
       "{\"iss\":\"hs\",\"sub\":\"a\",\"aud\":\"app\",\"exp\":1799999980}",
       "HS256", "ok", SECRET, 39, NULL},
      {"no exp", HS_HEAD, "{\"iss\":\"hs\",\"sub\":\"a\",\"aud\":\"app\"}",
       "HS256", "it has no expiry (exp)", SECRET, 39, NULL},
      {"exp as a string", HS_HEAD,
       "{\"iss\":\"hs\",\"sub\":\"a\",\"aud\":\"app\",\"exp\":\"2e9\"}",
       "HS256", "it has no expiry (exp)", SECRET, 39, NULL},
      {"not valid yet", HS_HEAD,
       "{\"iss\":\"hs\",\"sub\":\"a\",\"aud\":\"app\",\"exp\":1800000100,"
       "\"nbf\":1800000050}",
       "HS256", "it is not valid yet (nbf)", SECRET, 39, NULL},
      {"issued in the future", HS_HEAD,
       "{\"iss\":\"hs\",\"sub\":\"a\",\"aud\":\"app\",\"exp\":1800000100,"
       "\"iat\":1800000050}",
       "HS256", "it was issued in the future (iat)", SECRET, 39, NULL},
      {"wrong audience", HS_HEAD,
       "{\"iss\":\"hs\",\"sub\":\"a\",\"aud\":\"other\",\"exp\":1800000100}",
       "HS256", "it is for another audience (aud)", SECRET, 39, NULL},
      {"audience among several", HS_HEAD,
       "{\"iss\":\"hs\",\"sub\":\"a\",\"aud\":[\"x\",\"app\"],"
       "\"exp\":1800000100}",
       "HS256", "ok", SECRET, 39, NULL},
      {"no audience where one is required", HS_HEAD,
       "{\"iss\":\"hs\",\"sub\":\"a\",\"exp\":1800000100}", "HS256",
       "it names no audience (aud)", SECRET, 39, NULL},
      {"an audience for an issuer that has none", "{\"alg\":\"RS256\"}",
       "{\"iss\":\"rs\",\"sub\":\"b\",\"aud\":\"app\",\"exp\":1800000100}",
       "RS256", "it is for another audience (aud)", 0, 0, rsa},
      {"wrong issuer", HS_HEAD,
       "{\"iss\":\"evil\",\"sub\":\"a\",\"aud\":\"app\",\"exp\":1800000100}",
       "HS256", "its issuer (iss) is not configured", SECRET, 39, NULL},
      {"no subject", HS_HEAD,
       "{\"iss\":\"hs\",\"aud\":\"app\",\"exp\":1800000100}", "HS256",
       "it has no subject (sub)", SECRET, 39, NULL},
      {"duplicate claims", HS_HEAD,
       "{\"iss\":\"hs\",\"sub\":\"a\",\"sub\":\"root\",\"aud\":\"app\","
       "\"exp\":1800000100}",
       "HS256", "its header or payload is not a JSON object in base64url",
       SECRET, 39, NULL},
      {"duplicate alg in the header",
       "{\"alg\":\"HS256\",\"alg\":\"none\"}", hs_ok, "HS256",
       "its header or payload is not a JSON object in base64url", SECRET, 39,
       NULL},
      {"crit", "{\"alg\":\"HS256\",\"crit\":[\"b64\"],\"b64\":false}", hs_ok,
       "HS256", "it has critical extensions (crit)", SECRET, 39, NULL},
      {"typ other than JWT", "{\"alg\":\"HS256\",\"typ\":\"JWE\"}", hs_ok,
       "HS256", "its type (typ) is not JWT", SECRET, 39, NULL},
      /* libjwt 1.10 would refuse it later, as if its signature were bad */
      {"typ at+jwt", "{\"alg\":\"HS256\",\"typ\":\"at+jwt\"}", hs_ok,
       "HS256", "its type (typ) is not JWT", SECRET, 39, NULL},
      {"payload an array", HS_HEAD, "[1]", "HS256",
       "its header or payload is not a JSON object in base64url", SECRET, 39,
       NULL},
  };
  for (size_t i = 0; i < CN__ARRAY_LEN(t); i++) {
    size_t len = t[i].len ? t[i].len : t[i].secret ? strlen(t[i].secret) : 0;
    char *tok = mint(t[i].header, t[i].payload, t[i].alg, t[i].secret, len,
                     t[i].pk);
    const char *got = verdict(c, tok);
    if (strcmp(got ? got : "(null)", t[i].want))
      fprintf(stderr, "  %s: got \"%s\"\n", t[i].name, got ? got : "(null)");
    CHECK_EQ_STR(got, t[i].want);
    free(tok);
  }
}

TEST(malformed_tokens) {
  struct cn_auth_config *c = main_config();
  if (!c)
    return;
  char *good = mint(HS_HEAD,
                    "{\"iss\":\"hs\",\"sub\":\"a\",\"aud\":\"app\","
                    "\"exp\":1800000100}",
                    "HS256", SECRET, 39, NULL);
  CHECK_EQ_STR(verdict(c, good), "ok");
  cn__buf b = {0};
  /* padding, a fourth part, two parts, a flipped signature character,
   * trailing garbage, a space */
  cn__buf_appendf(&b, "%s=", good);
  CHECK_EQ_STR(verdict(c, b.ptr), "its signature does not verify");
  b.len = 0;
  cn__buf_appendf(&b, "%s.x", good);
  CHECK_EQ_STR(verdict(c, b.ptr), "it is not three base64url parts");
  char *last = strrchr(good, '.');
  b.len = 0;
  cn__buf_appendf(&b, "%.*s", (int)(last - good), good);
  CHECK_EQ_STR(verdict(c, b.ptr), "it is not three base64url parts");
  b.len = 0;
  cn__buf_appendf(&b, "%s", good);
  b.ptr[b.len - 3] = b.ptr[b.len - 3] == 'A' ? 'B' : 'A';
  CHECK_EQ_STR(verdict(c, b.ptr), "its signature does not verify");
  b.len = 0;
  cn__buf_appendf(&b, " %s", good);
  CHECK_EQ_STR(verdict(c, b.ptr),
               "its header or payload is not a JSON object in base64url");
  CHECK_EQ_STR(verdict(c, ""), "it is empty");
  CHECK_EQ_STR(verdict(c, ".."), "it has no signature");
  /* bigger than max_token (8 KiB) */
  b.len = 0;
  for (int i = 0; i < 9000; i++)
    cn__buf_append(&b, "a", 1);
  cn__buf_append(&b, "", 1);
  CHECK_EQ_STR(verdict(c, b.ptr), "it is larger than auth.max_token");
  /* no configuration at all */
  json_t *claims = NULL;
  const char *why = NULL;
  CHECK_EQ_INT(cn__auth_verify(NULL, good, strlen(good), NOW, &claims, &why),
               CN_EUNAUTH);
  cn__buf_free(&b);
  free(good);
}

TEST(base64url_is_strict) {
  struct {
    const char *in;
    int rc;
    const char *out;
  } t[] = {{"", 0, ""},           {"YQ", 0, "a"},   {"YWI", 0, "ab"},
           {"YWJj", 0, "abc"},    {"YR", CN_EPARSE, NULL}, /* bits left */
           {"YQ==", CN_EPARSE, NULL}, {"Y", CN_EPARSE, NULL},
           {"Y+Jj", CN_EPARSE, NULL}, {"_-8", 0, "\xff\xef"}};
  for (size_t i = 0; i < CN__ARRAY_LEN(t); i++) {
    cn__buf b = {0};
    int rc = cn__b64url_decode(cn__cstr(t[i].in), &b);
    CHECK_EQ_INT(rc, t[i].rc);
    if (!rc && t[i].out)
      CHECK_EQ_STR(b.ptr ? b.ptr : "", t[i].out);
    cn__buf_free(&b);
  }
  for (size_t n = 0; n < 40; n++) { /* encode then decode, every length */
    unsigned char raw[40];
    for (size_t i = 0; i < n; i++)
      raw[i] = (unsigned char)(i * 37 + n);
    cn__buf e = {0}, d = {0};
    CHECK_EQ_INT(cn__b64url_encode(raw, n, &e), 0);
    CHECK_EQ_INT(cn__b64url_decode(cn__str(e.ptr, e.len), &d), 0);
    CHECK(d.len == n && (!n || !memcmp(d.ptr, raw, n)));
    cn__buf_free(&e);
    cn__buf_free(&d);
  }
}

TEST(configuration_refusals) {
  struct {
    const char *json, *want;
  } t[] = {
      {"[]", "must be an object"},
      {"{}", "needs \"issuers\""},
      {"{\"issuers\": []}", "non-empty array"},
      {"{\"issuers\": [{\"algorithm\": \"HS256\", \"secret\": \"" SECRET
       "\"}]}", "needs \"issuer\""},
      {"{\"issuers\": [{\"issuer\": \"a\", \"secret\": \"" SECRET "\"}]}",
       "needs \"algorithm\""},
      {"{\"issuers\": [{\"issuer\": \"a\", \"algorithm\": \"none\"}]}",
       "must be \"HS256\", \"RS256\" or \"ES256\""},
      {"{\"issuers\": [{\"issuer\": \"a\", \"algorithm\": \"HS512\"}]}",
       "must be \"HS256\", \"RS256\" or \"ES256\""},
      {"{\"issuers\": [{\"issuer\": \"a\", \"algorithm\": \"HS256\"}]}",
       "needs one of \"secret\" or \"secret_env\""},
      {"{\"issuers\": [{\"issuer\": \"a\", \"algorithm\": \"HS256\", "
       "\"secret\": \"" SECRET "\", \"public_key\": \"k.pem\"}]}",
       "needs one of \"secret\" or \"secret_env\""},
      {"{\"issuers\": [{\"issuer\": \"a\", \"algorithm\": \"RS256\"}]}",
       "needs one of \"public_key\", \"jwks\" or \"private_key\""},
      {"{\"issuers\": [{\"issuer\": \"a\", \"algorithm\": \"RS256\", "
       "\"secret\": \"" SECRET "\"}]}",
       "needs one of \"public_key\", \"jwks\" or \"private_key\""},
      {"{\"issuers\": [{\"issuer\": \"a\", \"algorithm\": \"HS256\", "
       "\"secret\": \"" SECRET "\"}, {\"issuer\": \"a\", \"algorithm\": "
       "\"HS256\", \"secret\": \"" SECRET "\"}]}",
       "is listed twice"},
      {"{\"issuers\": [{\"issuer\": \"a\", \"algorithm\": \"HS256\", "
       "\"secret\": \"" SECRET "\", \"audince\": \"x\"}]}",
       "unknown key \"auth.issuers[].audince\""},
      {"{\"issuers\": [{\"issuer\": \"a\", \"algorithm\": \"HS256\", "
       "\"secret\": \"" SECRET "\", \"audience\": [1]}]}",
       "\"auth.issuers[].audience\" must be a non-empty string"},
      {"{\"cookie\": \"\", \"issuers\": []}", "must be a cookie name"},
      {"{\"clock_skew\": -1}", "seconds from 0 to 3600"},
      {"{\"max_token\": \"1kb\", \"max_token\": 10}", "256 bytes to 1mb"},
      {"{\"sessions\": 1}", "unknown key \"auth.sessions\""},
      /* what only loading the keys finds */
      {"{\"issuers\": [{\"issuer\": \"a\", \"algorithm\": \"HS256\", "
       "\"secret\": \"short\"}]}",
       "must be at least 32 bytes"},
      {"{\"issuers\": [{\"issuer\": \"a\", \"algorithm\": \"HS256\", "
       "\"secret_env\": \"CAIRN_TEST_NO_SUCH_VARIABLE\"}]}",
       "CAIRN_TEST_NO_SUCH_VARIABLE (the secret of an HS256 issuer) is not "
       "set"},
      {"{\"issuers\": [{\"issuer\": \"a\", \"algorithm\": \"RS256\", "
       "\"public_key\": \"/nonexistent/k.pem\"}]}",
       "cannot read /nonexistent/k.pem"},
      {"{\"issuers\": [{\"issuer\": \"a\", \"algorithm\": \"RS256\", "
       "\"public_key\": \"KEYDIR/ec.pub\"}]}",
       "is not a RS256 key"},
      {"{\"issuers\": [{\"issuer\": \"a\", \"algorithm\": \"RS256\", "
       "\"public_key\": \"KEYDIR/rsa1024.pub\"}]}",
       "is not a RS256 key"},
      {"{\"issuers\": [{\"issuer\": \"a\", \"algorithm\": \"ES256\", "
       "\"public_key\": \"KEYDIR/rsa.key\"}]}",
       "is not a PEM key of the kind its name says"},
      {"{\"issuers\": [{\"issuer\": \"a\", \"algorithm\": \"RS256\", "
       "\"jwks\": \"KEYDIR/jwks.json\"}]}",
       "key 0 is not a valid RS256 key"},
      {"{\"issuers\": [{\"issuer\": \"a\", \"algorithm\": \"RS256\", "
       "\"jwks\": \"KEYDIR/badjwks.json\"}]}",
       "holds no RS256 signing key"},
      {"{\"issuers\": [{\"issuer\": \"a\", \"algorithm\": \"ES256\", "
       "\"jwks\": \"KEYDIR/badjwks.json\"}]}",
       "key 0 is not a valid ES256 key"},
  };
  for (size_t i = 0; i < CN__ARRAY_LEN(t); i++) {
    cn__buf b = {0};
    const char *at = t[i].json, *k;
    while ((k = strstr(at, "KEYDIR"))) {
      cn__buf_append(&b, at, (size_t)(k - at));
      cn__buf_appendf(&b, "%s", dir);
      at = k + 6;
    }
    cn__buf_appendf(&b, "%s", at);
    json_t *v = json_loads(b.ptr, 0, NULL);
    struct cn_auth_config *c = NULL;
    char err[512] = "";
    int rc = cn__auth_config_parse(v, &c, err, sizeof err);
    if (!rc)
      rc = cn__auth_start(c, err, sizeof err);
    CHECK_EQ_INT(rc, CN_ECONFIG);
    if (!strstr(err, t[i].want))
      fprintf(stderr, "  %s: got \"%s\"\n", t[i].json, err);
    CHECK(strstr(err, t[i].want) != NULL);
    json_decref(v);
    cn__buf_free(&b);
  }
  cn__auth_start(main_config(), NULL, 0); /* the process's again */
}

TEST(sign_then_verify_each_algorithm) {
  char json[1024];
  snprintf(json, sizeof json,
           "{\"cookie\": \"session\", \"issuers\": ["
           "{\"issuer\": \"h\", \"algorithm\": \"HS256\", \"secret_env\": "
           "\"CAIRN_TEST_SECRET\", \"audience\": [\"app\"]},"
           "{\"issuer\": \"r\", \"algorithm\": \"RS256\", \"private_key\": "
           "\"%s/rsa.key\", \"ttl\": 60},"
           "{\"issuer\": \"e\", \"algorithm\": \"ES256\", \"public_key\": "
           "\"%s/ec.pub\", \"private_key\": \"%s/ec.key\"},"
           "{\"issuer\": \"v\", \"algorithm\": \"RS256\", \"public_key\": "
           "\"%s/rsa.pub\"}]}",
           dir, dir, dir, dir);
  setenv("CAIRN_TEST_SECRET", SECRET, 1);
  char err[256] = "";
  struct cn_auth_config *c = config(json, err, sizeof err);
  CHECK(c != NULL);
  if (!c) {
    fprintf(stderr, "%s\n", err);
    return;
  }
  const char *iss[] = {"h", "r", "e"};
  json_t *in = json_pack("{s:s,s:[s]}", "sub", "dee", "groups", "admin");
  for (size_t i = 0; i < 3; i++) {
    char *tok = NULL;
    CHECK_EQ_INT(cn__auth_sign(c, iss[i], in, 0, NOW, &tok), 0);
    json_t *claims = NULL;
    const char *why = NULL;
    CHECK_EQ_INT(cn__auth_verify(c, tok, strlen(tok), NOW + 30, &claims,
                                 &why), 0);
    cn_identity who;
    cn__auth_identity(claims, &who);
    CHECK_EQ_STR(who.subject, "dee");
    CHECK_EQ_STR(who.issuer, iss[i]);
    CHECK(who.expires == NOW + (i == 1 ? 60 : 3600));
    CHECK_EQ_STR(json_string_value(json_array_get(
                     json_object_get(claims, "groups"), 0)),
                 "admin");
    /* past its lifetime, it is refused */
    json_decref(claims);
    CHECK_EQ_INT(cn__auth_verify(c, tok, strlen(tok), NOW + 4000, &claims,
                                 &why), CN_EUNAUTH);
    CHECK_EQ_STR(why, "it has expired");
    cn__free(tok);
  }
  char *tok = NULL;
  CHECK_EQ_INT(cn__auth_sign(c, "v", in, 0, NOW, &tok), CN_ENOENT);
  CHECK_EQ_INT(cn__auth_sign(c, "nobody", in, 0, NOW, &tok), CN_ENOENT);
  json_t *arr = json_array();
  CHECK_EQ_INT(cn__auth_sign(c, "h", arr, 0, NOW, &tok), CN_EINVAL);
  json_decref(arr);
  json_decref(in);
  cn__auth_start(main_config(), NULL, 0);
}

TEST(identity_keys_ignore_times_only) {
  json_t *a = json_pack("{s:s,s:s,s:i,s:i}", "iss", "i", "sub", "u", "exp",
                        1, "iat", 0);
  json_t *b = json_pack("{s:s,s:s,s:i,s:s}", "iss", "i", "sub", "u", "exp",
                        2, "jti", "x");
  json_t *c = json_pack("{s:s,s:s,s:i,s:[s]}", "iss", "i", "sub", "u", "exp",
                        1, "groups", "admin");
  json_t *d = json_pack("{s:s,s:s}", "iss", "j", "sub", "u");
  char ka[65], kb[65], kc[65], kd[65];
  CHECK_EQ_INT(cn__auth_identity_key(a, ka), 0);
  CHECK_EQ_INT(cn__auth_identity_key(b, kb), 0);
  CHECK_EQ_INT(cn__auth_identity_key(c, kc), 0);
  CHECK_EQ_INT(cn__auth_identity_key(d, kd), 0);
  CHECK_EQ_STR(ka, kb);
  CHECK(strcmp(ka, kc) != 0);
  CHECK(strcmp(ka, kd) != 0);
  json_decref(a);
  json_decref(b);
  json_decref(c);
  json_decref(d);
}

/* ------------------------------------------------------------- set-up */

static void jwk_ec(cn__buf *out, EVP_PKEY *k, const char *kid,
                   const char *extra) {
  unsigned char pub[65];
  size_t n = 0;
  EVP_PKEY_get_octet_string_param(k, "pub", pub, sizeof pub, &n);
  char *x = b64(pub + 1, 32), *y = b64(pub + 33, 32);
  cn__buf_appendf(out,
                  "{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"%s\",\"x\":\"%s\","
                  "\"y\":\"%s\"%s}",
                  kid, x, y, extra);
  free(x);
  free(y);
}

static void make_keys(void) {
  strcpy(dir, "/tmp/cairn-test-auth-XXXXXX");
  if (!mkdtemp(dir))
    abort();
  rsa = EVP_RSA_gen(2048);
  rsa_other = EVP_RSA_gen(2048);
  EVP_PKEY *rsa1024 = EVP_RSA_gen(1024);
  ec = EVP_EC_gen("P-256");
  ec_other = EVP_EC_gen("P-256");
  write_pem("rsa.pub", rsa, 0);
  write_pem("rsa.key", rsa, 1);
  write_pem("rsa1024.pub", rsa1024, 0);
  write_pem("ec.pub", ec, 0);
  write_pem("ec.key", ec, 1);
  EVP_PKEY_free(rsa1024);
  /* a set the way providers publish them: an RSA key (not ours: the
   * issuer is ES256), a key for another use, then our two */
  cn__buf j = {0};
  cn__buf_appendf(&j, "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"r\",\"n\":\"AQAB\","
                      "\"e\":\"AQAB\"},");
  jwk_ec(&j, ec_other, "enc", ",\"use\":\"enc\"");
  cn__buf_appendf(&j, ",");
  jwk_ec(&j, ec, "k1", ",\"alg\":\"ES256\"");
  cn__buf_appendf(&j, ",");
  jwk_ec(&j, ec_other, "k2", "");
  cn__buf_appendf(&j, "]}");
  cn__buf_append(&j, "", 1);
  write_file("jwks.json", j.ptr);
  cn__buf_free(&j);
  write_file("badjwks.json",
             "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AAAA\","
             "\"y\":\"AAAA\"}]}");
}

static void remove_keys(void) {
  const char *files[] = {"rsa.pub", "rsa.key", "rsa1024.pub", "ec.pub",
                         "ec.key", "jwks.json", "badjwks.json"};
  char path[128];
  for (size_t i = 0; i < CN__ARRAY_LEN(files); i++) {
    snprintf(path, sizeof path, "%s/%s", dir, files[i]);
    unlink(path);
  }
  rmdir(dir);
  EVP_PKEY_free(rsa);
  EVP_PKEY_free(rsa_other);
  EVP_PKEY_free(ec);
  EVP_PKEY_free(ec_other);
}

int main(void) {
  make_keys();
  RUN(base64url_is_strict);
  RUN(the_attack_matrix);
  RUN(malformed_tokens);
  RUN(configuration_refusals);
  RUN(sign_then_verify_each_algorithm);
  RUN(identity_keys_ignore_times_only);
  remove_keys();
  return check_summary();
}
