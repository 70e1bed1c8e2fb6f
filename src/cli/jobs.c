/*
 * Compiler processes, a few at a time, on a libuv loop. Each job's
 * commands run in order; stdout and stderr go into one pipe so a compiler's
 * messages come out whole and in the order it wrote them. `cairn build`
 * runs a loop until its jobs are done; `cairn dev` shares its loop with the
 * file watchers and the server process.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "cli/cli.h"

static void job_start(cn__cli_job *job);

void cn__cli_jobs_init(cn__cli_jobs *q, uv_loop_t *loop, int max) {
  memset(q, 0, sizeof(*q));
  q->loop = loop;
  q->max = max > 0 ? max : (int)uv_available_parallelism();
  if (q->max < 1)
    q->max = 1;
}

int cn__cli_jobs_busy(const cn__cli_jobs *q) {
  int n = q->running;
  for (cn__cli_job *j = q->head; j; j = j->next)
    n++;
  return n;
}

static void pump(cn__cli_jobs *q) {
  while (q->running < q->max && q->head) {
    cn__cli_job *job = q->head;
    q->head = job->next;
    if (!q->head)
      q->tail = NULL;
    job->next = NULL;
    q->running++;
    job_start(job);
  }
}

void cn__cli_jobs_submit(cn__cli_jobs *q, cn__cli_job *job) {
  job->q = q;
  job->step = 0;
  job->status = 0;
  job->next = NULL;
  if (q->tail)
    q->tail->next = job;
  else
    q->head = job;
  q->tail = job;
  pump(q);
}

/* The job is over: hand it back, then start the next one. */
static void job_finish(cn__cli_job *job) {
  cn__cli_jobs *q = job->q;
  q->running--;
  job->done(job);
  pump(q);
}

static void step_done(cn__cli_job *job);

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  static char scratch[16384];
  (void)h, (void)hint;
  /* One loop thread: the scratch buffer is copied out before the next
   * read is issued. */
  *buf = uv_buf_init(scratch, sizeof scratch);
}

static void on_pipe_closed(uv_handle_t *h) {
  cn__cli_job *job = h->data;
  job->eof = 1;
  if (job->exited)
    step_done(job);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  cn__cli_job *job = s->data;
  if (n > 0) {
    cn__buf_append(&job->output, buf->base, (size_t)n);
    return;
  }
  if (n < 0)
    uv_close((uv_handle_t *)s, on_pipe_closed);
}

static void on_proc_closed(uv_handle_t *h) {
  cn__cli_job *job = h->data;
  job->exited = 1;
  if (job->eof)
    step_done(job);
}

static void on_exit_cb(uv_process_t *p, int64_t status, int sig) {
  cn__cli_job *job = p->data;
  job->status = sig ? 128 + sig : (int)status;
  uv_close((uv_handle_t *)p, on_proc_closed);
}

static void step_done(cn__cli_job *job) {
  job->step++;
  if (job->status || job->step >= job->ncmds)
    job_finish(job);
  else
    job_start(job);
}

static void on_failed_closed(uv_handle_t *h) { job_finish(h->data); }

static void spawn_failed(cn__cli_job *job, const char *what, int err,
                         int close_proc) {
  char line[256];
  int n = snprintf(line, sizeof line, "cannot run %s: %s\n", what,
                   uv_strerror(err));
  cn__buf_append(&job->output, line, (size_t)n);
  job->status = 127;
  if (close_proc)
    uv_close((uv_handle_t *)&job->proc, on_failed_closed);
  else
    job_finish(job);
}

static void job_start(cn__cli_job *job) {
  cn__cli_argv *cmd = &job->cmds[job->step];
  uv_file fds[2];
  job->exited = job->eof = 0;
  if (cmd->failed || !cmd->n) {
    spawn_failed(job, "a command", UV_ENOMEM, 0);
    return;
  }
  int rc = uv_pipe(fds, UV_NONBLOCK_PIPE, 0);
  if (rc) {
    spawn_failed(job, cmd->v[0], rc, 0);
    return;
  }
  uv_stdio_container_t stdio[3] = {
      {.flags = UV_IGNORE},
      {.flags = UV_INHERIT_FD, .data.fd = fds[1]},
      {.flags = UV_INHERIT_FD, .data.fd = fds[1]},
  };
  uv_process_options_t o = {.exit_cb = on_exit_cb,
                            .file = cmd->v[0],
                            .args = cmd->v,
                            .stdio_count = 3,
                            .stdio = stdio};
  job->proc.data = job;
  rc = uv_spawn(job->q->loop, &job->proc, &o);
  close(fds[1]);
  if (rc) {
    close(fds[0]);
    /* A handle uv_spawn failed on still needs closing, and the job may
     * only be handed back once it is closed. */
    spawn_failed(job, cmd->v[0], rc, 1);
    return;
  }
  uv_pipe_init(job->q->loop, &job->pipe, 0);
  job->pipe.data = job;
  uv_pipe_open(&job->pipe, fds[0]);
  uv_read_start((uv_stream_t *)&job->pipe, on_alloc, on_read);
}
