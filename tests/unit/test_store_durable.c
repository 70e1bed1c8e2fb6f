/* Durability (store.h: a write is answered once its commit is durable):
 * a child process writes in a loop from several threads and tells the
 * parent, through a pipe, each id whose write was acknowledged; the parent
 * kills it with SIGKILL in mid-stream, opens the database again and finds
 * every acknowledged id. With durability "normal" the commit is in the
 * WAL in the OS's page cache, which a killed process cannot lose; "full"
 * also fsyncs it (power loss, which a test cannot simulate). */
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>

#include "test_store_util.h"

enum { THREADS = 4, KILL_AFTER = 200 };

typedef struct child_ctx {
  cn__store *st;
  int fd;
  atomic_long next;
} child_ctx;

typedef struct row {
  int64_t id;
  char payload[64];
} row;

static int insert_row(cn_db *db, void *arg) {
  row *r = arg;
  int rc = cn_db_exec(db, NULL, "INSERT INTO acked(id, payload) VALUES (?, ?)",
                      CN_ARGS(cn_v(r->id), cn_v(r->payload)));
  /* a second table in the same write: both or neither */
  if (!rc)
    rc = cn_db_exec(db, NULL, "UPDATE total SET n = n + 1", CN_NOARGS);
  return rc;
}

static void *child_writer(void *p) {
  child_ctx *c = p;
  for (;;) {
    row r = {.id = atomic_fetch_add(&c->next, 1)};
    snprintf(r.payload, sizeof r.payload, "payload-%lld", (long long)r.id);
    if (cn__store_write(c->st, insert_row, &r, NULL, NULL, NULL) != 0)
      _exit(3);
    if (write(c->fd, &r.id, sizeof r.id) != (ssize_t)sizeof r.id)
      _exit(4);
  }
  return NULL;
}

static void child(const char *url, int full, int fd) {
  child_ctx c = {.fd = fd};
  char err[256];
  cn__store_opts o = {.url = url, .durability_full = full};
  if (cn__store_open(&o, &c.st, err, sizeof err))
    _exit(2);
  atomic_store(&c.next, 1);
  pthread_t th[THREADS];
  for (int i = 0; i < THREADS; i++)
    pthread_create(&th[i], NULL, child_writer, &c);
  for (;;)
    pause(); /* until the parent's SIGKILL */
}

static int read_full(int fd, void *buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, (char *)buf + got, n - got);
    if (r <= 0)
      return -1;
    got += (size_t)r;
  }
  return 0;
}

static int present(cn_db *db, void *arg) {
  row *r = arg;
  json_t *v = NULL;
  int rc = cn_db_value(db, &v, "SELECT payload FROM acked WHERE id = ?",
                       CN_ARGS(cn_v(r->id)));
  if (!rc)
    rc = json_is_string(v) && strcmp(json_string_value(v), r->payload) == 0
             ? 0
             : CN_ENOENT;
  json_decref(v);
  return rc;
}

/* PRAGMA integrity_check's answer, on a connection of the test's own. */
static const char *integrity(const char *path) {
  static char answer[128];
  sqlite3 *h = NULL;
  sqlite3_stmt *s = NULL;
  snprintf(answer, sizeof answer, "cannot check");
  if (sqlite3_open_v2(path, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
      sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &s, NULL) ==
          SQLITE_OK &&
      sqlite3_step(s) == SQLITE_ROW)
    snprintf(answer, sizeof answer, "%s", sqlite3_column_text(s, 0));
  sqlite3_finalize(s);
  sqlite3_close(h);
  return answer;
}

TEST(kill9_keeps_acknowledged_writes) {
  for (int full = 0; full <= 1; full++) {
    tsu_dir d;
    tsu_mkdir(&d);
    cn__store *st = tsu_open(&d, full);
    tsu_exec(st, "CREATE TABLE acked(id INTEGER PRIMARY KEY, payload TEXT)");
    tsu_exec(st, "CREATE TABLE total(n INTEGER)");
    tsu_exec(st, "INSERT INTO total VALUES (0)");
    cn__store_close(st); /* no connection of ours crosses the fork */
    int fds[2];
    CHECK_EQ_INT(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
      close(fds[0]);
      child(d.url, full, fds[1]);
    }
    close(fds[1]);
    static int64_t acked[1 << 16];
    size_t n = 0;
    while (n < KILL_AFTER && read_full(fds[0], &acked[n], sizeof acked[0]) == 0)
      n++;
    CHECK_EQ_INT(n, KILL_AFTER); /* the child wrote, and was not dead yet */
    kill(pid, SIGKILL);
    /* what was acknowledged before the kill is still in the pipe */
    while (n < CN__ARRAY_LEN(acked) &&
           read_full(fds[0], &acked[n], sizeof acked[0]) == 0)
      n++;
    close(fds[0]);
    int status = 0;
    CHECK_EQ_INT(waitpid(pid, &status, 0), pid);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    st = tsu_open(&d, full);
    size_t missing = 0;
    for (size_t i = 0; i < n; i++) {
      row r = {.id = acked[i]};
      snprintf(r.payload, sizeof r.payload, "payload-%lld", (long long)r.id);
      if (cn__store_read(st, present, &r, NULL) != 0)
        missing++;
    }
    CHECK_EQ_INT(missing, 0);
    /* and each write is whole: as many rows as increments of the total */
    int64_t rows = tsu_int(st, "SELECT count(*) FROM acked");
    CHECK(rows >= (int64_t)n);
    CHECK_EQ_INT(tsu_int(st, "SELECT n FROM total"), rows);
    CHECK_EQ_STR(integrity(d.db), "ok");
    printf("durability %s: %zu acknowledged before/around the kill, %lld "
           "rows found\n",
           full ? "full" : "normal", n, (long long)rows);
    cn__store_close(st);
    tsu_rm(&d);
  }
}

int main(void) {
  RUN(kill9_keeps_acknowledged_writes);
  return check_summary();
}
