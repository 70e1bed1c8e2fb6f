/*
 * parsers.h: what a request carries besides its head, turned into values a
 * handler can use: the query string, cookies, and the body by Content-Type
 * (JSON, urlencoded form, multipart/form-data, text, raw).
 *
 * Who calls what:
 *   - The server (src/server/reqdata.c), on the handler's thread just before
 *     the handler runs: cn__query_parse on the raw query, cn__cookie_parse on
 *     the Cookie header(s), and for the body either cn__body_parse (body
 *     already in memory) or cn__body_begin + cn__mp_feed per socket chunk +
 *     cn__body_finish (multipart streamed as it arrives). After the response
 *     it calls cn__body_release, which removes the upload temp files.
 *   - Nothing here touches a socket, a loop or a thread; nothing keeps
 *     global state. Two requests may be parsed on two threads at once.
 *
 * Ownership. Every output (strings, arrays, parts) is allocated from the
 * cn__arena the caller passes, which is the request's: nothing is freed
 * one by one, and everything dies with the request. Strings handed out are
 * cn_str slices that are also NUL-terminated (ptr[len] == '\0'); a decoded
 * value may itself contain a NUL byte (%00), so code that needs the whole
 * value uses len, not strlen. Two things are not arena memory:
 *   - a parsed JSON body is a jansson value (jansson allocates with its own
 *     allocator); cn__body owns one reference, dropped by cn__body_release;
 *   - multipart file parts are temporary files on disk; the parser records
 *     every file it created, removes them all on any error by itself, and
 *     cn__mp_cleanup (or cn__body_release) removes them after the response.
 *
 * Errors. 0 on success, otherwise a negative CN_E* code: CN_EPARSE for
 * malformed input (the server answers 400), CN_ETOOBIG for a count or
 * size limit (413 for a body; a query string or Cookie header over its
 * limit is the head's fault, where 414 / 431 fit better), CN_ENOMEM,
 * CN_EIO for a temp-file failure (500). Each failure also writes
 * one English sentence into a cn__perr the caller passes (may be NULL), fit
 * to be the "error" of a JSON error body: ASCII only (bytes quoted from the
 * input are shown as '?' when not printable), no file-system paths.
 *
 * Cost. Every parser is linear in its input with a small constant, makes a
 * fixed number of arena allocations per call (not per byte or per pair),
 * and has hard limits on counts and sizes. The multipart scanner looks for
 * "\r\n--boundary" with memchr('\r') and a compare; because '\r' cannot
 * occur in a boundary, a failed partial match never needs to back up, so no
 * input, however hostile, makes it quadratic.
 *
 * Decisions where Next.js leaves room (each repeated where it applies):
 *   - query and urlencoded: invalid escapes are errors (Node's querystring
 *     leaves them as they are); a pair "=x" has the empty key, as
 *     URLSearchParams gives; "&&" empty pairs are skipped; ';' is not a
 *     separator.
 *   - cookies are not percent-decoded (cn__cookie_decode does it on demand).
 *   - JSON rejects duplicate object keys (JSON.parse keeps the last), so a
 *     signature check and the handler can never see different values for
 *     one key, and rejects \u0000 in strings, so C string functions see
 *     whole values.
 *   - a Content-Type header that does not parse is an error (Next.js falls
 *     back to text/plain), so a form can never silently reach a handler as
 *     text because a parameter was garbled. A missing one means text/plain.
 */
#ifndef CN_PARSERS_H
#define CN_PARSERS_H

#include <stdint.h>

#include "common/common.h"

/* The message that goes with a failure. msg is "" after a success. */
#define CN__PERR_LEN 200
typedef struct cn__perr {
  char msg[CN__PERR_LEN];
} cn__perr;

/* ------------------------------------------------------ decoded pairs */

/* An ordered list of {key, value}, both decoded, NUL-terminated, in the
 * arena. Keys may repeat; order is the order of the input. */
typedef struct cn__pair {
  cn_str key;
  cn_str value;
} cn__pair;

typedef struct cn__pairs {
  cn__pair *items; /* NULL when len == 0 */
  size_t len;
} cn__pairs;

#define CN__PAIRS_MAX_DEFAULT 1000

/* The first value of key (exact, case-sensitive bytes), or CN_STR_NULL
 * (ptr NULL) when absent. A present but empty value has ptr != NULL. */
cn_str cn__pairs_get(const cn__pairs *p, cn_str key);

/* All values of key in input order. OUT: *values, an array in the arena
 * (NULL when there are none), *n its length. 0 or CN_ENOMEM. */
int cn__pairs_all(const cn__pairs *p, cn__arena *a, cn_str key,
                  const cn_str **values, size_t *n);

/* Percent-decode in (%XX, hex digits of either case; '+' becomes a space
 * when plus_is_space) into the arena. OUT: *out (NUL-terminated). Returns
 * CN_EPARSE when an escape is incomplete or not hex, with the byte offset
 * of its '%' in *bad_at (may be NULL); CN_ENOMEM. Shared by every parser
 * here; decoding bytes it does not check for UTF-8. */
int cn__pct_decode(cn__arena *a, cn_str in, int plus_is_space, cn_str *out,
                   size_t *bad_at);

/* The query string (without '?'), as Next.js's req.query reads it:
 * "a=1&b=&c&tag=x&tag=y" gives a:"1", b:"", c:"", tag:"x", tag:"y". '+' and
 * %20 are spaces; keys and values are decoded; empty pairs are skipped; a
 * pair without '=' has an empty value. max_pairs 0 means
 * CN__PAIRS_MAX_DEFAULT. Called by the server once per request with a
 * query. OUT: *out (arena; empty for an empty or NULL query). Errors:
 * CN_EPARSE (bad escape, message names the offset), CN_ETOOBIG (more than
 * max_pairs pairs), CN_ENOMEM; *out is then empty. */
int cn__query_parse(cn__arena *a, cn_str query, size_t max_pairs,
                    cn__pairs *out, cn__perr *err);

/* An application/x-www-form-urlencoded body: the same grammar, decoding
 * and limits as cn__query_parse (one implementation); only the messages
 * say "form body". */
int cn__form_parse(cn__arena *a, cn_str body, size_t max_pairs,
                   cn__pairs *out, cn__perr *err);

/* ------------------------------------------------------------ cookies */

#define CN__COOKIES_MAX_DEFAULT 1000

/* The Cookie request header (RFC 6265 section 5.4 syntax). headers[0..n)
 * are the values of every Cookie header of the request, in order (HTTP/2
 * clients send one per cookie), so nothing has to be joined first.
 * "name=value; name2=\"quoted\"": blanks around names and values are
 * trimmed, one pair of surrounding quotes is stripped, and a name repeated
 * later is ignored (the first wins, as RFC 6265 orders cookies most
 * specific first). A malformed pair is skipped and the rest kept: no '=',
 * an empty name, a name that is not an HTTP token, or a value holding a
 * control byte (< 0x20 or 0x7F) or a '"' other than the surrounding pair.
 * Spaces, commas, backslashes and bytes >= 0x80 inside a value are kept,
 * as browsers send them. Values are NOT percent-decoded (Next.js decodes
 * them; many apps store raw base64 or JSON): call cn__cookie_decode for
 * one that was encoded. max_cookies 0 means CN__COOKIES_MAX_DEFAULT.
 * OUT: *out, unique names in first-seen order (arena). Errors: CN_ETOOBIG
 * (more distinct well-formed cookies than max_cookies), CN_ENOMEM. */
int cn__cookie_parse(cn__arena *a, const cn_str *headers, size_t n,
                     size_t max_cookies, cn__pairs *out, cn__perr *err);

/* Percent-decode a cookie value ('+' stays '+', as decodeURIComponent).
 * OUT: *out (arena). CN_EPARSE on a bad escape (then the caller usually
 * keeps the raw value, as Next.js's cookie parser does), CN_ENOMEM. */
int cn__cookie_decode(cn__arena *a, cn_str value, cn_str *out);

/* ------------------------------------------------------- Content-Type */

#define CN__CTYPE_MAX_PARAMS 16

/* A parsed media type: "type/subtype" lower-cased; parameters with names
 * lower-cased and values unquoted (quoted-pair escapes resolved) and kept
 * as sent. charset and boundary are copies of those parameters' values
 * (charset lower-cased), ptr NULL when absent. All in the arena. */
typedef struct cn__ctype {
  cn_str type;
  cn_str charset;
  cn_str boundary;
  size_t nparams;
  cn__pair params[CN__CTYPE_MAX_PARAMS];
} cn__ctype;

/* Parse a Content-Type value (RFC 9110 media-type: token "/" token, then
 * *( OWS ";" OWS [ token "=" ( token / quoted-string ) ] )). A parameter
 * named twice is an error (two boundaries would let two parsers disagree).
 * OUT: *out. Errors: CN_EPARSE (message says what is wrong, including
 * more than CN__CTYPE_MAX_PARAMS parameters), CN_ENOMEM. */
int cn__ctype_parse(cn__arena *a, cn_str value, cn__ctype *out,
                    cn__perr *err);

/* Which body parser a lower-cased media type selects: application/json and
 * application/ld+json -> CN_BODY_JSON, application/x-www-form-urlencoded ->
 * CN_BODY_FORM, multipart/form-data -> CN_BODY_MULTIPART, text/plain ->
 * CN_BODY_TEXT, anything else CN_BODY_RAW. A route that requires one kind
 * answers 415 itself when the classification differs. */
cn_body_kind cn__body_classify(cn_str media_type);

/* ------------------------------------------------- multipart/form-data */

/* Limits; a 0 field means the default shown. */
typedef struct cn__mp_limits {
  size_t max_parts;           /* parts in the body (1000) */
  size_t max_field_bytes;     /* one field's value, in memory (1 MiB) */
  uint64_t max_file_bytes;    /* one uploaded file (10 MiB) */
  uint64_t max_total_file_bytes; /* all files of the body (100 MiB) */
  size_t max_header_bytes;    /* one part's header block, CRLFs included
                                 (8 KiB) */
  const char *tmp_dir;        /* where files go: NULL -> $TMPDIR, else /tmp */
} cn__mp_limits;

/* One part. A field (no filename parameter) has its bytes in value
 * (arena, NUL-terminated) and path NULL. A file part (a filename parameter,
 * even filename="") has path, the temporary file holding its bytes (created
 * 0600 with mkostemp, closed once the part ended), and value empty. size is
 * the byte count either way. name, filename and content_type are as sent
 * (quotes and escapes resolved); filename and content_type have ptr NULL
 * when absent. The filename is the client's: never use it as a path. */
typedef struct cn__mp_part cn__mp_part;
struct cn__mp_part {
  cn__mp_part *next;
  cn_str name;
  cn_str filename;
  cn_str content_type;
  cn_str value;
  const char *path;
  uint64_t size;
  int fd; /* the parser's: open while the part is being written, else -1 */
};

typedef struct cn__mp cn__mp;

/* Start a streaming parser for one body. boundary is the Content-Type's
 * boundary parameter (ptr NULL when there was none): 1..70 characters of
 * RFC 2046 bchars, not ending in a space, else CN_EPARSE. lim may be NULL.
 * OUT: *out, allocated in the arena with everything it produces. The one
 * thing the caller must do is call cn__mp_cleanup once the parts are no
 * longer needed (after the response), whatever happened. */
int cn__mp_new(cn__arena *a, cn_str boundary, const cn__mp_limits *lim,
               cn__mp **out, cn__perr *err);

/* Feed the next len bytes of the body, split anywhere (a boundary may be
 * cut at any byte between two calls). The bytes are not kept: fields are
 * copied, files written (this does blocking file I/O; call it on a thread
 * that may block). Preamble before the first boundary and epilogue after
 * the closing one are ignored. Errors are sticky (later calls return the
 * same code) and, when they happen, every temporary file has already been
 * removed: CN_EPARSE (bad delimiter line, bad part headers: folding, bare
 * CR or LF, a header without ':', no or duplicate Content-Disposition, not
 * form-data, no name), CN_ETOOBIG (parts, field, file, total or header
 * block over its limit; the message names the limit and the value),
 * CN_EIO (temporary file), CN_ENOMEM, CN_ESTATE after cn__mp_cleanup.
 * Strictness, decided here: lines end in CRLF only; a delimiter may be
 * followed by up to 64 blanks of transport padding, then CRLF or "--",
 * and anything else after it ("--boundaryX") is an error rather than data
 * (RFC 2046 forbids the delimiter inside content); part headers other than
 * Content-Disposition and Content-Type are ignored (so is
 * Content-Transfer-Encoding, deprecated by RFC 7578), as is the RFC 5987
 * filename* parameter (browsers never send it; a part with only filename*
 * is a field). */
int cn__mp_feed(cn__mp *mp, const void *data, size_t len);

/* The body has ended. 0 when the closing boundary was seen, else CN_EPARSE
 * "multipart body truncated" (or "multipart boundary not found" when no
 * delimiter ever appeared), with the files removed; or the sticky error. */
int cn__mp_finish(cn__mp *mp);

/* The message of the sticky error ("" when none). Lives with the parser. */
const char *cn__mp_error(const cn__mp *mp);

/* The parts completed so far, in order (follow ->next); how many. */
const cn__mp_part *cn__mp_parts(const cn__mp *mp);
size_t cn__mp_count(const cn__mp *mp);

/* The fields (parts without a filename) as pairs, name -> value, so a form
 * reads the same urlencoded or multipart. OUT: *out (arena). 0/CN_ENOMEM. */
int cn__mp_fields(const cn__mp *mp, cn__arena *a, cn__pairs *out);

/* The file parts as the public cn_file array. OUT: *files (arena, NULL when
 * none), *n. 0 or CN_ENOMEM. */
int cn__mp_files(const cn__mp *mp, cn__arena *a, const cn_file **files,
                 size_t *n);

/* Close and unlink every temporary file this parser created and free its
 * scratch memory. Idempotent; NULL is a no-op. Paths in the parts stay in
 * the arena but name files that no longer exist. */
void cn__mp_cleanup(cn__mp *mp);

/* The whole body at once: new + feed + finish. On failure the parser is
 * already cleaned up and *out is NULL; on success the caller owes one
 * cn__mp_cleanup(*out). */
int cn__mp_parse(cn__arena *a, cn_str boundary, cn_str body,
                 const cn__mp_limits *lim, cn__mp **out, cn__perr *err);

/* --------------------------------------------------------------- JSON */

/* A JSON body (jansson, any value at the top, as JSON.parse). An empty
 * body (zero bytes, not whitespace) is {} as in Next.js. Duplicate keys and
 * \u0000 in strings are refused (see the top of this file); nesting deeper
 * than jansson's JSON_PARSER_MAX_DEPTH (2048) is refused by jansson. OUT:
 * *out, a new reference the caller must json_decref. Errors: CN_EPARSE
 * with "Invalid JSON at line L, column C: <jansson's text>", CN_ENOMEM. */
int cn__json_parse(cn_str body, json_t **out, cn__perr *err);

/* ------------------------------------------------------ body dispatch */

typedef struct cn__body_opts {
  size_t max_pairs;        /* urlencoded pairs (CN__PAIRS_MAX_DEFAULT) */
  cn__mp_limits multipart; /* zeros: the defaults above */
} cn__body_opts;

/* A parsed body. kind says which members are set:
 *   CN_BODY_NONE       no Content-Type and no bytes
 *   CN_BODY_JSON       json (one reference owned here)
 *   CN_BODY_FORM       form
 *   CN_BODY_MULTIPART  form (the fields), files/nfiles, mp
 *   CN_BODY_TEXT/RAW   text: the bytes as given (borrowed from the caller's
 *                      body; not copied, not transcoded from charset) */
typedef struct cn__body {
  cn_body_kind kind;
  cn__ctype ctype; /* type empty when there was no Content-Type */
  json_t *json;
  cn__pairs form;
  const cn_file *files;
  size_t nfiles;
  cn__mp *mp;
  cn_str text;
  cn__perr err;
  size_t max_pairs; /* from the options, for cn__body_finish */
} cn__body;

/* Parse a body that is wholly in memory. content_type is the header's value
 * (ptr NULL when absent: text/plain, as Next.js). opts may be NULL. OUT:
 * *out (always initialised; out->err.msg says why on failure). Errors:
 * CN_EPARSE (bad Content-Type, boundary, JSON, escapes, multipart),
 * CN_ETOOBIG, CN_EIO, CN_ENOMEM; whatever was created is already released,
 * but calling cn__body_release again is harmless. */
int cn__body_parse(cn__arena *a, cn_str content_type, cn_str body,
                   const cn__body_opts *opts, cn__body *out);

/* The streaming form, for a server that wants to parse multipart while the
 * body arrives: begin parses the Content-Type and classifies; when
 * out->kind is CN_BODY_MULTIPART, out->mp is ready and the server feeds it
 * each chunk with cn__body_feed (stop at the first error and answer it with
 * out->err). finish completes: for multipart it ignores body (pass
 * CN_STR_NULL) and collects fields and files; for the other kinds it parses
 * body like cn__body_parse. Errors as cn__body_parse; after any of them
 * the temp files are already gone. */
int cn__body_begin(cn__arena *a, cn_str content_type,
                   const cn__body_opts *opts, cn__body *out);
/* cn__mp_feed on b->mp, with the message copied into b->err on failure;
 * a no-op for the other kinds. */
int cn__body_feed(cn__body *b, const void *data, size_t len);
int cn__body_finish(cn__arena *a, cn__body *b, cn_str body);

/* Called by the server after the response (and on any path that abandons
 * a body): drop the JSON reference and remove multipart temp files.
 * Idempotent. */
void cn__body_release(cn__body *b);

#endif /* CN_PARSERS_H */
