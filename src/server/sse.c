/*
 * Server-Sent Events over a streamed response (the HTML spec's
 * text/event-stream): each call formats one event and writes it, so the
 * handler's loop is "cn_sse_event(...); wait; repeat" until a write says
 * the client has gone (CN_ECLOSED) or cn_req_aborted does.
 */
#include "server.h"

/* Before the first byte: the headers an event stream needs (unless the
 * handler set its own Content-Type). */
static int begin(cn_res *res) {
  if (res->streaming)
    return 0;
  int rc = 0;
  if (!res->has_type)
    rc = cn_res_header(res, "Content-Type", "text/event-stream; charset=utf-8");
  if (!rc)
    rc = cn_res_header(res, "Cache-Control", "no-cache");
  if (!rc)
    rc = cn_res_header(res, "X-Accel-Buffering", "no");
  return rc;
}

static int one_line(const char *s) { return !s || !strpbrk(s, "\r\n"); }

int cn_sse_event(cn_res *res, const char *event, const char *id,
                 const char *data) {
  if (!res || !one_line(event) || !one_line(id))
    return CN_EINVAL;
  cn__buf b = {0};
  int rc = begin(res);
  if (!rc && event)
    rc = cn__buf_appendf(&b, "event: %s\n", event);
  if (!rc && id)
    rc = cn__buf_appendf(&b, "id: %s\n", id);
  /* Every line of the data is a data: field; CRLF and CR end lines too. */
  const char *p = data ? data : "";
  do {
    size_t n = strcspn(p, "\r\n");
    if (!rc)
      rc = cn__buf_appendf(&b, "data: %.*s\n", (int)n, p);
    p += n;
    if (*p == '\r' && p[1] == '\n')
      p++;
  } while (*p++);
  if (!rc)
    rc = cn__buf_append(&b, "\n", 1);
  if (!rc)
    rc = cn_res_write(res, b.ptr, b.len);
  cn__buf_free(&b);
  return rc;
}

int cn_sse_retry(cn_res *res, unsigned ms) {
  char line[32];
  int rc = res ? begin(res) : CN_EINVAL;
  int n = snprintf(line, sizeof line, "retry: %u\n\n", ms);
  return rc ? rc : cn_res_write(res, line, (size_t)n);
}

int cn_sse_comment(cn_res *res, const char *text) {
  if (!res || !one_line(text))
    return CN_EINVAL;
  cn__buf b = {0};
  int rc = begin(res);
  if (!rc)
    rc = cn__buf_appendf(&b, ": %s\n\n", text ? text : "");
  if (!rc)
    rc = cn_res_write(res, b.ptr, b.len);
  cn__buf_free(&b);
  return rc;
}
