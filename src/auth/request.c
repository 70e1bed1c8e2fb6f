/*
 * A request's identity: worked out once, on first use, by whichever
 * thread asks first (a page's loaders may ask at once), and published
 * with a compare-and-swap so that every later caller sees the same
 * answer. The token comes from `Authorization: Bearer`, else from the
 * configured cookie.
 */
#include <stdio.h>
#include <time.h>

#include "auth/auth_int.h"
#include "server/server.h"

/* The two answers that are not an identity. */
static const cn_identity anonymous, bad_token;

/* The value of cookie name in the request's Cookie headers. Read here
 * rather than through cn_req_cookie, whose parse-once cache is not for
 * several threads at once. */
static cn_str find_cookie(const cn_req *req, const char *name) {
  size_t nl = strlen(name);
  for (size_t i = 0; i < req->msg.nheaders; i++) {
    if (!cn_str_ieq(req->msg.headers[i].name, "cookie"))
      continue;
    cn_str v = req->msg.headers[i].value;
    size_t at = 0;
    while (at < v.len) {
      const char *semi = memchr(v.ptr + at, ';', v.len - at);
      size_t stop = semi ? (size_t)(semi - v.ptr) : v.len;
      cn_str pair = cn__str_trim(cn__str(v.ptr + at, stop - at));
      if (pair.len > nl && pair.ptr[nl] == '=' &&
          !memcmp(pair.ptr, name, nl))
        return cn__str_trim(cn__str(pair.ptr + nl + 1, pair.len - nl - 1));
      at = stop + 1;
    }
  }
  return CN_STR_NULL;
}

static cn_str find_token(const cn_req *req, const struct cn_auth_config *cfg) {
  cn_str h = cn__req_header(req, "authorization");
  if (h.len > 7 && cn_str_ieq(cn__str(h.ptr, 7), "bearer "))
    return cn__str_trim(cn__str(h.ptr + 7, h.len - 7));
  return cfg->cookie ? find_cookie(req, cfg->cookie) : CN_STR_NULL;
}

static const cn_identity *work_out(cn_req *req) {
  const struct cn_auth_config *cfg = cn__auth_global();
  /* An app that verifies no tokens leaves Authorization to its routes. */
  if (!cfg)
    return &anonymous;
  cn__req_mark_dynamic(req); /* the answer depends on who asks */
  cn_str tok = find_token(req, cfg);
  if (!tok.ptr)
    return &anonymous;
  json_t *claims = NULL;
  const char *why = NULL;
  int rc = cn__auth_verify(cfg, tok.ptr, tok.len, (int64_t)time(NULL),
                           &claims, &why);
  if (rc == CN_ENOMEM)
    return NULL;
  if (rc) {
    char where[160];
    snprintf(where, sizeof where, "%.*s %.*s",
             (int)req->msg.rl.method.len, req->msg.rl.method.ptr,
             (int)CN__MIN(req->msg.rl.path.len, 100), req->msg.rl.path.ptr);
    cn__auth_log(where, why);
    return &bad_token;
  }
  cn_identity *who = cn_req_alloc(req, sizeof *who);
  if (!who) {
    json_decref(claims);
    return NULL;
  }
  cn__auth_identity(claims, who);
  return who;
}

int cn_req_identity(cn_req *req, const cn_identity **who) {
  *who = NULL;
  if (!req)
    return CN_EINVAL;
  const cn_identity *id = __atomic_load_n(&req->identity, __ATOMIC_ACQUIRE);
  if (!id) {
    if (!(id = work_out(req)))
      return CN_ENOMEM;
    const cn_identity *expected = NULL;
    if (!__atomic_compare_exchange_n(&req->identity, &expected, id, 0,
                                     __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
      if (id != &anonymous && id != &bad_token)
        json_decref((json_t *)id->claims);
      id = expected;
    }
  }
  if (id == &bad_token)
    return CN_EUNAUTH;
  *who = id == &anonymous ? NULL : id;
  return 0;
}

void cn__auth_req_done(cn_req *req) {
  const cn_identity *id = req->identity;
  if (id && id != &anonymous && id != &bad_token)
    json_decref((json_t *)id->claims);
  req->identity = NULL;
}

int cn_auth_sign(cn_req *req, const char *iss, const json_t *claims,
                 uint64_t ttl_s, const char **token) {
  *token = NULL;
  if (!req || !iss)
    return CN_EINVAL;
  char *t = NULL;
  int rc = cn__auth_sign(cn__auth_global(), iss, claims, ttl_s,
                         (int64_t)time(NULL), &t);
  if (rc)
    return rc;
  *token = cn_req_strndup(req, t, strlen(t));
  cn__free(t);
  return *token ? 0 : CN_ENOMEM;
}

/* ----------------------------------------------------------------- log */

/* At most this many lines a second; the rest are counted and the count
 * printed with the next line, so a flood is visible without drowning the
 * log. */
#define LOG_PER_S 10

void cn__auth_log(const char *where, const char *why) {
  static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
  static int64_t second;
  static unsigned lines, dropped;
  int64_t now = (int64_t)time(NULL);
  pthread_mutex_lock(&mu);
  if (now != second) {
    second = now;
    lines = 0;
  }
  if (lines >= LOG_PER_S) {
    dropped++;
    pthread_mutex_unlock(&mu);
    return;
  }
  lines++;
  unsigned more = dropped;
  dropped = 0;
  pthread_mutex_unlock(&mu);
  if (more)
    fprintf(stderr, "cairn: %s: a token was refused: %s (and %u more "
                    "refusals not shown)\n", where, why, more);
  else
    fprintf(stderr, "cairn: %s: a token was refused: %s\n", where, why);
}
