/*
 * fetch.h: outgoing HTTP for handlers, loaders and actions (cn_fetch in
 * cairn.h), on libcurl's easy interface, with Next.js's two layers of
 * reuse in front of it.
 *
 * The path of one cn_fetch:
 *   1. checks: only http: and https: URLs; a method that is a token and
 *      not CONNECT/TRACE/TRACK (DELETE, GET, HEAD, OPTIONS, POST, PUT in
 *      any case are upper-cased, as fetch does); no body with GET/HEAD;
 *      headers "Name: value" without CR, LF or NUL. Anything else is
 *      CN_EINVAL before a byte is sent.
 *   2. request memoization (memo.c): with a request, a GET or HEAD made
 *      before in the same request, or being made by another thread of it
 *      (a page's parallel loaders), is answered from the first one
 *      ("MEMO"). As in Next.js only GET and HEAD are memoized: two POSTs
 *      are two POSTs. A failed fetch is not remembered: whoever waited on
 *      it makes its own attempt.
 *   3. the Data Cache (cache/cache.h): GET/HEAD with cache FORCE_CACHE or
 *      revalidate_s > 0 look there first. HIT is returned; STALE is
 *      returned at once and fetched again on a task thread (one refresh per
 *      key at a time; on failure the stale value stays); INVALID (a tag was
 *      revalidated) is fetched again before use, as cache.h prescribes for
 *      data. Only 2xx answers are kept, with opts->tags.
 *   4. the network (transfer.c): a per-thread CURL handle, reset between
 *      uses and kept for the thread's life so connections are reused.
 *      Redirects are followed, at most 5 (Next.js's fetch follows them
 *      too), to http: and https: only. Bodies past 32 MiB (decoded) are
 *      CN_ETOOBIG. A request whose client went away stops its fetch
 *      (CN_ECLOSED).
 *
 * Memory. With a request, the answer (body, content type) is in the
 * request's arena and so are memoized answers: they die with the request.
 * The memo table itself is heap, hung on req->memo and released by the
 * server through req->memo_free. Without a request the answer is one heap
 * block (res->priv_) released by cn_fetch_res_free. Bodies and content
 * types are always NUL-terminated (not counted in len). The background
 * refresh copies everything it needs into one heap block of its own: it
 * never touches the request, which may be gone.
 *
 * Keys. The bytes of method, URL, headers (in order, as given) and body,
 * each length-prefixed, are the memo key; the cache key is "fetch:" and
 * the hex SHA-256 of the same bytes.
 */
#ifndef CN_FETCH_H
#define CN_FETCH_H

#include "common/common.h"

/* The largest body kept: 32 MiB; one byte more is CN_ETOOBIG. */
#define CN__FETCH_MAX_BODY ((size_t)32 << 20)
/* When opts->timeout_ms is 0. */
#define CN__FETCH_DEFAULT_TIMEOUT_MS 30000
#define CN__FETCH_MAX_REDIRECTS 5
/* "fetch:" + 64 hex digits + NUL. */
#define CN__FETCH_KEY_LEN 71

/* A fetch as checked and normalized by cn__fetch_spec_init; its pointers
 * are the caller's (url, headers, body), method is its own. */
typedef struct cn__fetch_spec {
  const char *url;
  char method[33];
  const char *const *headers; /* NULL-terminated, may be NULL */
  size_t nheaders;
  const void *body;
  size_t body_len;
  uint64_t timeout_ms; /* never 0 */
} cn__fetch_spec;

/* cn_fetch's first step: check url and opts (see above) and fill *s.
 * OUT: *s. 0, or CN_EINVAL with a sentence for cn_fetch_error. */
int cn__fetch_spec_init(cn__fetch_spec *s, const char *url,
                        const cn_fetch_opts *opts);

/* 1 for GET and HEAD, the methods that are memoized and cached. */
int cn__fetch_spec_idempotent(const cn__fetch_spec *s);

/* The key bytes of s (appended to *bytes, the caller frees them) and the
 * cache key (OUT: key, "fetch:<hex sha-256>"). 0, CN_ENOMEM or CN_EIO
 * (OpenSSL failed). */
int cn__fetch_key(const cn__fetch_spec *s, cn__buf *bytes,
                  char key[CN__FETCH_KEY_LEN]);

/* Set the sentence cn_fetch_error returns on this thread ("" clears it). */
void cn__fetch_errorf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* ---------------------------------------------------------- transfer */

/* An HTTP answer as it arrived: body heap, NUL-terminated (body.len is
 * the length without it); ctype heap, NUL-terminated, "" when the answer
 * had none. cn__fetch_reply_free releases both. */
typedef struct cn__fetch_reply {
  int status;
  cn__buf body;
  char *ctype;
} cn__fetch_reply;

/* Make the exchange s describes, blocking this thread for up to
 * s->timeout_ms. req (may be NULL) is only watched: once its client went
 * away the transfer stops. OUT: *out (zeroed first; the caller frees it
 * with cn__fetch_reply_free whatever the result). 0 when an answer
 * arrived, whatever its status; CN_EINVAL (curl refused the URL),
 * CN_EIO (connection, TLS, timeout, too many redirects), CN_ETOOBIG (body
 * past CN__FETCH_MAX_BODY), CN_ECLOSED (the request's client left),
 * CN_ENOMEM; each with a sentence for cn_fetch_error. */
int cn__fetch_transfer(const cn__fetch_spec *s, const cn_req *req,
                       cn__fetch_reply *out);
void cn__fetch_reply_free(cn__fetch_reply *r);

/* ----------------------------------------------------- cached values */

/* The Data Cache's value for a fetch: "CNF1", the status (u32), the
 * content type's length (u32), the content type and a NUL, the body's
 * length (u64), the body and a NUL; integers little-endian. encode
 * appends to out: 0 or CN_ENOMEM. decode checks every length and both
 * NULs and points *ctype and *body into p (NUL-terminated); 0 or
 * CN_EPARSE. */
int cn__fetch_value_encode(int status, cn_str ctype, cn_str body,
                           cn__buf *out);
int cn__fetch_value_decode(const void *p, size_t n, int *status,
                           cn_str *ctype, cn_str *body);

/* ------------------------------------------------------- memoization */

typedef struct cn__fetch_memo_entry cn__fetch_memo_entry;

/* Look key up in req's memo table (made on first use and hung on
 * req->memo). Returns 1 with *out filled (cache "MEMO") when an earlier
 * fetch of the request answered it; if a fetch of the same key is under
 * way on another thread, waits for it first. Returns 0 otherwise, with
 * *claim set: the caller makes the fetch and must then call publish (on
 * success) or abandon (on failure) with it. *claim is NULL when the table
 * could not be made or grown (out of memory): the caller fetches without
 * memoization then. Any thread; the table has its own mutex. */
int cn__fetch_memo_claim(cn_req *req, const char *key, size_t keylen,
                         cn_fetch_res *out, cn__fetch_memo_entry **claim);
/* Remember res (its body and content type must be in req's arena) for
 * the later fetches of the request, and wake those waiting. claim may be
 * NULL (nothing to do). */
void cn__fetch_memo_publish(cn_req *req, cn__fetch_memo_entry *claim,
                            const cn_fetch_res *res);
/* The claimed fetch failed: forget it; a waiting thread makes its own. */
void cn__fetch_memo_abandon(cn_req *req, cn__fetch_memo_entry *claim);

#endif /* CN_FETCH_H */
