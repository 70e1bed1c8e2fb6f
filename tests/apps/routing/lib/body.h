/*
 * body.h: how the test app reports a request body it was handed: the
 * parsed kind, the JSON value, the form fields named in the request header
 * x-keys, every uploaded file (read back from its temporary file, with its
 * size and FNV-1a hash so the suite can prove the bytes are intact, and the
 * temporary path so it can check the file is gone after the response), and
 * the raw body's length and hash.
 */
#ifndef T_BODY_H
#define T_BODY_H

#include "t.h"

static inline const char *t_kind_name(cn_body_kind k) {
  switch (k) {
  case CN_BODY_NONE: return "none";
  case CN_BODY_JSON: return "json";
  case CN_BODY_FORM: return "form";
  case CN_BODY_MULTIPART: return "multipart";
  case CN_BODY_TEXT: return "text";
  case CN_BODY_RAW: return "raw";
  }
  return "?";
}

static inline json_t *t_file_json(const cn_file *f) {
  uint64_t h = T_FNV_INIT, got = 0;
  char head[257];
  size_t headlen = 0;
  FILE *fp = fopen(f->path, "rb");
  if (fp) {
    char buf[16384];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, fp)) > 0) {
      if (headlen < 256) {
        size_t take = n < 256 - headlen ? n : 256 - headlen;
        memcpy(head + headlen, buf, take);
        headlen += take;
      }
      t_fnv(buf, n, &h);
      got += n;
    }
    fclose(fp);
  }
  return json_pack("{s:o,s:o,s:o,s:I,s:I,s:o,s:s,s:b,s:o}", "field",
                   t_str(f->field), "filename", t_str(f->filename),
                   "content_type", t_str(f->content_type), "size",
                   (json_int_t)f->size, "read", (json_int_t)got, "fnv",
                   t_fnv_hex(h), "path", f->path, "opened", fp != NULL,
                   "content",
                   got <= 256 ? t_str((cn_str){head, headlen}) : json_null());
}

static inline json_t *t_body_json(cn_req *req) {
  json_t *form = json_object(), *files = json_array();
  t_names(req, "x-keys", form, t_form1);
  const cn_file *f;
  size_t n = cn_req_files(req, &f);
  for (size_t i = 0; i < n; i++)
    json_array_append_new(files, t_file_json(&f[i]));
  cn_str want = cn_req_header(req, "x-file");
  json_t *first = json_null();
  if (want.ptr) {
    char *name = cn_req_strndup(req, want.ptr, want.len);
    const cn_file *one = name ? cn_req_file(req, name) : NULL;
    if (one) {
      json_decref(first);
      first = t_file_json(one);
    }
  }
  cn_str body = cn_req_body(req);
  uint64_t h = T_FNV_INIT;
  t_fnv(body.ptr, body.len, &h);
  json_t *js = cn_req_json(req);
  return json_pack("{s:s,s:O?,s:b,s:o,s:o,s:o,s:I,s:o,s:o}", "kind",
                   t_kind_name(cn_req_body_kind(req)), "json", js,
                   "json_null", js == NULL, "form", form, "files", files,
                   "file", first, "body_len", (json_int_t)body.len,
                   "body_fnv", t_fnv_hex(h), "body",
                   body.len <= 4096 ? t_str(body) : json_null());
}

#endif
