/*
 * Element types as files store them, and their conversion to the engine's
 * three dtypes. One table row per stored type; sources are read with
 * memcpy because file data has no alignment guarantee.
 */
#include <string.h>

#include "nn_io.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               "file formats are little-endian; so is every supported host");

typedef void (*convert_fn)(void *dst, const unsigned char *src, int64_t n);

/* IEEE half -> float, exact for every value (subnormals, inf, NaN). */
static float half_to_float(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (mant << 13); /* rebias 15 -> 127 */
  } else {
    float f = (float)mant * 0x1p-24f; /* zero or subnormal */
    return sign ? -f : f;
  }
  float f;
  memcpy(&f, &bits, sizeof f);
  return f;
}

static void from_f32(void *dst, const unsigned char *src, int64_t n) {
  memcpy(dst, src, (size_t)n * 4);
}
static void from_f64(void *dst, const unsigned char *src, int64_t n) {
  float *d = dst;
  for (int64_t i = 0; i < n; i++) {
    double v;
    memcpy(&v, src + i * 8, 8);
    d[i] = (float)v;
  }
}
static void from_f16(void *dst, const unsigned char *src, int64_t n) {
  float *d = dst;
  for (int64_t i = 0; i < n; i++) {
    uint16_t v;
    memcpy(&v, src + i * 2, 2);
    d[i] = half_to_float(v);
  }
}
/* bfloat16 is the top half of a float32. */
static void from_bf16(void *dst, const unsigned char *src, int64_t n) {
  float *d = dst;
  for (int64_t i = 0; i < n; i++) {
    uint16_t v;
    memcpy(&v, src + i * 2, 2);
    uint32_t bits = (uint32_t)v << 16;
    memcpy(&d[i], &bits, 4);
  }
}
static void from_i64(void *dst, const unsigned char *src, int64_t n) {
  memcpy(dst, src, (size_t)n * 8);
}
static void from_i32(void *dst, const unsigned char *src, int64_t n) {
  int64_t *d = dst;
  for (int64_t i = 0; i < n; i++) {
    int32_t v;
    memcpy(&v, src + i * 4, 4);
    d[i] = v;
  }
}
static void from_i16(void *dst, const unsigned char *src, int64_t n) {
  int64_t *d = dst;
  for (int64_t i = 0; i < n; i++) {
    int16_t v;
    memcpy(&v, src + i * 2, 2);
    d[i] = v;
  }
}
static void from_i8(void *dst, const unsigned char *src, int64_t n) {
  int64_t *d = dst;
  for (int64_t i = 0; i < n; i++) d[i] = (int8_t)src[i];
}
static void from_u32(void *dst, const unsigned char *src, int64_t n) {
  int64_t *d = dst;
  for (int64_t i = 0; i < n; i++) {
    uint32_t v;
    memcpy(&v, src + i * 4, 4);
    d[i] = v;
  }
}
static void from_u16(void *dst, const unsigned char *src, int64_t n) {
  int64_t *d = dst;
  for (int64_t i = 0; i < n; i++) {
    uint16_t v;
    memcpy(&v, src + i * 2, 2);
    d[i] = v;
  }
}
static void from_u8(void *dst, const unsigned char *src, int64_t n) {
  int64_t *d = dst;
  for (int64_t i = 0; i < n; i++) d[i] = src[i];
}
/* Any nonzero byte is true; the engine's bools are exactly 0 or 1. */
static void from_bool(void *dst, const unsigned char *src, int64_t n) {
  bool *d = dst;
  for (int64_t i = 0; i < n; i++) d[i] = src[i] != 0;
}

static const struct fdtype_info {
  const char *st_name; /* safetensors */
  char npy_kind;       /* NumPy descr kind; the size is the item size */
  size_t size;
  nn_dtype target;
  convert_fn convert;
} infos[] = {
    [NN_FDTYPE_F32] = {"F32", 'f', 4, NN_FLOAT32, from_f32},
    [NN_FDTYPE_F64] = {"F64", 'f', 8, NN_FLOAT32, from_f64},
    [NN_FDTYPE_F16] = {"F16", 'f', 2, NN_FLOAT32, from_f16},
    [NN_FDTYPE_BF16] = {"BF16", 0, 2, NN_FLOAT32, from_bf16},
    [NN_FDTYPE_I64] = {"I64", 'i', 8, NN_INT64, from_i64},
    [NN_FDTYPE_I32] = {"I32", 'i', 4, NN_INT64, from_i32},
    [NN_FDTYPE_I16] = {"I16", 'i', 2, NN_INT64, from_i16},
    [NN_FDTYPE_I8] = {"I8", 'i', 1, NN_INT64, from_i8},
    [NN_FDTYPE_U32] = {"U32", 'u', 4, NN_INT64, from_u32},
    [NN_FDTYPE_U16] = {"U16", 'u', 2, NN_INT64, from_u16},
    [NN_FDTYPE_U8] = {"U8", 'u', 1, NN_INT64, from_u8},
    [NN_FDTYPE_BOOL] = {"BOOL", 'b', 1, NN_BOOL, from_bool},
};
_Static_assert(sizeof infos / sizeof *infos == NN_FDTYPE_COUNT,
               "one row per stored type");

size_t nn_fdtype_size(nn_fdtype f) { return infos[f].size; }
nn_dtype nn_fdtype_target(nn_fdtype f) { return infos[f].target; }
const char *nn_fdtype_st_name(nn_fdtype f) { return infos[f].st_name; }
char nn_fdtype_npy_kind(nn_fdtype f) { return infos[f].npy_kind; }

nn_fdtype nn_fdtype_of(nn_dtype d) {
  return d == NN_FLOAT32 ? NN_FDTYPE_F32 : d == NN_INT64 ? NN_FDTYPE_I64 : NN_FDTYPE_BOOL;
}

bool nn_fdtype_from_st(const char *name, nn_fdtype *out) {
  for (int f = 0; f < NN_FDTYPE_COUNT; f++)
    if (strcmp(name, infos[f].st_name) == 0) {
      *out = (nn_fdtype)f;
      return true;
    }
  return false;
}

bool nn_fdtype_from_npy(char kind, size_t size, nn_fdtype *out) {
  for (int f = 0; f < NN_FDTYPE_COUNT; f++)
    if (kind == infos[f].npy_kind && size == infos[f].size) {
      *out = (nn_fdtype)f;
      return true;
    }
  return false;
}

static void swap_bytes(unsigned char *p, size_t size, int64_t n) {
  for (int64_t i = 0; i < n; i++, p += size)
    for (size_t a = 0, b = size - 1; a < b; a++, b--) {
      unsigned char c = p[a];
      p[a] = p[b];
      p[b] = c;
    }
}

void nn_fdtype_convert(void *dst, unsigned char *src, nn_fdtype f, int64_t n,
                       bool swap) {
  if (swap && infos[f].size > 1) swap_bytes(src, infos[f].size, n);
  infos[f].convert(dst, src, n);
}
