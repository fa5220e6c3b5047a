/*
 * nn_csv: the tokenizer of nn.data.csv (stdlib/nn/data/csv.lua, through
 * bindings/csv.c): text in, a table of string fields out. The numbers,
 * the target column and the classes are the Lua side's.
 *
 * The rules (those of the loader since it was Lua): a UTF-8 BOM is
 * skipped; lines end at '\n' (a '\r' before it is dropped); lines of
 * whitespace only are skipped but counted; commas separate fields; a field
 * that starts with '"' is quoted: it runs to the next lone '"' ("" is a
 * quote inside; quoted fields do not span lines) and whatever follows the
 * closing quote up to the next comma is dropped; every field is trimmed
 * of surrounding whitespace; every row has the first row's field count.
 *
 * Ceilings, so a file cannot make the loader take more than it can use: a
 * line above NN_CSV_MAX_ROW bytes or a field above NN_CSV_MAX_FIELD bytes
 * (as written, quotes included) is refused.
 */
#ifndef NN_CSV_H
#define NN_CSV_H

#include <stddef.h>
#include <stdint.h>

#include "nn_io.h"

#define NN_CSV_MAX_FIELD ((size_t)1 << 20) /* 1 MiB */
#define NN_CSV_MAX_ROW ((size_t)1 << 24)   /* 16 MiB */

typedef struct nn_csv_table {
  int64_t nrows, ncols;
  int64_t *lines;    /* [nrows]: 1-based line of each row */
  uint64_t *offsets; /* [nrows*ncols + 1]: field k is bytes[offsets[k]..offsets[k+1]) */
  char *bytes;       /* the fields' contents, unquoted and trimmed, back to back */
  size_t nbytes;     /* capacity of bytes */
} nn_csv_table;

/* Splits text[0..len) into t (zeroed first). name (the path) is for the
 * messages: "'<name>' line 3: unterminated quoted field". On failure t
 * holds nothing. A text without rows gives nrows 0, not an error. */
nn_io_status nn_csv_parse(nn_csv_table *t, const char *name, const char *text, size_t len,
                          char *err);
/* Field (row, col), both 0-based: its bytes and length (not terminated). */
const char *nn_csv_field(const nn_csv_table *t, int64_t row, int64_t col, size_t *len);
/* Frees t's memory; safe on a zeroed or freed table. */
void nn_csv_free(nn_csv_table *t);

#endif
