/*
 * One HTTP exchange on libcurl's easy interface.
 *
 * Each thread keeps one CURL handle for its whole life (a pthread key
 * whose destructor cleans it up when the thread ends): curl_easy_reset
 * clears the options between fetches but keeps the handle's connection
 * cache, so a loader fetching the same API twice reuses the connection.
 */
#include <curl/curl.h>
#include <limits.h>
#include <stdatomic.h>
#include <strings.h>

#include "fetch/fetch.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_key_t handle_key;
static int global_rc = -1;

static void handle_destroy(void *h) { curl_easy_cleanup(h); }

static void init_once(void) {
  global_rc = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK &&
                      pthread_key_create(&handle_key, handle_destroy) == 0
                  ? 0
                  : CN_ENOMEM;
}

/* This thread's handle, reset; NULL when curl could not start. */
static CURL *thread_handle(void) {
  pthread_once(&once, init_once);
  if (global_rc)
    return NULL;
  CURL *h = pthread_getspecific(handle_key);
  if (h) {
    curl_easy_reset(h);
    return h;
  }
  h = curl_easy_init();
  if (h && pthread_setspecific(handle_key, h)) {
    curl_easy_cleanup(h);
    h = NULL;
  }
  return h;
}

typedef struct sink {
  cn__buf *body;
  int too_big, no_memory;
  const cn_req *req;
} sink;

/* Returning less than was given makes curl stop with CURLE_WRITE_ERROR:
 * the flags say why. */
static size_t on_data(char *p, size_t size, size_t n, void *arg) {
  sink *k = arg;
  size_t len = size * n;
  if (len > CN__FETCH_MAX_BODY - k->body->len) {
    k->too_big = 1;
    return 0;
  }
  if (cn__buf_append(k->body, p, len)) {
    k->no_memory = 1;
    return 0;
  }
  return len;
}

/* Called by curl about once a second and whenever data moves. */
static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut,
                       curl_off_t un) {
  sink *k = arg;
  return k->req && cn_req_aborted(k->req) ? 1 : 0;
}

static int has_header(const cn__fetch_spec *s, const char *name) {
  size_t n = strlen(name);
  for (size_t i = 0; i < s->nheaders; i++)
    if (!strncasecmp(s->headers[i], name, n) && s->headers[i][n] == ':')
      return 1;
  return 0;
}

/* curl reads "Name:" as "remove this header" and wants "Name;" for an
 * empty value; it adds Content-Type: application/x-www-form-urlencoded to
 * a body and Expect: 100-continue to a large one, which fetch never does.
 * NULL (list freed) when out of memory. */
static int append(struct curl_slist **list, const char *line) {
  struct curl_slist *next = curl_slist_append(*list, line);
  if (!next)
    return CN_ENOMEM;
  *list = next;
  return 0;
}

static struct curl_slist *header_list(const cn__fetch_spec *s) {
  struct curl_slist *list = NULL;
  cn__buf b = {0};
  int rc = 0;
  for (size_t i = 0; !rc && i < s->nheaders; i++) {
    const char *h = s->headers[i], *colon = strchr(h, ':'), *v = colon + 1;
    while (*v == ' ' || *v == '\t')
      v++;
    b.len = 0;
    if (*v)
      rc = cn__buf_append(&b, h, strlen(h) + 1);
    else if (!(rc = cn__buf_append(&b, h, (size_t)(colon - h))))
      rc = cn__buf_append(&b, ";", 2);
    if (!rc)
      rc = append(&list, b.ptr);
  }
  if (!rc && s->body && !has_header(s, "content-type"))
    rc = append(&list, "Content-Type:");
  if (!rc && !has_header(s, "expect"))
    rc = append(&list, "Expect:");
  cn__buf_free(&b);
  if (rc) {
    curl_slist_free_all(list);
    return NULL;
  }
  return list;
}

static int setup(CURL *h, const cn__fetch_spec *s, struct curl_slist *hl,
                 sink *k, char *errbuf) {
  long timeout = s->timeout_ms > LONG_MAX ? LONG_MAX : (long)s->timeout_ms;
  CURLcode c = CURLE_OK;
#define SET(opt, val) (c = c ? c : curl_easy_setopt(h, opt, val))
  SET(CURLOPT_ERRORBUFFER, errbuf);
  SET(CURLOPT_URL, s->url);
  SET(CURLOPT_PROTOCOLS_STR, "http,https");
  SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  SET(CURLOPT_FOLLOWLOCATION, 1L);
  SET(CURLOPT_MAXREDIRS, (long)CN__FETCH_MAX_REDIRECTS);
  SET(CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for DNS timeouts */
  SET(CURLOPT_TIMEOUT_MS, timeout);
  SET(CURLOPT_ACCEPT_ENCODING, ""); /* every decoding curl knows */
  SET(CURLOPT_USERAGENT, "cairn/" CN_VERSION_STRING);
  SET(CURLOPT_HTTPHEADER, hl);
  SET(CURLOPT_WRITEFUNCTION, on_data);
  SET(CURLOPT_WRITEDATA, k);
  SET(CURLOPT_NOPROGRESS, 0L);
  SET(CURLOPT_XFERINFOFUNCTION, on_progress);
  SET(CURLOPT_XFERINFODATA, k);
  if (!strcmp(s->method, "HEAD")) {
    SET(CURLOPT_NOBODY, 1L);
  } else {
    /* A Content-Length past the limit fails before the body arrives. */
    SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)CN__FETCH_MAX_BODY);
    /* POSTFIELDS keeps curl's own handling of 303 (then GET) and of 307
     * and 308 (the body sent again); CUSTOMREQUEST names the method. As
     * fetch does, POST, PUT and PATCH say Content-Length: 0 without a
     * body, other methods send no body at all. */
    if (s->body || !strcmp(s->method, "POST") || !strcmp(s->method, "PUT") ||
        !strcasecmp(s->method, "PATCH")) {
      SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)s->body_len);
      SET(CURLOPT_POSTFIELDS, s->body ? (const char *)s->body : "");
    }
    if (strcmp(s->method, "GET") && strcmp(s->method, "POST"))
      SET(CURLOPT_CUSTOMREQUEST, s->method);
  }
#undef SET
  if (c)
    cn__fetch_errorf("%s", curl_easy_strerror(c));
  return c == CURLE_OK ? 0 : c == CURLE_OUT_OF_MEMORY ? CN_ENOMEM : CN_EINVAL;
}

/* curl's result as a CN_E* code, with the sentence for cn_fetch_error. */
static int result_of(CURL *h, CURLcode c, const sink *k, const char *errbuf) {
  const char *why = errbuf[0] ? errbuf : curl_easy_strerror(c);
  long redirects = 0;
  curl_easy_getinfo(h, CURLINFO_REDIRECT_COUNT, &redirects);
  if (k->too_big || c == CURLE_FILESIZE_EXCEEDED) {
    cn__fetch_errorf("the answer is larger than %zu MiB",
                     CN__FETCH_MAX_BODY >> 20);
    return CN_ETOOBIG;
  }
  if (k->no_memory || c == CURLE_OUT_OF_MEMORY) {
    cn__fetch_errorf("out of memory");
    return CN_ENOMEM;
  }
  if (c == CURLE_ABORTED_BY_CALLBACK) {
    cn__fetch_errorf("the request's client went away");
    return CN_ECLOSED;
  }
  cn__fetch_errorf("%s", why);
  /* The caller's URL is wrong; a redirect to a bad one is the server's. */
  if ((c == CURLE_URL_MALFORMAT || c == CURLE_UNSUPPORTED_PROTOCOL) &&
      !redirects)
    return CN_EINVAL;
  return CN_EIO;
}

int cn__fetch_transfer(const cn__fetch_spec *s, const cn_req *req,
                       cn__fetch_reply *out) {
  char errbuf[CURL_ERROR_SIZE];
  struct curl_slist *hl = NULL;
  sink k = {&out->body, 0, 0, req};
  int rc = 0;
  memset(out, 0, sizeof(*out));
  errbuf[0] = '\0';
  CURL *h = thread_handle();
  if (!h) {
    cn__fetch_errorf("libcurl could not start");
    return CN_ENOMEM;
  }
  hl = header_list(s);
  if (!hl) {
    cn__fetch_errorf("out of memory");
    rc = CN_ENOMEM;
    goto cleanup;
  }
  if ((rc = setup(h, s, hl, &k, errbuf)))
    goto cleanup;
  CURLcode c = curl_easy_perform(h);
  if (c != CURLE_OK) {
    rc = result_of(h, c, &k, errbuf);
    goto cleanup;
  }
  long status = 0;
  char *ct = NULL;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct);
  out->status = (int)status;
  out->ctype = cn__strdup(ct ? ct : "");
  /* NUL after the body, not counted. */
  if (!out->ctype || cn__buf_append(&out->body, "", 1)) {
    cn__fetch_errorf("out of memory");
    rc = CN_ENOMEM;
    goto cleanup;
  }
  out->body.len--;
cleanup:
  /* The handle keeps pointers to these until its next reset: clear them
   * now so nothing dangles between fetches. */
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
  curl_slist_free_all(hl);
  return rc;
}

void cn__fetch_reply_free(cn__fetch_reply *r) {
  cn__buf_free(&r->body);
  cn__free(r->ctype);
  r->ctype = NULL;
}
