/*
 * The actions key, action IDs and sealed bound arguments (actions.h).
 */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>

#include "actions/actions.h"

static unsigned char id_key[32], seal_key[32];
static int ready;

static int hexval(int c) {
  return c >= '0' && c <= '9'   ? c - '0'
         : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                : -1;
}

static int from_hex(const char *s, unsigned char out[32]) {
  if (!s || strlen(s) != 64)
    return CN_EINVAL;
  for (int i = 0; i < 32; i++) {
    int a = hexval(s[2 * i]), b = hexval(s[2 * i + 1]);
    if (a < 0 || b < 0)
      return CN_EINVAL;
    out[i] = (unsigned char)(a << 4 | b);
  }
  return 0;
}

static int from_base64(const char *s, unsigned char out[32]) {
  unsigned char buf[64];
  size_t n = strlen(s);
  if (n != 44 || s[43] != '=')
    return CN_EINVAL;
  int w = EVP_DecodeBlock(buf, (const unsigned char *)s, (int)n);
  if (w != 33) /* 44 chars with one '=' decode to 33 bytes, the last 0 */
    return CN_EINVAL;
  memcpy(out, buf, 32);
  return 0;
}

static void derive(const unsigned char key[32], const char *label,
                   unsigned char out[32]) {
  unsigned int n = 32;
  HMAC(EVP_sha256(), key, 32, (const unsigned char *)label, strlen(label),
       out, &n);
}

int cn__actions_init(const char *build_key_hex) {
  unsigned char key[32];
  const char *env = getenv("CAIRN_ACTIONS_KEY");
  if (env && *env) {
    if (from_hex(env, key) && from_base64(env, key)) {
      fprintf(stderr, "cairn: CAIRN_ACTIONS_KEY must be 32 bytes as 64 hex "
                      "digits or base64 (44 characters)\n");
      return CN_ECONFIG;
    }
  } else if (!build_key_hex || from_hex(build_key_hex, key)) {
    if (RAND_bytes(key, sizeof key) != 1)
      return CN_ESYS;
  }
  derive(key, "cairn action ids", id_key);
  derive(key, "cairn action seals", seal_key);
  OPENSSL_cleanse(key, sizeof key);
  ready = 1;
  return 0;
}

static void ensure(void) {
  if (!ready)
    cn__actions_init(NULL);
}

void cn__actions_fingerprint(char out[17]) {
  static const char label[] = "cairn key fingerprint";
  unsigned char mac[32];
  unsigned int n = sizeof mac;
  ensure();
  HMAC(EVP_sha256(), id_key, sizeof id_key, (const unsigned char *)label,
       sizeof label - 1, mac, &n);
  for (int i = 0; i < 8; i++)
    snprintf(out + 2 * i, 3, "%02x", mac[i]);
}

void cn__action_id(const char *file, const char *name,
                   char out[CN__ACTION_ID_LEN + 1]) {
  unsigned char mac[32];
  unsigned int n = sizeof mac;
  char msg[1024];
  ensure();
  int len = snprintf(msg, sizeof msg, "%s#%s", file, name);
  HMAC(EVP_sha256(), id_key, sizeof id_key, (const unsigned char *)msg,
       (size_t)(len < 0 ? 0 : CN__MIN((size_t)len, sizeof msg - 1)), mac, &n);
  for (int i = 0; i < CN__ACTION_ID_LEN / 2; i++)
    snprintf(out + 2 * i, 3, "%02x", mac[i]);
}

int cn__action_seal(const char *id, const json_t *bind, cn__buf *out) {
  ensure();
  json_t *doc = json_pack("{s:s,s:O}", "a", id, "b", bind ? bind : json_null());
  char *plain = doc ? json_dumps(doc, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
  json_decref(doc);
  if (!plain)
    return CN_ENOMEM;
  size_t n = strlen(plain);
  unsigned char *buf = cn__malloc(12 + n + 16);
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  int len = 0, fin = 0, rc = CN_ENOMEM;
  /* The nonce from the kernel, not RAND_bytes: OpenSSL would give each
   * calling thread (handlers, loaders) a DRBG of its own that lives as
   * long as the thread. 12 random bytes per seal, as GCM wants. */
  if (buf && ctx && getrandom(buf, 12, 0) == 12 &&
      EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, seal_key, buf) == 1 &&
      EVP_EncryptUpdate(ctx, buf + 12, &len, (unsigned char *)plain,
                        (int)n) == 1 &&
      EVP_EncryptFinal_ex(ctx, buf + 12 + len, &fin) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16,
                          buf + 12 + len + fin) == 1)
    rc = cn__b64url_encode(buf, 12 + (size_t)(len + fin) + 16, out);
  EVP_CIPHER_CTX_free(ctx);
  cn__free(buf);
  free(plain);
  return rc;
}

int cn__action_unseal(const char *id, cn_str token, json_t **bind) {
  cn__buf raw = {0};
  *bind = NULL;
  ensure();
  int rc = token.len > (1u << 20) ? CN_EPARSE
                                   : cn__b64url_decode(token, &raw);
  if (rc) {
    cn__buf_free(&raw);
    return rc;
  }
  if (raw.len < 12 + 16 + 2) {
    cn__buf_free(&raw);
    return CN_EPARSE;
  }
  size_t n = raw.len - 12 - 16;
  unsigned char *plain = cn__malloc(n + 1);
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  int len = 0, fin = 0;
  unsigned char *p = (unsigned char *)raw.ptr;
  rc = CN_EPARSE;
  if (plain && ctx &&
      EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, seal_key, p) == 1 &&
      EVP_DecryptUpdate(ctx, plain, &len, p + 12, (int)n) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, p + 12 + n) == 1 &&
      EVP_DecryptFinal_ex(ctx, plain + len, &fin) == 1) {
    json_t *doc = json_loadb((char *)plain, (size_t)(len + fin), 0, NULL);
    const char *a = json_string_value(json_object_get(doc, "a"));
    json_t *b = json_object_get(doc, "b");
    if (a && b && !strcmp(a, id)) {
      *bind = json_incref(b);
      rc = 0;
    }
    json_decref(doc);
  } else if (!plain || !ctx) {
    rc = CN_ENOMEM;
  }
  EVP_CIPHER_CTX_free(ctx);
  if (plain)
    OPENSSL_cleanse(plain, n + 1);
  cn__free(plain);
  cn__buf_free(&raw);
  return rc;
}
