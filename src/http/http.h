/*
 * http.h: HTTP/1.1 message syntax, independent of sockets and threads.
 *
 * A request head goes through three gates before any handler sees it:
 *
 *   1. cn__head_scan: a byte-level pass over the raw bytes that finds the end
 *      of the head and enforces what llhttp 8.1 does not: size and line
 *      limits (414/431), NUL, bare CR or LF, obs-fold, empty or non-token
 *      field names. It is resumable, so a head that arrives in pieces is
 *      scanned once.
 *   2. cn__request_line: method, target and version checked by hand so that a
 *      well-formed method we do not implement is a 501 and not a 400.
 *   3. llhttp (strict mode) over the complete head, then cn__head_check on
 *      the collected headers for the framing rules that stop request
 *      smuggling (CL+TE, repeated CL, TE codings, Host).
 *
 * Nothing here allocates except through the arena it is given.
 */
#ifndef CN_HTTP_H
#define CN_HTTP_H

#include <llhttp.h>

#include "common/common.h"

/* ---------------------------------------------------------- head scan */

typedef struct cn__scan_limits {
  size_t request_line;
  size_t header_bytes;
  size_t header_count;
} cn__scan_limits;

typedef struct cn__head_scan {
  size_t pos;        /* bytes of the head examined so far */
  size_t line_start; /* offset of the current line */
  size_t lines;      /* complete lines so far (request line included) */
  size_t skipped;    /* empty lines before the request line (RFC 9112 2.2) */
} cn__head_scan;

enum {
  CN__SCAN_MORE = 0, /* no end of head yet, limits respected */
  CN__SCAN_DONE = 1, /* *head_len is set */
};

/* Continue scanning data[0..len) (the same bytes as before plus more; the
 * caller keeps them contiguous). Returns CN__SCAN_MORE, CN__SCAN_DONE with
 * OUT head_len (bytes up to and including the blank line, and OUT skip, the
 * leading empty lines to drop), or an HTTP status (400, 414, 431) to answer
 * with before closing. */
int cn__head_scan_feed(cn__head_scan *s, const char *data, size_t len,
                       const cn__scan_limits *lim, size_t *head_len,
                       size_t *skip);
static inline void cn__head_scan_reset(cn__head_scan *s) {
  memset(s, 0, sizeof(*s));
}

/* ----------------------------------------------------- request line */

typedef struct cn__request_line {
  cn_str method;
  cn_str target;
  cn_str path;      /* origin path of the target */
  cn_str query;     /* after '?', ptr NULL when none */
  cn_str authority; /* absolute-form only, ptr NULL otherwise */
  int minor;        /* 0 or 1 */
} cn__request_line;

/* Parse "METHOD SP target SP HTTP/1.x" (line without CRLF). Returns 0, or a
 * status: 400 malformed (lower-case method, HTTP/0.9, bad target), 501 a
 * well-formed method cairn does not implement (CONNECT, TRACE, FOO...),
 * 505 another HTTP version. */
int cn__request_line_parse(cn_str line, cn__request_line *out);

/* 1 for a method a route may have: GET HEAD POST PUT PATCH DELETE OPTIONS. */
int cn__method_known(cn_str method);

/* ------------------------------------------------- headers and framing */

typedef struct cn__header {
  cn_str name;
  cn_str value;
} cn__header;

/* What the framing rules need, gathered while headers are collected. */
typedef struct cn__head_info {
  size_t host_count, cl_count, te_count;
  cn_str host, content_length, transfer_encoding, expect, accept;
  int upgrade;       /* an Upgrade header was present */
  int conn_close;    /* Connection: close */
  int conn_keep;     /* Connection: keep-alive */
} cn__head_info;

/* Note one header in info (called for each header as it is collected). */
void cn__head_info_add(cn__head_info *info, cn_str name, cn_str value);

/* The framing rules: 0 when the request may proceed, else the status to
 * answer before closing (400, 417, 501). OUT: *chunked, *content_length
 * (UINT64_MAX when there is no body length), *expect_continue. */
int cn__head_check(const cn__head_info *info, const cn__request_line *rl,
                   int *chunked, uint64_t *content_length,
                   int *expect_continue);

/* A Host value (or absolute-form authority): reg-name, IPv4 or [IPv6], then
 * an optional :port. 1 when valid. */
int cn__host_valid(cn_str host);

/* ---------------------------------------------------- request parser */

/* One request as parsed: the head lives in the arena given by whoever
 * created the message (the request's), the body in its own buffer. */
typedef struct cn__message {
  cn__arena *arena;
  cn__request_line rl;
  cn__header *headers;
  size_t nheaders, cap_headers;
  cn__head_info info;
  cn_str host;          /* absolute-form authority, else Host */
  cn__buf body;         /* decoded body; the owner frees it */
  uint64_t content_length;
  size_t body_limit;    /* set by on_head; the default otherwise */
  size_t chunk_ext;
  int chunked, expect_continue, keep_alive, is_head;
  int error_status;     /* why parsing stopped, when it did */
  const char *error_message;
  /* When set (by on_head), body bytes go here as they arrive instead of
   * into body: a streamed upload. Non-zero refuses the request with that
   * status and the sentence in *why. */
  int (*sink)(void *ud, const char *at, size_t len, const char **why);
  void *sink_ud;
  uint64_t sunk;        /* bytes that went to the sink */
} cn__message;

typedef struct cn__parser_limits {
  cn__scan_limits scan;
  size_t body;            /* default body limit */
  size_t chunk_ext_bytes;
} cn__parser_limits;

typedef struct cn__parser_hooks {
  /* A head is complete: give the message that will hold it (its arena
   * receives a copy of the head). NULL: out of memory (503). */
  cn__message *(*new_message)(void *ud);
  /* The head is parsed and passed the framing rules: decide the body limit
   * (m->body_limit), or return a status to refuse the request. */
  int (*on_head)(void *ud, cn__message *m);
  /* The client asked for 100-continue and the body is acceptable. */
  void (*on_continue)(void *ud);
} cn__parser_hooks;

/* A connection's request parser: the scan gate, the request line, llhttp
 * and the framing rules, fed bytes as they arrive. */
typedef struct cn__parser {
  llhttp_t ll;
  cn__head_scan scan;
  const cn__parser_limits *lim;
  const cn__parser_hooks *hooks;
  void *ud;             /* passed to the hooks */
  cn__message *msg;     /* the message being received, or NULL */
  int in_body;
} cn__parser;

enum {
  CN__PARSE_MORE = 0,   /* all of the input is used; send more */
  CN__PARSE_DONE = 1,   /* p->msg is complete; *used bytes were its own */
};

void cn__parser_init(cn__parser *p, const cn__parser_limits *lim,
                     const cn__parser_hooks *hooks, void *ud);

/* Feed data[0..len). Bytes not yet known to belong to a head are not
 * consumed (OUT *used excludes them) so the caller keeps them and feeds them
 * again with more appended. Returns CN__PARSE_MORE, CN__PARSE_DONE (the
 * message is p->msg; the caller takes it and the parser is ready for the
 * next request), or an HTTP status to answer with before closing (p->msg
 * may be NULL when the head never became a message). */
int cn__parser_feed(cn__parser *p, const char *data, size_t len,
                    size_t *used);

/* 1 when a head has started arriving (some bytes are part of a request). */
int cn__parser_started(const cn__parser *p, size_t pending);

/* --------------------------------------------------------- responses */

/* "HTTP/1.1 200 OK\r\n" for any status 100..999 (unknown ones get a
 * generic reason). The slice is static. */
cn_str cn__status_line(int status);
const char *cn__status_reason(int status);

/* 1 when a header name is a token and value has no CR, LF or NUL. */
int cn__header_name_valid(const char *name, size_t len);
int cn__header_value_valid(const char *value, size_t len);

/* 1 when an error for this request should be JSON (API path or a client
 * that accepts JSON), else HTML. */
int cn__wants_json(cn_str path, cn_str accept);

/* The body of an error answer, in the arena: JSON {"error","status"} or a
 * small HTML page with the message escaped. OUT: *len. NULL on ENOMEM. */
char *cn__error_body(cn__arena *a, int json, int status, const char *message,
                     size_t *len);

#endif /* CN_HTTP_H */
