/*
 * dev.h: what a development server carries besides the app.
 *
 * `cairn dev` runs two processes: the command, which compiles and watches,
 * and a server process (the same executable) that serves the app from one
 * shared object per route file. This module is the part of the server
 * process that has nothing to do with loading code:
 *
 *   - the live-reload channel: GET /_cairn/events, a Server-Sent Events
 *     stream that says "hello <id>" on connect and "reload" after each
 *     successful change; the script that listens to it (cn__dev_script) is
 *     put into HTML pages by cn__dev_filter;
 *   - the build-error page: while a compile error is pending
 *     (cn__dev_set_error), a browser navigation (GET/HEAD accepting
 *     text/html) gets a readable page with the compiler's message instead
 *     of the app, while other requests (fetch, curl, API clients) keep
 *     being answered by the last code that compiled;
 *   - two hooks for the server core, which a production server also runs
 *     through and which then cost one atomic load or one getenv:
 *     cn__dev_filter (script injection) and cn__dev_listen_fd (a listening
 *     socket handed down by `cairn dev`, so that restarting the server
 *     process never refuses a connection).
 *
 * The page and the user's middleware go through one middleware installed by
 * cn__dev_install: it answers the error page, skips /_cairn/, and otherwise
 * runs the app's own middleware when the app's matcher accepts the path, so
 * the app sees what it would see without it.
 *
 * Ownership. A cn__dev is made and freed by the server process's main
 * (src/cli), lives as long as the app it was installed in, and is the one
 * "active" instance the hooks and the middleware see (a process serves one
 * development app). All of its functions may be called from any thread.
 */
#ifndef CN_DEV_H
#define CN_DEV_H

#include "common/common.h"

typedef struct cn__dev cn__dev;

/* A new dev state. build_id names this server process's build (the
 * browser reloads when it reconnects to another one); copied. OUT: *out.
 * 0 or CN_ENOMEM. */
int cn__dev_new(cn__dev **out, const char *build_id);

/* Free it once cn_serve has returned (no handler can run any more). Also
 * makes it inactive. NULL is fine. */
void cn__dev_free(cn__dev *d);

/* Register GET /_cairn/events on app, install the dev middleware around
 * user_mw (the app's own middleware.c, NULL when it has none; not copied:
 * it must outlive the app) and make d the active instance. Call once,
 * before cn_serve. CN_EINVAL with a message in err when user_mw's matcher
 * does not compile; CN_ENOMEM; CN_EEXIST when /_cairn/events is taken. */
int cn__dev_install(cn__dev *d, cn_app *app, const cn_middleware_def *user_mw,
                    char *err, size_t errlen);

/* Set the pending build error (the compiler's output, plain text; copied)
 * or clear it (NULL or ""). Browsers see it on their next navigation. 0 or
 * CN_ENOMEM (the previous error then stays). */
int cn__dev_set_error(cn__dev *d, const char *text);

/* Tell every connected browser to reload (after a successful change). */
void cn__dev_reload(cn__dev *d);

/* End every event stream now and refuse new ones, so the server's drain is
 * not held up by them; call just before stopping the server. */
void cn__dev_shutdown(cn__dev *d);

/* The <script> element that connects a page to /_cairn/events. Static. */
const char *cn__dev_script(void);

/* Server hook, called on the loop thread for every whole (not streamed)
 * response just before its head is built: when a dev instance is active
 * and the response is text/html with a body, the live-reload script is
 * put before its last </body> (or at its end), in the request's arena.
 * Does nothing in a production server (no active instance), to streamed
 * responses, to public/ files, or when the arena is exhausted. */
void cn__dev_filter(cn_req *req);

/* Server hook, called by cn_serve once per listening socket it needs,
 * before it opens one itself: when the environment has CAIRN_LISTEN_FD
 * (set by `cairn dev` for its server process) naming a stream socket bound
 * to the configured address, that socket is put into the listening state
 * and a duplicate of it (close-on-exec) is returned, for the caller to own;
 * -1 otherwise, and the caller opens its own. Every server process of one
 * `cairn dev` session then accepts from the same socket, so one can take
 * over from the other without a connection being refused. */
int cn__dev_listen_fd(void);

#endif /* CN_DEV_H */
