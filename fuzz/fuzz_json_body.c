/*
 * fuzz_json_body: the first line of the input is a Content-Type, the rest
 * a body, through cn__body_parse (so Content-Type parsing, the dispatch
 * and every body parser are reached; "application/json" seeds steer it to
 * JSON). Checks: the kind follows the media type; a JSON value re-encodes
 * and parses back equal (duplicates and \u0000 refused, so nothing is lost
 * on the way); refusals carry a printable ASCII message, JSON ones with
 * jansson's line and column; multipart files are gone after release.
 * Seeds: fuzz/corpus/json_body/.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "parsers/parsers.h"

static char dir[64];

static void remove_dir(void) { rmdir(dir); } /* empty: every file is gone */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!dir[0]) {
    snprintf(dir, sizeof dir, "/tmp/cn-fuzz-json-body-XXXXXX");
    if (!mkdtemp(dir))
      abort();
    atexit(remove_dir);
  }
  const char *s = (const char *)data;
  const char *nl = memchr(s, '\n', size);
  cn_str ct = nl ? cn__str(s, (size_t)(nl - s)) : CN_STR("application/json");
  cn_str body = nl ? cn__str(nl + 1, size - (size_t)(nl - s) - 1)
                   : cn__str(s, size);
  cn__arena a;
  cn__arena_init(&a, NULL, 0);
  cn__body_opts opts = {.max_pairs = 50};
  opts.multipart.tmp_dir = dir;
  opts.multipart.max_parts = 10;
  cn__body b;
  int rc = cn__body_parse(&a, ct, body, &opts, &b);
  for (const char *m = b.err.msg; *m; m++)
    if ((unsigned char)*m < 0x20 || (unsigned char)*m > 0x7e)
      abort();
  if (rc) {
    if (rc != CN_EPARSE && rc != CN_ETOOBIG)
      abort();
    if (!b.err.msg[0] || b.json)
      abort();
    if (b.kind == CN_BODY_JSON &&
        strncmp(b.err.msg, "Invalid JSON at line ", 21) != 0)
      abort();
  } else {
    if (b.err.msg[0])
      abort();
    cn__ctype c;
    if (b.ctype.type.ptr) {
      if (cn__ctype_parse(&a, ct, &c, NULL) || c.type.len != b.ctype.type.len)
        abort();
      for (size_t i = 0; i < c.type.len; i++)
        if (c.type.ptr[i] >= 'A' && c.type.ptr[i] <= 'Z')
          abort();
      if (cn__body_classify(c.type) != b.kind)
        abort();
    } else if (b.kind != (body.len ? CN_BODY_TEXT : CN_BODY_NONE)) {
      abort();
    }
    if (b.kind == CN_BODY_JSON) {
      char *enc = json_dumps(b.json, JSON_ENCODE_ANY | JSON_COMPACT);
      if (!enc)
        abort();
      json_t *back;
      if (cn__json_parse(cn__cstr(enc), &back, NULL) ||
          !json_equal(back, b.json))
        abort();
      json_decref(back);
      free(enc);
    }
    if ((b.kind == CN_BODY_TEXT || b.kind == CN_BODY_RAW) &&
        (b.text.len != body.len))
      abort();
  }
  cn__body_release(&b);
  cn__body_release(&b);
  for (size_t i = 0; i < b.nfiles; i++)
    if (access(b.files[i].path, F_OK) == 0)
      abort();
  cn__arena_destroy(&a);
  return 0;
}
