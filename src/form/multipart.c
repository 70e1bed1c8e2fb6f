/*
 * multipart/form-data, streamed (RFC 7578, RFC 2046 5.1). Bytes arrive in
 * whatever pieces the socket gives; a delimiter may be split anywhere, so
 * the parser matches it byte by byte and withholds only the bytes that
 * could still be its start. A boundary has no CR in it (RFC 2046's bchars),
 * so after a mismatch the match can only restart at a CR: no KMP table.
 *
 * The body is read as if "\r\n" came before it, which makes the first
 * delimiter look like every other one.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <unistd.h>

#include "form.h"

enum {
  S_PREAMBLE, /* before the first delimiter: ignored */
  S_AFTER,    /* right after a delimiter: "\r\n" or "--" */
  S_AFTER_CR, /* saw '\r' of the CRLF after a delimiter */
  S_AFTER_DASH,
  S_HEADERS,  /* a part's header block */
  S_BODY,     /* a part's content */
  S_END,      /* after the closing delimiter: the epilogue is ignored */
  S_FAILED,
};

static int failed(cn__multipart *mp, int rc, const char *why) {
  mp->state = S_FAILED;
  mp->why = why;
  return rc;
}

static int bchar(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
         (c >= 'A' && c <= 'Z') || strchr("'()+_,-./:=? ", c);
}

int cn__multipart_init(cn__multipart *mp, cn_str boundary,
                       const cn__multipart_limits *lim, cn__arena *a,
                       const char *tmpdir) {
  memset(mp, 0, sizeof(*mp));
  mp->fd = -1;
  mp->arena = a;
  mp->lim = lim ? *lim : (cn__multipart_limits){0};
  if (!mp->lim.parts) mp->lim.parts = 1000;
  if (!mp->lim.field_bytes) mp->lim.field_bytes = 1u << 20;
  if (!mp->lim.file_bytes) mp->lim.file_bytes = 1u << 20;
  if (!mp->lim.header_bytes) mp->lim.header_bytes = 8192;
  mp->tmpdir = tmpdir ? tmpdir : getenv("TMPDIR");
  if (!mp->tmpdir || !*mp->tmpdir)
    mp->tmpdir = "/tmp";
  if (!boundary.ptr || !boundary.len || boundary.len > 70 ||
      boundary.ptr[boundary.len - 1] == ' ')
    return failed(mp, CN_EPARSE, "Invalid multipart boundary");
  for (size_t i = 0; i < boundary.len; i++)
    if (!bchar((unsigned char)boundary.ptr[i]))
      return failed(mp, CN_EPARSE, "Invalid multipart boundary");
  memcpy(mp->delim, "\r\n--", 4);
  memcpy(mp->delim + 4, boundary.ptr, boundary.len);
  mp->dlen = boundary.len + 4;
  mp->match = 2; /* the CRLF the body is read as starting with */
  mp->state = S_PREAMBLE;
  return 0;
}

/* ------------------------------------------------------------- parts */

/* Take `name="value"` or `name=value` out of a Content-Disposition. */
static cn_str disposition_param(cn_str h, const char *name) {
  size_t nl = strlen(name);
  for (size_t i = 0; i + nl < h.len; i++) {
    if ((i == 0 || h.ptr[i - 1] == ';' || h.ptr[i - 1] == ' ') &&
        !strncasecmp(h.ptr + i, name, nl) && h.ptr[i + nl] == '=') {
      const char *v = h.ptr + i + nl + 1, *end = h.ptr + h.len;
      if (v < end && *v == '"') {
        const char *q = memchr(v + 1, '"', (size_t)(end - v - 1));
        return q ? cn__str(v + 1, (size_t)(q - v - 1)) : CN_STR_NULL;
      }
      const char *e = v;
      while (e < end && *e != ';')
        e++;
      return cn__str_trim(cn__str(v, (size_t)(e - v)));
    }
  }
  return CN_STR_NULL;
}

static int open_file(cn__multipart *mp) {
  char *path = cn__arena_printf(mp->arena, "%s/cairn-upload-XXXXXX",
                                mp->tmpdir);
  if (!path)
    return failed(mp, CN_ENOMEM, "Out of memory");
  mp->fd = mkostemp(path, O_CLOEXEC);
  if (mp->fd < 0)
    return failed(mp, CN_EIO, "Cannot store an uploaded file");
  mp->cur.path = path;
  if (mp->nfiles == mp->capfiles) {
    size_t cap = mp->capfiles ? mp->capfiles * 2 : 4;
    cn__upload *f = cn__arena_alloc(mp->arena, cap * sizeof(*f));
    if (!f)
      return failed(mp, CN_ENOMEM, "Out of memory");
    if (mp->nfiles)
      memcpy(f, mp->files, mp->nfiles * sizeof(*f));
    mp->files = f;
    mp->capfiles = cap;
  }
  /* Listed at once, so cleanup removes it whatever happens next. */
  mp->files[mp->nfiles++] = mp->cur;
  return 0;
}

/* The header block of a part is complete in mp->head. */
static int part_begin(cn__multipart *mp) {
  cn_str disp = CN_STR_NULL, type = CN_STR_NULL;
  const char *p = mp->head.ptr, *end = p + mp->head.len;
  while (p < end) {
    const char *eol = memchr(p, '\r', (size_t)(end - p));
    if (!eol || eol + 1 >= end || eol[1] != '\n')
      return failed(mp, CN_EPARSE, "Malformed multipart part headers");
    cn_str line = cn__str(p, (size_t)(eol - p));
    p = eol + 2;
    if (!line.len)
      break;
    if (line.ptr[0] == ' ' || line.ptr[0] == '\t')
      return failed(mp, CN_EPARSE, "Folded multipart part header");
    const char *colon = memchr(line.ptr, ':', line.len);
    if (!colon)
      return failed(mp, CN_EPARSE, "Malformed multipart part headers");
    cn_str name = cn__str(line.ptr, (size_t)(colon - line.ptr));
    cn_str value = cn__str_trim(
        cn__str(colon + 1, line.len - name.len - 1));
    if (cn__str_ieq2(name, CN_STR("content-disposition")))
      disp = value;
    else if (cn__str_ieq2(name, CN_STR("content-type")))
      type = value;
  }
  if (!disp.ptr || disp.len < 9 || strncasecmp(disp.ptr, "form-data", 9))
    return failed(mp, CN_EPARSE, "A multipart part is not form-data");
  cn_str field = disposition_param(disp, "name");
  if (!field.ptr)
    return failed(mp, CN_EPARSE, "A multipart part has no name");
  cn_str filename = disposition_param(disp, "filename");
  if (++mp->parts > mp->lim.parts)
    return failed(mp, CN_ETOOBIG, "Too many multipart parts");
  memset(&mp->cur, 0, sizeof mp->cur);
  mp->cur.field = cn__str(cn__arena_memdup(mp->arena, field.ptr, field.len),
                          field.len);
  if (type.ptr)
    mp->cur.content_type =
        cn__str(cn__arena_memdup(mp->arena, type.ptr, type.len), type.len);
  mp->value.len = 0;
  if (!mp->cur.field.ptr)
    return failed(mp, CN_ENOMEM, "Out of memory");
  if (filename.ptr) {
    mp->cur.filename = cn__str(
        cn__arena_memdup(mp->arena, filename.ptr, filename.len),
        filename.len);
    if (!mp->cur.filename.ptr)
      return failed(mp, CN_ENOMEM, "Out of memory");
    return open_file(mp);
  }
  return 0;
}

static int part_data(cn__multipart *mp, const char *d, size_t n) {
  if (!n || mp->state == S_PREAMBLE)
    return 0;
  if (mp->fd >= 0) {
    if (mp->cur.size + n > mp->lim.file_bytes)
      return failed(mp, CN_ETOOBIG, "An uploaded file exceeded the limit");
    mp->cur.size += n;
    while (n) {
      ssize_t w = write(mp->fd, d, n);
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0)
        return failed(mp, CN_EIO, "Cannot store an uploaded file");
      d += w;
      n -= (size_t)w;
    }
    return 0;
  }
  if (mp->value.len + n > mp->lim.field_bytes)
    return failed(mp, CN_ETOOBIG, "A form field exceeded the limit");
  return cn__buf_append(&mp->value, d, n)
             ? failed(mp, CN_ENOMEM, "Out of memory")
             : 0;
}

static int part_end(cn__multipart *mp) {
  if (mp->fd >= 0) {
    close(mp->fd);
    mp->fd = -1;
    mp->files[mp->nfiles - 1] = mp->cur;
    return 0;
  }
  char *v = cn__arena_memdup(mp->arena, mp->value.ptr ? mp->value.ptr : "",
                             mp->value.len);
  if (!v || cn__pairs_add(&mp->fields, mp->arena, mp->cur.field,
                          cn__str(v, mp->value.len)))
    return failed(mp, CN_ENOMEM, "Out of memory");
  return 0;
}

/* ----------------------------------------------------------- the scan */

/* Content bytes (or preamble) until a delimiter. Returns bytes used.
 * Withheld bytes are a prefix of the delimiter, so when a match fails they
 * are emitted from the delimiter itself, wherever they arrived. */
static size_t scan_body(cn__multipart *mp, const char *d, size_t n,
                        int *rc) {
  size_t run = 0; /* this piece's content not yet handed on */
  for (size_t i = 0; i < n; i++) {
    char c = d[i];
    if (c == mp->delim[mp->match]) {
      if (mp->match == 0) {
        if ((*rc = part_data(mp, d + run, i - run)))
          return i;
        run = i;
      }
      if (++mp->match < mp->dlen)
        continue;
      mp->match = 0; /* a whole delimiter: the part is over */
      if (mp->state == S_BODY && (*rc = part_end(mp)))
        return i;
      mp->state = S_AFTER;
      return i + 1;
    }
    if (!mp->match)
      continue;
    if ((*rc = part_data(mp, mp->delim, mp->match)))
      return i;
    mp->match = c == mp->delim[0];
    run = i; /* c is content, or the start of a new match */
  }
  if (!mp->match && (*rc = part_data(mp, d + run, n - run)))
    return n;
  return n;
}

/* A part's header block, up to and including its blank line. Returns
 * bytes used; *done when the block is complete. */
static size_t scan_headers(cn__multipart *mp, const char *d, size_t n,
                           int *done, int *rc) {
  size_t i = 0;
  *done = 0;
  while (i < n && !*done) {
    if (mp->head.len >= mp->lim.header_bytes) {
      *rc = failed(mp, CN_ETOOBIG, "Multipart part headers too large");
      return i;
    }
    if (cn__buf_append(&mp->head, d + i++, 1)) {
      *rc = failed(mp, CN_ENOMEM, "Out of memory");
      return i;
    }
    size_t hl = mp->head.len;
    *done = (hl == 2 && !memcmp(mp->head.ptr, "\r\n", 2)) ||
            (hl >= 4 && !memcmp(mp->head.ptr + hl - 4, "\r\n\r\n", 4));
  }
  return i;
}

int cn__multipart_feed(cn__multipart *mp, const char *d, size_t n) {
  size_t i = 0;
  int rc = 0;
  while (i < n) {
    switch (mp->state) {
    case S_FAILED:
      return CN_EPARSE;
    case S_END:
      return 0; /* the epilogue is ignored */
    case S_PREAMBLE:
    case S_BODY:
      i += scan_body(mp, d + i, n - i, &rc);
      if (rc)
        return rc;
      break;
    case S_AFTER:
      if (d[i] == '\r')
        mp->state = S_AFTER_CR;
      else if (d[i] == '-')
        mp->state = S_AFTER_DASH;
      else if (d[i] != ' ' && d[i] != '\t') /* transport padding */
        return failed(mp, CN_EPARSE, "Malformed multipart delimiter");
      i++;
      break;
    case S_AFTER_CR:
      if (d[i++] != '\n')
        return failed(mp, CN_EPARSE, "Malformed multipart delimiter");
      mp->state = S_HEADERS;
      mp->head.len = 0;
      break;
    case S_AFTER_DASH:
      if (d[i++] != '-')
        return failed(mp, CN_EPARSE, "Malformed multipart delimiter");
      mp->state = S_END;
      break;
    case S_HEADERS: {
      int done;
      i += scan_headers(mp, d + i, n - i, &done, &rc);
      if (rc)
        return rc;
      if (done) {
        mp->state = S_BODY;
        if ((rc = part_begin(mp)))
          return rc;
      }
      break;
    }
    }
  }
  return 0;
}

int cn__multipart_finish(cn__multipart *mp) {
  if (mp->state == S_FAILED)
    return CN_EPARSE;
  if (mp->state != S_END)
    return failed(mp, CN_EPARSE, "multipart body truncated");
  return 0;
}

void cn__multipart_cleanup(cn__multipart *mp) {
  if (mp->fd >= 0) {
    close(mp->fd);
    mp->fd = -1;
  }
  for (size_t i = 0; i < mp->nfiles; i++)
    if (mp->files[i].path) {
      unlink(mp->files[i].path);
      mp->files[i].path = NULL;
    }
  mp->nfiles = 0;
  cn__buf_free(&mp->head);
  cn__buf_free(&mp->value);
}
