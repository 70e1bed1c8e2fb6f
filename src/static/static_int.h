/*
 * static_int.h: what the files of src/static/ share and nobody else uses.
 * static_path.c decodes request paths, static_http.c knows HTTP (types,
 * validators, conditionals, ranges) but no file system, static.c owns the
 * cache and the file system and joins the two.
 */
#ifndef CN_STATIC_INT_H
#define CN_STATIC_INT_H

#include "static/static.h"

/* Room for the header block of one file (ETag, Last-Modified, Cache-Control,
 * Content-Type, Accept-Ranges); the longest type in the table fits easily. */
#define CN__STATIC_HDR_MAX 320

/* What the HTTP rules need to know about one file, wherever its header block
 * lives (a cached entry or the arena). */
typedef struct cn__static_view {
  const char *hdr;   /* the 200 header block */
  size_t hdr_len;
  size_t hdr304_len; /* its prefix sent with a 304: ETag, Last-Modified,
                        Cache-Control */
  cn_str etag;       /* quotes included, points into hdr */
  int64_t mtime;     /* seconds since the epoch */
  uint64_t size;
} cn__static_view;

/* The Content-Type for a file name, chosen by its extension (ASCII case
 * ignored); application/octet-stream when unknown. A static string. */
const char *cn__static_content_type(const char *name, size_t len);

/* Format the header block of a file into buf (cap >= CN__STATIC_HDR_MAX) and
 * describe it in *v (OUT; v->hdr = buf). Called when a cache entry is filled
 * and, for large files, per request. */
void cn__static_format(char *buf, const char *ctype, int64_t mtime,
                       uint64_t size, cn__static_view *v);

/* The answer for a GET (head 0) or HEAD (head 1) of an existing file:
 * conditionals (If-None-Match over If-Modified-Since), then Range and
 * If-Range (GET only). Fills out->status, headers, body_len and offset (into
 * the file); the caller attaches the body. Header text that differs per
 * request (206, 416) comes from arena; otherwise out->headers points into
 * v->hdr. 0 or CN_ENOMEM. */
int cn__static_decide(const cn__static_view *v, const cn__static_req *rq,
                      int head, cn__arena *arena, cn__static_reply *out);

/* A Range header against a file of size bytes: 1 and the byte span in
 * off and len (OUT) for one satisfiable range; 0 when the header must be
 * ignored (absent, not bytes=, malformed, several ranges); -1 when
 * unsatisfiable (416). */
int cn__static_range_parse(cn_str h, uint64_t size, uint64_t *off,
                           uint64_t *len);

/* 1 when an If-None-Match list ("*", or entity tags, W/ ignored: the weak
 * comparison) matches etag (quoted). A malformed list matches nothing from
 * the first bad element on. */
int cn__static_etag_list_match(cn_str list, cn_str etag);

/* 1 when an If-Range value (a strong entity tag or an IMF-fixdate) still
 * names this file; a weak tag or anything unparseable never does. */
int cn__static_if_range_match(cn_str v, cn_str etag, int64_t mtime);

#endif /* CN_STATIC_INT_H */
