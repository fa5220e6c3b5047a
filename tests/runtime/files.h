/*
 * What the C tests that read and write files share: a private temporary
 * folder, the committed fixtures, whole-file reads and writes, and checks
 * of error statuses.
 *
 *   int main(void) { if (!make_tmpdir("io")) return 1; ...; remove_tree(tmpdir); }
 *   write_bytes(tmp("a.bin"), p, n);
 *   find_fixtures("io", __FILE__); ... fixture("f4.npy") ...
 *   EXPECT_ERR(rc, NN_IO_ERR_FORMAT, err, "a.bin", "truncated");
 */
#ifndef NN_TEST_FILES_H
#define NN_TEST_FILES_H

#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "nn_alloc.h"

static char tmpdir[64];

/* Creates /tmp/nnlua_<name>.XXXXXX as tmpdir. */
static inline bool make_tmpdir(const char *name) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/nnlua_%s.XXXXXX", name);
  return mkdtemp(tmpdir) != NULL;
}

/* dir/name in one of a few rotating buffers. */
static inline const char *join(const char *dir, const char *name) {
  static char bufs[8][4200];
  static int k;
  char *b = bufs[k++ % 8];
  snprintf(b, sizeof bufs[0], "%s/%s", dir, name);
  return b;
}

static inline const char *tmp(const char *name) { return join(tmpdir, name); }

static inline void write_bytes(const char *path, const void *p, size_t n) {
  FILE *fp = fopen(path, "wb");
  CHECK(fp != NULL);
  if (!fp) return;
  CHECK(fwrite(p, 1, n, fp) == n);
  fclose(fp);
}

/* A whole file in a malloc'd buffer, NULL if it cannot be read. */
static inline unsigned char *read_bytes(const char *path, size_t *n) {
  FILE *fp = fopen(path, "rb");
  if (!fp) return NULL;
  fseek(fp, 0, SEEK_END);
  *n = (size_t)ftell(fp);
  fseek(fp, 0, SEEK_SET);
  unsigned char *b = malloc(*n + 1);
  CHECK(fread(b, 1, *n, fp) == *n);
  fclose(fp);
  return b;
}

/* Whether the file at path holds exactly want[0..n). */
static inline bool same_file(const char *path, const unsigned char *want, size_t n) {
  size_t m = 0;
  unsigned char *b = read_bytes(path, &m);
  bool same = b && m == n && memcmp(b, want, n) == 0;
  free(b);
  return same;
}

/* Entries of dir, not counting hidden ones. */
static inline int count_files(const char *dir) {
  DIR *d = opendir(dir);
  int n = 0;
  for (struct dirent *e; d && (e = readdir(d));) n += e->d_name[0] != '.';
  if (d) closedir(d);
  return n;
}

/* Removes dir, its files and its (empty) sub-folders. */
static inline void remove_tree(const char *dir) {
  DIR *d = opendir(dir);
  for (struct dirent *e; d && (e = readdir(d));) {
    if (e->d_name[0] == '.') continue;
    const char *p = join(dir, e->d_name);
    if (rmdir(p) != 0) remove(p);
  }
  if (d) closedir(d);
  rmdir(dir);
}

static char fixdir[4096];

/* <src>/tests/fixtures/<sub> as fixdir: <src> from NNLUA_SOURCE_DIR, else
 * from test_file, the calling test's __FILE__ (<src>/tests/runtime/...). */
static inline void find_fixtures(const char *sub, const char *test_file) {
  const char *src = getenv("NNLUA_SOURCE_DIR");
  if (src) {
    snprintf(fixdir, sizeof fixdir, "%s/tests/fixtures/%s", src, sub);
    return;
  }
  snprintf(fixdir, sizeof fixdir, "%s", test_file);
  char *cut = NULL;
  for (char *p = fixdir; (p = strstr(p, "/runtime/")); p++) cut = p; /* the last one */
  if (cut) snprintf(cut, sizeof fixdir - (size_t)(cut - fixdir), "/fixtures/%s", sub);
}

/* The fixture file name in fixdir. */
static inline const char *fixture(const char *name) { return join(fixdir, name); }

/* Engine blocks alive now: equal before and after a call that must not leak. */
static inline uint64_t live(void) { return nn_memory_stats_get().live_count; }

/* rc must be code and err must contain each non-NULL fragment. */
static inline void expect_err(int line, int rc, int code, const char *err, const char *a,
                              const char *b) {
  bool ok = rc == code && (!a || strstr(err, a)) && (!b || strstr(err, b));
  CHECK(ok);
  if (!ok) fprintf(stderr, "  line %d: rc %d (want %d): %s\n", line, rc, code, rc ? err : "");
}
#define EXPECT_ERR(rc, code, err, a, b) expect_err(__LINE__, rc, code, err, a, b)

#endif
