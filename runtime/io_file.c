/*
 * File plumbing shared by the tensor formats: error messages, checked
 * reads with dtype conversion, and atomic writes (temp file, fsync,
 * rename; the temporaries of writers that died mid-save are removed by the
 * next save to the same path).
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nn_io.h"
#include "nn_iter.h"

/* Conversions go through a stack buffer of this many bytes at a time. */
#define IO_CHUNK 16384

nn_io_status nn_io_fail(char *err, nn_io_status code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, NN_IO_ERRLEN, fmt, ap);
  va_end(ap);
  return code;
}

int nn_io_open_read(FILE **fp, uint64_t *size, const char *path, char *err) {
  *fp = fopen(path, "rb");
  if (!*fp) return nn_io_fail(err, NN_IO_ERR_SYS, "cannot open '%s': %s", path, strerror(errno));
  struct stat st;
  int rc = NN_IO_OK;
  if (fstat(fileno(*fp), &st) != 0)
    rc = nn_io_fail(err, NN_IO_ERR_SYS, "cannot open '%s': %s", path, strerror(errno));
  else if (S_ISDIR(st.st_mode))
    rc = nn_io_fail(err, NN_IO_ERR_SYS, "cannot open '%s': it is a directory", path);
  else if (!S_ISREG(st.st_mode))
    rc = nn_io_fail(err, NN_IO_ERR_SYS, "cannot open '%s': not a regular file", path);
  if (rc) {
    fclose(*fp);
    *fp = NULL;
    return rc;
  }
  *size = (uint64_t)st.st_size;
  return NN_IO_OK;
}

int nn_io_read_at(FILE *fp, const char *path, uint64_t offset, void *buf,
                  size_t n, char *err) {
  if (fseeko(fp, (off_t)offset, SEEK_SET) != 0)
    return nn_io_fail(err, NN_IO_ERR_SYS, "cannot read '%s': %s", path, strerror(errno));
  if (fread(buf, 1, n, fp) == n) return NN_IO_OK;
  if (ferror(fp))
    return nn_io_fail(err, NN_IO_ERR_SYS, "cannot read '%s': %s", path, strerror(errno));
  return nn_io_fail(err, NN_IO_ERR_FORMAT,
                    "'%s' is truncated: %zu bytes expected at offset %" PRIu64, path,
                    n, offset);
}

int nn_io_read_elements(FILE *fp, const char *path, uint64_t offset,
                        nn_fdtype f, bool swap, void *dst, int64_t n, char *err) {
  size_t size = nn_fdtype_size(f);
  nn_dtype target = nn_fdtype_target(f);
  if (!swap && nn_fdtype_of(target) == f) {
    /* Stored as loaded: straight into dst. */
    int rc = nn_io_read_at(fp, path, offset, dst, (size_t)n * size, err);
    if (rc == NN_IO_OK && f == NN_FDTYPE_BOOL)
      for (int64_t i = 0; i < n; i++) ((unsigned char *)dst)[i] = ((unsigned char *)dst)[i] != 0;
    return rc;
  }
  unsigned char buf[IO_CHUNK];
  int64_t per = (int64_t)(IO_CHUNK / size);
  char *out = dst;
  for (int64_t done = 0; done < n; done += per) {
    int64_t k = n - done < per ? n - done : per;
    int rc = nn_io_read_at(fp, path, offset + (uint64_t)done * size, buf, (size_t)k * size, err);
    if (rc) return rc;
    nn_fdtype_convert(out + done * (int64_t)nn_dtype_size(target), buf, f, k, swap);
  }
  return NN_IO_OK;
}

/* ---- atomic writes ---- */

/* The pid in name when it is base ".tmp." pid, else 0. */
static long temporary_pid(const char *name, const char *base, size_t blen) {
  if (strncmp(name, base, blen) != 0 || strncmp(name + blen, ".tmp.", 5) != 0) return 0;
  const char *digits = name + blen + 5;
  if (*digits < '1' || *digits > '9') return 0;
  char *end;
  errno = 0;
  long pid = strtol(digits, &end, 10);
  return *end || errno || pid > INT_MAX ? 0 : pid;
}

/* Removes path.tmp.<pid> files of writers killed mid-save: those whose
 * process is gone. A live process's temporary is a save in flight (kill
 * answers EPERM for another user's process: kept too); our own is about
 * to be truncated by the open. Best effort: a directory that cannot be
 * listed just keeps its leftovers. */
static void remove_stale_temporaries(const char *path) {
  char dir[PATH_MAX];
  const char *slash = strrchr(path, '/');
  const char *base = slash ? slash + 1 : path;
  if (!slash) {
    strcpy(dir, ".");
  } else {
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    if (n >= sizeof dir) return;
    memcpy(dir, path, n);
    dir[n] = '\0';
  }
  size_t blen = strlen(base);
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d))) {
    long pid = temporary_pid(e->d_name, base, blen);
    if (!pid || pid == (long)getpid()) continue;
    if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
    char full[PATH_MAX];
    int len = snprintf(full, sizeof full, "%s/%s", dir, e->d_name);
    if (len > 0 && (size_t)len < sizeof full) unlink(full);
  }
  closedir(d);
}

int nn_io_writer_open(nn_io_writer *w, const char *path, char *err) {
  memset(w, 0, sizeof *w);
  w->path = path;
  int len = snprintf(w->tmp, sizeof w->tmp, "%s.tmp.%ld", path, (long)getpid());
  if (len < 0 || (size_t)len >= sizeof w->tmp)
    return nn_io_fail(err, NN_IO_ERR_ARG, "path is too long (%zu bytes)", strlen(path));
  remove_stale_temporaries(path);
  w->fp = fopen(w->tmp, "wb");
  if (!w->fp)
    return nn_io_fail(err, NN_IO_ERR_SYS, "cannot write '%s': %s", path, strerror(errno));
  return NN_IO_OK;
}

void nn_io_writer_put(nn_io_writer *w, const void *p, size_t n) {
  if (w->errnum || n == 0) return;
  if (fwrite(p, 1, n, w->fp) != n) w->errnum = errno ? errno : EIO;
}

/* Strided runs are gathered through a stack buffer; unit-stride runs are
 * written in place. */
void nn_io_writer_put_tensor(nn_io_writer *w, const nn_tensor *t) {
  nn_iter it;
  nn_iter_init_tensors(&it, t->ndim, t->shape, 1, (const nn_tensor *[]){t});
  size_t es = nn_dtype_size(t->dtype);
  unsigned char buf[IO_CHUNK];
  int64_t per = (int64_t)(IO_CHUNK / es);
  while (nn_iter_next(&it)) {
    if (it.step[0] == 1 || it.n == 1) {
      nn_io_writer_put(w, it.ptr[0], (size_t)it.n * es);
      continue;
    }
    for (int64_t done = 0; done < it.n; done += per) {
      int64_t k = it.n - done < per ? it.n - done : per;
      for (int64_t i = 0; i < k; i++)
        memcpy(buf + i * (int64_t)es, it.ptr[0] + (done + i) * it.step[0] * (int64_t)es, es);
      nn_io_writer_put(w, buf, (size_t)k * es);
    }
  }
}

void nn_io_writer_abort(nn_io_writer *w) {
  if (!w->fp) return;
  fclose(w->fp);
  w->fp = NULL;
  remove(w->tmp);
}

int nn_io_writer_commit(nn_io_writer *w, char *err) {
  int e = w->errnum;
  if (!e && fflush(w->fp) != 0) e = errno;
  if (!e && fsync(fileno(w->fp)) != 0) e = errno;
  int closed = fclose(w->fp);
  w->fp = NULL;
  if (!e && closed != 0) e = errno;
  if (!e && rename(w->tmp, w->path) != 0) e = errno;
  if (!e) return NN_IO_OK;
  remove(w->tmp);
  return nn_io_fail(err, NN_IO_ERR_SYS, "cannot write '%s': %s", w->path, strerror(e));
}
