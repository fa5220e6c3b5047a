/*
 * nn_io: tensors to and from files — safetensors and NumPy .npy.
 *
 * Every function returns NN_IO_OK (0) or an error code and, on error, fills
 * err (NN_IO_ERRLEN bytes, the caller's) with a message for people that
 * names the path and the reason, without a function-name prefix (the
 * bindings add "load: "). Nothing here raises, aborts or prints.
 *
 * Readers work in two steps so the caller creates the destination tensors
 * itself (the bindings create them as Lua userdata, which must exist before
 * the memory is taken):
 *
 *   nn_st_file f;
 *   if (nn_st_open(&f, path, err)) return ...;   header read and validated
 *   for (int i = 0; i < f.count; i++) {
 *     out = contiguous tensor of f.entries[i].dtype and shape;
 *     nn_st_read(&f, i, out, err);
 *   }
 *   nn_st_close(&f);
 *
 * An open reader holds a FILE and memory until *_close. After a failed
 * *_open nothing is held; *_close is safe on a zeroed, failed or already
 * closed reader.
 *
 * Writers write "<path>.tmp.<pid>", flush and fsync it, and rename it over
 * path, so path holds either the old file or the complete new one. On any
 * error the temporary file is removed and path is left untouched.
 *
 * Values are stored little-endian; this engine only builds on
 * little-endian hosts (checked at compile time in io_dtype.c).
 */
#ifndef NN_IO_H
#define NN_IO_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "nn_tensor.h"

#define NN_IO_ERRLEN 256

typedef enum nn_io_status {
  NN_IO_OK = 0,
  NN_IO_ERR_SYS,    /* open/read/write/rename failed; message has strerror */
  NN_IO_ERR_FORMAT, /* malformed, truncated or inconsistent file */
  NN_IO_ERR_DTYPE,  /* a stored dtype this engine does not load */
  NN_IO_ERR_NOMEM,  /* nn_alloc refused */
  NN_IO_ERR_ARG,    /* the caller's mistake: duplicate or reserved name */
} nn_io_status;

/* ---- element types as stored in files ---- */

/* Every stored type that loads. Each converts to one engine dtype:
 * floats to float32, integers to int64, bool to bool. */
typedef enum nn_fdtype {
  NN_FDTYPE_F32,
  NN_FDTYPE_F64,
  NN_FDTYPE_F16,
  NN_FDTYPE_BF16,
  NN_FDTYPE_I64,
  NN_FDTYPE_I32,
  NN_FDTYPE_I16,
  NN_FDTYPE_I8,
  NN_FDTYPE_U32,
  NN_FDTYPE_U16,
  NN_FDTYPE_U8,
  NN_FDTYPE_BOOL,
  NN_FDTYPE_COUNT
} nn_fdtype;

/* Bytes per stored element. */
size_t nn_fdtype_size(nn_fdtype f);
/* The engine dtype it loads as. */
nn_dtype nn_fdtype_target(nn_fdtype f);
/* The stored type an engine dtype is saved as. */
nn_fdtype nn_fdtype_of(nn_dtype d);
/* Safetensors name ("F32", "BF16", ...). */
const char *nn_fdtype_st_name(nn_fdtype f);
/* Safetensors name -> stored type; false for names that do not load. */
bool nn_fdtype_from_st(const char *name, nn_fdtype *out);
/* NumPy kind ('f', 'i', 'u', 'b') and size -> stored type; false if none. */
bool nn_fdtype_from_npy(char kind, size_t size, nn_fdtype *out);
/* NumPy kind character of a stored type. */
char nn_fdtype_npy_kind(nn_fdtype f);
/* dst[0..n) (contiguous, of nn_fdtype_target(f)) = src[0..n) converted.
 * When swap, src is big-endian and is byte-swapped in place first. */
void nn_fdtype_convert(void *dst, unsigned char *src, nn_fdtype f, int64_t n,
                       bool swap);

/* ---- safetensors ---- */

typedef struct nn_st_entry {
  const char *name;  /* points into the reader's parsed header */
  nn_fdtype fdtype;  /* as stored */
  nn_dtype dtype;    /* as loaded */
  int ndim;
  int64_t shape[NN_MAX_DIMS];
  uint64_t begin, end; /* byte offsets within the data section */
} nn_st_entry;

/* One "__metadata__" pair (both strings NUL-terminated). */
typedef struct nn_st_meta {
  const char *key;
  const char *value;
} nn_st_meta;

typedef struct nn_st_file {
  const char *path; /* the caller's string; must outlive the reader */
  FILE *fp;
  uint64_t data_start, data_size; /* data section: file offset and length */
  void *json;                     /* the parsed header (a cJSON tree) */
  nn_st_entry *entries;           /* sorted by name */
  int count, capacity;
  nn_st_meta *meta; /* in header order */
  int nmeta;
} nn_st_file;

/* Opens path and reads and validates its header: JSON, dtypes, shapes
 * against byte ranges, ranges within the file and not overlapping. */
int nn_st_open(nn_st_file *f, const char *path, char *err);
/* Reads entry i into out: contiguous, with the entry's dtype and shape. */
int nn_st_read(nn_st_file *f, int i, nn_tensor *out, char *err);
void nn_st_close(nn_st_file *f);

/* One tensor to save. begin/end are scratch filled in by nn_st_save. */
typedef struct nn_st_item {
  const char *name;
  const nn_tensor *tensor;
  uint64_t begin, end;
} nn_st_item;

/* Saves the tensors (any strides, any dtype) and the metadata atomically.
 * items is sorted by name in place. Header keys come out sorted; the data
 * is laid out 8-byte types first so every tensor is aligned, with no gaps,
 * as other safetensors tools require. Names must be distinct and not
 * "__metadata__"; metadata keys must be distinct. */
int nn_st_save(const char *path, nn_st_item *items, int count,
               const nn_st_meta *meta, int nmeta, char *err);

/* ---- NumPy .npy ---- */

typedef struct nn_npy_file {
  const char *path; /* the caller's string; must outlive the reader */
  FILE *fp;
  nn_fdtype fdtype;
  bool swap;    /* stored big-endian */
  bool fortran; /* stored column-major; read transposes to row-major */
  nn_dtype dtype; /* as loaded */
  int ndim;
  int64_t shape[NN_MAX_DIMS];
  uint64_t data_start;
} nn_npy_file;

/* Opens path and parses its header (format versions 1.0, 2.0 and 3.0). */
int nn_npy_open(nn_npy_file *f, const char *path, char *err);
/* Reads the array into out: contiguous, with the reader's dtype and shape. */
int nn_npy_read(nn_npy_file *f, nn_tensor *out, char *err);
void nn_npy_close(nn_npy_file *f);
/* Saves t (any strides) as '<f4', '<i8' or '|b1', version 1.0, atomically. */
int nn_npy_save(const char *path, const nn_tensor *t, char *err);

/* ---- shared by the format files (io_file.c) ---- */

/* Formats err and returns code. */
nn_io_status nn_io_fail(char *err, nn_io_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Opens a regular file for reading and gets its size. */
int nn_io_open_read(FILE **fp, uint64_t *size, const char *path, char *err);
/* Reads exactly n bytes at offset. */
int nn_io_read_at(FILE *fp, const char *path, uint64_t offset, void *buf,
                  size_t n, char *err);
/* Reads n stored elements of type f at offset into dst (contiguous, of
 * f's target dtype), converting on the way. */
int nn_io_read_elements(FILE *fp, const char *path, uint64_t offset,
                        nn_fdtype f, bool swap, void *dst, int64_t n, char *err);

/* An atomic write in progress. */
typedef struct nn_io_writer {
  FILE *fp;
  const char *path;
  int errnum; /* first write error, 0 if none */
  char tmp[4096 + 32];
} nn_io_writer;

int nn_io_writer_open(nn_io_writer *w, const char *path, char *err);
/* Appends bytes; a failure is remembered and reported by commit. */
void nn_io_writer_put(nn_io_writer *w, const void *p, size_t n);
/* Appends t's elements in row-major order, whatever its strides. */
void nn_io_writer_put_tensor(nn_io_writer *w, const nn_tensor *t);
/* Flushes, fsyncs and renames over path; on failure removes the temp. */
int nn_io_writer_commit(nn_io_writer *w, char *err);
/* Closes and removes the temp file. */
void nn_io_writer_abort(nn_io_writer *w);

/* Pixel byte v as a float in [0,1]: a division, as PyTorch's
 * x.float() / 255 (v * (1/255) is an ulp off for some bytes). */
static inline float nn_unit_from_byte(unsigned char v) { return (float)v / 255.0f; }

#endif
