/*
 * The live-query engine thread: query instances shared by key, commits
 * marking them dirty, one re-run per dirty instance, and transitions (see
 * live.h for the whole design).
 */
#include <stdio.h>
#include <time.h>

#include "auth/auth.h"
#include "live/live_int.h"
#include "page/page.h"

/* A session whose socket holds more than this unsent waits; one that waits
 * longer than BEHIND_MS is closed with 1008. */
#define BACKLOG_HIGH (256 * 1024)
#define BEHIND_MS 10000
#define TICK_MS 50

/* ------------------------------------------------------------ identity */

void lv_ident_unref(lv_ident *who) {
  if (!who || atomic_fetch_sub(&who->refs, 1) != 1)
    return;
  json_decref(who->claims);
  cn__free(who);
}

/* ------------------------------------------------------------ instances */

static uint64_t hash(const char *s, size_t n) {
  uint64_t h = 1469598103934665603ULL; /* FNV-1a */
  for (size_t i = 0; i < n; i++)
    h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
  return h;
}

static int grow_table(cn__live *lv) {
  size_t nb = lv->nbuckets ? lv->nbuckets * 2 : 256;
  lv_q **t = cn__calloc(nb, sizeof *t);
  if (!t)
    return CN_ENOMEM;
  for (size_t i = 0; i < lv->nbuckets; i++)
    for (lv_q *q = lv->table[i], *n; q; q = n) {
      n = q->hnext;
      q->hnext = t[q->hash & (nb - 1)];
      t[q->hash & (nb - 1)] = q;
    }
  cn__free(lv->table);
  lv->table = t;
  lv->nbuckets = nb;
  return 0;
}

/* The instance key: path, canonical arguments, identity. OUT: *key (heap),
 * *len. */
static int make_key(const char *path, const json_t *args, const lv_ident *who,
                    char **key, size_t *len) {
  char *a = json_dumps(args, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
  if (!a)
    return CN_ENOMEM;
  cn__buf b = {0};
  int rc = cn__buf_appendf(&b, "%s%c%s%c%s", path, 0, a, 0,
                           who ? who->key : "");
  free(a);
  if (rc) {
    cn__buf_free(&b);
    return CN_ENOMEM;
  }
  *key = b.ptr;
  *len = b.len;
  return 0;
}

static lv_q *find_q(cn__live *lv, const char *key, size_t len, uint64_t h) {
  if (!lv->nbuckets)
    return NULL;
  for (lv_q *q = lv->table[h & (lv->nbuckets - 1)]; q; q = q->hnext)
    if (q->hash == h && !memcmp(q->key, key, len + 1))
      return q;
  return NULL;
}

static void free_q(cn__live *lv, lv_q *q) {
  lv_q **pp = &lv->table[q->hash & (lv->nbuckets - 1)];
  while (*pp != q)
    pp = &(*pp)->hnext;
  *pp = q->hnext;
  lv->nq--;
  atomic_fetch_sub(&lv->ninstances, 1);
  cn__free(q->key);
  cn__free(q->path);
  json_decref(q->args);
  lv_ident_unref(q->who);
  cn__rwset_clear(&q->reads);
  cn__free(q->value);
  cn__free(q->failure);
  cn__free(q);
}

/* Run q's query now. 1 when what a subscriber would see changed. */
static int run_q(cn__live *lv, lv_q *q) {
  cn_ctx ctx;
  cn__ctx_init(&ctx, lv->d, q->who ? &q->who->id : NULL);
  cn__rwset reads = {0};
  cn__call c = {.kind = CN_QUERY, .path = cn__cstr(q->path), .args = q->args,
                .reads = &reads};
  int rc = cn__data_run(&ctx, &c);
  atomic_fetch_add(&lv->runs, 1);
  char *value = NULL, *failure = NULL;
  if (!rc)
    value = json_dumps(c.result, JSON_COMPACT | JSON_ENCODE_ANY);
  /* What goes to the subscribers: no server-only value (taint.h). */
  if (value && (rc = cn__data_outbound(&ctx, &c, rc, value, strlen(value)))) {
    free(value);
    value = NULL;
  }
  if (rc) {
    const char *code;
    cn__data_status(rc, &c, &code);
    json_t *m = json_string(c.internal ? "Server Error"
                                       : c.message ? c.message
                                                   : cn_strerror(rc));
    char *ms = m ? json_dumps(m, JSON_ENCODE_ANY) : NULL;
    cn__buf b = {0};
    if (ms && !cn__buf_appendf(&b, "\"code\":\"%s\",\"errorMessage\":%s", code,
                               ms))
      failure = b.ptr;
    else
      cn__buf_free(&b);
    free(ms);
    json_decref(m);
  }
  json_decref(c.result);
  json_decref(c.errors);
  cn__ctx_done(&ctx);
  /* json_dumps' memory is malloc's: keep it in cn__ memory. */
  char *v = value ? cn__strdup(value) : NULL;
  free(value);
  int changed;
  if (!rc && v) {
    changed = q->failed || !q->value || strcmp(q->value, v);
    cn__free(q->value);
    cn__free(q->failure);
    q->value = v;
    q->failure = NULL;
    q->failed = 0;
  } else {
    if (!failure)
      failure = cn__strdup("\"code\":\"internal\",\"errorMessage\":\"Server Error\"");
    changed = !q->failed || !q->failure || !failure ||
              strcmp(q->failure, failure);
    cn__free(q->value);
    cn__free(q->failure);
    cn__free(v);
    q->value = NULL;
    q->failure = failure;
    q->failed = 1;
  }
  q->ts = c.ts;
  /* The new read set replaces the old: what this run read is what a
   * commit must touch to change its answer. A failed run keeps the
   * tables it got to, and with none it listens to everything (a query
   * that failed before reading may succeed after any commit). */
  cn__rwset_clear(&q->reads);
  q->reads = reads;
  if (rc && !q->reads.n)
    q->reads.overflow = 1;
  return changed;
}

/* ------------------------------------------------------- modifications */

/* The HTML of a page's live region for q's value, as a JSON string
 * (heap), NULL when it cannot be rendered. Renders for one value are kept
 * in cache (one per region) while q's subscribers are served. */
typedef struct html_cache {
  const char *region[8];
  char *html[8];
  size_t n;
} html_cache;

static char *region_html(const lv_q *q, const char *region, html_cache *c) {
  for (size_t i = 0; c && i < c->n; i++)
    if (!strcmp(c->region[i], region))
      return c->html[i];
  json_t *v = json_loads(q->value, JSON_DECODE_ANY, NULL);
  cn__buf b = {0};
  char *text = NULL;
  if (v && !cn__pages_render_region(cn__pages_global(), region, q->path, v,
                                    &b)) {
    json_t *s = json_stringn(b.ptr ? b.ptr : "", b.len);
    char *d = s ? json_dumps(s, JSON_ENCODE_ANY) : NULL;
    text = d ? cn__strdup(d) : NULL;
    free(d);
    json_decref(s);
  }
  cn__buf_free(&b);
  json_decref(v);
  if (c && text && c->n < CN__ARRAY_LEN(c->html)) {
    c->region[c->n] = region;
    c->html[c->n++] = text;
  }
  return text;
}

static void html_cache_free(html_cache *c) {
  for (size_t i = 0; i < c->n; i++)
    cn__free(c->html[i]);
  c->n = 0;
}

/* The modification sub gets for q's state. Heap text. */
static char *mod_text(const lv_q *q, const lv_sub *sub, html_cache *cache) {
  cn__buf b = {0};
  long long qid = (long long)sub->qid;
  int rc;
  if (q->failed) {
    rc = cn__buf_appendf(&b, "{\"type\":\"failed\",\"queryId\":%lld,%s}",
                         qid, q->failure);
  } else {
    rc = cn__buf_appendf(&b, "{\"type\":\"updated\",\"queryId\":%lld,"
                             "\"value\":%s", qid, q->value);
    char *html = sub->region ? region_html(q, sub->region, cache) : NULL;
    if (!rc && html)
      rc = cn__buf_appendf(&b, ",\"html\":%s", html);
    if (html && !cache)
      cn__free(html);
    if (!rc)
      rc = cn__buf_appendf(&b, "}"); /* appendf keeps the text NUL-terminated */
  }
  if (rc) {
    cn__buf_free(&b);
    return NULL;
  }
  return b.ptr;
}

/* Keep text (taken) as session s's pending change for qid. */
static void set_mod(lv_session *s, int64_t qid, char *text) {
  if (!text) {
    lv_fatal(s, "out of memory");
    return;
  }
  for (size_t i = 0; i < s->nmods; i++)
    if (s->mods[i].qid == qid) { /* collapse: the newest wins */
      cn__free(s->mods[i].text);
      s->mods[i].text = text;
      return;
    }
  if (s->nmods == s->capmods) {
    size_t cap = s->capmods ? s->capmods * 2 : 8;
    lv_mod *m = cn__realloc(s->mods, cap * sizeof *m);
    if (!m) {
      cn__free(text);
      lv_fatal(s, "out of memory");
      return;
    }
    s->mods = m;
    s->capmods = cap;
  }
  s->mods[s->nmods++] = (lv_mod){qid, text};
  atomic_fetch_add(&s->lv->pushes, 1);
}

/* ------------------------------------------------------- subscriptions */

static lv_sub *find_sub(lv_session *s, int64_t qid, size_t *at) {
  for (size_t i = 0; i < s->nsubs; i++)
    if (s->subs[i]->qid == qid) {
      if (at)
        *at = i;
      return s->subs[i];
    }
  return NULL;
}

/* Subscribe s as qid to path + args with its identity, running the query
 * when no client has it yet. 0 or CN_ENOMEM. */
static int subscribe(cn__live *lv, lv_session *s, int64_t qid,
                     const char *path, json_t *args, const char *region) {
  char *key;
  size_t len;
  if (make_key(path, args, s->who, &key, &len))
    return CN_ENOMEM;
  uint64_t h = hash(key, len);
  lv_q *q = find_q(lv, key, len, h);
  if (!q) {
    if ((lv->nq + 1) * 2 > lv->nbuckets && grow_table(lv)) {
      cn__free(key);
      return CN_ENOMEM;
    }
    q = cn__calloc(1, sizeof *q);
    if (!q || !(q->path = cn__strdup(path))) {
      cn__free(q);
      cn__free(key);
      return CN_ENOMEM;
    }
    q->key = key;
    q->hash = h;
    q->args = json_incref(args);
    if ((q->who = s->who))
      atomic_fetch_add(&q->who->refs, 1);
    q->hnext = lv->table[h & (lv->nbuckets - 1)];
    lv->table[h & (lv->nbuckets - 1)] = q;
    lv->nq++;
    atomic_fetch_add(&lv->ninstances, 1);
    run_q(lv, q);
  } else {
    cn__free(key);
  }
  lv_sub *sub = cn__calloc(1, sizeof *sub);
  if (sub && s->nsubs == s->capsubs) {
    size_t cap = s->capsubs ? s->capsubs * 2 : 8;
    lv_sub **grown = cn__realloc(s->subs, cap * sizeof *grown);
    if (grown)
      s->subs = grown, s->capsubs = cap;
    else
      cn__free(sub), sub = NULL;
  }
  if (!sub) {
    if (!q->nsubs)
      free_q(lv, q);
    return CN_ENOMEM;
  }
  sub->s = s;
  sub->qid = qid;
  sub->q = q;
  if (region && !(sub->region = cn__strdup(region))) {
    cn__free(sub);
    if (!q->nsubs)
      free_q(lv, q);
    return CN_ENOMEM;
  }
  sub->next = q->subs;
  if (q->subs)
    q->subs->prev = sub;
  q->subs = sub;
  q->nsubs++;
  s->subs[s->nsubs++] = sub;
  set_mod(s, qid, mod_text(q, sub, NULL));
  return 0;
}

static void unsubscribe(cn__live *lv, lv_session *s, size_t at) {
  lv_sub *sub = s->subs[at];
  lv_q *q = sub->q;
  if (sub->prev)
    sub->prev->next = sub->next;
  else
    q->subs = sub->next;
  if (sub->next)
    sub->next->prev = sub->prev;
  if (--q->nsubs == 0)
    free_q(lv, q);
  s->subs[at] = s->subs[--s->nsubs];
  cn__free(sub->region);
  cn__free(sub);
}

/* ----------------------------------------------------------- identity */

lv_ident *lv_ident_new(json_t *claims) {
  lv_ident *w = cn__calloc(1, sizeof *w);
  if (!w || cn__auth_identity_key(claims, w->key)) {
    cn__free(w);
    json_decref(claims);
    return NULL;
  }
  atomic_init(&w->refs, 1);
  w->claims = claims;
  cn__auth_identity(claims, &w->id);
  return w;
}

/* One subscription as the client made it, kept across a re-key. */
typedef struct sub_copy {
  int64_t qid;
  char *path, *region;
  json_t *args;
} sub_copy;

/* s is now who (taken; NULL: anonymous): every subscription moves to the
 * instance of its query for that identity, re-run there unless another
 * client of the same identity has it, and the client hears each result
 * in the transition that carries the new identity version. */
static void set_identity(cn__live *lv, lv_session *s, lv_ident *who) {
  const char *was = s->who ? s->who->key : "", *now = who ? who->key : "";
  int same = !strcmp(was, now);
  pthread_mutex_lock(&s->mu);
  lv_ident *old = s->who;
  s->who = who;
  pthread_mutex_unlock(&s->mu);
  s->idv++;
  if (same) { /* a refreshed token of the same claims: nothing to re-run */
    lv_ident_unref(old);
    return;
  }
  size_t n = s->nsubs;
  sub_copy *keep = n ? cn__calloc(n, sizeof *keep) : NULL;
  int rc = n && !keep ? CN_ENOMEM : 0;
  for (size_t i = 0; !rc && i < n; i++) {
    lv_sub *x = s->subs[i];
    keep[i].qid = x->qid;
    keep[i].args = json_incref(x->q->args);
    if (!(keep[i].path = cn__strdup(x->q->path)) ||
        (x->region && !(keep[i].region = cn__strdup(x->region))))
      rc = CN_ENOMEM;
  }
  if (!rc)
    while (s->nsubs)
      unsubscribe(lv, s, s->nsubs - 1);
  for (size_t i = 0; !rc && i < n; i++)
    rc = subscribe(lv, s, keep[i].qid, keep[i].path, keep[i].args,
                   keep[i].region);
  for (size_t i = 0; keep && i < n; i++) {
    cn__free(keep[i].path);
    cn__free(keep[i].region);
    json_decref(keep[i].args);
  }
  cn__free(keep);
  lv_ident_unref(old);
  if (rc)
    lv_fatal(s, "out of memory");
}

static void auth_error(lv_session *s, const char *why) {
  json_t *m = json_pack("{s:s,s:s,s:I}", "type", "authError", "error", why,
                        "baseVersion", (json_int_t)s->auths);
  char *t = m ? json_dumps(m, JSON_COMPACT) : NULL;
  if (t)
    lv_send(s, t, strlen(t));
  free(t);
  json_decref(m);
}

/* {"type":"authenticate","token":"..." | null,"baseVersion":N}, N the
 * number of authenticate messages sent before on this connection. */
static void authenticate(cn__live *lv, lv_session *s, json_t *msg) {
  json_t *tok = json_object_get(msg, "token");
  json_t *base = json_object_get(msg, "baseVersion");
  if (!json_is_integer(base) || (!json_is_string(tok) && !json_is_null(tok))) {
    lv_fatal(s, "authenticate needs a token (a string, or null to sign "
                "out) and a baseVersion");
    return;
  }
  if (json_integer_value(base) != s->auths) {
    lv_fatal(s, "authenticate: baseVersion is not the number of "
                "authenticate messages sent before");
    return;
  }
  s->auths++;
  if (json_is_null(tok)) {
    set_identity(lv, s, NULL);
    return;
  }
  json_t *claims = NULL;
  const char *why = NULL;
  int rc = cn__auth_verify(cn__auth_global(), json_string_value(tok),
                           json_string_length(tok), (int64_t)time(NULL),
                           &claims, &why);
  if (rc == CN_EUNAUTH) {
    cn__auth_log("/_cairn/sync authenticate", why);
    auth_error(s, "the token is not valid");
    return;
  }
  lv_ident *who = rc ? NULL : lv_ident_new(claims);
  if (!who) {
    lv_fatal(s, "out of memory");
    return;
  }
  set_identity(lv, s, who);
}

/* Sessions whose identity expired fall back to anonymous, as an HTTP
 * request with that token would be refused. OUT: *next, the soonest
 * expiry still ahead (unix seconds; 0: none). */
static void expire_identities(cn__live *lv, int64_t now, int64_t *next) {
  const struct cn_auth_config *cfg = cn__auth_global();
  int64_t skew = cfg ? cfg->skew_s : 0;
  *next = 0;
  for (lv_session *s = lv->sessions; s; s = s->next) {
    if (s->dead || !s->who || !s->who->id.expires)
      continue;
    int64_t at = s->who->id.expires + skew;
    if (now > at) {
      auth_error(s, "the token has expired");
      set_identity(lv, s, NULL);
    } else if (!*next || at + 1 < *next) {
      *next = at + 1;
    }
  }
}

/* ----------------------------------------------------------- messages */

/* {"type":"modify","baseVersion":N,"newVersion":N+1,"modifications":[...]} */
static void modify(cn__live *lv, lv_session *s, json_t *msg) {
  json_t *base = json_object_get(msg, "baseVersion");
  json_t *next = json_object_get(msg, "newVersion");
  json_t *mods = json_object_get(msg, "modifications");
  if (!json_is_integer(base) || json_integer_value(base) != s->qs) {
    lv_fatal(s, "modify: baseVersion is not the current query set version");
    return;
  }
  if (!json_is_integer(next) || json_integer_value(next) != s->qs + 1 ||
      !json_is_array(mods)) {
    lv_fatal(s, "modify: newVersion must be baseVersion + 1, with an array "
                "of modifications");
    return;
  }
  size_t i;
  json_t *m;
  json_array_foreach(mods, i, m) {
    const char *type = json_string_value(json_object_get(m, "type"));
    json_t *qid = json_object_get(m, "queryId");
    if (!type || !json_is_integer(qid)) {
      lv_fatal(s, "modify: each modification has a type and a queryId");
      return;
    }
    int64_t id = json_integer_value(qid);
    size_t at;
    if (!strcmp(type, "add")) {
      const char *path = json_string_value(json_object_get(m, "path"));
      json_t *args = json_object_get(m, "args");
      json_t *region = json_object_get(m, "region");
      if (!path || (args && !json_is_object(args)) ||
          (region && !json_is_string(region))) {
        lv_fatal(s, "modify: add needs a path and an args object (and a "
                    "region, when given, is a string)");
        return;
      }
      if (region && cn__pages_render_region(cn__pages_global(),
                                            json_string_value(region), path,
                                            NULL, NULL) == CN_EINVAL) {
        lv_fatal(s, "modify: no page has that live region for that query");
        return;
      }
      if (find_sub(s, id, NULL)) {
        lv_fatal(s, "modify: that queryId is already in the set");
        return;
      }
      json_t *empty = args ? NULL : json_object();
      int rc = subscribe(lv, s, id, path, args ? args : empty,
                         json_string_value(region));
      json_decref(empty);
      if (rc) {
        lv_fatal(s, "out of memory");
        return;
      }
    } else if (!strcmp(type, "remove")) {
      if (!find_sub(s, id, &at)) {
        lv_fatal(s, "modify: remove of a queryId not in the set");
        return;
      }
      unsubscribe(lv, s, at);
      cn__buf b = {0};
      if (cn__buf_appendf(&b, "{\"type\":\"removed\",\"queryId\":%lld}",
                          (long long)id))
        cn__buf_free(&b);
      set_mod(s, id, b.ptr);
    } else {
      lv_fatal(s, "modify: a modification is \"add\" or \"remove\"");
      return;
    }
    if (s->dead)
      return;
  }
  s->qs++;
}

void lv_handle(cn__live *lv, lv_session *s, json_t *msg) {
  const char *type = json_string_value(json_object_get(msg, "type"));
  if (s->dead)
    return;
  if (type && !strcmp(type, "modify"))
    modify(lv, s, msg);
  else if (type && !strcmp(type, "authenticate"))
    authenticate(lv, s, msg);
  else if (type && !strcmp(type, "mutation"))
    lv_fatal(s, "a mutation needs an integer requestId, a path and an "
                "args object");
  else if (type && !strcmp(type, "action"))
    lv_fatal(s, "an action needs an integer requestId, a path and an args "
                "object");
  else if (type && type[0] == '(')
    lv_fatal(s, "a message is a JSON object with a \"type\"");
  else
    lv_fatal(s, "unknown message type");
}

/* ------------------------------------------------------------ sessions */

void lv_session_unref(lv_session *s) {
  if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
    return;
  lv_ident_unref(s->who);
  cn_ws_unref(s->ws);
  pthread_mutex_destroy(&s->mu);
  cn__free(s);
}

/* The socket closed: its queries go, the memory when no call holds it. */
static void end_session(cn__live *lv, lv_session *s) {
  if (s->ended)
    return;
  s->ended = s->dead = 1;
  while (s->nsubs)
    unsubscribe(lv, s, s->nsubs - 1);
  for (size_t i = 0; i < s->nmods; i++)
    cn__free(s->mods[i].text);
  cn__free(s->mods);
  cn__free(s->subs);
  if (s->prev)
    s->prev->next = s->next;
  else if (lv->sessions == s)
    lv->sessions = s->next;
  if (s->next)
    s->next->prev = s->prev;
  s->prev = s->next = NULL;
  s->mods = NULL;
  s->subs = NULL;
  s->nmods = 0;
  atomic_fetch_sub(&lv->nsessions, 1);
  lv_session_unref(s);
}

static void add_session(cn__live *lv, lv_session *s) {
  if (s->ended || s->prev || s->next || lv->sessions == s)
    return;
  s->next = lv->sessions;
  if (lv->sessions)
    lv->sessions->prev = s;
  lv->sessions = s;
}

/* Send s its transition when it has something new and room for it. */
static void flush(cn__live *lv, lv_session *s, uint64_t now) {
  uint64_t end_ts = lv->processed_ts > s->sent_ts ? lv->processed_ts
                                                  : s->sent_ts;
  int owed = s->want_ts > s->sent_ts && end_ts >= s->want_ts;
  if (s->dead || (!s->nmods && !owed && s->qs == s->sent_qs &&
                  s->idv == s->sent_idv))
    return;
  if (cn__ws_backlog(s->ws) > BACKLOG_HIGH) {
    if (!s->behind_since)
      s->behind_since = now;
    else if (now - s->behind_since > BEHIND_MS) {
      s->dead = 1;
      cn__ws_close_code(s->ws, 1008, "the client reads too slowly");
    }
    return;
  }
  s->behind_since = 0;
  cn__buf b = {0};
  int rc = cn__buf_appendf(
      &b,
      "{\"type\":\"transition\",\"startVersion\":{\"querySet\":%lld,"
      "\"identity\":%lld,\"ts\":\"%llu\"},\"endVersion\":{\"querySet\":%lld,"
      "\"identity\":%lld,\"ts\":\"%llu\"},\"modifications\":[",
      (long long)s->sent_qs, (long long)s->sent_idv,
      (unsigned long long)s->sent_ts, (long long)s->qs, (long long)s->idv,
      (unsigned long long)end_ts);
  for (size_t i = 0; !rc && i < s->nmods; i++)
    rc = cn__buf_appendf(&b, "%s%s", i ? "," : "", s->mods[i].text);
  if (!rc)
    rc = cn__buf_append(&b, "]}", 2);
  if (!rc)
    rc = lv_send(s, b.ptr, b.len);
  cn__buf_free(&b);
  if (rc)
    return; /* closed or too far behind: its close job follows */
  for (size_t i = 0; i < s->nmods; i++)
    cn__free(s->mods[i].text);
  s->nmods = 0;
  s->sent_qs = s->qs;
  s->sent_idv = s->idv;
  s->sent_ts = end_ts;
  atomic_fetch_add(&lv->transitions, 1);
}

/* ------------------------------------------------------------- commits */

static void on_commit(void *arg, uint64_t ts, const cn__rwset *writes,
                      const cn__rowlog *rows) {
  cn__live *lv = arg;
  (void)rows; /* the write set already says which columns changed */
  lv_commit *c = cn__calloc(1, sizeof *c);
  if (!c)
    return; /* the next commit's re-runs will catch up */
  c->ts = ts;
  if (cn__rwset_merge(&c->writes, writes))
    c->writes.overflow = 1;
  pthread_mutex_lock(&lv->mu);
  if (lv->commits_tail)
    lv->commits_tail->next = c;
  else
    lv->commits = c;
  lv->commits_tail = c;
  pthread_cond_signal(&lv->cv);
  pthread_mutex_unlock(&lv->mu);
}

/* Mark the instances a batch of commits touched, re-run each once, and
 * note their changes for their subscribers. */
static void apply_commits(cn__live *lv, lv_commit *c) {
  lv_q *dirty = NULL;
  uint64_t top = lv->processed_ts;
  for (lv_commit *n; c; c = n) {
    n = c->next;
    if (c->ts > top)
      top = c->ts;
    if (c->writes.n || c->writes.overflow)
      for (size_t i = 0; i < lv->nbuckets; i++)
        for (lv_q *q = lv->table[i]; q; q = q->hnext)
          if (!q->dirty && cn__rwset_overlaps(&q->reads, &c->writes)) {
            q->dirty = 1;
            q->dirty_next = dirty;
            dirty = q;
          }
    cn__rwset_clear(&c->writes);
    cn__free(c);
  }
  for (lv_q *q = dirty; q; q = q->dirty_next) {
    q->dirty = 0;
    if (run_q(lv, q)) {
      html_cache cache = {0};
      for (lv_sub *sub = q->subs; sub; sub = sub->next)
        set_mod(sub->s, sub->qid, mod_text(q, sub, &cache));
      html_cache_free(&cache);
    }
  }
  lv->processed_ts = top;
}

/* ---------------------------------------------------------- the thread */

void lv_post(cn__live *lv, lv_job *job) {
  job->next = NULL;
  pthread_mutex_lock(&lv->mu);
  if (lv->jobs_tail)
    lv->jobs_tail->next = job;
  else
    lv->jobs = job;
  lv->jobs_tail = job;
  pthread_cond_signal(&lv->cv);
  pthread_mutex_unlock(&lv->mu);
}

static int any_waiting(cn__live *lv) {
  for (lv_session *s = lv->sessions; s; s = s->next)
    if (s->nmods && !s->dead)
      return 1;
  return 0;
}

static void run_jobs(cn__live *lv, lv_job *j) {
  for (lv_job *n; j; j = n) {
    n = j->next;
    if (j->kind == LV_MSG) {
      if (!j->s->ended) {
        add_session(lv, j->s);
        lv_handle(lv, j->s, j->msg);
      }
      json_decref(j->msg);
    } else if (j->kind == LV_MUTATED) {
      if (!j->s->ended && j->ts > j->s->want_ts)
        j->s->want_ts = j->ts;
      lv_session_unref(j->s); /* the call's reference, handed over */
    } else {
      end_session(lv, j->s);
    }
    cn__free(j);
  }
}

static void *engine_main(void *arg) {
  cn__live *lv = arg;
  int64_t expiry = 0; /* the soonest identity expiry, unix seconds */
  pthread_mutex_lock(&lv->mu);
  for (;;) {
    while (!lv->jobs && !lv->commits && !lv->stop) {
      int waiting = any_waiting(lv);
      if (!waiting && !expiry) {
        pthread_cond_wait(&lv->cv, &lv->mu);
        continue;
      }
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      if (!waiting) {
        if (ts.tv_sec >= expiry)
          break;
        ts.tv_sec = expiry;
        ts.tv_nsec = 0;
      } else {
        ts.tv_nsec += TICK_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L)
          ts.tv_sec++, ts.tv_nsec -= 1000000000L;
      }
      if (pthread_cond_timedwait(&lv->cv, &lv->mu, &ts))
        break; /* a tick: try the waiting sessions again */
    }
    if (lv->stop)
      break;
    lv_job *jobs = lv->jobs;
    lv_commit *commits = lv->commits;
    lv->jobs = lv->jobs_tail = NULL;
    lv->commits = lv->commits_tail = NULL;
    pthread_mutex_unlock(&lv->mu);
    run_jobs(lv, jobs);
    if (commits)
      apply_commits(lv, commits);
    expire_identities(lv, (int64_t)time(NULL), &expiry);
    uint64_t now = cn__now_ms();
    for (lv_session *s = lv->sessions; s; s = s->next)
      flush(lv, s, now);
    pthread_mutex_lock(&lv->mu);
  }
  pthread_mutex_unlock(&lv->mu);
  return NULL;
}

int cn__live_start(cn__data *d, cn__live **out) {
  cn__live *lv = cn__calloc(1, sizeof *lv);
  if (!lv)
    return CN_ENOMEM;
  lv->d = d;
  pthread_mutex_init(&lv->mu, NULL);
  pthread_cond_init(&lv->cv, NULL);
  cn__store *st = cn__data_store(d);
  if (st)
    lv->processed_ts = cn__store_ts(st);
  if (pthread_create(&lv->thread, NULL, engine_main, lv)) {
    cn__live_free(lv);
    return CN_ESYS;
  }
  lv->started = 1;
  /* Last, so that a failure leaves the store no listener to call. */
  if (st && cn__store_on_commit(st, on_commit, lv)) {
    cn__live_free(lv);
    return CN_EEXIST;
  }
  *out = lv;
  return 0;
}

void cn__live_stop(cn__live *lv) {
  if (!lv || !lv->started)
    return;
  pthread_mutex_lock(&lv->mu);
  lv->stop = 1;
  pthread_cond_signal(&lv->cv);
  pthread_mutex_unlock(&lv->mu);
  pthread_join(lv->thread, NULL);
  lv->started = 0;
}

void cn__live_free(cn__live *lv) {
  if (!lv)
    return;
  cn__live_stop(lv);
  run_jobs(lv, lv->jobs); /* closes and messages left: free them */
  while (lv->sessions)
    end_session(lv, lv->sessions);
  for (lv_commit *c = lv->commits, *n; c; c = n) {
    n = c->next;
    cn__rwset_clear(&c->writes);
    cn__free(c);
  }
  cn__free(lv->table);
  pthread_cond_destroy(&lv->cv);
  pthread_mutex_destroy(&lv->mu);
  cn__free(lv);
}

void cn__live_get_stats(cn__live *lv, cn__live_stats *o) {
  o->runs = atomic_load(&lv->runs);
  o->pushes = atomic_load(&lv->pushes);
  o->transitions = atomic_load(&lv->transitions);
  o->sessions = atomic_load(&lv->nsessions);
  o->instances = atomic_load(&lv->ninstances);
}
