/* nn_alloc: the statistics, the caching (a freed block is reused without a
 * new system allocation), zeroing of reused blocks, and the failure hook
 * that proves allocation error paths leak nothing. */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "nn_alloc.h"
#include "nn_tensor.h"

#define SHAPE(...) ((const int64_t[]){__VA_ARGS__})

static void test_stats(void) {
  nn_memory_stats s0 = nn_memory_stats_get();
  void *p = nn_alloc(1000);
  CHECK(p != NULL);
  nn_memory_stats s1 = nn_memory_stats_get();
  CHECK(s1.live_count == s0.live_count + 1);
  CHECK(s1.live_bytes == s0.live_bytes + 1000); /* requested bytes, not the block size */
  CHECK(s1.peak_bytes >= s1.live_bytes);
  memset(p, 0xAB, 1000); /* the block really is that big (ASan checks) */
  void *q = nn_alloc(10 << 20);
  CHECK(q != NULL);
  nn_memory_stats s2 = nn_memory_stats_get();
  CHECK(s2.live_bytes == s0.live_bytes + 1000 + (10 << 20));
  CHECK(s2.peak_bytes >= s2.live_bytes);
  nn_free(q, 10 << 20);
  nn_free(p, 1000);
  nn_memory_stats s3 = nn_memory_stats_get();
  CHECK(s3.live_count == s0.live_count && s3.live_bytes == s0.live_bytes);
  CHECK(s3.peak_bytes == s2.peak_bytes); /* the peak stays */
  nn_free(NULL, 123);                    /* ignored */
  CHECK(nn_memory_stats_get().live_count == s0.live_count);
}

static void test_cache_reuse(void) {
  size_t sizes[] = {1, 64, 65, 1000, 4096, 100000, 1 << 20, (1 << 20) + 1, 4 << 20, 30 << 20};
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
    void *p = nn_alloc(sizes[i]);
    nn_free(p, sizes[i]);
    nn_memory_stats before = nn_memory_stats_get();
    CHECK(before.cached_bytes >= sizes[i]);
    void *q = nn_alloc(sizes[i]);
    nn_memory_stats after = nn_memory_stats_get();
    CHECK(q == p);                        /* the same block back */
    CHECK(after.count == before.count);   /* no new system allocation */
    CHECK(after.cached_bytes < before.cached_bytes);
    CHECK(((uintptr_t)q & 63) == 0);      /* 64-byte aligned */
    nn_free(q, sizes[i]);
  }
  /* a block is reused for requests of the same size class */
  void *p = nn_alloc(700);
  nn_free(p, 700);
  uint64_t count = nn_memory_stats_get().count;
  void *q = nn_alloc(1000); /* both in the 1 KiB class */
  CHECK(q == p && nn_memory_stats_get().count == count);
  nn_free(q, 1000);

  /* a training-loop pattern: the same shapes each step stop hitting the system */
  for (int step = 0; step < 3; step++) {
    uint64_t c0 = nn_memory_stats_get().count;
    nn_tensor *a = nn_tensor_empty(NN_FLOAT32, 2, SHAPE(64, 784));
    nn_tensor *b = nn_tensor_empty(NN_FLOAT32, 2, SHAPE(64, 10));
    nn_tensor_release(b);
    nn_tensor_release(a);
    if (step > 0) CHECK(nn_memory_stats_get().count == c0);
  }

  nn_alloc_release_cache();
  CHECK(nn_memory_stats_get().cached_bytes == 0);
  uint64_t c1 = nn_memory_stats_get().count;
  nn_free(nn_alloc(5000), 5000);
  CHECK(nn_memory_stats_get().count == c1 + 1); /* the cache was really emptied */
}

static void test_zeroed_reuse(void) {
  size_t sizes[] = {200, 3 << 20};
  for (int i = 0; i < 2; i++) {
    unsigned char *p = nn_alloc(sizes[i]);
    memset(p, 0x5A, sizes[i]);
    nn_free(p, sizes[i]);
    unsigned char *z = nn_alloc_zeroed(sizes[i]);
    CHECK(z == p); /* reused, so zeroing had real work to do */
    bool zero = true;
    for (size_t k = 0; k < sizes[i]; k++) zero = zero && z[k] == 0;
    CHECK(zero);
    nn_free(z, sizes[i]);
  }
}

static void test_fail_after(void) {
  nn_alloc_fail_after(1);
  CHECK(nn_alloc(16) == NULL);
  void *p = nn_alloc(16); /* the injection fires once */
  CHECK(p != NULL);
  nn_free(p, 16);

  nn_alloc_fail_after(3);
  void *a = nn_alloc(10), *b = nn_alloc(10), *c = nn_alloc(10), *d = nn_alloc(10);
  CHECK(a && b && !c && d);
  nn_free(a, 10);
  nn_free(b, 10);
  nn_free(d, 10);

  nn_alloc_fail_after(2);
  nn_alloc_fail_after(0); /* disabled again */
  a = nn_alloc(10), b = nn_alloc(10);
  CHECK(a && b);
  nn_free(a, 10);
  nn_free(b, 10);
}

/* Each allocation nn_tensor_empty/zeros makes fails in turn: the result
 * is NULL and nothing stays allocated. */
static void test_tensor_alloc_failures(void) {
  nn_memory_stats s0 = nn_memory_stats_get();
  int failures = 0;
  for (uint64_t n = 1; n <= 10; n++) {
    nn_alloc_fail_after(n);
    nn_tensor *t = (n % 2) ? nn_tensor_empty(NN_FLOAT32, 2, SHAPE(30, 40))
                           : nn_tensor_zeros(NN_INT64, 1, SHAPE(1000));
    nn_alloc_fail_after(0);
    if (!t) {
      failures++;
      nn_memory_stats s = nn_memory_stats_get();
      CHECK(s.live_count == s0.live_count && s.live_bytes == s0.live_bytes);
    } else {
      nn_tensor_release(t);
    }
  }
  CHECK(failures >= 2); /* at least the header and the data can fail */

  /* a view's header allocation can fail too, leaving the base intact */
  nn_tensor *base = nn_tensor_zeros(NN_FLOAT32, 1, SHAPE(8));
  nn_alloc_fail_after(1);
  nn_tensor *v = nn_tensor_view(base, 2, SHAPE(2, 4), SHAPE(4, 1), 0);
  nn_alloc_fail_after(0);
  CHECK(v == NULL && base->storage->refcount == 1);
  nn_tensor_release(base);
  nn_memory_stats s = nn_memory_stats_get();
  CHECK(s.live_count == s0.live_count && s.live_bytes == s0.live_bytes);

  /* absurd sizes fail cleanly without touching the system allocator */
  CHECK(nn_tensor_empty(NN_FLOAT32, 2, SHAPE(1LL << 40, 1LL << 40)) == NULL);
  CHECK(nn_alloc(SIZE_MAX - 10) == NULL);
  s = nn_memory_stats_get();
  CHECK(s.live_count == s0.live_count && s.live_bytes == s0.live_bytes);
}

static void test_physical_memory(void) {
  uint64_t m = nn_physical_memory();
  CHECK(m > (64u << 20));
  CHECK(nn_physical_memory() == m);
}

int main(void) {
  RUN(test_stats);
  RUN(test_cache_reuse);
  RUN(test_zeroed_reuse);
  RUN(test_fail_after);
  RUN(test_tensor_alloc_failures);
  RUN(test_physical_memory);
  return check_summary();
}
