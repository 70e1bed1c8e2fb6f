/*
 * t.h: what the routes of the e2e test app share. Not a route: folders
 * outside app/ and pages/ are never routed, and every function here is
 * static inline so each route file carries its own copy (route files are
 * linked into one binary with their hidden symbols made local).
 *
 * The test app answers in JSON so the suite can check exactly what a
 * handler saw: t_echo() reports the query keys, headers and cookies the
 * client asked about in the request headers x-q, x-h and x-c (names
 * separated by commas), so one route serves many table rows.
 */
#ifndef T_H
#define T_H

#include <cairn.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* A string for JSON: the value, null when absent, or {"hex": ...} when it
 * is not UTF-8 (jansson refuses such strings). */
static inline json_t *t_str(cn_str s) {
  if (!s.ptr)
    return json_null();
  json_t *j = json_stringn(s.ptr, s.len);
  if (j)
    return j;
  char hex[2 * 256 + 1];
  size_t n = s.len < 256 ? s.len : 256;
  for (size_t i = 0; i < n; i++)
    snprintf(hex + 2 * i, 3, "%02x", (unsigned char)s.ptr[i]);
  hex[2 * n] = '\0';
  return json_pack("{s:s}", "hex", hex);
}

static inline json_t *t_arr(const cn_str *v, size_t n) {
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(a, t_str(v[i]));
  return a;
}

/* A param as the route sees it: its first value, all of them, and whether
 * it is there at all (an optional catch-all that matched nothing is not). */
static inline json_t *t_param(cn_req *req, const char *name) {
  const cn_str *v;
  size_t n = cn_req_param_all(req, name, &v);
  cn_str first = cn_req_param(req, name);
  return json_pack("{s:o,s:o,s:b}", "first", t_str(first), "all",
                   t_arr(v, n), "present", first.ptr != NULL);
}

/* Call fn for every comma-separated name in header hdr. */
static inline void t_names(cn_req *req, const char *hdr, json_t *out,
                           json_t *(*fn)(cn_req *, const char *)) {
  cn_str list = cn_req_header(req, hdr);
  size_t i = 0;
  while (list.ptr && i <= list.len) {
    size_t j = i;
    while (j < list.len && list.ptr[j] != ',')
      j++;
    char name[128];
    size_t n = j - i < sizeof name - 1 ? j - i : sizeof name - 1;
    memcpy(name, list.ptr + i, n);
    name[n] = '\0';
    if (n)
      json_object_set_new(out, name, fn(req, name));
    i = j + 1;
  }
}

static inline json_t *t_query1(cn_req *req, const char *k) {
  const cn_str *v;
  size_t n = cn_req_query_all(req, k, &v);
  return json_pack("{s:o,s:o}", "first", t_str(cn_req_query_get(req, k)),
                   "all", t_arr(v, n));
}
static inline json_t *t_header1(cn_req *req, const char *k) {
  return t_str(cn_req_header(req, k));
}
static inline json_t *t_cookie1(cn_req *req, const char *k) {
  return t_str(cn_req_cookie(req, k));
}
static inline json_t *t_form1(cn_req *req, const char *k) {
  const cn_str *v;
  size_t n = cn_req_form_all(req, k, &v);
  return json_pack("{s:o,s:o}", "first", t_str(cn_req_form(req, k)), "all",
                   t_arr(v, n));
}

/* Everything about the request line and the asked-for names. */
static inline json_t *t_echo(cn_req *req) {
  json_t *q = json_object(), *h = json_object(), *c = json_object();
  t_names(req, "x-q", q, t_query1);
  t_names(req, "x-h", h, t_header1);
  t_names(req, "x-c", c, t_cookie1);
  return json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "method",
                   t_str(cn_req_method(req)), "path", t_str(cn_req_path(req)),
                   "query_raw", t_str(cn_req_query(req)), "query", q,
                   "headers", h, "cookies", c, "ip", t_str(cn_req_ip(req)));
}

/* Answer with j (stolen) and status. */
static inline int t_reply(cn_res *res, int status, json_t *j) {
  if (!j)
    return CN_ENOMEM;
  int rc = cn_res_json(res, status, j);
  json_decref(j);
  return rc;
}

/* The usual answer: which route ran, the named params, the echo. */
static inline int t_route(cn_req *req, cn_res *res, const char *route,
                          const char *const *params) {
  json_t *p = json_object();
  for (; params && *params; params++)
    json_object_set_new(p, *params, t_param(req, *params));
  return t_reply(res, 200,
                 json_pack("{s:s,s:o,s:o}", "route", route, "params", p,
                           "echo", t_echo(req)));
}

/* FNV-1a 64 of bytes, as 16 hex digits: the suite recomputes it to check
 * that uploads and raw bodies arrived intact. */
static inline void t_fnv(const void *p, size_t n, uint64_t *h) {
  const unsigned char *s = p;
  for (size_t i = 0; i < n; i++) {
    *h ^= s[i];
    *h *= 0x100000001b3ull;
  }
}
#define T_FNV_INIT 0xcbf29ce484222325ull

static inline json_t *t_fnv_hex(uint64_t h) {
  return json_sprintf("%016llx", (unsigned long long)h);
}

/* A query value as a number, dflt when absent or not a number. */
static inline long long t_qnum(cn_req *req, const char *k, long long dflt) {
  cn_str v = cn_req_query_get(req, k);
  if (!v.ptr || !v.len || v.len > 18)
    return dflt;
  long long n = 0;
  for (size_t i = 0; i < v.len; i++) {
    if (v.ptr[i] < '0' || v.ptr[i] > '9')
      return dflt;
    n = n * 10 + (v.ptr[i] - '0');
  }
  return n;
}

static inline int t_has_prefix(cn_str s, const char *p) {
  size_t n = strlen(p);
  return s.len >= n && memcmp(s.ptr, p, n) == 0;
}

#endif
