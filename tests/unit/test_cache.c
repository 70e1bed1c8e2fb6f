/* The Data Cache's memory level, tags manifest, clock and codec
 * (src/cache/cache.c). The disk store has its own test. */
#include "check.h"

#include "cache/cache.h"

static char mem[1 << 16];

static cn__cval val(const char *data, uint64_t reval, uint64_t expire,
                    const char *const *tags, size_t ntags) {
  return (cn__cval){data, strlen(data), 0, reval, expire, tags, ntags};
}

/* get into a fresh arena; returns the state and fills *out (NUL-terminated
 * copy of the data, "" on a miss). */
static cn__cstate get(cn__cache *c, const char *key, char *out, size_t cap) {
  cn__arena a;
  cn__arena_init(&a, mem, sizeof mem);
  cn__cval v;
  cn__cstate st;
  CHECK_EQ_INT(cn__cache_get(c, key, &a, &v, &st), 0);
  snprintf(out, cap, "%.*s", (int)v.len, v.data ? (const char *)v.data : "");
  cn__arena_reset(&a);
  return st;
}

TEST(hit_miss_and_overwrite) {
  cn__cache *c;
  char got[64];
  cn__clock_set(1000);
  CHECK_EQ_INT(cn__cache_new(&c, NULL), 0);
  CHECK_EQ_INT(get(c, "a", got, sizeof got), CN__CACHE_MISS);
  CHECK_EQ_STR(got, "");
  cn__cval v = val("one", 0, 0, NULL, 0);
  CHECK_EQ_INT(cn__cache_put(c, "a", &v), 0);
  CHECK_EQ_INT(get(c, "a", got, sizeof got), CN__CACHE_HIT);
  CHECK_EQ_STR(got, "one");
  v = val("two", 0, 0, NULL, 0);
  CHECK_EQ_INT(cn__cache_put(c, "a", &v), 0);
  CHECK_EQ_INT(get(c, "a", got, sizeof got), CN__CACHE_HIT);
  CHECK_EQ_STR(got, "two");
  CHECK_EQ_INT(cn__cache_delete(c, "a"), 0);
  CHECK_EQ_INT(get(c, "a", got, sizeof got), CN__CACHE_MISS);
  cn__cache_free(c);
  cn__clock_set(0);
}

TEST(revalidate_and_expire_by_the_clock) {
  cn__cache *c;
  char got[64];
  cn__clock_set(10000);
  CHECK_EQ_INT(cn__cache_new(&c, NULL), 0);
  cn__cval v = val("x", 5000, 20000, NULL, 0);
  CHECK_EQ_INT(cn__cache_put(c, "k", &v), 0);
  cn__clock_set(14999);
  CHECK_EQ_INT(get(c, "k", got, sizeof got), CN__CACHE_HIT);
  cn__clock_set(15000);
  CHECK_EQ_INT(get(c, "k", got, sizeof got), CN__CACHE_STALE);
  CHECK_EQ_STR(got, "x"); /* stale values are still given */
  cn__clock_set(29999);
  CHECK_EQ_INT(get(c, "k", got, sizeof got), CN__CACHE_STALE);
  cn__clock_set(30000);
  CHECK_EQ_INT(get(c, "k", got, sizeof got), CN__CACHE_MISS);
  CHECK_EQ_STR(got, "");
  cn__clock_set(1);
  CHECK_EQ_INT(get(c, "k", got, sizeof got), CN__CACHE_MISS); /* dropped */
  cn__cache_free(c);
  cn__clock_set(0);
}

TEST(tags_make_only_their_entries_stale) {
  cn__cache *c;
  char got[64];
  const char *ab[] = {"a", "b"}, *b[] = {"b"}, *cc[] = {"c"};
  cn__clock_set(100);
  CHECK_EQ_INT(cn__cache_new(&c, NULL), 0);
  cn__cval v1 = val("1", 0, 0, ab, 2), v2 = val("2", 0, 0, b, 1),
           v3 = val("3", 0, 0, cc, 1);
  cn__cache_put(c, "one", &v1);
  cn__cache_put(c, "two", &v2);
  cn__cache_put(c, "three", &v3);
  cn__clock_set(200);
  CHECK_EQ_INT(cn__cache_tag_time(c, "a"), 0);
  CHECK_EQ_INT(cn__cache_revalidate_tag(c, "a"), 0);
  CHECK_EQ_INT(cn__cache_tag_time(c, "a"), 200);
  CHECK_EQ_INT(get(c, "one", got, sizeof got), CN__CACHE_INVALID);
  CHECK_EQ_STR(got, "1"); /* still given: pages serve it stale */
  CHECK_EQ_INT(get(c, "two", got, sizeof got), CN__CACHE_HIT);
  CHECK_EQ_INT(get(c, "three", got, sizeof got), CN__CACHE_HIT);
  /* Written again after the revalidation: fresh. */
  cn__clock_set(201);
  cn__cache_put(c, "one", &v1);
  CHECK_EQ_INT(get(c, "one", got, sizeof got), CN__CACHE_HIT);
  cn__cache_revalidate_tag(c, "b");
  CHECK_EQ_INT(get(c, "one", got, sizeof got), CN__CACHE_INVALID);
  CHECK_EQ_INT(get(c, "two", got, sizeof got), CN__CACHE_INVALID);
  CHECK_EQ_INT(get(c, "three", got, sizeof got), CN__CACHE_HIT);
  cn__cache_free(c);
  cn__clock_set(0);
}

TEST(tag_limits_drop_extra_tags) {
  cn__cache *c;
  static char names[200][8];
  const char *tags[200];
  char big[300];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  for (int i = 0; i < 200; i++) {
    snprintf(names[i], sizeof names[i], "t%d", i);
    tags[i] = names[i];
  }
  tags[0] = big; /* too long: dropped */
  cn__clock_set(5);
  CHECK_EQ_INT(cn__cache_new(&c, NULL), 0);
  cn__cval v = val("v", 0, 0, tags, 200);
  CHECK_EQ_INT(cn__cache_put(c, "k", &v), 0);
  cn__arena a;
  cn__arena_init(&a, mem, sizeof mem);
  cn__cval out;
  cn__cstate st;
  CHECK_EQ_INT(cn__cache_get(c, "k", &a, &out, &st), 0);
  CHECK_EQ_INT(out.ntags, CN__CACHE_MAX_TAGS);
  CHECK_EQ_STR(out.tags[0], "t1");
  CHECK_EQ_STR(out.tags[127], "t128");
  cn__arena_reset(&a);
  cn__clock_set(6);
  cn__cache_revalidate_tag(c, "t150"); /* dropped: does not touch it */
  CHECK_EQ_INT(get(c, "k", mem + 60000, 100), CN__CACHE_HIT);
  cn__cache_revalidate_tag(c, "t128");
  CHECK_EQ_INT(get(c, "k", mem + 60000, 100), CN__CACHE_INVALID);
  cn__cache_free(c);
  cn__clock_set(0);
}

TEST(lru_bound_evicts_the_least_recently_used) {
  cn__cache *c;
  cn__cache_opts o = {.memory_bytes = 2000};
  char got[64], key[16], data[201];
  memset(data, 'd', 200);
  data[200] = '\0';
  CHECK_EQ_INT(cn__cache_new(&c, &o), 0);
  for (int i = 0; i < 5; i++) {
    snprintf(key, sizeof key, "k%d", i);
    cn__cval v = val(data, 0, 0, NULL, 0);
    CHECK_EQ_INT(cn__cache_put(c, key, &v), 0);
  }
  /* Touch k0 so that k1 is the oldest. */
  CHECK_EQ_INT(get(c, "k0", got, sizeof got), CN__CACHE_HIT);
  for (int i = 5; i < 12; i++) {
    snprintf(key, sizeof key, "k%d", i);
    cn__cval v = val(data, 0, 0, NULL, 0);
    CHECK_EQ_INT(cn__cache_put(c, key, &v), 0);
  }
  CHECK_EQ_INT(get(c, "k1", got, sizeof got), CN__CACHE_MISS);
  CHECK_EQ_INT(get(c, "k11", got, sizeof got), CN__CACHE_HIT);
  /* Bigger than the whole bound: not kept in memory (no second level). */
  char huge[3000];
  memset(huge, 'h', sizeof huge - 1);
  huge[sizeof huge - 1] = '\0';
  cn__cval v = val(huge, 0, 0, NULL, 0);
  CHECK_EQ_INT(cn__cache_put(c, "huge", &v), 0);
  CHECK_EQ_INT(get(c, "huge", got, sizeof got), CN__CACHE_MISS);
  CHECK_EQ_INT(get(c, "k11", got, sizeof got), CN__CACHE_HIT);
  cn__cache_free(c);
}

TEST(many_keys_grow_the_table) {
  cn__cache *c;
  char key[16], got[16];
  CHECK_EQ_INT(cn__cache_new(&c, NULL), 0);
  for (int i = 0; i < 3000; i++) {
    snprintf(key, sizeof key, "key%d", i);
    cn__cval v = val(key, 0, 0, NULL, 0);
    CHECK_EQ_INT(cn__cache_put(c, key, &v), 0);
  }
  int ok = 1;
  for (int i = 0; i < 3000; i++) {
    snprintf(key, sizeof key, "key%d", i);
    ok &= get(c, key, got, sizeof got) == CN__CACHE_HIT && !strcmp(got, key);
  }
  CHECK(ok);
  cn__cache_free(c);
}

TEST(codec_round_trip_and_every_truncation) {
  const char *tags[] = {"alpha", "b"};
  cn__cval v = {"payload\0x", 9, 123, 456, 789, tags, 2}, out;
  cn__buf b = {0};
  cn__arena a;
  CHECK_EQ_INT(cn__cache_encode(&v, &b), 0);
  cn__arena_init(&a, mem, sizeof mem);
  CHECK_EQ_INT(cn__cache_decode(b.ptr, b.len, &a, &out), 0);
  CHECK_EQ_INT(out.len, 9);
  CHECK(!memcmp(out.data, "payload\0x", 9));
  CHECK_EQ_INT(out.written_ms, 123);
  CHECK_EQ_INT(out.revalidate_ms, 456);
  CHECK_EQ_INT(out.expire_ms, 789);
  CHECK_EQ_INT(out.ntags, 2);
  CHECK_EQ_STR(out.tags[1], "b");
  int bad = 0;
  for (size_t n = 0; n < b.len; n++)
    bad += cn__cache_decode(b.ptr, n, &a, &out) == CN_EPARSE;
  CHECK_EQ_INT(bad, (int)b.len);
  /* One byte too many, a bad magic, a tag count past the limit. */
  CHECK_EQ_INT(cn__buf_append(&b, "z", 1), 0);
  CHECK_EQ_INT(cn__cache_decode(b.ptr, b.len, &a, &out), CN_EPARSE);
  b.ptr[0] = 'X';
  CHECK_EQ_INT(cn__cache_decode(b.ptr, b.len - 1, &a, &out), CN_EPARSE);
  b.ptr[0] = 'C';
  memset(b.ptr + 28, 0xff, 8);
  CHECK_EQ_INT(cn__cache_decode(b.ptr, b.len - 1, &a, &out), CN_EPARSE);
  cn__arena_reset(&a);
  cn__buf_free(&b);
}

TEST(out_of_memory_leaks_nothing) {
  const char *tags[] = {"t"};
  for (long n = 0; n < 40; n++) {
    cn__cache *c = NULL;
    cn__alloc_fail_after(n);
    int rc = cn__cache_new(&c, NULL);
    if (!rc) {
      cn__cval v = val("value", 0, 0, tags, 1);
      rc = cn__cache_put(c, "k", &v);
      if (!rc)
        rc = cn__cache_revalidate_tag(c, "t");
      cn__cache_free(c);
    }
    cn__alloc_fail_after(-1);
    CHECK(rc == 0 || rc == CN_ENOMEM);
  }
}

int main(void) {
  RUN(hit_miss_and_overwrite);
  RUN(revalidate_and_expire_by_the_clock);
  RUN(tags_make_only_their_entries_stale);
  RUN(tag_limits_drop_extra_tags);
  RUN(lru_bound_evicts_the_least_recently_used);
  RUN(many_keys_grow_the_table);
  RUN(codec_round_trip_and_every_truncation);
  RUN(out_of_memory_leaks_nothing);
  return check_summary();
}
