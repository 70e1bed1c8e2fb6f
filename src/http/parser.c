/*
 * The request parser a connection feeds: scan gate -> request line ->
 * llhttp over the complete head -> framing rules -> body through llhttp.
 * Socket-free, so the fuzzer drives exactly the production path.
 *
 * The head is copied into the message's arena before llhttp sees it, so
 * every slice a handler gets points into memory the request owns; the
 * read buffer can be reused at once.
 */
#include "http.h"

static cn__message *cur(llhttp_t *ll) { return ((cn__parser *)ll->data)->msg; }

static int fail(cn__message *m, int status, const char *message) {
  m->error_status = status;
  m->error_message = message;
  return -1;
}

/* Trailer fields arrive in the body's bytes, which the caller reuses: they
 * are counted against the chunk-extension budget and dropped (no handler
 * reads trailers; RFC 9110 6.5.1 lets a recipient discard them). */
static int trailer(llhttp_t *ll, size_t len) {
  cn__parser *p = ll->data;
  p->msg->chunk_ext += len;
  if (p->msg->chunk_ext > p->lim->chunk_ext_bytes)
    return fail(p->msg, 413, "Chunk extensions exceeded the size limit");
  return 0;
}

static int on_header_field(llhttp_t *ll, const char *at, size_t len) {
  cn__message *m = cur(ll);
  if (((cn__parser *)ll->data)->in_body)
    return trailer(ll, len);
  if (m->nheaders && m->headers[m->nheaders - 1].value.ptr == NULL) {
    m->headers[m->nheaders - 1].name.len += len; /* a continued span */
    return 0;
  }
  if (m->nheaders == m->cap_headers) {
    size_t cap = m->cap_headers ? m->cap_headers * 2 : 16;
    cn__header *h = cn__arena_alloc(m->arena, cap * sizeof(*h));
    if (!h)
      return fail(m, 503, "Server out of memory");
    if (m->nheaders)
      memcpy(h, m->headers, m->nheaders * sizeof(*h));
    m->headers = h;
    m->cap_headers = cap;
  }
  m->headers[m->nheaders].name = cn__str(at, len);
  m->headers[m->nheaders].value = CN_STR_NULL;
  m->nheaders++;
  return 0;
}

static int on_header_value(llhttp_t *ll, const char *at, size_t len) {
  cn__message *m = cur(ll);
  if (((cn__parser *)ll->data)->in_body)
    return trailer(ll, len);
  cn__header *h = &m->headers[m->nheaders - 1];
  if (h->value.ptr)
    h->value.len += len;
  else
    h->value = cn__str(at, len);
  return 0;
}

static int on_header_value_complete(llhttp_t *ll) {
  cn__message *m = cur(ll);
  if (((cn__parser *)ll->data)->in_body)
    return 0;
  cn__header *h = &m->headers[m->nheaders - 1];
  if (!h->value.ptr)
    h->value = cn__str(h->name.ptr + h->name.len, 0);
  h->value = cn__str_trim(h->value);
  cn__head_info_add(&m->info, h->name, h->value);
  return 0;
}

/* Next.js's sentence: "Body exceeded 1mb limit", with the limit as its
 * sizeLimit would spell it. Lives in the message's arena. */
static int too_large(cn__message *m) {
  size_t l = m->body_limit;
  const char *msg =
      l % (1u << 20) == 0
          ? cn__arena_printf(m->arena, "Body exceeded %zumb limit", l >> 20)
      : l % 1024 == 0
          ? cn__arena_printf(m->arena, "Body exceeded %zukb limit", l >> 10)
          : cn__arena_printf(m->arena, "Body exceeded %zub limit", l);
  return fail(m, 413, msg ? msg : "Body exceeded the size limit");
}

static int on_headers_complete(llhttp_t *ll) {
  cn__parser *p = ll->data;
  cn__message *m = p->msg;
  int status = cn__head_check(&m->info, &m->rl, &m->chunked,
                              &m->content_length, &m->expect_continue);
  if (status)
    return fail(m, status, NULL);
  m->host = m->rl.authority.ptr ? m->rl.authority : m->info.host;
  m->keep_alive = m->rl.minor == 1
                      ? !m->info.conn_close
                      : m->info.conn_keep && !m->info.conn_close;
  if (m->info.upgrade)
    m->keep_alive = 0; /* never tunnelled: answered, then closed */
  m->is_head = cn_str_eq(m->rl.method, "HEAD");
  m->body_limit = p->lim->body;
  if (p->hooks->on_head && (status = p->hooks->on_head(p->ud, m)))
    return fail(m, status, m->error_message);
  if (!m->chunked && m->content_length > m->body_limit)
    return too_large(m);
  if (m->expect_continue && (m->chunked || m->content_length) &&
      p->hooks->on_continue)
    p->hooks->on_continue(p->ud);
  if (!m->sink && !m->chunked && m->content_length &&
      cn__buf_reserve(&m->body, (size_t)m->content_length))
    return fail(m, 503, "Server out of memory");
  return 0;
}

static int on_body(llhttp_t *ll, const char *at, size_t len) {
  cn__message *m = cur(ll);
  if (m->body.len + m->sunk + len > m->body_limit)
    return too_large(m);
  if (m->sink) {
    const char *why = NULL;
    int status = m->sink(m->sink_ud, at, len, &why);
    m->sunk += len; /* counted against the limit, not kept */
    return status ? fail(m, status, why) : 0;
  }
  if (cn__buf_append(&m->body, at, len))
    return fail(m, 503, "Server out of memory");
  return 0;
}

static int on_chunk_ext(llhttp_t *ll, const char *at, size_t len) {
  CN__UNUSED(at);
  return trailer(ll, len);
}

static int on_message_complete(llhttp_t *ll) {
  CN__UNUSED(ll);
  return HPE_PAUSED; /* one message at a time: the caller decides */
}

static const llhttp_settings_t settings = {
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_header_value_complete = on_header_value_complete,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_chunk_extension_name = on_chunk_ext,
    .on_chunk_extension_value = on_chunk_ext,
    .on_message_complete = on_message_complete,
};

void cn__parser_init(cn__parser *p, const cn__parser_limits *lim,
                     const cn__parser_hooks *hooks, void *ud) {
  memset(p, 0, sizeof(*p));
  p->lim = lim;
  p->hooks = hooks;
  p->ud = ud;
  llhttp_init(&p->ll, HTTP_REQUEST, &settings);
  p->ll.data = p;
}

int cn__parser_started(const cn__parser *p, size_t pending) {
  return p->in_body || pending > 0;
}

/* llhttp stopped: the message is complete, or it failed. */
static int settle(cn__parser *p, llhttp_errno_t err) {
  cn__message *m = p->msg;
  if (err == HPE_PAUSED || err == HPE_PAUSED_UPGRADE) {
    llhttp_resume(&p->ll);
    p->in_body = 0;
    cn__head_scan_reset(&p->scan);
    return CN__PARSE_DONE;
  }
  if (!m->error_status) {
    m->error_status = 400;
    m->error_message = llhttp_get_error_reason(&p->ll);
  }
  return m->error_status;
}

static int feed_head(cn__parser *p, const char *data, size_t len,
                     size_t *used) {
  size_t head_len = 0, skip = 0;
  *used = 0;
  int rc = cn__head_scan_feed(&p->scan, data, len, &p->lim->scan, &head_len,
                              &skip);
  if (rc != CN__SCAN_DONE)
    return rc; /* MORE, or a status */
  cn__message *m = p->hooks->new_message(p->ud);
  if (!m)
    return 503;
  p->msg = m;
  *used = head_len;
  size_t n = head_len - skip;
  char *head = cn__arena_memdup(m->arena, data + skip, n);
  if (!head)
    return fail(m, 503, "Server out of memory"), 503;
  const char *eol = memchr(head, '\r', n);
  rc = cn__request_line_parse(cn__str(head, (size_t)(eol - head)), &m->rl);
  if (rc)
    return m->error_status = rc;
  llhttp_errno_t err = llhttp_execute(&p->ll, head, n);
  if (err == HPE_OK) {
    p->in_body = 1;
    return CN__PARSE_MORE;
  }
  return settle(p, err);
}

int cn__parser_feed(cn__parser *p, const char *data, size_t len,
                    size_t *used) {
  if (!p->in_body) {
    int rc = feed_head(p, data, len, used);
    if (rc != CN__PARSE_MORE || !p->in_body)
      return rc;
    /* The head is done and a body follows: go on with what is left. */
    size_t body_used = 0;
    rc = cn__parser_feed(p, data + *used, len - *used, &body_used);
    *used += body_used;
    return rc;
  }
  llhttp_errno_t err = llhttp_execute(&p->ll, data, len);
  if (err == HPE_OK) {
    *used = len;
    return CN__PARSE_MORE;
  }
  *used = err == HPE_PAUSED || err == HPE_PAUSED_UPGRADE
              ? (size_t)(llhttp_get_error_pos(&p->ll) - data)
              : len;
  return settle(p, err);
}
