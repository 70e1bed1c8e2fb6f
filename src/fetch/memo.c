/*
 * Request memoization: within one request, a GET or HEAD fetch is made
 * once; later identical ones get the first answer.
 *
 * The table hangs on req->memo, made on first use. Entries are a list
 * (a request makes few fetches) of heap nodes, so a claim stays valid
 * while others are added; each holds its key bytes and, once the fetch
 * answered, the answer, whose body and content type are in the request's
 * arena (they die with it). A fetch in progress is an entry not yet done:
 * another thread of the same request asking for the same key waits on the
 * table's condition variable instead of fetching again, as the second
 * await of one promise would in Next.js.
 */
#include "fetch/fetch.h"
#include "server/server.h"

struct cn__fetch_memo_entry {
  struct cn__fetch_memo_entry *next;
  uint64_t hash;
  char *key;
  size_t keylen;
  int done;
  int status;
  cn_str body, ctype;
};

typedef struct memo {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  cn__fetch_memo_entry *head;
} memo;

/* Guards req->memo while the table is made: two loaders of one page may
 * make the request's first fetch at the same moment. */
static pthread_mutex_t create_mu = PTHREAD_MUTEX_INITIALIZER;

static void memo_free(void *p) {
  memo *m = p;
  if (!m)
    return;
  for (cn__fetch_memo_entry *e = m->head, *next; e; e = next) {
    next = e->next;
    cn__free(e->key);
    cn__free(e);
  }
  pthread_mutex_destroy(&m->mu);
  pthread_cond_destroy(&m->cv);
  cn__free(m);
}

static memo *memo_of(cn_req *req) {
  pthread_mutex_lock(&create_mu);
  memo *m = req->memo;
  if (!m && (m = cn__calloc(1, sizeof(*m)))) {
    pthread_mutex_init(&m->mu, NULL);
    pthread_cond_init(&m->cv, NULL);
    req->memo = m;
    req->memo_free = memo_free;
  }
  pthread_mutex_unlock(&create_mu);
  return m;
}

/* FNV-1a: a cheap first comparison before the full one. */
static uint64_t hash_of(const char *p, size_t n) {
  uint64_t h = 1469598103934665603u;
  for (size_t i = 0; i < n; i++)
    h = (h ^ (unsigned char)p[i]) * 1099511628211u;
  return h;
}

static cn__fetch_memo_entry *find(memo *m, uint64_t h, const char *key,
                                  size_t keylen) {
  for (cn__fetch_memo_entry *e = m->head; e; e = e->next)
    if (e->hash == h && e->keylen == keylen && !memcmp(e->key, key, keylen))
      return e;
  return NULL;
}

int cn__fetch_memo_claim(cn_req *req, const char *key, size_t keylen,
                         cn_fetch_res *out, cn__fetch_memo_entry **claim) {
  memo *m = memo_of(req);
  uint64_t h = hash_of(key, keylen);
  int found = 0;
  *claim = NULL;
  if (!m)
    return 0;
  pthread_mutex_lock(&m->mu);
  cn__fetch_memo_entry *e;
  /* Wait while another thread fetches this key; look again on waking (its
   * entry is gone if it failed: then this thread claims the key). */
  while ((e = find(m, h, key, keylen)) && !e->done)
    pthread_cond_wait(&m->cv, &m->mu);
  if (e) {
    memset(out, 0, sizeof(*out));
    out->status = e->status;
    out->body = e->body;
    out->content_type = e->ctype;
    out->cache = "MEMO";
    found = 1;
  } else if ((e = cn__calloc(1, sizeof(*e))) &&
             (e->key = cn__malloc(keylen ? keylen : 1))) {
    memcpy(e->key, key, keylen);
    e->keylen = keylen;
    e->hash = h;
    e->next = m->head;
    m->head = e;
    *claim = e;
  } else {
    cn__free(e); /* out of memory: fetch without memoization */
  }
  pthread_mutex_unlock(&m->mu);
  return found;
}

void cn__fetch_memo_publish(cn_req *req, cn__fetch_memo_entry *claim,
                            const cn_fetch_res *res) {
  memo *m = req->memo;
  if (!claim)
    return;
  pthread_mutex_lock(&m->mu);
  claim->status = res->status;
  claim->body = res->body;
  claim->ctype = res->content_type;
  claim->done = 1;
  pthread_cond_broadcast(&m->cv);
  pthread_mutex_unlock(&m->mu);
}

void cn__fetch_memo_abandon(cn_req *req, cn__fetch_memo_entry *claim) {
  memo *m = req->memo;
  if (!claim)
    return;
  pthread_mutex_lock(&m->mu);
  for (cn__fetch_memo_entry **p = &m->head; *p; p = &(*p)->next)
    if (*p == claim) {
      *p = claim->next;
      break;
    }
  pthread_cond_broadcast(&m->cv);
  pthread_mutex_unlock(&m->mu);
  cn__free(claim->key);
  cn__free(claim);
}
