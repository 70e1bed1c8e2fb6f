/*
 * live_int.h: the engine's state, shared by engine.c (the thread, the
 * query instances, commits, transitions) and session.c (the socket side:
 * messages in, jobs out, mutations and actions). Everything below the
 * "engine thread only" line is touched by the engine thread alone; the
 * queues above it are under cn__live.mu.
 */
#ifndef CN_LIVE_INT_H
#define CN_LIVE_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "live/live.h"
#include "ws/ws.h"

typedef struct lv_session lv_session;
typedef struct lv_q lv_q;

/* A session's identity, shared by its query instances (refcounted; the
 * engine thread takes and drops references, task threads borrow it for a
 * call while the session holds one). key tells identities apart for
 * sharing instances: "" for anonymous. */
typedef struct lv_ident {
  atomic_int refs;
  cn_identity id;
  json_t *claims;
  char key[200];
} lv_ident;

/* A new identity of verified claims (the reference is taken). NULL: out
 * of memory. */
lv_ident *lv_ident_new(json_t *claims);
void lv_ident_unref(lv_ident *who);
void lv_session_unref(lv_session *s);

/* One client's subscription to an instance. */
typedef struct lv_sub {
  lv_session *s;
  int64_t qid;
  lv_q *q;
  char *region; /* a page's live region: updates carry its HTML too */
  struct lv_sub *prev, *next; /* in q's list */
} lv_sub;

/* One distinct query: path + arguments + identity. */
struct lv_q {
  char *key;
  uint64_t hash;
  char *path;
  json_t *args;
  lv_ident *who;
  cn__rwset reads;
  char *value; /* the last result as JSON text (failed: NULL) */
  int failed;
  char *failure; /* failed: the modification's code and message, as JSON
                    members ("\"code\":\"forbidden\",\"errorMessage\":...") */
  uint64_t ts;
  lv_sub *subs;
  size_t nsubs;
  int dirty;
  lv_q *dirty_next;
  lv_q *hnext;
};

/* A modification waiting for a session's next transition, one per query
 * id (a newer one replaces it). */
typedef struct lv_mod {
  int64_t qid;
  char *text; /* {"type":"updated",...} */
} lv_mod;

struct lv_session {
  cn__live *lv;
  cn_ws *ws; /* a reference of the session's own */
  /* The engine holds one reference until the socket closes; each call in
   * flight on a task thread holds one. Freed at zero (lv_session_unref). */
  atomic_int refs;
  /* who, as calls read it from the loop thread; the engine swaps it */
  pthread_mutex_t mu;
  lv_ident *who;
  /* engine thread only */
  int ended; /* the socket closed: its queries are gone */
  int64_t qs, idv;                   /* the set and identity versions now */
  int64_t auths;                     /* authenticate messages handled */
  int64_t sent_qs, sent_idv;         /* as the client last heard */
  uint64_t sent_ts, want_ts;         /* last end ts; a mutation's ts to reach */
  lv_sub **subs;
  size_t nsubs, capsubs;
  lv_mod *mods;
  size_t nmods, capmods;
  uint64_t behind_since;             /* ms; 0: keeping up */
  int dead;                          /* closed or fatal: nothing more */
  lv_session *prev, *next;
};

typedef enum { LV_MSG, LV_CLOSE, LV_MUTATED } lv_job_kind;

typedef struct lv_job {
  lv_job_kind kind;
  lv_session *s;
  json_t *msg;  /* LV_MSG: the parsed message (owned) */
  uint64_t ts;  /* LV_MUTATED: the commit's timestamp */
  struct lv_job *next;
} lv_job;

typedef struct lv_commit {
  uint64_t ts;
  cn__rwset writes;
  struct lv_commit *next;
} lv_commit;

struct cn__live {
  cn__data *d;
  pthread_t thread;
  int started;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  lv_job *jobs, *jobs_tail;
  lv_commit *commits, *commits_tail;
  int stop;
  /* counters (any thread reads them) */
  _Atomic uint64_t runs, pushes, transitions, nsessions, ninstances;
  /* ---- engine thread only ---- */
  lv_q **table;
  size_t nbuckets, nq;
  lv_session *sessions;
  uint64_t processed_ts;
};

/* Hand the engine a job (any thread). The job is the engine's from here. */
void lv_post(cn__live *lv, lv_job *job);

/* session.c, called by the engine thread: a protocol error ends the
 * session with a "fatal" message and close code 4400. */
void lv_fatal(lv_session *s, const char *why);
/* Send text to the session's socket (any thread). */
int lv_send(lv_session *s, const char *text, size_t len);

/* engine.c, on the engine thread: a session's message. */
void lv_handle(cn__live *lv, lv_session *s, json_t *msg);

#endif
