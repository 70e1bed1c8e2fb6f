/*
 * multipart/form-data (RFC 7578 over RFC 2046), parsed as it streams in.
 *
 * The body is a preamble, then parts each introduced by the delimiter
 * "\r\n--" boundary and a line end, and a close delimiter "--" after the
 * last. The first delimiter may sit at the very start of the body without
 * a CRLF before it, so the scanner starts as if "\r\n" had already been
 * matched (held = 2).
 *
 *   PREAMBLE --delim--> AFTER_DELIM --"\r\n"--> HEADERS --"\r\n\r\n"--> BODY
 *                          |   ^                                         |
 *                          |   +------------------delim------------------+
 *                          +--"--"--> DONE (the epilogue is ignored)
 *
 * Scanning. Only '\r' can start the delimiter, and '\r' occurs nowhere else
 * in it (bchars exclude CR), so the scanner memchr()s for '\r', compares at
 * most the delimiter's length there, and on a mismatch moves on by one
 * byte: a partial match can never hide the start of another. A partial
 * match at the end of a chunk is remembered as a count (held); the held
 * bytes are a prefix of the delimiter itself, so they need no buffer and
 * are emitted from it when the next chunk shows they were data.
 *
 * Data. A field's bytes are slices of the caller's chunk (pend) for as long
 * as they stay contiguous, copied into the heap buffer `field` only when a
 * chunk ends mid-field or held bytes intervene; so a body parsed from
 * memory copies each value once, straight into the arena. A file's bytes go
 * through a 16 KiB staging buffer to its temporary file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "parsers/parsers_int.h"

#define MP_DEF_PARTS 1000
#define MP_DEF_FIELD ((size_t)1 << 20)
#define MP_DEF_FILE ((uint64_t)10 << 20)
#define MP_DEF_TOTAL ((uint64_t)100 << 20)
#define MP_DEF_HEADER 8192
#define MP_MAX_PAD 64 /* transport padding (blanks) after a delimiter */
#define MP_WBUF 16384
#define MP_DISP_PARAMS 16

typedef enum mp_state {
  ST_PREAMBLE,
  ST_AFTER_DELIM, /* delimiter matched: "--", padding or CR next */
  ST_AFTER_DASH,  /* one '-' of the close delimiter */
  ST_AFTER_CR,    /* CR of the delimiter line's end */
  ST_HEADERS,
  ST_BODY,
  ST_DONE,
  ST_ERROR
} mp_state;

struct cn__mp {
  cn__arena *arena;
  cn__mp_limits lim;
  const char *dir;
  char *delim; /* "\r\n--" boundary */
  size_t dlen;
  mp_state st;
  size_t held; /* delimiter bytes matched at the end of the last chunk */
  size_t pad;
  char *hdr; /* the current part's header block, lim.max_header_bytes */
  size_t hlen, line_start;
  cn__mp_part *first, *last, *cur;
  size_t started, done;
  uint64_t file_total;
  cn__buf field;
  const char *pend;
  size_t pend_len;
  char *wbuf;
  size_t wlen;
  int err;
  int cleaned;
  cn__perr perr;
};

static void drop_file(cn__mp_part *p) {
  if (p->fd >= 0)
    close(p->fd);
  p->fd = -1;
  if (p->path)
    unlink(p->path);
}

/* Remove every file (the finished parts' and the one being written) and
 * free the scratch buffer. Once only. */
static void release(cn__mp *mp) {
  if (mp->cleaned)
    return;
  mp->cleaned = 1;
  for (cn__mp_part *p = mp->first; p; p = p->next)
    drop_file(p);
  if (mp->cur)
    drop_file(mp->cur);
  cn__buf_free(&mp->field);
  memset(&mp->field, 0, sizeof mp->field);
  mp->pend_len = 0;
}

/* Record the sticky error (its message already in mp->perr) and remove
 * every file. Returns code. */
static int fail_keep(cn__mp *mp, int code) {
  mp->err = code;
  mp->st = ST_ERROR;
  release(mp);
  return code;
}

static int fail(cn__mp *mp, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(cn__mp *mp, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(mp->perr.msg, sizeof mp->perr.msg, fmt, ap);
  va_end(ap);
  return fail_keep(mp, code);
}

static int fail_errno(cn__mp *mp, const char *what) {
  char buf[96];
  const char *why = strerror_r(errno, buf, sizeof buf);
  return fail(mp, CN_EIO, "%s: %s", what, why);
}

/* --- file parts --------------------------------------------------------- */

static int write_all(cn__mp *mp, const char *p, size_t n) {
  while (n) {
    ssize_t w = write(mp->cur->fd, p, n);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return fail_errno(mp, "writing an upload to its temporary file failed");
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static int file_flush(cn__mp *mp) {
  size_t n = mp->wlen;
  mp->wlen = 0;
  return n ? write_all(mp, mp->wbuf, n) : 0;
}

static int file_put(cn__mp *mp, const char *data, size_t n) {
  if (mp->wlen + n > MP_WBUF) {
    if (file_flush(mp))
      return mp->err;
    if (n >= MP_WBUF)
      return write_all(mp, data, n);
  }
  memcpy(mp->wbuf + mp->wlen, data, n);
  mp->wlen += n;
  return 0;
}

static int file_open(cn__mp *mp, cn__mp_part *p) {
  if (!mp->wbuf && !(mp->wbuf = cn__arena_alloc(mp->arena, MP_WBUF)))
    return fail(mp, CN_ENOMEM, "out of memory");
  char *path = cn__arena_printf(mp->arena, "%s/cairn-upload-XXXXXX", mp->dir);
  if (!path)
    return fail(mp, CN_ENOMEM, "out of memory");
  int fd = mkostemp(path, O_CLOEXEC);
  if (fd < 0)
    return fail_errno(mp, "cannot create a temporary file for an upload");
  p->fd = fd;
  p->path = path;
  return 0;
}

/* --- field parts -------------------------------------------------------- */

static int pend_flush(cn__mp *mp) {
  size_t n = mp->pend_len;
  mp->pend_len = 0;
  if (n && cn__buf_append(&mp->field, mp->pend, n))
    return fail(mp, CN_ENOMEM, "out of memory");
  return 0;
}

static int field_put(cn__mp *mp, const char *data, size_t n) {
  if (mp->pend_len && mp->pend + mp->pend_len == data) {
    mp->pend_len += n;
    return 0;
  }
  if (pend_flush(mp))
    return mp->err;
  mp->pend = data;
  mp->pend_len = n;
  return 0;
}

/* Bytes of the current part's content. */
static int emit(cn__mp *mp, const char *data, size_t n) {
  cn__mp_part *p = mp->cur;
  char shown[65];
  if (!n)
    return 0;
  if (p->path) {
    /* Both limits count the same bytes: report the one the first byte
     * too many crosses, so the answer never depends on chunking. */
    uint64_t file_room = mp->lim.max_file_bytes - p->size;
    uint64_t total_room = mp->lim.max_total_file_bytes - mp->file_total;
    if (n > file_room && file_room <= total_room)
      return fail(mp, CN_ETOOBIG,
                  "multipart file \"%s\" exceeds the file size limit of %llu "
                  "bytes",
                  cn__parsers_show(p->name, shown, 64),
                  (unsigned long long)mp->lim.max_file_bytes);
    if (n > total_room)
      return fail(mp, CN_ETOOBIG,
                  "multipart files exceed the total upload limit of %llu "
                  "bytes",
                  (unsigned long long)mp->lim.max_total_file_bytes);
    p->size += n;
    mp->file_total += n;
    return file_put(mp, data, n);
  }
  if (n > mp->lim.max_field_bytes - p->size)
    return fail(mp, CN_ETOOBIG,
                "multipart field \"%s\" exceeds the field size limit of %zu "
                "bytes",
                cn__parsers_show(p->name, shown, 64), mp->lim.max_field_bytes);
  p->size += n;
  return field_put(mp, data, n);
}

static int end_part(cn__mp *mp) {
  cn__mp_part *p = mp->cur;
  if (p->path) {
    if (file_flush(mp))
      return mp->err;
    int rc = close(p->fd);
    p->fd = -1;
    if (rc)
      return fail_errno(mp, "closing an upload's temporary file failed");
  } else {
    const char *src = mp->pend;
    if (mp->field.len) {
      if (pend_flush(mp))
        return mp->err;
      src = mp->field.ptr;
    }
    char *v = cn__arena_memdup(mp->arena, src, p->size);
    if (!v)
      return fail(mp, CN_ENOMEM, "out of memory");
    p->value = cn__str(v, p->size);
    mp->field.len = 0;
    mp->pend_len = 0;
  }
  if (mp->last)
    mp->last->next = p;
  else
    mp->first = p;
  mp->last = p;
  mp->cur = NULL;
  mp->done++;
  return 0;
}

/* --- part headers ------------------------------------------------------- */

static int disposition(cn__mp *mp, cn_str v, cn__mp_part *p) {
  size_t t = 0;
  while (t < v.len && cn__parsers_tchar((unsigned char)v.ptr[t]))
    t++;
  if (!cn__str_ieq2(cn__str(v.ptr, t), CN_STR("form-data"))) {
    char shown[33];
    return fail(mp, CN_EPARSE,
                "multipart part is not form-data (Content-Disposition: %s)",
                cn__parsers_show(v, shown, 32));
  }
  cn__pair params[MP_DISP_PARAMS];
  size_t n = 0;
  int rc = cn__parsers_params(mp->arena, cn__str(v.ptr + t, v.len - t), params,
                              MP_DISP_PARAMS, &n, "multipart Content-Disposition",
                              &mp->perr);
  if (rc)
    return fail_keep(mp, rc);
  for (size_t i = 0; i < n; i++) {
    if (cn_str_eq(params[i].key, "name"))
      p->name = params[i].value;
    else if (cn_str_eq(params[i].key, "filename"))
      p->filename = params[i].value;
  }
  if (!p->name.ptr)
    return fail(mp, CN_EPARSE,
                "multipart part without a name (Content-Disposition needs "
                "name=\"...\")");
  return 0;
}

/* One header line of a part, without its CRLF. */
static int header_line(cn__mp *mp, cn_str line, cn_str *disp, cn_str *type) {
  if (line.ptr[0] == ' ' || line.ptr[0] == '\t')
    return fail(mp, CN_EPARSE,
                "folded multipart part header (obsolete line folding is not "
                "accepted)");
  const char *colon = memchr(line.ptr, ':', line.len);
  if (!colon)
    return fail(mp, CN_EPARSE, "multipart part header without a colon");
  cn_str name = cn__str(line.ptr, (size_t)(colon - line.ptr));
  for (size_t i = 0; i < name.len; i++)
    if (!cn__parsers_tchar((unsigned char)name.ptr[i]))
      return fail(mp, CN_EPARSE, "invalid multipart part header name");
  if (!name.len)
    return fail(mp, CN_EPARSE, "invalid multipart part header name");
  cn_str value = cn__str_trim(cn__str(colon + 1, line.len - name.len - 1));
  for (size_t i = 0; i < value.len; i++) {
    unsigned char c = (unsigned char)value.ptr[i];
    if ((c < 0x20 && c != '\t') || c == 0x7f)
      return fail(mp, CN_EPARSE,
                  c == '\r' ? "bare CR in multipart part headers"
                            : "control character in a multipart part header");
  }
  cn_str *slot = cn__str_ieq2(name, CN_STR("content-disposition")) ? disp
                 : cn__str_ieq2(name, CN_STR("content-type"))      ? type
                                                                    : NULL;
  if (slot && slot->ptr)
    return fail(mp, CN_EPARSE, "multipart part with two %s headers",
                slot == disp ? "Content-Disposition" : "Content-Type");
  if (slot)
    *slot = value;
  return 0;
}

/* The header block (hdr[0..hlen), ending in an empty line) is complete. */
static int headers_done(cn__mp *mp) {
  cn_str disp = CN_STR_NULL, type = CN_STR_NULL;
  size_t pos = 0, end = mp->hlen - 2;
  while (pos < end) {
    const char *nl = memchr(mp->hdr + pos, '\n', end - pos);
    size_t llen = (size_t)(nl - (mp->hdr + pos)) - 1;
    if (header_line(mp, cn__str(mp->hdr + pos, llen), &disp, &type))
      return mp->err;
    pos += llen + 2;
  }
  if (!disp.ptr)
    return fail(mp, CN_EPARSE,
                "multipart part without a Content-Disposition header");
  cn__mp_part *p = cn__arena_alloc(mp->arena, sizeof *p);
  if (!p)
    return fail(mp, CN_ENOMEM, "out of memory");
  memset(p, 0, sizeof *p);
  p->fd = -1;
  if (disposition(mp, disp, p))
    return mp->err;
  if (type.ptr) {
    char *t = cn__arena_memdup(mp->arena, type.ptr, type.len);
    if (!t)
      return fail(mp, CN_ENOMEM, "out of memory");
    p->content_type = cn__str(t, type.len);
  }
  mp->cur = p;
  if (p->filename.ptr && file_open(mp, p))
    return mp->err;
  mp->st = ST_BODY;
  mp->held = 0;
  return 0;
}

static const char *headers(cn__mp *mp, const char *p, const char *end) {
  while (p < end) {
    size_t room = mp->lim.max_header_bytes - mp->hlen;
    if (!room) {
      fail(mp, CN_ETOOBIG,
           "multipart part headers exceed the header block limit of %zu "
           "bytes",
           mp->lim.max_header_bytes);
      return NULL;
    }
    size_t avail = CN__MIN((size_t)(end - p), room);
    const char *nl = memchr(p, '\n', avail);
    size_t take = nl ? (size_t)(nl - p) + 1 : avail;
    memcpy(mp->hdr + mp->hlen, p, take);
    mp->hlen += take;
    p += take;
    if (!nl)
      continue;
    size_t line = mp->hlen - mp->line_start;
    if (line < 2 || mp->hdr[mp->hlen - 2] != '\r') {
      fail(mp, CN_EPARSE, "bare LF in multipart part headers");
      return NULL;
    }
    if (line == 2)
      return headers_done(mp) ? NULL : p;
    mp->line_start = mp->hlen;
  }
  return p;
}

/* --- the scanner -------------------------------------------------------- */

/* Look for the delimiter in [p, end); bytes that are certainly content go
 * to emit (in BODY; the preamble is dropped). Returns where to go on (NULL
 * on error); *found when the whole delimiter was consumed. */
static const char *scan(cn__mp *mp, const char *p, const char *end,
                        int *found) {
  int body = mp->st == ST_BODY;
  *found = 0;
  if (mp->held) {
    while (p < end && mp->held < mp->dlen && *p == mp->delim[mp->held]) {
      p++;
      mp->held++;
    }
    if (mp->held == mp->dlen) {
      mp->held = 0;
      *found = 1;
      return p;
    }
    if (p == end)
      return p;
    size_t h = mp->held; /* they were content; *p is looked at again */
    mp->held = 0;
    if (body && emit(mp, mp->delim, h))
      return NULL;
  }
  const char *start = p;
  while (p < end) {
    const char *cr = memchr(p, '\r', (size_t)(end - p));
    if (!cr)
      break;
    size_t n = CN__MIN((size_t)(end - cr), mp->dlen);
    if (memcmp(cr, mp->delim, n) == 0) {
      if (body && emit(mp, start, (size_t)(cr - start)))
        return NULL;
      if (n == mp->dlen) {
        *found = 1;
        return cr + n;
      }
      mp->held = n;
      return end;
    }
    p = cr + 1;
  }
  if (body && emit(mp, start, (size_t)(end - start)))
    return NULL;
  return end;
}

/* One byte of the delimiter line's tail. */
static int after_delim(cn__mp *mp, char c) {
  static const char bad[] = "malformed multipart delimiter line (the boundary "
                            "must be followed by CRLF or \"--\")";
  switch (mp->st) {
  case ST_AFTER_DELIM:
    if (c == '-' && mp->pad == 0)
      mp->st = ST_AFTER_DASH;
    else if (c == '\r')
      mp->st = ST_AFTER_CR;
    else if ((c == ' ' || c == '\t') && ++mp->pad <= MP_MAX_PAD)
      ;
    else
      return fail(mp, CN_EPARSE, "%s", bad);
    return 0;
  case ST_AFTER_DASH:
    if (c != '-')
      return fail(mp, CN_EPARSE, "%s", bad);
    mp->st = ST_DONE;
    return 0;
  default: /* ST_AFTER_CR */
    if (c != '\n')
      return fail(mp, CN_EPARSE, "%s", bad);
    if (mp->started == mp->lim.max_parts)
      return fail(mp, CN_ETOOBIG,
                  "multipart body has more than %zu parts (the part limit)",
                  mp->lim.max_parts);
    mp->started++;
    mp->hlen = 0;
    mp->line_start = 0;
    mp->st = ST_HEADERS;
    return 0;
  }
}

int cn__mp_feed(cn__mp *mp, const void *data, size_t len) {
  if (mp->st == ST_ERROR)
    return mp->err;
  if (!len || mp->st == ST_DONE)
    return 0;
  const char *p = data, *end = p + len;
  while (p && p < end && mp->st != ST_DONE && mp->st != ST_ERROR) {
    int found;
    switch (mp->st) {
    case ST_PREAMBLE:
    case ST_BODY:
      p = scan(mp, p, end, &found);
      if (p && found) {
        if (mp->st == ST_BODY && end_part(mp))
          return mp->err;
        mp->st = ST_AFTER_DELIM;
        mp->pad = 0;
      }
      break;
    case ST_HEADERS:
      p = headers(mp, p, end);
      break;
    default:
      if (after_delim(mp, *p++))
        return mp->err;
      break;
    }
  }
  /* The chunk goes away when we return: keep what a field still needs. */
  if (mp->st == ST_BODY && pend_flush(mp))
    return mp->err;
  return mp->st == ST_ERROR ? mp->err : 0;
}

int cn__mp_finish(cn__mp *mp) {
  if (mp->st == ST_ERROR)
    return mp->err;
  if (mp->st == ST_DONE) {
    cn__buf_free(&mp->field);
    memset(&mp->field, 0, sizeof mp->field);
    return 0;
  }
  if (mp->st == ST_PREAMBLE)
    return fail(mp, CN_EPARSE, "multipart boundary not found");
  return fail(mp, CN_EPARSE,
              "multipart body truncated (no closing boundary before the end "
              "of the body)");
}

/* RFC 2046 bchars: DIGIT / ALPHA / "'()+_,-./:=?" and space, not last. */
static int boundary_ok(cn_str b) {
  if (b.len < 1 || b.len > 70 || b.ptr[b.len - 1] == ' ')
    return 0;
  for (size_t i = 0; i < b.len; i++) {
    unsigned char c = (unsigned char)b.ptr[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
          (c >= 'A' && c <= 'Z') || strchr("'()+_,-./:=? ", c)) || !c)
      return 0;
  }
  return 1;
}

static void limits_fill(cn__mp_limits *l, const cn__mp_limits *in) {
  memset(l, 0, sizeof *l);
  if (in)
    *l = *in;
  if (!l->max_parts)
    l->max_parts = MP_DEF_PARTS;
  if (!l->max_field_bytes)
    l->max_field_bytes = MP_DEF_FIELD;
  if (!l->max_file_bytes)
    l->max_file_bytes = MP_DEF_FILE;
  if (!l->max_total_file_bytes)
    l->max_total_file_bytes = MP_DEF_TOTAL;
  if (!l->max_header_bytes)
    l->max_header_bytes = MP_DEF_HEADER;
  if (l->max_header_bytes < 4) /* room for at least the empty line */
    l->max_header_bytes = 4;
}

int cn__mp_new(cn__arena *a, cn_str boundary, const cn__mp_limits *lim,
               cn__mp **out, cn__perr *err) {
  *out = NULL;
  cn__parsers_errclear(err);
  if (!boundary.ptr) {
    cn__parsers_errf(err, "multipart/form-data without a boundary parameter");
    return CN_EPARSE;
  }
  if (!boundary_ok(boundary)) {
    cn__parsers_errf(err, "invalid multipart boundary (RFC 2046: 1 to 70 "
                          "letters, digits or '()+_,-./:=? and spaces, not "
                          "ending in a space)");
    return CN_EPARSE;
  }
  cn__mp *mp = cn__arena_alloc(a, sizeof *mp);
  if (!mp)
    goto oom;
  memset(mp, 0, sizeof *mp);
  mp->arena = a;
  limits_fill(&mp->lim, lim);
  const char *dir = mp->lim.tmp_dir;
  if (!dir || !*dir)
    dir = getenv("TMPDIR");
  if (!dir || !*dir)
    dir = "/tmp";
  mp->dir = cn__arena_memdup(a, dir, strlen(dir));
  mp->delim = cn__arena_printf(a, "\r\n--%.*s", (int)boundary.len,
                               boundary.ptr);
  mp->hdr = cn__arena_alloc(a, mp->lim.max_header_bytes);
  if (!mp->dir || !mp->delim || !mp->hdr)
    goto oom;
  mp->dlen = boundary.len + 4;
  mp->held = 2;
  mp->st = ST_PREAMBLE;
  *out = mp;
  return 0;
oom:
  cn__parsers_errf(err, "out of memory");
  return CN_ENOMEM;
}

const char *cn__mp_error(const cn__mp *mp) { return mp->perr.msg; }
const cn__mp_part *cn__mp_parts(const cn__mp *mp) { return mp->first; }
size_t cn__mp_count(const cn__mp *mp) { return mp->done; }

void cn__mp_cleanup(cn__mp *mp) {
  if (!mp)
    return;
  release(mp);
  if (mp->st != ST_DONE && mp->st != ST_ERROR) {
    mp->st = ST_ERROR;
    mp->err = CN_ESTATE;
    snprintf(mp->perr.msg, sizeof mp->perr.msg,
             "multipart parser used after cleanup");
  }
}

int cn__mp_fields(const cn__mp *mp, cn__arena *a, cn__pairs *out) {
  size_t n = 0;
  out->items = NULL;
  out->len = 0;
  for (const cn__mp_part *p = mp->first; p; p = p->next)
    n += !p->path;
  if (!n)
    return 0;
  cn__pair *items = cn__arena_alloc(a, n * sizeof *items);
  if (!items)
    return CN_ENOMEM;
  size_t i = 0;
  for (const cn__mp_part *p = mp->first; p; p = p->next)
    if (!p->path)
      items[i++] = (cn__pair){p->name, p->value};
  out->items = items;
  out->len = n;
  return 0;
}

int cn__mp_files(const cn__mp *mp, cn__arena *a, const cn_file **files,
                 size_t *n) {
  size_t count = 0;
  *files = NULL;
  *n = 0;
  for (const cn__mp_part *p = mp->first; p; p = p->next)
    count += !!p->path;
  if (!count)
    return 0;
  cn_file *f = cn__arena_alloc(a, count * sizeof *f);
  if (!f)
    return CN_ENOMEM;
  size_t i = 0;
  for (const cn__mp_part *p = mp->first; p; p = p->next)
    if (p->path)
      f[i++] = (cn_file){p->name, p->filename, p->content_type, p->path,
                         p->size};
  *files = f;
  *n = count;
  return 0;
}

int cn__mp_parse(cn__arena *a, cn_str boundary, cn_str body,
                 const cn__mp_limits *lim, cn__mp **out, cn__perr *err) {
  cn__mp *mp;
  int rc = cn__mp_new(a, boundary, lim, &mp, err);
  if (rc) {
    *out = NULL;
    return rc;
  }
  rc = cn__mp_feed(mp, body.ptr, body.len);
  if (!rc)
    rc = cn__mp_finish(mp);
  if (rc) {
    if (err)
      memcpy(err->msg, mp->perr.msg, sizeof err->msg);
    cn__mp_cleanup(mp);
    *out = NULL;
    return rc;
  }
  *out = mp;
  return 0;
}
