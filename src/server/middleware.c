/* The app's middleware: its definition and the compiled matcher. */
#include <stdio.h>
#include "middleware/middleware.h"
#include "server.h"

struct cn__middleware {
  const cn_middleware_def *def;
  cn__matcher *matcher;
};

int cn_app_middleware(cn_app *app, const cn_middleware_def *def, char *err,
                      size_t errlen) {
  if (!app || !def || !def->handler) {
    if (err)
      snprintf(err, errlen, "middleware: no handler");
    return CN_EINVAL;
  }
  cn__middleware *mw = cn__calloc(1, sizeof(*mw));
  if (!mw)
    return CN_ENOMEM;
  int rc = cn__matcher_new(&mw->matcher, def->matcher,
                           CN__ARRAY_LEN(def->matcher), err, errlen);
  if (rc) {
    cn__free(mw);
    return rc;
  }
  mw->def = def;
  cn__middleware_free(app->mw);
  app->mw = mw;
  return 0;
}

int cn__middleware_matches(const cn__middleware *mw, cn_str path) {
  return cn__matcher_match(mw->matcher, path);
}

cn_handler *cn__middleware_handler(const cn__middleware *mw) {
  return mw->def->handler;
}

int cn__middleware_nonblocking(const cn__middleware *mw) {
  return mw->def->nonblocking;
}

void cn__middleware_free(cn__middleware *mw) {
  if (!mw)
    return;
  cn__matcher_free(mw->matcher);
  cn__free(mw);
}
