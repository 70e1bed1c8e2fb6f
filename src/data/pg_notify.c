/* pg_notify.c: commits across instances, over LISTEN/NOTIFY (pg_int.h). */
#include <fcntl.h>
#include <openssl/rand.h>
#include <poll.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "data/pg_int.h"

#define CHANNEL "cairn_commits"

/* The message: the instance's id, then each table written on a line of
 * its own, or "*" for every table (also when they would not fit in a
 * NOTIFY's 8,000 bytes). */
int cn__pg_notify_send(pg_db *db, const cn__rwset *writes) {
  cn__buf b = {0};
  int rc = cn__buf_appendf(&b, "%s", db->st->id);
  for (size_t i = 0; !rc && !writes->overflow && i < writes->n; i++)
    rc = cn__buf_appendf(&b, "\n%s", writes->tables[i]);
  if (!rc && (writes->overflow || b.len > 7000)) {
    b.len = 0;
    rc = cn__buf_appendf(&b, "%s\n*", db->st->id);
  }
  if (!rc)
    rc = cn__buf_append(&b, "", 1);
  if (rc) {
    cn__buf_free(&b);
    return CN_ENOMEM;
  }
  const char *pv[1] = {b.ptr};
  PGresult *r = PQexecParams(db->c, "SELECT pg_notify('" CHANNEL "', $1)", 1,
                             NULL, pv, NULL, NULL, 0);
  rc = PQresultStatus(r) == PGRES_TUPLES_OK ? 0 : cn__pg_code(r);
  if (rc) {
    cn__pg_fail(db, cn__pg_msg(r), "pg_notify");
    db->conflict |= rc == CN_ECONFLICT;
  }
  PQclear(r);
  cn__buf_free(&b);
  return rc;
}

/* Another instance's message into the tables it wrote (into w). 1 when
 * it is this instance's own. */
static int parse(const char *msg, const char *id, cn__rwset *w) {
  size_t idlen = strcspn(msg, "\n");
  if (idlen == strlen(id) && !strncmp(msg, id, idlen))
    return 1;
  const char *p = msg + idlen;
  if (!*p) /* no tables listed: every one, to be safe */
    w->overflow = 1;
  while (*p == '\n') {
    p++;
    size_t n = strcspn(p, "\n");
    char name[256];
    snprintf(name, sizeof name, "%.*s", (int)CN__MIN(n, sizeof name - 1), p);
    if (!strcmp(name, "*") || n >= sizeof name || cn__rwset_add(w, name))
      w->overflow = 1;
    p += n;
  }
  return 0;
}

static void quiet(void *arg, const char *message) {
  (void)arg;
  (void)message;
}

/* (Re)connect the listening connection and LISTEN. 0 or CN_EIO. */
static int listen_on(pg_store *st) {
  if (st->listen)
    PQfinish(st->listen);
  st->listen = PQconnectdb(st->url);
  if (PQstatus(st->listen) != CONNECTION_OK)
    return CN_EIO;
  PQsetNoticeProcessor(st->listen, quiet, NULL);
  PGresult *r = PQexec(st->listen, "LISTEN " CHANNEL);
  int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : CN_EIO;
  PQclear(r);
  return rc;
}

static void *listener(void *arg) {
  pg_store *st = arg;
  unsigned backoff_ms = 0;
  for (;;) {
    if (PQstatus(st->listen) != CONNECTION_OK) {
      /* Lost: wait a little (up to 1 s), connect again, and count it as
       * a commit of everything, for what was said meanwhile. */
      struct pollfd w = {st->wake[0], POLLIN, 0};
      backoff_ms = backoff_ms ? (backoff_ms * 2 > 1000 ? 1000 : backoff_ms * 2)
                              : 50;
      if (poll(&w, 1, (int)backoff_ms) > 0)
        break;
      if (listen_on(st))
        continue;
      backoff_ms = 0;
      cn__pg_committed(st, NULL, NULL);
    }
    struct pollfd p[2] = {{PQsocket(st->listen), POLLIN, 0},
                          {st->wake[0], POLLIN, 0}};
    if (poll(p, 2, -1) < 0)
      continue; /* EINTR */
    if (p[1].revents)
      break;
    if (!PQconsumeInput(st->listen))
      continue; /* the status says lost; the top of the loop reconnects */
    PGnotify *n;
    while ((n = PQnotifies(st->listen))) {
      cn__rwset w = {0};
      if (!parse(n->extra, st->id, &w))
        cn__pg_committed(st, &w, NULL);
      cn__rwset_clear(&w);
      PQfreemem(n);
    }
  }
  return NULL;
}

int cn__pg_notify_start(pg_store *st, char *err, size_t errlen) {
  unsigned char r[16];
  if (RAND_bytes(r, sizeof r) != 1) {
    snprintf(err, errlen, "no random bytes for the instance's id");
    return CN_ESYS;
  }
  for (size_t i = 0; i < sizeof r; i++)
    sprintf(st->id + 2 * i, "%02x", r[i]);
  if (pipe2(st->wake, O_CLOEXEC)) {
    st->wake[0] = st->wake[1] = -1;
    snprintf(err, errlen, "cannot make a pipe for the listener");
    return CN_ESYS;
  }
  if (listen_on(st)) {
    snprintf(err, errlen, "cannot LISTEN for other instances' commits: %s",
             PQerrorMessage(st->listen));
    err[strcspn(err, "\n")] = '\0';
    return CN_EIO;
  }
  if (pthread_create(&st->listener, NULL, listener, st)) {
    snprintf(err, errlen, "cannot start the listener thread");
    return CN_ESYS;
  }
  st->listening = 1;
  return 0;
}

void cn__pg_notify_stop(pg_store *st) {
  if (st->listening) {
    ssize_t w = write(st->wake[1], "x", 1);
    (void)w;
    pthread_join(st->listener, NULL);
    st->listening = 0;
  }
  if (st->listen)
    PQfinish(st->listen);
  st->listen = NULL;
  if (st->wake[0] > 0) {
    close(st->wake[0]);
    close(st->wake[1]);
  }
  st->wake[0] = st->wake[1] = 0;
}
