/*
 * Preloaded into the ranks of the sanitizer pass only (tests/distributed/
 * CMakeLists.txt), so that LeakSanitizer's report at exit names each of
 * Open MPI's leaks by its library and lsan_openmpi.supp can suppress them
 * by name, while a leak of nnlua's own code still fails:
 *
 * - dlclose does nothing: MPI_Finalize unloads Open MPI's plugins (and
 *   libpmix with them) before the report, and an address in an unloaded
 *   library has no name left to match.
 * - asprintf and vasprintf (and the _FORTIFY_SOURCE forms Debian's
 *   libraries call) are rebuilt on vsnprintf and malloc, with a frame
 *   pointer: Debian's libc has none, so the fast unwinder loses the
 *   caller of libc's own (Open MPI) and the leak matches nothing.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

int dlclose(void *handle) {
  (void)handle;
  return 0;
}

int vasprintf(char **out, const char *fmt, va_list ap) {
  va_list again;
  va_copy(again, ap);
  int n = vsnprintf(NULL, 0, fmt, ap);
  *out = n < 0 ? NULL : malloc((size_t)n + 1);
  if (*out != NULL) n = vsnprintf(*out, (size_t)n + 1, fmt, again);
  va_end(again);
  return *out != NULL ? n : -1;
}

int asprintf(char **out, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vasprintf(out, fmt, ap);
  va_end(ap);
  return n;
}

int __vasprintf_chk(char **out, int flag, const char *fmt, va_list ap) {
  (void)flag;
  return vasprintf(out, fmt, ap);
}

int __asprintf_chk(char **out, int flag, const char *fmt, ...) {
  (void)flag;
  va_list ap;
  va_start(ap, fmt);
  int n = vasprintf(out, fmt, ap);
  va_end(ap);
  return n;
}
