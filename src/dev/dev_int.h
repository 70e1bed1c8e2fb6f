/*
 * dev_int.h: what the files of src/dev share and nobody else needs.
 */
#ifndef CN_DEV_INT_H
#define CN_DEV_INT_H

#include "dev/dev.h"

/* The active instance (installed and not yet freed), or NULL: what the
 * hooks check first, so a production server pays one atomic load. */
cn__dev *cn__dev_active(void);

/* Answer req with the build-error page for text (compiler output): status
 * 500, HTML-escaped, the first error's file:line as the heading, the
 * live-reload script at the end. 0 or CN_ENOMEM / the cn_res_* error. */
int cn__dev_error_page(cn_req *req, cn_res *res, const char *text);

/* Append s[0, n) to b with &, <, >, " and ' escaped. 0 or CN_ENOMEM. */
int cn__dev_html_escape(cn__buf *b, const char *s, size_t n);

#endif /* CN_DEV_INT_H */
