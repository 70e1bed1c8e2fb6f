/*
 * fuzz_multipart: arbitrary bytes as a multipart/form-data body, parsed
 * whole and again fed in chunks of random sizes (seeded from the input),
 * and byte by byte when small. All runs must give the same result, part
 * for part and byte for byte (file contents read back), the same error
 * and message; every temporary file must be gone once the parser failed
 * or was cleaned up. The first byte picks the boundary ("a", whose
 * delimiter random data hits often, or "XyZ") and tight or default
 * limits; the second seeds the chunk sizes.
 * Seeds: fuzz/corpus/multipart/.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "parsers/parsers.h"

static char dir[64];

static void remove_dir(void) { rmdir(dir); } /* empty: every file is gone */

static void describe(cn__buf *out, int rc, const cn__mp *mp) {
  cn__buf_appendf(out, "rc=%d msg=%s\n", rc, cn__mp_error(mp));
  for (const cn__mp_part *p = rc ? NULL : cn__mp_parts(mp); p; p = p->next) {
    cn__buf_appendf(out, "[%zu:", p->name.len);
    cn__buf_append(out, p->name.ptr, p->name.len);
    cn__buf_appendf(out, "][%d:", p->filename.ptr != NULL);
    if (p->filename.ptr)
      cn__buf_append(out, p->filename.ptr, p->filename.len);
    cn__buf_appendf(out, "][%d:", p->content_type.ptr != NULL);
    if (p->content_type.ptr)
      cn__buf_append(out, p->content_type.ptr, p->content_type.len);
    cn__buf_appendf(out, "][%llu:", (unsigned long long)p->size);
    if (p->name.ptr[p->name.len] || p->fd != -1)
      abort();
    if (p->path) {
      char buf[4096];
      int fd = open(p->path, O_RDONLY);
      if (fd < 0)
        abort();
      ssize_t r;
      uint64_t total = 0;
      while ((r = read(fd, buf, sizeof buf)) > 0) {
        cn__buf_append(out, buf, (size_t)r);
        total += (uint64_t)r;
      }
      close(fd);
      if (total != p->size)
        abort();
    } else {
      if (p->value.len != p->size || p->value.ptr[p->value.len])
        abort();
      cn__buf_append(out, p->value.ptr, p->value.len);
    }
    cn__buf_append(out, "]\n", 2);
  }
}

static void files_gone(const cn__mp *mp) {
  for (const cn__mp_part *p = cn__mp_parts(mp); p; p = p->next)
    if (p->path && access(p->path, F_OK) == 0)
      abort();
}

static void differ(const cn__buf *x, const cn__buf *y) {
  if (x->len == y->len && !memcmp(x->ptr, y->ptr, x->len))
    return;
  fprintf(stderr, "whole:\n%.*s\nother:\n%.*s\n", (int)x->len, x->ptr,
          (int)y->len, y->ptr);
  abort();
}

static uint32_t rng;
static size_t next_size(size_t cap) {
  rng ^= rng << 13;
  rng ^= rng >> 17;
  rng ^= rng << 5;
  return 1 + rng % cap;
}

/* mode 0: whole; 1: random chunks; 2: one byte at a time. */
static void run(cn_str boundary, cn_str body, const cn__mp_limits *lim,
                int mode, cn__buf *out) {
  cn__arena a;
  cn__arena_init(&a, NULL, 0);
  cn__mp *mp;
  if (cn__mp_new(&a, boundary, lim, &mp, NULL))
    abort();
  int rc = 0;
  size_t off = 0;
  while (!rc && off < body.len) {
    size_t n = mode == 0 ? body.len : mode == 2 ? 1 : next_size(64);
    n = n < body.len - off ? n : body.len - off;
    rc = cn__mp_feed(mp, body.ptr + off, n);
    off += n;
  }
  if (!rc)
    rc = cn__mp_finish(mp);
  if (rc != 0 && rc != CN_EPARSE && rc != CN_ETOOBIG)
    abort();
  if (rc)
    files_gone(mp);
  describe(out, rc, mp);
  cn__mp_cleanup(mp);
  files_gone(mp);
  cn__arena_destroy(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!dir[0]) {
    snprintf(dir, sizeof dir, "/tmp/cn-fuzz-multipart-XXXXXX");
    if (!mkdtemp(dir))
      abort();
    atexit(remove_dir);
  }
  if (size < 2)
    return 0;
  cn_str boundary = (data[0] & 1) ? CN_STR("XyZ") : CN_STR("a");
  cn__mp_limits lim = {.tmp_dir = dir};
  if (!(data[0] & 2)) {
    lim.max_parts = 6;
    lim.max_field_bytes = 200;
    lim.max_file_bytes = 300;
    lim.max_total_file_bytes = 500;
    lim.max_header_bytes = 160;
  }
  rng = (uint32_t)data[1] * 2654435761u + 1;
  cn_str body = cn__str((const char *)data + 2, size - 2);
  cn__buf whole = {0}, chunked = {0}, bytes = {0};
  run(boundary, body, &lim, 0, &whole);
  run(boundary, body, &lim, 1, &chunked);
  differ(&whole, &chunked);
  if (body.len <= 512) {
    run(boundary, body, &lim, 2, &bytes);
    differ(&whole, &bytes);
  }
  cn__buf_free(&whole);
  cn__buf_free(&chunked);
  cn__buf_free(&bytes);
  return 0;
}
