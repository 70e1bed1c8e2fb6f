/*
 * The server processes of `cairn dev`: starting one with the session's
 * state, talking to it over its control socket (the protocol is written
 * down in devserve.c), forwarding its output, noticing when it listens and
 * when it exits. A process and its three handles are freed once all three
 * are closed, after the command has been told.
 */
#include <stdlib.h>
#include <unistd.h>

#include "cli/dev.h"

typedef struct send_req {
  uv_write_t w;
  char data[];
} send_req;

static void on_sent(uv_write_t *w, int status) {
  (void)status;
  cn__free(w->data);
}

static void send_bytes(cn__dev_child *ch, const char *p, size_t n) {
  if (ch->exited || uv_is_closing((uv_handle_t *)&ch->ctl))
    return;
  send_req *r = cn__malloc(sizeof(*r) + n);
  if (!r)
    return;
  memcpy(r->data, p, n);
  r->w.data = r;
  uv_buf_t b = uv_buf_init(r->data, (unsigned)n);
  if (uv_write(&r->w, (uv_stream_t *)&ch->ctl, &b, 1, on_sent))
    cn__free(r);
}

void cn__dev_child_send(cn__dev_child *ch, const char *line) {
  send_bytes(ch, line, strlen(line));
}

void cn__dev_child_send_error(cn__dev_child *ch, const char *text) {
  if (ch->serving)
    ch->unshown++;
  if (!text || !*text) {
    cn__dev_child_send(ch, "clear\n");
    return;
  }
  char head[32];
  size_t n = strlen(text);
  snprintf(head, sizeof head, "error %zu\n", n);
  cn__dev_child_send(ch, head);
  send_bytes(ch, text, n);
}

void cn__dev_served_free(cn__dev_served *s) {
  for (size_t i = 0; i < s->n; i++) {
    cn__free(s->patterns[i]);
    cn__free(s->sos[i]);
    if (s->olds)
      cn__free(s->olds[i]);
  }
  cn__free(s->patterns);
  cn__free(s->sos);
  cn__free(s->olds);
  memset(s, 0, sizeof(*s));
}

int cn__dev_served_find(const cn__dev_served *s, const char *pattern) {
  for (size_t i = 0; i < s->n; i++)
    if (!strcmp(s->patterns[i], pattern))
      return (int)i;
  return -1;
}

/* ----------------------------------------------------------- closing */

static void out_line(cn__dev_child *ch, char *line);
static void each_line(cn__buf *b, cn__dev_child *ch,
                      void (*fn)(cn__dev_child *, char *));

static void on_handle_closed(uv_handle_t *h) {
  cn__dev_child *ch = h->data;
  if (--ch->handles)
    return;
  if (!ch->notified) /* never started: the command still hears of it */
    cn__dev_cmd_child_exited(ch->d, ch);
  cn__buf_free(&ch->ctlbuf);
  cn__buf_free(&ch->outbuf);
  cn__dev_served_free(&ch->served);
  cn__free(ch);
}

static void close_handle(uv_handle_t *h) {
  if (!uv_is_closing(h))
    uv_close(h, on_handle_closed);
}

/* The process is gone. What it wrote is in its stdout pipe already: read
 * it all now, then close everything, rather than wait for an end of file
 * that a grandchild holding the pipe could delay for ever. */
static void on_exit_cb(uv_process_t *p, int64_t status, int sig) {
  cn__dev_child *ch = p->data;
  ch->exited = 1;
  ch->status = status;
  ch->term_signal = sig;
  uv_os_fd_t fd;
  if (!uv_is_closing((uv_handle_t *)&ch->out) &&
      uv_fileno((uv_handle_t *)&ch->out, &fd) == 0) {
    char buf[16384];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
      cn__buf_append(&ch->outbuf, buf, (size_t)n);
    each_line(&ch->outbuf, ch, out_line);
  }
  close_handle((uv_handle_t *)p);
  close_handle((uv_handle_t *)&ch->ctl);
  close_handle((uv_handle_t *)&ch->out);
  ch->notified = 1;
  cn__dev_cmd_child_exited(ch->d, ch);
}

void cn__dev_child_stop(cn__dev_child *ch, int kill_now) {
  if (ch->exited)
    return;
  if (kill_now) {
    uv_process_kill(&ch->proc, SIGKILL);
    return;
  }
  if (!ch->stopping)
    cn__dev_child_send(ch, "stop\n");
  ch->stopping = 1;
}

/* ------------------------------------------------------------- lines */

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  static char scratch[16384];
  (void)h, (void)hint;
  *buf = uv_buf_init(scratch, sizeof scratch);
}

/* Complete lines of b, each handed to fn without its newline. */
static void each_line(cn__buf *b, cn__dev_child *ch,
                      void (*fn)(cn__dev_child *, char *)) {
  size_t start = 0;
  for (size_t i = 0; i < b->len; i++) {
    if (b->ptr[i] != '\n')
      continue;
    b->ptr[i] = '\0';
    fn(ch, b->ptr + start);
    start = i + 1;
  }
  cn__buf_consume(b, start);
}

static const char listening[] = "cairn listening on ";

static void out_line(cn__dev_child *ch, char *line) {
  if (!ch->ready && !strncmp(line, listening, sizeof listening - 1)) {
    ch->ready = 1;
    cn__dev_cmd_child_ready(ch->d, ch, line);
    return;
  }
  printf("%s\n", line);
  fflush(stdout);
}

static void ctl_line(cn__dev_child *ch, char *line) {
  if (!strcmp(line, "shown")) {
    if (ch->unshown && !--ch->unshown)
      cn__dev_cmd_errors_shown(ch->d, ch);
    return;
  }
  if (!strncmp(line, "ok ", 3)) {
    /* A replace took: the object it replaced is nobody's fallback now. */
    char *tab = strchr(line + 3, '\t');
    if (tab)
      *tab = '\0';
    int k = cn__dev_served_find(&ch->served, line + 3);
    if (k >= 0 && ch->served.olds) {
      cn__free(ch->served.olds[k]);
      ch->served.olds[k] = NULL;
    }
    return;
  }
  if (strncmp(line, "fail ", 5))
    return;
  char *tab = strchr(line + 5, '\t');
  if (!tab)
    return;
  *tab = '\0';
  cn__dev_cmd_load_failed(ch->d, ch, line + 5, tab + 1);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  cn__dev_child *ch = s->data;
  int is_out = s == (uv_stream_t *)&ch->out;
  cn__buf *b = is_out ? &ch->outbuf : &ch->ctlbuf;
  if (n > 0) {
    cn__buf_append(b, buf->base, (size_t)n);
    each_line(b, ch, is_out ? out_line : ctl_line);
    return;
  }
  if (n < 0)
    close_handle((uv_handle_t *)s);
}

/* ------------------------------------------------------------ start */

/* The routes, middleware and error of d, as commands. */
static void send_state(cn__dev_cmd *d, cn__dev_child *ch) {
  char line[CN__CLI_PATH * 2 + 512];
  cn__dev_served *sv = &ch->served;
  /* The build id: this session (its pid) and this process's number. */
  snprintf(line, sizeof line, "listen %d\t%s\nbuild %xg%u\n", d->port,
           d->host, (unsigned)getpid(), d->builds);
  cn__dev_child_send(ch, line);
  sv->patterns = cn__calloc(d->nunits + 1, sizeof(char *));
  sv->sos = cn__calloc(d->nunits + 1, sizeof(char *));
  sv->olds = cn__calloc(d->nunits + 1, sizeof(char *));
  for (size_t i = 0; sv->patterns && sv->sos && sv->olds && i < d->nunits;
       i++) {
    cn__dev_unit *u = d->units[i];
    if (!u->seen || !u->so[0])
      continue;
    if (u->middleware) {
      snprintf(sv->mw, sizeof sv->mw, "%s", u->so);
      continue;
    }
    if (u->data) { /* part of data_sig, not of the routes */
      snprintf(line, sizeof line, "data %s\t%s\t%s\n", u->module, u->rel,
               u->so);
      cn__dev_child_send(ch, line);
      continue;
    }
    if (u->pagedef)
      snprintf(line, sizeof line, "pagedef %s\t%s\n", u->rel, u->so);
    else
      snprintf(line, sizeof line, "route %s\t%s\t%s\n", u->pattern, u->rel,
               u->so);
    cn__dev_child_send(ch, line);
    /* Out of memory, the route goes unrecorded: the next round sees a
     * process that lacks it and starts another. */
    char *p = cn__strdup(u->pattern), *o = cn__strdup(u->so);
    if (!p || !o) {
      cn__free(p);
      cn__free(o);
      continue;
    }
    sv->patterns[sv->n] = p;
    sv->sos[sv->n] = o;
    sv->n++;
  }
  if (sv->mw[0]) {
    snprintf(line, sizeof line, "middleware %s\n", sv->mw);
    cn__dev_child_send(ch, line);
  }
  for (size_t i = 0; i < d->ntpls; i++) {
    snprintf(line, sizeof line, "template %s\n", d->tpls[i]);
    cn__dev_child_send(ch, line);
  }
  for (size_t i = 0; i < d->nmigs; i++) {
    snprintf(line, sizeof line, "migration %s\n", d->migs[i]);
    cn__dev_child_send(ch, line);
  }
  sv->data_sig = cn__dev_cmd_data_sig(d);
  sv->config_sig = d->config_sig;
  sv->env_sig = d->env_sig;
  sv->tpl_sig = d->tpl_sig;
  cn__dev_child_send_error(ch, d->plain_errors);
  cn__dev_child_send(ch, "serve\n");
  ch->serving = 1;
}

int cn__dev_child_start(cn__dev_cmd *d, cn__dev_child **out) {
  char exe[CN__CLI_PATH];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0)
    return CN_ENOENT;
  exe[n] = '\0';
  cn__dev_child *ch = cn__calloc(1, sizeof(*ch));
  if (!ch)
    return CN_ENOMEM;
  ch->d = d;
  char *args[] = {exe, "__dev-server", NULL};
  uv_pipe_init(&d->loop, &ch->out, 0);
  uv_pipe_init(&d->loop, &ch->ctl, 0);
  ch->out.data = ch->ctl.data = ch->proc.data = ch;
  uv_stdio_container_t stdio[5] = {
      {.flags = UV_IGNORE},
      {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE,
       .data.stream = (uv_stream_t *)&ch->out},
      {.flags = UV_INHERIT_FD, .data.fd = 2},
      {.flags = UV_CREATE_PIPE | UV_READABLE_PIPE | UV_WRITABLE_PIPE,
       .data.stream = (uv_stream_t *)&ch->ctl},
      {.flags = UV_INHERIT_FD, .data.fd = d->listen_fd},
  };
  uv_process_options_t o = {
      .exit_cb = on_exit_cb,
      .file = exe,
      .args = args,
      .env = d->env,
      .cwd = d->root,
      /* Its own session: a Ctrl-C reaches the command only, which then
       * stops the server in order. */
      .flags = UV_PROCESS_DETACHED,
      .stdio_count = 5,
      .stdio = stdio,
  };
  ch->handles = 3;
  int rc = uv_spawn(&d->loop, &ch->proc, &o);
  if (rc) {
    cn__cli_error(d->c, "cannot start the development server: %s",
                  uv_strerror(rc));
    ch->exited = 1;
    ch->status = 127;
    close_handle((uv_handle_t *)&ch->proc);
    close_handle((uv_handle_t *)&ch->out);
    close_handle((uv_handle_t *)&ch->ctl);
    return CN_ESYS;
  }
  ch->started_ms = cn__dev_cmd_now(d);
  d->builds++;
  uv_read_start((uv_stream_t *)&ch->out, on_alloc, on_read);
  uv_read_start((uv_stream_t *)&ch->ctl, on_alloc, on_read);
  send_state(d, ch);
  *out = ch;
  return 0;
}
