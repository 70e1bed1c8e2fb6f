/*
 * cairn.h: the one public header of libcairn.
 *
 * cairn is the Next.js server runtime rebuilt in C. An application declares
 * routes (method + path -> handler), optionally a public/ folder of static
 * files, and hands them to cn_serve(), which runs an HTTP/1.1 server on one
 * libuv loop per core until SIGTERM/SIGINT.
 *
 * Conventions, everywhere in this header:
 *   - 0 means success; failures are negative CN_E* codes (cn_strerror()).
 *   - Memory handed to a handler through a cn_req lives in the request's
 *     arena and is freed, all at once, after the response has been written.
 *     Nothing obtained from a request may be kept past the handler's return
 *     unless it was copied into memory the caller owns.
 *   - Running out of memory inside a request is reported (CN_ENOMEM, a 500
 *     answer), never an abort; at start-up it fails cn_serve().
 */
#ifndef CAIRN_H
#define CAIRN_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CN_EXTERN __attribute__((visibility("default")))

#define CN_VERSION_MAJOR 0
#define CN_VERSION_MINOR 1
#define CN_VERSION_PATCH 0
#define CN_VERSION_STRING "0.1.0"

/* ---------------------------------------------------------------- errors */

/* One list gives the codes, their names and their messages. */
#define CN_ERRNO_MAP(X)                                                        \
  X(NOMEM, -1, "out of memory")                                                \
  X(INVAL, -2, "invalid argument")                                             \
  X(IO, -3, "input/output error")                                              \
  X(NOENT, -4, "no such entry")                                                \
  X(EXIST, -5, "entry already exists")                                         \
  X(TOOBIG, -6, "value too large")                                             \
  X(CONFIG, -7, "invalid configuration")                                       \
  X(STATE, -8, "operation not valid in this state")                            \
  X(HEADER, -9, "invalid header name or value")                                \
  X(CLOSED, -10, "connection closed by the client")                            \
  X(PARSE, -11, "malformed input")                                             \
  X(SYS, -12, "system call failed")                                           \
  X(UNAUTH, -13, "not authenticated")                                          \
  X(FORBIDDEN, -14, "forbidden")                                               \
  X(CONFLICT, -15, "conflict")                                                 \
  X(READONLY, -16, "write refused: read-only")

enum {
  CN_OK = 0,
#define CN__ERR_ENUM(name, code, msg) CN_E##name = (code),
  CN_ERRNO_MAP(CN__ERR_ENUM)
#undef CN__ERR_ENUM
};

/* Static strings for an error code; unknown codes give "unknown error". */
CN_EXTERN const char *cn_strerror(int err);
CN_EXTERN const char *cn_err_name(int err);

/* ---------------------------------------------------------------- slices */

/* A borrowed run of bytes, not NUL-terminated unless said otherwise. Same
 * layout as struct iovec and uv_buf_t's fields, so arrays of them can be
 * written with one writev. ptr == NULL means "absent" (as opposed to empty). */
typedef struct cn_str {
  const char *ptr;
  size_t len;
} cn_str;

/* A slice of a string literal, with no strlen at run time. */
#define CN_STR(lit) ((cn_str){(lit), sizeof(lit) - 1})
#define CN_STR_NULL ((cn_str){NULL, 0})

/* 1 when a equals the NUL-terminated b, byte for byte / ignoring ASCII case. */
CN_EXTERN int cn_str_eq(cn_str a, const char *b);
CN_EXTERN int cn_str_ieq(cn_str a, const char *b);

/* --------------------------------------------------------------- request */

typedef struct cn_req cn_req;
typedef struct cn_res cn_res;

/* The request line, as sent. The method is upper case (lower case methods are
 * refused before any handler runs). The target is split at the first '?':
 * path is the raw (not percent-decoded) path, query the raw query string
 * without the '?' (ptr NULL when there was none). For an absolute-form target
 * the path is the path part of it. */
CN_EXTERN cn_str cn_req_method(const cn_req *req);
CN_EXTERN cn_str cn_req_path(const cn_req *req);
CN_EXTERN cn_str cn_req_query(const cn_req *req);

/* The authority the request is for: the absolute-form target's authority
 * when there was one, else the Host header. */
CN_EXTERN cn_str cn_req_host(const cn_req *req);

/* The first value of a header, name matched without regard to ASCII case;
 * ptr NULL when absent. Leading and trailing blanks are already stripped. */
CN_EXTERN cn_str cn_req_header(const cn_req *req, const char *name);

/* Iterate over all headers in arrival order: returns 0 and fills name/value
 * for index i, CN_ENOENT past the end. */
CN_EXTERN int cn_req_header_at(const cn_req *req, size_t i, cn_str *name,
                               cn_str *value);

/* The whole request body (chunked bodies already decoded). Empty when there
 * was none. The route's body limit was enforced before it was read. */
CN_EXTERN cn_str cn_req_body(const cn_req *req);

/* 1 once the client has gone away: a long handler may stop early. */
CN_EXTERN int cn_req_aborted(const cn_req *req);

/* Memory that lives exactly as long as the request. NULL when out of memory.
 * cn_req_strndup always NUL-terminates. */
CN_EXTERN void *cn_req_alloc(cn_req *req, size_t size);
CN_EXTERN char *cn_req_strndup(cn_req *req, const char *s, size_t len);
CN_EXTERN char *cn_req_printf(cn_req *req, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Params of a dynamic route ([id], [...slug], [[...slug]]), percent-decoded
 * per segment (an encoded '/' stays inside its value). cn_req_param gives
 * the first value (ptr NULL when absent: an optional catch-all that matched
 * nothing is absent); cn_req_param_all gives them all, OUT: *values, and
 * returns how many (a catch-all is always an array). */
CN_EXTERN cn_str cn_req_param(const cn_req *req, const char *name);
CN_EXTERN size_t cn_req_param_all(const cn_req *req, const char *name,
                                  const cn_str **values);

/* The query string, decoded ('+' and %20 are spaces). As Next.js's
 * req.query, a route param wins over a query key of the same name
 * (/post/abc?pid=1 gives pid = "abc"). A request whose query has a bad
 * escape was answered 400 before any handler ran. */
CN_EXTERN cn_str cn_req_query_get(const cn_req *req, const char *key);
CN_EXTERN size_t cn_req_query_all(const cn_req *req, const char *key,
                                  const cn_str **values);

/* A cookie of the request (RFC 6265: quotes stripped, the first of a
 * repeated name wins, malformed pairs skipped). Not percent-decoded. */
CN_EXTERN cn_str cn_req_cookie(const cn_req *req, const char *name);

/* The client's address ("127.0.0.1", "::1"); the first X-Forwarded-For
 * entry instead when the server's trust_proxy option is on. */
CN_EXTERN cn_str cn_req_ip(const cn_req *req);

/* The body, parsed by Content-Type before the handler runs (unless the
 * route asked for raw_body): a malformed body was answered 400 (JSON with
 * the parser's line and column), an oversize one 413. */
typedef enum cn_body_kind {
  CN_BODY_NONE,      /* no body */
  CN_BODY_JSON,      /* application/json: cn_req_json (an empty body is {}) */
  CN_BODY_FORM,      /* x-www-form-urlencoded: cn_req_form */
  CN_BODY_MULTIPART, /* multipart/form-data: cn_req_form, cn_req_file */
  CN_BODY_TEXT,      /* text/plain: cn_req_body */
  CN_BODY_RAW,       /* anything else, or raw_body: cn_req_body */
} cn_body_kind;

CN_EXTERN cn_body_kind cn_req_body_kind(const cn_req *req);
/* Borrowed; lives as long as the request. NULL unless the body is JSON. */
CN_EXTERN json_t *cn_req_json(const cn_req *req);
/* A form field (urlencoded or multipart), first value / all values. */
CN_EXTERN cn_str cn_req_form(const cn_req *req, const char *name);
CN_EXTERN size_t cn_req_form_all(const cn_req *req, const char *name,
                                 const cn_str **values);

/* An uploaded file: streamed to a temporary file while it arrived, removed
 * after the response. */
typedef struct cn_file {
  cn_str field;
  cn_str filename;
  cn_str content_type;
  const char *path; /* the temporary file, readable until the response */
  uint64_t size;
} cn_file;
/* The first file of a field, NULL when none. */
CN_EXTERN const cn_file *cn_req_file(const cn_req *req, const char *field);
/* All files, OUT: *files; returns how many. */
CN_EXTERN size_t cn_req_files(const cn_req *req, const cn_file **files);

/* Middleware only: add a request header that the handler will see
 * (replacing the client's of the same name), and route the request as if
 * it were for path (the client's URL does not change). */
CN_EXTERN int cn_req_set_header(cn_req *req, const char *name,
                                const char *value);
CN_EXTERN int cn_req_rewrite(cn_req *req, const char *path);

/* The response that belongs to the request (one per request). */
CN_EXTERN cn_res *cn_req_res(cn_req *req);

/* -------------------------------------------------------------- response */

/* Set the status (200..999; default 200; 1xx answers are the server's own:
 * 100 Continue is automatic, 101 comes from cn_ws_accept). CN_EINVAL out of
 * range, CN_ESTATE once headers are sent. */
CN_EXTERN int cn_res_status(cn_res *res, int status);

/* Set a header, replacing any earlier value of the same name (set), adding
 * one more line (add), or removing all (remove). Names must be HTTP tokens
 * and values may not contain CR, LF or NUL: such input returns CN_EHEADER
 * and nothing is sent. Both strings are copied. Content-Length,
 * Transfer-Encoding, Connection and Date belong to the server: CN_EHEADER. */
CN_EXTERN int cn_res_header(cn_res *res, const char *name, const char *value);
CN_EXTERN int cn_res_header_add(cn_res *res, const char *name,
                                const char *value);
CN_EXTERN int cn_res_header_remove(cn_res *res, const char *name);

/* Finish the response with a whole body (Content-Length framing). The bytes
 * are copied unless they already live in the request's arena. A second
 * finishing call returns CN_ESTATE. */
CN_EXTERN int cn_res_send(cn_res *res, const void *body, size_t len);

/* Finish with text or JSON and a status; Content-Type is set unless the
 * handler set one. cn_res_json does not steal the reference. */
CN_EXTERN int cn_res_text(cn_res *res, int status, const char *text);
CN_EXTERN int cn_res_json(cn_res *res, int status, const json_t *json);

/* Finish with an error body in the format the client accepts: JSON
 * {"error": message, "status": n} for API paths (/api/...) or clients that
 * accept application/json, a short HTML page otherwise. */
CN_EXTERN int cn_res_error(cn_res *res, int status, const char *message);

/* Finish with a redirect: status 0 means 307 (Next.js's default); any
 * 3xx is accepted, anything else is CN_EINVAL. The location must not
 * contain CR, LF or NUL. */
CN_EXTERN int cn_res_redirect(cn_res *res, int status, const char *location);

typedef struct cn_cookie_opts {
  const char *path;      /* NULL: no Path attribute */
  const char *domain;
  int64_t max_age;       /* seconds; used when has_max_age */
  int has_max_age;
  int64_t expires;       /* epoch seconds; 0: none */
  int http_only;
  int secure;
  const char *same_site; /* "Strict", "Lax", "None" or NULL */
} cn_cookie_opts;

/* Add a Set-Cookie header. The name must be a token and the value cookie
 * octets (RFC 6265): anything else is CN_EHEADER and nothing is set. opts
 * may be NULL. Delete sets an empty value that expired in 1970. */
CN_EXTERN int cn_res_cookie(cn_res *res, const char *name, const char *value,
                            const cn_cookie_opts *opts);
CN_EXTERN int cn_res_cookie_delete(cn_res *res, const char *name,
                                   const cn_cookie_opts *opts);

/* Finish with the contents of a file (Content-Type from its extension
 * unless set), sent with sendfile. CN_ENOENT when it cannot be opened. */
CN_EXTERN int cn_res_send_file(cn_res *res, const char *path);

/* Streamed responses (chunked framing on HTTP/1.1, close-delimited on 1.0).
 * The first write sends the head. A write copies the bytes and may block the
 * calling handler thread while the client is slow (backpressure); it returns
 * CN_ECLOSED when the client has gone. cn_res_end finishes the stream. */
CN_EXTERN int cn_res_write(cn_res *res, const void *data, size_t len);
CN_EXTERN int cn_res_end(cn_res *res);

/* Server-Sent Events (text/event-stream) on a streamed response. The first
 * call sends the head (Content-Type: text/event-stream unless the handler
 * set one, Cache-Control: no-cache). cn_sse_event writes one event: event
 * and id may be NULL and must not contain CR or LF (CN_EINVAL); each line
 * of data becomes a data: field. cn_sse_retry sets the client's reconnect
 * delay; cn_sse_comment writes ": text", a heartbeat that keeps proxies from
 * closing an idle stream. Each returns CN_ECLOSED once the client has gone:
 * the handler's loop stops there. Finish with cn_res_end. */
CN_EXTERN int cn_sse_event(cn_res *res, const char *event, const char *id,
                           const char *data);
CN_EXTERN int cn_sse_retry(cn_res *res, unsigned ms);
CN_EXTERN int cn_sse_comment(cn_res *res, const char *text);

/* ------------------------------------------------------------- WebSocket */

/* A WebSocket (RFC 6455) on the same port: a GET handler calls
 * cn_ws_accept, and once the 101 answer is written the connection belongs
 * to the callbacks. cairn does the framing (wslay): masking rules,
 * fragments joined into messages, ping/pong, the close handshake; text
 * that is not UTF-8 closes with 1007, a message over limits.ws_message
 * (1 MiB) with 1009, a peer silent past limits.ws_ping_ms after a ping is
 * dropped (1006), one without messages for limits.ws_idle_ms (0: never)
 * is closed with 1001, and one that reads so slowly that more than
 * limits.ws_backlog bytes wait for it is closed with 1008.
 *
 * The callbacks run on the connection's I/O thread and must not block:
 * hand slow work to a thread of your own and cn_ws_send from there. */
typedef struct cn_ws cn_ws;

typedef struct cn_ws_handler {
  void (*on_open)(cn_ws *ws);
  void (*on_message)(cn_ws *ws, const char *data, size_t len, int binary);
  /* The connection is over (code: the peer's close code, 1005 when its
   * close frame had none, 1006 when it went without one). The library's
   * reference is dropped after this returns. */
  void (*on_close)(cn_ws *ws, int code);
} cn_ws_handler;

/* Accept req's upgrade: check the handshake (GET, HTTP/1.1, Upgrade:
 * websocket, Connection: upgrade, a 16-byte Sec-WebSocket-Key, version 13)
 * and set the 101 answer, choosing protocol (NULL: none) when the client
 * offered it. The handler then returns 0. A request that is not a valid
 * handshake gets its answer set instead (426 with Sec-WebSocket-Version:
 * 13 for a missing upgrade or another version, 400 for a bad key) and
 * CN_EINVAL is returned. user is the socket's (cn_ws_user). */
CN_EXTERN int cn_ws_accept(cn_req *req, const cn_ws_handler *h, void *user,
                           const char *protocol);
CN_EXTERN void *cn_ws_user(const cn_ws *ws);

/* Queue a message (any thread; data is copied). 0; CN_ECLOSED once the
 * socket is closing or closed; CN_ETOOBIG past the backlog (the socket is
 * then closed with 1008); CN_ENOMEM. */
CN_EXTERN int cn_ws_send(cn_ws *ws, const char *data, size_t len, int binary);
/* Start the close handshake (any thread): code 1000 or 3000-4999, reason
 * at most 123 bytes (CN_EINVAL otherwise). */
CN_EXTERN int cn_ws_close(cn_ws *ws, int code, const char *reason);
/* Keep ws valid beyond on_close (another thread that sends to it): each
 * cn_ws_ref needs one cn_ws_unref. */
CN_EXTERN void cn_ws_ref(cn_ws *ws);
CN_EXTERN void cn_ws_unref(cn_ws *ws);

/* ---------------------------------------------------------------- routes */

/* A handler answers one request. It runs on a handler thread and may block
 * (a database call, a sleep) without stalling other connections, unless its
 * route is marked nonblocking, in which case it runs on the I/O thread and
 * must not block. It finishes the response with one of the cn_res_* calls
 * above; returning without doing so, or returning non-zero before sending
 * anything, yields a 500. */
typedef int cn_handler(cn_req *req, cn_res *res);

typedef struct cn_route_config {
  /* Largest request body accepted: "1mb", "500kb", "1024" (bytes; k, m, g
   * are powers of 1024, as Next.js's sizeLimit reads them). NULL: the
   * server default (1 MiB). Decided from Content-Length before the body is
   * read, and counted while a chunked body arrives: over it -> 413. A value
   * that does not parse makes registering the route fail (CN_EINVAL). */
  const char *body_limit;
  /* The handler never blocks: run it on the I/O thread (fastest path). */
  int nonblocking;
  /* Leave the body unparsed (webhook signature checks read it raw). */
  int raw_body;
  /* Warn when a response body exceeds this size ("4mb" when NULL); "off"
   * turns the warning off (Next.js's responseLimit: false). */
  const char *response_limit;
  /* Answer 504 when the handler has not responded after this many
   * milliseconds (0: the server's handler_timeout_ms). The handler thread
   * is not killed: its late response is dropped. */
  uint64_t max_duration_ms;
} cn_route_config;

/* A file-system route: what app/.../route.c (one handler per method) or
 * pages/api/....c (`handler` for every method) declares with CN_ROUTE:
 *
 *     static int get_user(cn_req *req, cn_res *res) { ... }
 *     CN_ROUTE(.GET = get_user, .POST = create_user,
 *              .config = {.body_limit = "500kb"});
 *
 * A method left NULL answers 405 with an Allow header; HEAD falls back to
 * GET without the body; OPTIONS, when NULL, answers 204 with Allow. */
typedef struct cn_route_def {
  cn_handler *GET, *HEAD, *POST, *PUT, *PATCH, *DELETE, *OPTIONS;
  cn_handler *handler; /* pages/api: every method */
  cn_route_config config;
} cn_route_def;

/* The build defines CN_ROUTE_SYMBOL per file so that every route file of an
 * app can be linked into one binary; `cairn dev` loads each file alone. */
#ifndef CN_ROUTE_SYMBOL
#define CN_ROUTE_SYMBOL cn_route
#endif
#define CN_ROUTE(...)                                                          \
  CN_EXTERN const cn_route_def CN_ROUTE_SYMBOL = {__VA_ARGS__}

/* middleware.c at the app root declares one, with CN_MIDDLEWARE. It runs
 * before routing for every path its matcher accepts (all paths when the
 * matcher is empty). Patterns are path-to-regexp style: "/about",
 * "/api/:path*", "/blog/:slug?", "/docs/:rest+", and regular-expression
 * groups such as "/((?!api|_cairn|favicon.ico).*)" (PCRE2).
 *
 * The handler continues by returning 0 without responding (after adding
 * request headers with cn_req_set_header, response headers with
 * cn_res_header, or a rewrite with cn_req_rewrite), or answers directly
 * (cn_res_redirect, cn_res_json...). Headers whose names start with
 * "x-cairn-" are removed from every request before middleware runs: a
 * client can never forge the server's own decisions. */
typedef struct cn_middleware_def {
  cn_handler *handler;
  const char *matcher[32];
  int nonblocking; /* it never blocks: may run on the I/O thread */
} cn_middleware_def;

#define CN_MIDDLEWARE(...)                                                     \
  CN_EXTERN const cn_middleware_def cn_middleware = {__VA_ARGS__}

/* ----------------------------------------------------------------- pages */

/* app/.../page.html is a page: a Mustache template rendered with the props
 * its page.c loader returns, inside every layout.html above it (root to
 * leaf; {{{children}}} marks where the child goes). Each template's context
 * is its own loader's props object, with "params" (the route's params; a
 * catch-all is an array) added unless the props already have that key.
 *
 * A loader runs on a handler thread (it may block) and answers one of:
 *   0                       OUT: *props, a new reference (a JSON object;
 *                           NULL means {}), which the page layer releases;
 *   return cn_not_found(req)  the nearest not-found.html, status 404;
 *   return cn_redirect(req, status, "/where")  307 (status 0), 308, ...;
 *   a negative CN_E* code   the nearest error.html, status 500; use
 *                           cn_fail(req, "fmt", ...) to say why (the message
 *                           is logged, and shown on the page in development
 *                           with the file and line it came from).
 *
 * Static or dynamic, as Next.js decides: a page is rendered once at build
 * (static) unless it says .dynamic = 1, or one of its loaders reads
 * request-time data (cn_req_header, cn_req_header_at, cn_req_cookie,
 * cn_req_query, cn_req_query_get/all, cn_req_ip, cn_req_body...): then it
 * renders per request. Params are not request-time data: a dynamic-segment
 * page that lists its params (.static_params) is prerendered for each; other
 * params render on demand and are then kept, or answer 404 when
 * .dynamic_params_off is set. Without .static_params it renders per
 * request. */
typedef int cn_loader(cn_req *req, json_t **props);

/* Metadata merged root to leaf into <head> (every value HTML-escaped). A
 * layout's title_template ("%s | My Site") applies to the titles of the
 * segments below it; its title is their default. title_absolute ignores
 * the templates. A deeper segment's value replaces a shallower one's; the
 * og_* fields are replaced together, as Next.js replaces openGraph. */
typedef struct cn_metadata {
  const char *title, *title_template, *title_absolute;
  const char *description, *keywords, *robots, *canonical;
  const char *og_title, *og_description, *og_image, *og_url, *og_type,
      *og_site_name;
} cn_metadata;

/* Metadata computed from the loader's props: OUT: *meta, a new reference
 * to an object whose keys are cn_metadata's field names ("title",
 * "description", "og_image", ...; strings). It overrides the static
 * fields of the same file. Non-zero fails the page as a loader does. */
typedef int cn_metadata_fn(cn_req *req, const json_t *props, json_t **meta);

/* generateStaticParams: OUT: *params, a new reference to an array of
 * objects, one per page to prerender ({"slug": "hello"}; a catch-all's
 * value is an array of segments). Runs at build. */
typedef int cn_static_params_fn(json_t **params);

/* A deferred (streamed) section: in a template,
 *     {{#defer.comments}}<p>Loading…</p>{{/defer.comments}}
 * sends the fallback inside the page's first bytes while the loader named
 * "comments" runs; its props then render the partial of the same name
 * (components/comments.html, or comments.html beside the page), streamed
 * in place of the fallback as soon as it is ready. */
typedef struct cn_deferred {
  const char *name;
  cn_loader *loader;
} cn_deferred;

/* A Server Action: a C function an HTML form calls. In a template,
 *     {{#form.signup}}<input name="email">…<button>Sign up</button>{{/form.signup}}
 * writes a <form method="post"> to the same page, with the action's ID and,
 * when the context has a "bind" value there (updateUser.bind(null, id)),
 * that value sealed (AES-256-GCM) into a hidden field. On submit the
 * action gets the fields (cn_req_form, cn_req_file: the same API as route
 * handlers) and bound (the "bind" value, or null) and answers:
 *   0: the page is rendered again with "action" in every template's
 *      context: {"name", "state": *state (may be NULL), "values": the
 *      submitted fields}, so a form can show errors and keep what was
 *      typed;
 *   return cn_redirect(req, 0, "/where"): 303 See Other (status 0);
 *   a negative CN_E*: the nearest error page, 500.
 * It may revalidate (cn_revalidate_tag/path) and set cookies
 * (cn_res_cookie(cn_req_res(req), ...)). Actions run only for POST to a
 * page that renders them, from an allowed Origin (see cairn.json's
 * "actions.allowed_origins"); answers are never cached. */
typedef int cn_action_fn(cn_req *req, const json_t *bound, json_t **state);

typedef struct cn_action {
  const char *name;
  cn_action_fn *fn;
} cn_action;

/* Form validation for actions and route handlers: each rule names a field
 * and whitespace-separated checks: "required", "int", "int:MIN..MAX",
 * "number:MIN..MAX", "email", "url", "len:MIN..MAX", "oneof:a,b,c" (either
 * bound may be left out: "len:3..", "int:..10"). An empty optional field
 * passes the others. message (NULL: cairn's words) replaces the message of
 * every check of that field. OUT: *errors, a new object {field: message}
 * for the fields that failed (NULL when none did). Returns 0 when all
 * passed, CN_EINVAL when some failed, CN_ENOMEM. Reads cn_req_form, or the
 * JSON body's string and number members. */
typedef struct cn_rule {
  const char *field;
  const char *checks;
  const char *message;
} cn_rule;
CN_EXTERN int cn_validate(cn_req *req, const cn_rule *rules, size_t n,
                          json_t **errors);

/* A live region: {{#live.tasks}}fallback{{/live.tasks}} in a page renders
 * the partial of the same name (components/tasks.html, or tasks.html
 * beside the page) with {"value": the result of query}, run with the
 * request's identity, and keeps it live: whenever the result changes
 * (another tab, another user, the same user's mutation) the server renders
 * the partial again and cairn's script (/_cairn/live.js, added to the page
 * by itself) swaps it in. args gives the query's arguments from the
 * request and the page's props (NULL: {}); OUT: *args, a new object. The
 * fallback shows only when the query fails. A page with a live region is
 * rendered per request. */
typedef int cn_live_args_fn(cn_req *req, const json_t *props, json_t **args);

typedef struct cn_live {
  const char *name;
  const char *query; /* "tasks:list" */
  cn_live_args_fn *args;
} cn_live;

typedef struct cn_page_def {
  cn_loader *loader;
  cn_deferred deferred[16];           /* streamed sections, by name */
  cn_action actions[16];              /* server actions, by name */
  cn_live live[8];                    /* live regions, by name */
  cn_metadata metadata;
  cn_metadata_fn *generate_metadata;
  int dynamic;                        /* render per request, always */
  cn_static_params_fn *static_params; /* pages with dynamic segments */
  int dynamic_params_off;             /* unlisted params -> 404 */
  int nonblocking; /* the loaders never block: render on the I/O thread */
  unsigned revalidate; /* ISR: regenerate in the background after N s */
} cn_page_def;

/* page.c declares its page with CN_PAGE, layout.c its layout with
 * CN_LAYOUT (only .loader, .metadata and .generate_metadata apply):
 *
 *     static int load(cn_req *req, json_t **props) {
 *       *props = json_pack("{s:s}", "slug", cn_req_param(req, "slug").ptr);
 *       return *props ? 0 : CN_ENOMEM;
 *     }
 *     CN_PAGE(.loader = load, .metadata = {.title = "Blog"});
 */
#define CN_PAGE(...)                                                           \
  CN_EXTERN const cn_page_def CN_ROUTE_SYMBOL = {__VA_ARGS__}
#define CN_LAYOUT(...) CN_PAGE(__VA_ARGS__)
/* app/.../actions.c: Server Actions shared by every page in that folder and
 * below ("use server" files), as a page.c's .actions are:
 *     CN_ACTIONS({"logout", logout}, {"subscribe", subscribe}); */
#define CN_ACTIONS(...)                                                        \
  CN_EXTERN const cn_page_def CN_ROUTE_SYMBOL = {.actions = {__VA_ARGS__}}

/* What a loader returns besides 0 and errors. */
enum { CN_PAGE_NOT_FOUND = 1, CN_PAGE_REDIRECT = 2 };

/* Loader answers; see cn_loader. cn_redirect: status 0 is 307;
 * CN_EINVAL for a non-3xx status or a location with CR, LF or NUL. */
CN_EXTERN int cn_not_found(cn_req *req);
CN_EXTERN int cn_redirect(cn_req *req, int status, const char *location);

/* Record why a loader (or handler) failed, with the place it was called
 * from, and return CN_EIO: `return cn_fail(req, "no post %s", id);` */
#define cn_fail(req, ...) cn_fail_at((req), __FILE__, __LINE__, __VA_ARGS__)
CN_EXTERN int cn_fail_at(cn_req *req, const char *file, int line,
                         const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

typedef struct cn_app cn_app;

/* A new, empty application; NULL when out of memory. Free with cn_app_free
 * after cn_serve returns. */
CN_EXTERN cn_app *cn_app_new(void);
CN_EXTERN void cn_app_free(cn_app *app);

/* Add a route: method is an upper-case token ("GET"; "*" for any method),
 * path an exact path beginning with '/'. config may be NULL (defaults); it
 * is copied. HEAD is answered by a GET route, without the body, unless the
 * path has a HEAD route of its own. CN_EEXIST when the pair is taken. */
CN_EXTERN int cn_app_route(cn_app *app, const char *method, const char *path,
                           cn_handler *handler, const cn_route_config *config);

/* Add a file-system route: pattern as the router reads it ("/api/users/[id]",
 * "/docs/[[...slug]]"), source the file it came from (for error messages),
 * def its handlers (not copied: it must outlive the app). Conflicts with
 * routes already added are CN_EEXIST or CN_EINVAL with a message in err
 * worded as Next.js words it. */
CN_EXTERN int cn_app_add(cn_app *app, const char *pattern, const char *source,
                         const cn_route_def *def, char *err, size_t errlen);

/* Replace the handlers of a route already added (same pattern), safely
 * while the server runs: requests already routed finish with the old
 * handlers, later ones get the new. `cairn dev` calls it when a route file
 * changes. The old def must stay valid for as long as the app lives (a
 * reloaded module is never unloaded). CN_ENOENT for an unknown pattern. */
CN_EXTERN int cn_app_replace(cn_app *app, const char *pattern,
                             const cn_route_def *def, char *err,
                             size_t errlen);

/* Install the app's middleware (not copied). CN_EINVAL with a message in
 * err when a matcher pattern does not compile. */
CN_EXTERN int cn_app_middleware(cn_app *app, const cn_middleware_def *def,
                                char *err, size_t errlen);

/* Serve the files under dir at their exact paths (dir's own path is kept). */
CN_EXTERN int cn_app_public_dir(cn_app *app, const char *dir);

/* ------------------------------------------------------- fetch and cache */

/* An outgoing HTTP request (libcurl), for loaders, handlers and actions.
 * It blocks the calling handler thread. As in Next.js 15 nothing is cached
 * unless asked: cache CN_FETCH_FORCE_CACHE keeps the answer until it is
 * revalidated (by tag, or by path for the page that fetched it), and
 * revalidate_s > 0 keeps it that many seconds (then it is served stale once
 * while it is fetched again). Only 2xx answers to GET and HEAD are cached;
 * the cache key is the method, the URL, the headers and the body. Within
 * one request, identical fetches are made once (request memoization),
 * cached or not: the second gets the first one's answer. */
enum { CN_FETCH_NO_STORE = 0, CN_FETCH_FORCE_CACHE = 1 };

typedef struct cn_fetch_opts {
  const char *method;            /* NULL: GET, or POST when body is set */
  const char *const *headers;    /* "Name: value" lines, NULL-terminated */
  const void *body;
  size_t body_len;
  uint64_t timeout_ms;           /* the whole exchange; 0: 30 s */
  int cache;                     /* CN_FETCH_NO_STORE, CN_FETCH_FORCE_CACHE */
  uint64_t revalidate_s;         /* > 0: cached for this long */
  const char *const *tags;       /* NULL-terminated; at most 128 kept */
} cn_fetch_opts;

typedef struct cn_fetch_res {
  int status;           /* the HTTP status */
  cn_str body;          /* in the request's arena (malloc'd when req NULL:
                           free it with cn_fetch_res_free) */
  cn_str content_type;  /* likewise */
  const char *cache;    /* "HIT", "MISS", "STALE", "MEMO" (memoized) or
                           "SKIP" (not cacheable); static */
  void *priv_;          /* the library's */
} cn_fetch_res;

/* Fetch url. req may be NULL (no memoization, memory from the heap). OUT:
 * *out. 0 when an HTTP answer arrived (any status); CN_EINVAL for a bad URL
 * or method; CN_EIO for a connection failure, with a sentence from
 * cn_fetch_error; CN_ETOOBIG past 32 MiB of body; a timeout is CN_EIO
 * ("timed out"); CN_ECLOSED when req's client went away meanwhile. Only
 * GET and HEAD are memoized; redirects are followed (at most 5). */
CN_EXTERN int cn_fetch(cn_req *req, const char *url, const cn_fetch_opts *opts,
                       cn_fetch_res *out);
/* The body as JSON (a new reference), NULL when it is not JSON. */
CN_EXTERN json_t *cn_fetch_json(const cn_fetch_res *res);
/* Why the last cn_fetch on this thread failed (static until the next). */
CN_EXTERN const char *cn_fetch_error(void);
/* Release a response made with req NULL. */
CN_EXTERN void cn_fetch_res_free(cn_fetch_res *res);

/* unstable_cache: the result of fn(req, arg, &json) kept under key_parts
 * (NULL-terminated, joined into the key), for revalidate_s seconds (0:
 * until revalidated) and under tags (NULL-terminated, may be NULL). On a
 * HIT fn does not run; on STALE the old value is returned and fn runs again
 * to replace it. OUT: *out, a new reference. fn's failure is returned and
 * nothing is kept. */
typedef int cn_cached_fn(cn_req *req, void *arg, json_t **out);
CN_EXTERN int cn_cached(cn_req *req, const char *const *key_parts,
                        uint64_t revalidate_s, const char *const *tags,
                        cn_cached_fn *fn, void *arg, json_t **out);

/* On-demand revalidation, from handlers, API routes and actions: the
 * entries carrying tag, or the page at path (type "page") or a layout's
 * path and everything under it (type "layout"), are regenerated on their
 * next request. 0 or CN_ENOMEM. */
CN_EXTERN int cn_revalidate_tag(const char *tag);
CN_EXTERN int cn_revalidate_path(const char *path, const char *type);

/* ------------------------------------------------------------------ auth */

/* Who a request (or a data function's caller) is: the claims of a JWT that
 * verified against an issuer configured in cairn.json ("auth"), read from
 * `Authorization: Bearer` or the configured cookie. Everything is borrowed
 * from the request and lives as long as it. */
typedef struct cn_identity {
  const char *subject;  /* "sub" */
  const char *issuer;   /* "iss" */
  const json_t *claims; /* the whole payload */
  int64_t expires;      /* "exp", unix seconds */
} cn_identity;

/* The request's identity. OUT: *who, NULL for a request without a token.
 * 0, or CN_EUNAUTH when a token was sent but does not verify (expired,
 * wrong audience or issuer, bad signature, an algorithm its issuer does
 * not use, too large): the reason is logged, never sent. Verified once per
 * request. */
CN_EXTERN int cn_req_identity(cn_req *req, const cn_identity **who);

/* Sign claims (an object; may be NULL) as a JWT of the configured issuer
 * named iss, with its key (an HS256 secret, an RS256/ES256 private key):
 * "iss", "iat" and "exp" (now + ttl_s) are set, "aud" too when the issuer
 * has one audience. OUT: *token, NUL-terminated, in req's arena. 0;
 * CN_ENOENT for an issuer not configured or without a signing key;
 * CN_ENOMEM. */
CN_EXTERN int cn_auth_sign(cn_req *req, const char *iss, const json_t *claims,
                           uint64_t ttl_s, const char **token);

/* ------------------------------------------------------------ data layer */

/* data/<module>.c declares query, mutation and action functions, called as
 * "<module>:<name>" over HTTP (POST /_cairn/query, /_cairn/mutation,
 * /_cairn/action with {"path": "tasks:list", "args": {...}}) and in-process
 * (cn_run_query...). A query is read-only and sees one snapshot; a mutation
 * is one serializable transaction, acknowledged once durable; an action is
 * not transactional and may call out (cn_fetch) and run the others. */
typedef struct cn_ctx cn_ctx;
typedef struct cn_db cn_db;

typedef enum cn_fn_kind { CN_QUERY = 1, CN_MUTATION, CN_ACTION } cn_fn_kind;

/* Argument types. JSON numbers that are integers pass CN_T_NUMBER too. */
typedef enum cn_type {
  CN_T_ANY = 0, CN_T_STRING, CN_T_INT, CN_T_NUMBER, CN_T_BOOL, CN_T_ARRAY,
  CN_T_OBJECT
} cn_type;

/* One argument: absent and not optional, of another type, out of range
 * (min/max bound integers and numbers; strings' and arrays' lengths when
 * max > 0) -> 400 listing every field at fault; so is a field the schema
 * does not name. The function never runs. */
typedef struct cn_fn_arg {
  const char *name;
  cn_type type;
  int optional;
  double min, max; /* both 0: unbounded */
} cn_fn_arg;

/* Who may call a function; checked before it runs (a refusal reads and
 * writes nothing): CN_AUTH_PUBLIC anyone; CN_AUTH_USER any verified
 * identity (else 401); CN_AUTH_OWNER a verified identity whose subject
 * equals column of the row of table whose "id" is the argument key (403
 * otherwise, 404 when there is no such row); CN_AUTH_GROUP a verified
 * identity whose claim (an array of strings, or a string) holds group;
 * CN_AUTH_CUSTOM check(ctx, args) returns 0 to allow, CN_EFORBIDDEN or
 * CN_EUNAUTH to refuse. */
typedef enum cn_auth_kind {
  CN_AUTH_PUBLIC = 0, CN_AUTH_USER, CN_AUTH_OWNER, CN_AUTH_GROUP,
  CN_AUTH_CUSTOM
} cn_auth_kind;

typedef int cn_fn_check(cn_ctx *ctx, const json_t *args);

typedef struct cn_fn_auth {
  cn_auth_kind kind;
  const char *table, *column, *key; /* CN_AUTH_OWNER */
  const char *claim, *group;        /* CN_AUTH_GROUP */
  cn_fn_check *check;               /* CN_AUTH_CUSTOM */
} cn_fn_auth;

/* The function: OUT: *result, a new reference (NULL is JSON null). Return
 * 0; CN_EINVAL (400), CN_EFORBIDDEN (403), CN_ENOENT (404), CN_ECONFLICT
 * (409) with a message from cn_ctx_fail sent to the caller; any other
 * error is a 500 whose detail stays in the log. A mutation's non-zero
 * return rolls back everything it wrote. */
typedef int cn_fn(cn_ctx *ctx, const json_t *args, json_t **result);

typedef struct cn_fn_def {
  const char *name;
  cn_fn_kind kind;
  cn_fn *fn;
  cn_fn_arg args[16];
  cn_fn_auth auth;
} cn_fn_def;

/* data/tasks.c:
 *     static int list(cn_ctx *ctx, const json_t *args, json_t **out) {
 *       return cn_db_all(cn_ctx_db(ctx), out,
 *                        "SELECT id, title FROM tasks WHERE owner = ?",
 *                        CN_ARGS(cn_v(cn_ctx_subject(ctx))));
 *     }
 *     CN_DATA({.name = "list", .kind = CN_QUERY, .fn = list,
 *              .auth = {.kind = CN_AUTH_USER}}); */
typedef struct cn_data_def {
  cn_fn_def fns[64];
} cn_data_def;
#define CN_DATA(...)                                                           \
  CN_EXTERN const cn_data_def CN_ROUTE_SYMBOL = {{__VA_ARGS__}}

/* The caller's identity (NULL: anonymous) and its subject (NULL too). */
CN_EXTERN const cn_identity *cn_ctx_identity(const cn_ctx *ctx);
CN_EXTERN const char *cn_ctx_subject(const cn_ctx *ctx);
/* The database of a query or mutation; NULL in an action. */
CN_EXTERN cn_db *cn_ctx_db(cn_ctx *ctx);
/* The request that called, NULL when none did (a live query's re-run). */
CN_EXTERN cn_req *cn_ctx_req(cn_ctx *ctx);
/* Memory for the call's lifetime (NULL when out of memory). */
CN_EXTERN void *cn_ctx_alloc(cn_ctx *ctx, size_t size);
/* Say why the function fails, for its caller; returns err, so that
 * `return cn_ctx_fail(ctx, CN_EINVAL, "title is taken");` reads well. */
CN_EXTERN int cn_ctx_fail(cn_ctx *ctx, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A bound SQL parameter. Values only ever travel bound: there is no call
 * that puts a value into SQL text. cn_v picks the type from the C type:
 *     CN_ARGS(cn_v(title), cn_v(n), cn_v(3.5), cn_v_null()) */
typedef struct cn_val {
  enum { CN_V_NULL, CN_V_INT, CN_V_REAL, CN_V_TEXT, CN_V_JSON } type;
  int64_t i;
  double d;
  const char *s; /* CN_V_TEXT: len bytes; (size_t)-1: NUL-terminated */
  size_t len;
  const json_t *j; /* CN_V_JSON: a JSON value (strings, numbers, bools go
                      as themselves; arrays and objects as JSON text) */
} cn_val;

static inline cn_val cn_v_int(int64_t i) {
  return (cn_val){.type = CN_V_INT, .i = i};
}
static inline cn_val cn_v_real(double d) {
  return (cn_val){.type = CN_V_REAL, .d = d};
}
static inline cn_val cn_v_text(const char *s) {
  return s ? (cn_val){.type = CN_V_TEXT, .s = s, .len = (size_t)-1}
           : (cn_val){.type = CN_V_NULL};
}
static inline cn_val cn_v_slice(cn_str s) {
  return s.ptr ? (cn_val){.type = CN_V_TEXT, .s = s.ptr, .len = s.len}
               : (cn_val){.type = CN_V_NULL};
}
static inline cn_val cn_v_json(const json_t *j) {
  return (cn_val){.type = CN_V_JSON, .j = j};
}
static inline cn_val cn_v_null(void) { return (cn_val){.type = CN_V_NULL}; }
#define cn_v(x)                                                                \
  _Generic((x), char *: cn_v_text, const char *: cn_v_text,                    \
           _Bool: cn_v_int, int: cn_v_int, unsigned: cn_v_int,                 \
           long: cn_v_int, unsigned long: cn_v_int, long long: cn_v_int,       \
           unsigned long long: cn_v_int, float: cn_v_real, double: cn_v_real,  \
           cn_str: cn_v_slice, json_t *: cn_v_json,                            \
           const json_t *: cn_v_json)(x)
/* The two trailing arguments of every cn_db_* call: the count and the
 * values (CN_NOARGS when there are none). */
#define CN_ARGS(...)                                                           \
  sizeof((cn_val[]){__VA_ARGS__}) / sizeof(cn_val), (cn_val[]){__VA_ARGS__}
#define CN_NOARGS 0, (const cn_val *)0

/* Run one statement with its parameters (? or ?NNN) and shape the rows:
 * cn_db_all: an array of objects, one per row (column name -> value);
 * cn_db_one: the first row's object, or JSON null when there is none;
 * cn_db_value: the first column of the first row, or JSON null;
 * cn_db_exec: OUT: *changes, rows inserted, updated or deleted (may be
 *   NULL); cn_db_last_id gives the last inserted rowid of this mutation.
 * OUT: *out, a new reference. A statement that writes in a query is
 * refused by the database (CN_EREADONLY); a syntax or constraint error is
 * CN_EINVAL with the database's message in the log and, in development,
 * the answer; either fails the function. */
CN_EXTERN int cn_db_all(cn_db *db, json_t **out, const char *sql,
                        size_t nargs, const cn_val *args);
CN_EXTERN int cn_db_one(cn_db *db, json_t **out, const char *sql,
                        size_t nargs, const cn_val *args);
CN_EXTERN int cn_db_value(cn_db *db, json_t **out, const char *sql,
                          size_t nargs, const cn_val *args);
CN_EXTERN int cn_db_exec(cn_db *db, int64_t *changes, const char *sql,
                         size_t nargs, const cn_val *args);
CN_EXTERN int64_t cn_db_last_id(cn_db *db);

/* fetchQuery, fetchMutation, fetchAction: call a function in-process with
 * the identity of ctx's caller (from a loader, handler or server action:
 * cn_req_ctx(req)), args validated as over HTTP (args NULL is {}). OUT:
 * *result, a new reference. Returns what the function returned, or the
 * validation/auth error (CN_EINVAL, CN_EUNAUTH, CN_EFORBIDDEN, CN_ENOENT for
 * an unknown path or one of another kind); cn_ctx_error says why. */
CN_EXTERN cn_ctx *cn_req_ctx(cn_req *req);
CN_EXTERN int cn_run_query(cn_ctx *ctx, const char *path, const json_t *args,
                           json_t **result);
CN_EXTERN int cn_run_mutation(cn_ctx *ctx, const char *path,
                              const json_t *args, json_t **result);
CN_EXTERN int cn_run_action(cn_ctx *ctx, const char *path, const json_t *args,
                            json_t **result);
/* The message of the last failed cn_run_* on ctx (static until the next
 * call on ctx), or NULL. */
CN_EXTERN const char *cn_ctx_error(const cn_ctx *ctx);

/* ----------------------------------------------------------- environment */

/* A variable of the environment the server started with, NULL when unset.
 * Besides the process's own, it holds what the app's .env files set, loaded
 * before the first request with Next.js's precedence (the process wins over
 * every file; then .env.<mode>.local, .env.local, .env.<mode>, .env, where
 * mode is development under `cairn dev`, production under `cairn start`,
 * test when NODE_ENV or CAIRN_ENV is "test", which also skips .env.local).
 * The string belongs to the environment: do not free or change it. Safe
 * from any handler thread as long as nothing calls setenv while serving. */
CN_EXTERN const char *cn_env(const char *name);

/* ----------------------------------------------------------------- taint */

/* Server-only values (docs/taint.md). Every variable of the environment
 * is server-only unless its name starts with CN_PUBLIC_ (or it describes
 * the machine, as PATH or LANG do, or its value is under 8 bytes). Should a
 * server-only value be about to reach the browser, in a rendered page, an
 * island's props, an action's state, a live query's result or a data
 * function's answer, cairn sends none of it: the page fails with a 500
 * (the log, and the page under `cairn dev`, say which value and where; the
 * value itself never appears), a live or HTTP result fails with an
 * internal error.
 *
 * cn_taint_value marks value (at least 4 bytes; copied) as server-only
 * from now on, for every request, as React's taintUniqueValue does; the
 * message says what it is. cn_taint_object marks an object, and any copy
 * of it, as never to be sent as JSON (React's taintObjectReference); it
 * adds a member whose key is private to the process, which a template
 * never shows and any JSON cairn writes for the browser is checked for:
 * its fields may still be rendered one by one. 0; CN_EINVAL (a value
 * under 4 bytes, obj not an object, a message that is not UTF-8),
 * CN_ETOOBIG (4,096 tainted strings), CN_ENOMEM. */
CN_EXTERN int cn_taint_value(const char *message, const char *value);
CN_EXTERN int cn_taint_object(json_t *obj, const char *message);

/* ------------------------------------------------------- built apps */

/* What `cairn build` generates for an app: every file route with the file
 * it came from, and the middleware. The generated main() calls cn_main. */
typedef struct cn_manifest_route {
  const char *pattern; /* "/api/users/[id]" */
  const char *source;  /* "app/api/users/[id]/route.c" */
  const cn_route_def *def;
} cn_manifest_route;

/* A file of the app's pages: a template (page.html, layout.html,
 * error.html, not-found.html, loading.html under app/; and the .html files under components/)
 * with its text, or a page.c / layout.c with its definition. */
typedef struct cn_manifest_file {
  const char *path; /* "app/blog/[slug]/page.html", relative to the app */
  const char *text; /* templates: the source; NULL for page.c, layout.c */
  size_t len;
  const cn_page_def *def; /* page.c, layout.c */
} cn_manifest_file;

/* A data/<module>.c file of the app, and a migration of data/migrations
 * (applied in name order: "001_init.sql"), embedded by the build. */
typedef struct cn_manifest_data {
  const char *module; /* "tasks" */
  const char *source; /* "data/tasks.c" */
  const cn_data_def *def;
} cn_manifest_data;

typedef struct cn_manifest_migration {
  const char *name; /* "001_init.sql" */
  const char *sql;
} cn_manifest_migration;

typedef struct cn_manifest {
  const cn_manifest_route *routes;
  size_t nroutes;
  const cn_middleware_def *middleware; /* NULL when the app has none */
  const char *build_id;                /* differs between builds */
  const cn_manifest_file *files;       /* pages, layouts, components */
  size_t nfiles;
  const char *actions_key; /* this build's Server Actions key (64 hex) */
  const cn_manifest_data *data; /* data/ modules */
  size_t ndata;
  const cn_manifest_migration *migrations; /* data/migrations, in order */
  size_t nmigrations;
} cn_manifest;

/* The whole life of a built app's server: options from argv
 * (-p/--port, -H/--hostname, --dev, --help), the app directory (the
 * current one), its cairn.json, PORT and HOSTNAME, the routes and
 * middleware of the manifest, public/ when present; then cn_serve. Errors
 * are printed to stderr naming the file; the return value is the process's
 * exit code. */
CN_EXTERN int cn_main(const cn_manifest *manifest, int argc, char **argv);

/* ---------------------------------------------------------------- server */

typedef struct cn_limits {
  size_t request_line;      /* bytes; over -> 414 (8 KiB) */
  size_t header_bytes;      /* request line + headers; over -> 431 (16 KiB) */
  size_t header_count;      /* header lines; over -> 431 (100) */
  size_t body;              /* default route body limit -> 413 (1 MiB) */
  size_t chunk_ext_bytes;   /* chunk extensions in one request -> 413 (16 KiB) */
  uint64_t header_timeout_ms;    /* first byte to end of head -> 408 (10 s) */
  uint64_t request_timeout_ms;   /* first byte to end of body -> 408 (30 s) */
  uint64_t keepalive_timeout_ms; /* idle between requests -> close (5 s) */
  uint64_t keepalive_requests;   /* per connection, then close (1000) */
  uint64_t max_connections;      /* open at once; more -> 503 (10000) */
  uint64_t shutdown_timeout_ms;  /* drain time on SIGTERM (10 s) */
  uint64_t linger_ms;            /* drain after an error answer (2 s) */
  size_t ws_message;             /* WebSocket message -> close 1009 (1 MiB) */
  size_t ws_backlog;             /* unsent bytes of a WebSocket -> 1008 (4 MiB) */
  uint64_t ws_ping_ms;           /* ping a quiet WebSocket, drop it after as long again (30 s) */
  uint64_t ws_idle_ms;           /* no message -> close 1001; 0 never (0) */
} cn_limits;

typedef struct cn_config {
  const char *hostname; /* listen address (127.0.0.1) */
  int port;             /* 0 picks a free port (3000) */
  int io_threads;       /* event loops; 0 = one per core */
  int handler_threads;  /* handler pool ceiling; 0 = 256 */
  int access_log;       /* one line per request on stdout (1) */
  int dev;              /* development: error bodies carry details (0) */
  int trust_proxy;      /* believe X-Forwarded-For / -Host (0) */
  uint64_t handler_timeout_ms; /* default max_duration of a route; 0: none */
  cn_limits limits;
  /* The Data Cache ("cache": {"memory": "64mb", "expire": 31536000}): the
   * memory level's bound in bytes, and ISR's expire time in seconds (how
   * long a stale page may still be served). */
  size_t cache_memory;
  uint64_t cache_expire_s;
  /* Server Actions ("actions": {"allowed_origins": ["*.example.com"],
   * "body_limit": "1mb"}): hosts whose forms may call actions besides the
   * request's own Host, and the largest form body (1 MiB). */
  const char *const *allowed_origins;
  size_t nallowed_origins;
  size_t actions_body_limit;
  /* Auth ("auth": {"issuers": [...], "cookie": "session"}), parsed; NULL
   * when the app verifies no tokens. Owned by the library. */
  const struct cn_auth_config *auth;
  /* The data layer ("data": {"durability": "full"}): 1 makes a commit
   * survive power loss (fsync per group commit), 0 (the default) a crash of
   * the server process. The database is DATABASE_URL
   * (sqlite:path, default .cairn/data.db under the app). */
  int data_durability_full;
  /* "data": {"exclusive": false}: 1 holds the SQLite file for this process
   * alone (reads then take no file locks: the fast way), 0 lets other
   * processes open it too (the sqlite3 shell while the server runs); -1,
   * the default, is 1 under `cairn start` and 0 under `cairn dev` (or a
   * server started with --dev). */
  int data_exclusive;
  /* "data": {"inline_query_us": N}: a query function whose recent runs
   * averaged under N microseconds runs on the I/O thread that read the
   * request, skipping the hop to a handler thread (SQLite only); a run
   * that takes long sends it back to the pool. 0 never runs a query
   * inline. Default 60. */
  int data_inline_query_us;
} cn_config;

/* Fill config with the defaults listed above. */
CN_EXTERN void cn_config_init(cn_config *config);

/* Apply the options of a JSON file ({"port": 3000, "limits": {...}}) on top
 * of config. Unknown keys and wrong types are errors: CN_ECONFIG, with a
 * sentence naming the key written to err (err may be NULL). Strings are
 * copied into storage owned by the library for the life of the process. */
CN_EXTERN int cn_config_load(cn_config *config, const char *path, char *err,
                             size_t errlen);

/* Apply PORT and HOSTNAME from the environment, as `next start` does. */
CN_EXTERN int cn_config_env(cn_config *config);

/* Run the server until SIGTERM or SIGINT, then drain in-flight requests (up
 * to shutdown_timeout_ms) and return 0. Prints one line
 * "cairn listening on http://HOST:PORT" on stdout once it accepts
 * connections. Returns a CN_E* code when it cannot start. */
CN_EXTERN int cn_serve(cn_app *app, const cn_config *config);

#ifdef __cplusplus
}
#endif
#endif /* CAIRN_H */
