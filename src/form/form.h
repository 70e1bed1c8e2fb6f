/*
 * form.h: what a request carries besides its head, decoded.
 *
 *   urlencoded  "a=1&b=x+y&a=2": query strings and form bodies alike
 *   multipart   multipart/form-data, streamed: fields into the arena, files
 *               into temporary files, as the bytes arrive from the socket
 *   cookies     the Cookie header (RFC 6265, leniently: bad pairs skipped)
 *   media type  "text/html; charset=utf-8" into type and parameters
 *
 * All output lives in the arena it is given (the request's), so nothing
 * here needs freeing except a multipart parser's temporary files, which
 * cn__multipart_cleanup removes. Every parser has limits, and every error
 * carries a sentence for the client's 400/413 body.
 */
#ifndef CN_FORM_H
#define CN_FORM_H

#include "common/common.h"

typedef struct cn__pair {
  cn_str key;
  cn_str value; /* both NUL-terminated in the arena */
} cn__pair;

typedef struct cn__pairs {
  cn__pair *items;
  size_t n, cap;
} cn__pairs;

/* Decode "k=v&k2=v2" ('+' and %20 are spaces; empty pairs skipped; a key
 * without '=' has an empty value) appending to out. CN_EPARSE for a bad
 * escape, CN_ETOOBIG past max_pairs, CN_ENOMEM; OUT: *why, a sentence. */
int cn__urlencoded_parse(cn_str in, cn__arena *a, size_t max_pairs,
                         cn__pairs *out, const char **why);

/* The first value of key (ptr NULL when absent); all values, in an arena
 * array (OUT: *values), returning how many. */
cn_str cn__pairs_find(const cn__pairs *p, cn_str key);
size_t cn__pairs_list(const cn__pairs *p, cn_str key, cn__arena *a,
                     const cn_str **values);
int cn__pairs_add(cn__pairs *p, cn__arena *a, cn_str key, cn_str value);

/* Parse a Cookie header into pairs: "a=1; b=\"2\"", quotes stripped, the
 * first of a repeated name kept, malformed pairs skipped (never an error
 * but CN_ENOMEM). Values are not percent-decoded. */
int cn__cookies_parse(cn_str header, cn__arena *a, cn__pairs *out);

/* "Type/Sub; k=v; k2=\"q v\"": type lower-cased, parameters with names
 * lower-cased and quoted-strings unescaped. OUT: *type and the value of
 * the parameter named param (ptr NULL when absent). CN_EPARSE when the
 * media type is malformed. */
int cn__media_type(cn_str header, cn__arena *a, const char *param,
                   cn_str *type, cn_str *value);

/* ----------------------------------------------------------- multipart */

typedef struct cn__upload {
  cn_str field, filename, content_type;
  char *path; /* the temporary file, in the arena */
  uint64_t size;
} cn__upload;

typedef struct cn__multipart_limits {
  size_t parts;        /* parts in one body (1000) */
  size_t field_bytes;  /* one field's value (1 MiB) */
  uint64_t file_bytes; /* one file (the route's body limit) */
  size_t header_bytes; /* one part's header block (8 KiB) */
} cn__multipart_limits;

typedef struct cn__multipart {
  cn__arena *arena;
  cn__multipart_limits lim;
  const char *tmpdir;
  char delim[80];       /* "\r\n--" boundary */
  size_t dlen;
  size_t match;         /* delimiter bytes matched so far */
  int state;
  cn__buf head;         /* the current part's header block */
  cn__buf value;        /* the current field's value */
  cn__upload cur;       /* the current part */
  int fd;               /* the current file part's temporary file, or -1 */
  size_t parts;
  cn__pairs fields;
  cn__upload *files;
  size_t nfiles, capfiles;
  const char *why;      /* the error's sentence */
} cn__multipart;

/* boundary: the Content-Type's parameter (1-70 characters). tmpdir: where
 * files go (NULL: $TMPDIR or /tmp). CN_EPARSE for a bad boundary. */
int cn__multipart_init(cn__multipart *mp, cn_str boundary,
                       const cn__multipart_limits *lim, cn__arena *a,
                       const char *tmpdir);
/* Feed bytes as they arrive, in any pieces. 0, or CN_EPARSE / CN_ETOOBIG /
 * CN_EIO / CN_ENOMEM with mp->why (the parser is then finished). */
int cn__multipart_feed(cn__multipart *mp, const char *data, size_t len);
/* The body is over: CN_EPARSE ("multipart body truncated") unless the
 * closing boundary was seen. */
int cn__multipart_finish(cn__multipart *mp);
/* Close and remove every temporary file it made; safe to call twice. */
void cn__multipart_cleanup(cn__multipart *mp);

#endif /* CN_FORM_H */
