/*
 * The body by Content-Type: classify once, then hand the bytes to the one
 * parser that applies. Whole-body and streaming callers share the code:
 * cn__body_parse is begin + feed + finish.
 */
#include "parsers/parsers_int.h"

static int fail(cn__body *b, int rc) {
  cn__body_release(b);
  return rc;
}

int cn__body_begin(cn__arena *a, cn_str content_type,
                   const cn__body_opts *opts, cn__body *out) {
  memset(out, 0, sizeof *out);
  out->max_pairs = opts ? opts->max_pairs : 0;
  /* Absent (or blank) Content-Type: text/plain, as Next.js. */
  if (!content_type.ptr || !cn__str_trim(content_type).len) {
    out->kind = CN_BODY_TEXT;
    return 0;
  }
  int rc = cn__ctype_parse(a, content_type, &out->ctype, &out->err);
  if (rc)
    return rc;
  out->kind = cn__body_classify(out->ctype.type);
  if (out->kind == CN_BODY_MULTIPART)
    return cn__mp_new(a, out->ctype.boundary, opts ? &opts->multipart : NULL,
                      &out->mp, &out->err);
  return 0;
}

int cn__body_feed(cn__body *b, const void *data, size_t len) {
  if (b->kind != CN_BODY_MULTIPART || !b->mp)
    return 0;
  int rc = cn__mp_feed(b->mp, data, len);
  if (rc)
    memcpy(b->err.msg, cn__mp_error(b->mp), sizeof b->err.msg);
  return rc;
}

static int multipart_finish(cn__arena *a, cn__body *b) {
  if (!b->mp) {
    cn__parsers_errf(&b->err, "multipart parser was not started");
    return CN_ESTATE;
  }
  int rc = cn__mp_finish(b->mp);
  if (rc) {
    memcpy(b->err.msg, cn__mp_error(b->mp), sizeof b->err.msg);
    return rc;
  }
  if (cn__mp_fields(b->mp, a, &b->form) ||
      cn__mp_files(b->mp, a, &b->files, &b->nfiles)) {
    cn__parsers_errf(&b->err, "out of memory");
    return CN_ENOMEM;
  }
  return 0;
}

int cn__body_finish(cn__arena *a, cn__body *b, cn_str body) {
  int rc = 0;
  switch (b->kind) {
  case CN_BODY_JSON:
    rc = cn__json_parse(body, &b->json, &b->err);
    break;
  case CN_BODY_FORM:
    rc = cn__form_parse(a, body, b->max_pairs, &b->form, &b->err);
    break;
  case CN_BODY_MULTIPART:
    rc = multipart_finish(a, b);
    break;
  default:
    if (!b->ctype.type.ptr && !body.len)
      b->kind = CN_BODY_NONE;
    b->text = body.ptr ? body : cn__str("", 0);
    break;
  }
  return rc ? fail(b, rc) : 0;
}

int cn__body_parse(cn__arena *a, cn_str content_type, cn_str body,
                   const cn__body_opts *opts, cn__body *out) {
  int rc = cn__body_begin(a, content_type, opts, out);
  if (rc)
    return fail(out, rc);
  if (out->kind == CN_BODY_MULTIPART) {
    rc = cn__body_feed(out, body.ptr, body.len);
    if (rc)
      return fail(out, rc);
    body = CN_STR_NULL;
  }
  return cn__body_finish(a, out, body);
}

void cn__body_release(cn__body *b) {
  if (b->json) {
    json_decref(b->json);
    b->json = NULL;
  }
  cn__mp_cleanup(b->mp);
}
