/*
 * sha256.h: SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104), written for
 * the test app's webhook route, which checks a GitHub-style
 * "X-Hub-Signature-256: sha256=<hex>" over the raw body. A built app links
 * only libcairn's libraries, so the route cannot use OpenSSL; the suite
 * computes the expected signature with node:crypto, which keeps this code
 * honest.
 */
#ifndef T_SHA256_H
#define T_SHA256_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct t_sha256 {
  uint32_t h[8];
  uint64_t bytes;
  unsigned char block[64];
  size_t fill;
} t_sha256;

static const uint32_t t_sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
    0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
    0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
    0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

static inline uint32_t t_ror(uint32_t x, int n) {
  return (x >> n) | (x << (32 - n));
}

static inline void t_sha256_block(t_sha256 *s, const unsigned char *p) {
  uint32_t w[64], v[8];
  for (int i = 0; i < 16; i++)
    w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
           (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
  for (int i = 16; i < 64; i++) {
    uint32_t s0 = t_ror(w[i - 15], 7) ^ t_ror(w[i - 15], 18) ^ w[i - 15] >> 3;
    uint32_t s1 = t_ror(w[i - 2], 17) ^ t_ror(w[i - 2], 19) ^ w[i - 2] >> 10;
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  memcpy(v, s->h, sizeof v);
  for (int i = 0; i < 64; i++) {
    uint32_t e = v[4], a = v[0];
    uint32_t t1 = v[7] + (t_ror(e, 6) ^ t_ror(e, 11) ^ t_ror(e, 25)) +
                  ((e & v[5]) ^ (~e & v[6])) + t_sha256_k[i] + w[i];
    uint32_t t2 = (t_ror(a, 2) ^ t_ror(a, 13) ^ t_ror(a, 22)) +
                  ((a & v[1]) ^ (a & v[2]) ^ (v[1] & v[2]));
    memmove(v + 1, v, 7 * sizeof v[0]);
    v[4] += t1;
    v[0] = t1 + t2;
  }
  for (int i = 0; i < 8; i++)
    s->h[i] += v[i];
}

static inline void t_sha256_init(t_sha256 *s) {
  static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372,
                                 0xa54ff53a, 0x510e527f, 0x9b05688c,
                                 0x1f83d9ab, 0x5be0cd19};
  memcpy(s->h, iv, sizeof iv);
  s->bytes = 0;
  s->fill = 0;
}

static inline void t_sha256_update(t_sha256 *s, const void *data, size_t n) {
  const unsigned char *p = data;
  s->bytes += n;
  while (n) {
    size_t take = 64 - s->fill < n ? 64 - s->fill : n;
    memcpy(s->block + s->fill, p, take);
    s->fill += take;
    p += take;
    n -= take;
    if (s->fill == 64) {
      t_sha256_block(s, s->block);
      s->fill = 0;
    }
  }
}

static inline void t_sha256_final(t_sha256 *s, unsigned char out[32]) {
  uint64_t bits = s->bytes * 8;
  unsigned char pad = 0x80, zero = 0, len[8];
  t_sha256_update(s, &pad, 1);
  while (s->fill != 56)
    t_sha256_update(s, &zero, 1);
  for (int i = 0; i < 8; i++)
    len[i] = (unsigned char)(bits >> (56 - 8 * i));
  t_sha256_update(s, len, 8);
  for (int i = 0; i < 8; i++) {
    out[4 * i] = (unsigned char)(s->h[i] >> 24);
    out[4 * i + 1] = (unsigned char)(s->h[i] >> 16);
    out[4 * i + 2] = (unsigned char)(s->h[i] >> 8);
    out[4 * i + 3] = (unsigned char)s->h[i];
  }
}

/* HMAC-SHA256 of msg under key, as 64 lower-case hex digits + NUL. */
static inline void t_hmac_sha256_hex(const void *key, size_t keylen,
                                     const void *msg, size_t msglen,
                                     char hex[65]) {
  unsigned char k[64] = {0}, pad[64], inner[32], mac[32];
  t_sha256 s;
  if (keylen > 64) {
    t_sha256_init(&s);
    t_sha256_update(&s, key, keylen);
    t_sha256_final(&s, k);
  } else {
    memcpy(k, key, keylen);
  }
  for (int i = 0; i < 64; i++)
    pad[i] = k[i] ^ 0x36;
  t_sha256_init(&s);
  t_sha256_update(&s, pad, 64);
  t_sha256_update(&s, msg, msglen);
  t_sha256_final(&s, inner);
  for (int i = 0; i < 64; i++)
    pad[i] = k[i] ^ 0x5c;
  t_sha256_init(&s);
  t_sha256_update(&s, pad, 64);
  t_sha256_update(&s, inner, 32);
  t_sha256_final(&s, mac);
  static const char digits[] = "0123456789abcdef";
  for (int i = 0; i < 32; i++) {
    hex[2 * i] = digits[mac[i] >> 4];
    hex[2 * i + 1] = digits[mac[i] & 15];
  }
  hex[64] = '\0';
}

#endif
