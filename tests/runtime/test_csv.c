/* The CSV tokenizer (runtime/csv.c) on its rules, as nn.data.csv had them
 * in Lua: BOM, CRLF, blank lines counted but skipped, quoting ("" inside,
 * junk after the closing quote dropped), trimming, a trailing comma's
 * empty field, NUL bytes kept, and every malformed text with its message.
 * (The ceilings are test_limits.c's.) */
#include "check.h"
#include "files.h"
#include "nn_csv.h"

/* Field (r, c) of t equals want. */
static bool field_is(const nn_csv_table *t, int64_t r, int64_t c, const char *want, size_t n) {
  size_t len;
  const char *f = nn_csv_field(t, r, c, &len);
  bool ok = len == n && memcmp(f, want, n) == 0;
  if (!ok) fprintf(stderr, "field (%lld,%lld) is '%.*s', want '%s'\n", (long long)r, (long long)c,
                   (int)len, f, want);
  return ok;
}
#define FIELD(t, r, c, s) CHECK(field_is(t, r, c, s, sizeof s - 1))

static void test_rules(void) {
  const char text[] = "\xEF\xBB\xBF a ,\"b,\"\"c\"\" \" junk,d\r\n"
                      "\n   \t\r\n"
                      "1,,\"\"\n"
                      "x\0y,2,3";
  nn_csv_table t;
  char err[NN_IO_ERRLEN];
  uint64_t before = live();
  CHECK(nn_csv_parse(&t, "t.csv", text, sizeof text - 1, err) == NN_IO_OK);
  CHECK(t.nrows == 3 && t.ncols == 3);
  CHECK(t.lines[0] == 1 && t.lines[1] == 4 && t.lines[2] == 5);
  FIELD(&t, 0, 0, "a");
  FIELD(&t, 0, 1, "b,\"c\"");
  FIELD(&t, 0, 2, "d");
  FIELD(&t, 1, 0, "1");
  FIELD(&t, 1, 1, "");
  FIELD(&t, 1, 2, "");
  FIELD(&t, 2, 0, "x\0y");
  nn_csv_free(&t);
  nn_csv_free(&t); /* freeing twice is harmless */
  CHECK(live() == before);
  /* no rows at all */
  CHECK(nn_csv_parse(&t, "e.csv", " \n\n", 3, err) == NN_IO_OK && t.nrows == 0);
  nn_csv_free(&t);
  /* a trailing comma is an empty last field */
  CHECK(nn_csv_parse(&t, "c.csv", "1,2,", 4, err) == NN_IO_OK && t.ncols == 3);
  FIELD(&t, 0, 2, "");
  nn_csv_free(&t);
}

static void test_errors(void) {
  nn_csv_table t;
  char err[NN_IO_ERRLEN];
  uint64_t before = live();
  int rc = nn_csv_parse(&t, "q.csv", "a,b\n\n\"x,1\n", 10, err);
  EXPECT_ERR(rc, NN_IO_ERR_FORMAT, err, "'q.csv' line 3: unterminated quoted field", NULL);
  rc = nn_csv_parse(&t, "q.csv", "\"a\"\"", 4, err);
  EXPECT_ERR(rc, NN_IO_ERR_FORMAT, err, "line 1: unterminated", NULL);
  rc = nn_csv_parse(&t, "r.csv", "a,b,c\n1,2,3\n\n4,5\n", 17, err);
  EXPECT_ERR(rc, NN_IO_ERR_FORMAT, err, "'r.csv' line 4 has 2 fields, expected 3 (as the first line)",
             NULL);
  CHECK(live() == before);
  /* a refused allocation is a clean error */
  nn_alloc_fail_after(2);
  rc = nn_csv_parse(&t, "m.csv", "1,2\n", 4, err);
  nn_alloc_fail_after(0);
  EXPECT_ERR(rc, NN_IO_ERR_NOMEM, err, "out of memory", "m.csv");
  CHECK(live() == before);
}

int main(void) {
  RUN(test_rules);
  RUN(test_errors);
  return check_summary();
}
