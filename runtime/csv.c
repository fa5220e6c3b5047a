/*
 * CSV tokenizer (nn_csv.h). Two passes over the text with the same code:
 * the first counts rows, fields and checks every rule, the second (after
 * the exact allocation) fills the table; so a malformed file takes no
 * memory and a valid one exactly what it needs.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "nn_alloc.h"
#include "nn_csv.h"

/* Lua's %s: what the old Lua loader trimmed and took for blank. */
static int is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

typedef struct scan {
  nn_csv_table *t; /* NULL while counting */
  const char *name;
  char *err;
  int64_t lineno;
  int64_t rows, fields; /* so far */
  int64_t ncols;        /* fields of the first row; -1 before it */
  size_t nbytes;        /* content bytes so far */
} scan;

/* "'<name>' line <n>: " and the formatted reason. */
static int line_fail(scan *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int line_fail(scan *s, const char *fmt, ...) {
  char what[160];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  return nn_io_fail(s->err, NN_IO_ERR_FORMAT, "'%s' line %" PRId64 ": %s", s->name, s->lineno,
                    what);
}

/* Ends a field whose unescaped content is out[0..n): trims it and records
 * it (when filling). */
static void end_field(scan *s, char *out, size_t n) {
  size_t a = 0, b = n;
  if (s->t) {
    while (a < b && is_space(out[a])) a++;
    while (b > a && is_space(out[b - 1])) b--;
    memmove(out, out + a, b - a);
    s->t->offsets[s->fields] = s->nbytes;
  }
  s->nbytes += b - a; /* while counting: an upper bound, n */
  s->fields++;
}

/* Splits line[0..n) into fields; returns the field count or -1 (err set). */
static int64_t split_line(scan *s, const char *line, size_t n) {
  int64_t count = 0;
  size_t pos = 0;
  for (;;) {
    char *out = s->t ? s->t->bytes + s->nbytes : NULL;
    size_t len = 0, start = pos;
    const char *comma;
    if (pos < n && line[pos] == '"') {
      size_t i = pos + 1;
      for (;;) {
        const char *q = memchr(line + i, '"', n - i);
        if (!q) return line_fail(s, "unterminated quoted field"), -1;
        size_t k = (size_t)(q - line);
        if (out) memcpy(out + len, line + i, k - i);
        len += k - i;
        if (k + 1 < n && line[k + 1] == '"') {
          if (out) out[len] = '"';
          len++;
          i = k + 2;
        } else {
          pos = k + 1;
          break;
        }
      }
      comma = memchr(line + pos, ',', n - pos);
    } else {
      comma = memchr(line + pos, ',', n - pos);
      size_t end = comma ? (size_t)(comma - line) : n;
      if (out) memcpy(out, line + pos, end - pos);
      len = end - pos;
    }
    size_t end = comma ? (size_t)(comma - line) : n;
    if (end - start > NN_CSV_MAX_FIELD)
      return line_fail(s, "a field of %zu bytes exceeds the 1 MiB limit on a CSV field",
                       end - start), -1;
    end_field(s, out, len);
    count++;
    if (!comma) return count;
    pos = end + 1;
  }
}

static int row(scan *s, const char *line, size_t n) {
  if (n > NN_CSV_MAX_ROW)
    return line_fail(s, "a line of %zu bytes exceeds the 16 MiB limit on a CSV row", n);
  size_t i = 0;
  while (i < n && is_space(line[i])) i++;
  if (i == n) return NN_IO_OK; /* blank: skipped, still counted */
  int64_t count = split_line(s, line, n);
  if (count < 0) return NN_IO_ERR_FORMAT;
  if (s->ncols < 0) s->ncols = count;
  if (count != s->ncols)
    return nn_io_fail(s->err, NN_IO_ERR_FORMAT,
                      "'%s' line %" PRId64 " has %" PRId64 " fields, expected %" PRId64
                      " (as the first line)",
                      s->name, s->lineno, count, s->ncols);
  if (s->t) s->t->lines[s->rows] = s->lineno;
  s->rows++;
  return NN_IO_OK;
}

static int pass(scan *s, const char *text, size_t len) {
  if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) text += 3, len -= 3;
  const char *p = text, *end = text + len;
  for (;;) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *e = nl ? nl : end;
    size_t n = (size_t)(e - p);
    if (n > 0 && p[n - 1] == '\r') n--;
    s->lineno++;
    int rc = row(s, p, n);
    if (rc) return rc;
    if (!nl) return NN_IO_OK;
    p = nl + 1;
  }
}

nn_io_status nn_csv_parse(nn_csv_table *t, const char *name, const char *text, size_t len,
                          char *err) {
  memset(t, 0, sizeof *t);
  scan s = {NULL, name, err, 0, 0, 0, -1, 0};
  int rc = pass(&s, text, len);
  if (rc) return (nn_io_status)rc;
  t->nrows = s.rows;
  t->ncols = s.ncols < 0 ? 0 : s.ncols;
  t->nbytes = s.nbytes + 1;
  t->lines = nn_alloc((size_t)s.rows * sizeof *t->lines + 1);
  t->offsets = nn_alloc((size_t)(s.fields + 1) * sizeof *t->offsets);
  t->bytes = nn_alloc(t->nbytes);
  if (!t->lines || !t->offsets || !t->bytes) {
    nn_csv_free(t);
    return nn_io_fail(err, NN_IO_ERR_NOMEM, "out of memory reading '%s'", name);
  }
  scan fill = {t, name, err, 0, 0, 0, -1, 0};
  pass(&fill, text, len); /* the first pass proved it succeeds */
  t->offsets[fill.fields] = fill.nbytes;
  return NN_IO_OK;
}

const char *nn_csv_field(const nn_csv_table *t, int64_t row, int64_t col, size_t *len) {
  int64_t k = row * t->ncols + col;
  *len = (size_t)(t->offsets[k + 1] - t->offsets[k]);
  return t->bytes + t->offsets[k];
}

void nn_csv_free(nn_csv_table *t) {
  nn_free(t->lines, t->lines ? (size_t)t->nrows * sizeof *t->lines + 1 : 0);
  nn_free(t->offsets, t->offsets ? (size_t)(t->nrows * t->ncols + 1) * sizeof *t->offsets : 0);
  nn_free(t->bytes, t->nbytes);
  memset(t, 0, sizeof *t);
}
