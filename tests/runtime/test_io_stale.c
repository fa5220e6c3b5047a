/* The temporaries of atomic writes (runtime/io_file.c): a save removes the
 * <path>.tmp.<pid> files of processes that are gone and keeps those of
 * live ones, other targets' and names that only look alike; it works for
 * a path without a folder too. */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "files.h"
#include "nn_io.h"

/* The id of a process that has exited and been reaped. */
static pid_t dead_pid(void) {
  pid_t pid = fork();
  if (pid == 0) _exit(0);
  waitpid(pid, NULL, 0);
  return pid;
}

static bool exists(const char *path) { return access(path, F_OK) == 0; }

/* Saves "new" to path through the atomic writer. */
static int save(const char *path) {
  char err[NN_IO_ERRLEN];
  nn_io_writer w;
  int rc = nn_io_writer_open(&w, path, err);
  if (rc) return rc;
  nn_io_writer_put(&w, "new", 3);
  return nn_io_writer_commit(&w, err);
}

typedef struct path_buf {
  char s[4200];
} path_buf;

/* Makes dir/<base>.tmp.<suffix> and returns its path. */
static path_buf leftover(const char *dir, const char *base, const char *suffix) {
  path_buf p;
  snprintf(p.s, sizeof p.s, "%s/%s.tmp.%s", dir, base, suffix);
  write_bytes(p.s, "partial", 7);
  return p;
}

static void test_dead_removed_live_kept(void) {
  char dead[32], live_pid[32], me[32];
  snprintf(dead, sizeof dead, "%ld", (long)dead_pid());
  snprintf(live_pid, sizeof live_pid, "%ld", (long)getppid());
  snprintf(me, sizeof me, "%ld", (long)getpid());
  path_buf stale = leftover(tmpdir, "ck.safetensors", dead);
  path_buf in_flight = leftover(tmpdir, "ck.safetensors", live_pid);
  path_buf other = leftover(tmpdir, "other.safetensors", dead);
  path_buf prefix = leftover(tmpdir, "ck", dead); /* "ck.tmp.<dead>": another target */
  path_buf not_pid = leftover(tmpdir, "ck.safetensors", "12x");
  path_buf zero = leftover(tmpdir, "ck.safetensors", "0");
  path_buf target;
  snprintf(target.s, sizeof target.s, "%s/ck.safetensors", tmpdir);
  CHECK(save(target.s) == NN_IO_OK);
  CHECK(!exists(stale.s));
  CHECK(exists(in_flight.s));
  CHECK(exists(other.s) && exists(prefix.s) && exists(not_pid.s) && exists(zero.s));
  CHECK(same_file(target.s, (const unsigned char *)"new", 3));
  path_buf mine;
  snprintf(mine.s, sizeof mine.s, "%s/ck.safetensors.tmp.%s", tmpdir, me);
  CHECK(!exists(mine.s)); /* renamed onto the target */
}

static void test_relative_path(void) {
  char cwd[4096];
  CHECK(getcwd(cwd, sizeof cwd) != NULL);
  CHECK(chdir(tmpdir) == 0);
  char dead[32];
  snprintf(dead, sizeof dead, "%ld", (long)dead_pid());
  path_buf stale = leftover(".", "rel.npy", dead);
  CHECK(save("rel.npy") == NN_IO_OK);
  CHECK(!exists(stale.s));
  CHECK(exists("rel.npy"));
  CHECK(chdir(cwd) == 0);
}

int main(void) {
  if (!make_tmpdir("io_stale")) return 1;
  RUN(test_dead_removed_live_kept);
  RUN(test_relative_path);
  remove_tree(tmpdir);
  return check_summary();
}
