/*
 * PNG images (nn_image.h) through libpng's simplified API
 * (png_image_*): libpng's longjmp stays inside libpng, which frees its own
 * state on every failure, so the only memory here is the pixel buffer,
 * allocated before the decode and freed on every path. Then the bilinear
 * resize.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include "nn_alloc.h"
#include "nn_image.h"

/* The largest side written: larger images than any course uses; keeps
 * h*w*c far from overflow. */
#define PNG_MAX_SIDE 65536

/* The reading ceilings (nn_image.h): the sides, through libpng's own user
 * limits, and the bytes of the decoded float32 tensor. */
#define PNG_READ_MAX_SIDE 16384
#define PNG_READ_MAX_BYTES ((uint64_t)1 << 30)

typedef struct png_guard {
  jmp_buf jmp;
  char message[128];
} png_guard;

static void guard_error(png_structp png, png_const_charp msg) {
  png_guard *g = png_get_error_ptr(png);
  snprintf(g->message, sizeof g->message, "%s", msg);
  longjmp(g->jmp, 1);
}

static void guard_warning(png_structp png, png_const_charp msg) {
  (void)png, (void)msg; /* the error that follows says enough */
}

/* Reads the chunks before the image data with libpng's low-level API,
 * whose png_set_user_limits refuses sides over PNG_READ_MAX_SIDE as it
 * parses IHDR (the simplified API takes no limits). head: the file's
 * first 24 bytes, whose IHDR sizes name a refused image in the message. */
static nn_io_status check_sides(const char *path, const unsigned char *head, char *err) {
  png_uint_32 w = png_get_uint_32(head + 16), h = png_get_uint_32(head + 20);
  if (memcmp(head + 12, "IHDR", 4) == 0 && (w > PNG_READ_MAX_SIDE || h > PNG_READ_MAX_SIDE))
    return nn_io_fail(err, NN_IO_ERR_FORMAT,
                      "'%s': image of %ux%u exceeds the %dx%d limit on PNG images", path, w, h,
                      PNG_READ_MAX_SIDE, PNG_READ_MAX_SIDE);
  FILE *fp = fopen(path, "rb");
  if (!fp) return nn_io_fail(err, NN_IO_ERR_SYS, "cannot open '%s': %s", path, strerror(errno));
  png_guard g = {.message = ""};
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &g, guard_error, guard_warning);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  nn_io_status st = NN_IO_OK;
  if (!info) {
    st = nn_io_fail(err, NN_IO_ERR_NOMEM, "'%s': out of memory", path);
  } else if (setjmp(g.jmp)) {
    st = nn_io_fail(err, NN_IO_ERR_FORMAT, "'%s': corrupt or truncated PNG (%s)", path, g.message);
  } else {
    png_set_user_limits(png, PNG_READ_MAX_SIDE, PNG_READ_MAX_SIDE);
    png_init_io(png, fp);
    png_read_info(png, info);
  }
  png_destroy_read_struct(&png, info ? &info : NULL, NULL);
  fclose(fp);
  return st;
}

/* Starts a read: opens path, reads the header and picks the output
 * format (8-bit, alpha kept, palette expanded). On failure libpng has
 * already freed its state. */
static nn_io_status begin(png_image *img, const char *path, char *err) {
  memset(img, 0, sizeof *img);
  img->version = PNG_IMAGE_VERSION;
  FILE *fp;
  uint64_t size;
  int st = nn_io_open_read(&fp, &size, path, err); /* a directory is an error here */
  if (st) return (nn_io_status)st;
  unsigned char head[24] = {0};
  size_t got = fread(head, 1, sizeof head, fp);
  int e = ferror(fp) ? errno : 0;
  fclose(fp);
  if (e) return nn_io_fail(err, NN_IO_ERR_SYS, "cannot read '%s': %s", path, strerror(e));
  if (got < 8 || png_sig_cmp(head, 0, 8) != 0)
    return nn_io_fail(err, NN_IO_ERR_FORMAT, "'%s' is not a PNG file (bad signature)", path);
  st = check_sides(path, head, err);
  if (st) return (nn_io_status)st;
  if (!png_image_begin_read_from_file(img, path))
    return nn_io_fail(err, NN_IO_ERR_FORMAT,
                      "'%s': corrupt or truncated PNG (%s)", path, img->message);
  /* Without this libpng takes 16-bit samples that have no gAMA or sRGB
   * chunk for linear light and gamma-encodes them on the way to 8 bits
   * (32768 would load as 0.73); they are plain values like 8-bit ones. */
  img->flags |= PNG_IMAGE_FLAG_16BIT_sRGB;
  img->format &= PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA;
  uint64_t bytes = (uint64_t)PNG_IMAGE_SAMPLE_CHANNELS(img->format) * img->width * img->height *
                   sizeof(float);
  if (bytes > PNG_READ_MAX_BYTES) {
    png_image_free(img);
    return nn_io_fail(err, NN_IO_ERR_FORMAT,
                      "'%s': image of %ux%u with %u channels decodes to %" PRIu64
                      " bytes, over the 1 GiB limit on a decoded PNG",
                      path, img->width, img->height, PNG_IMAGE_SAMPLE_CHANNELS(img->format), bytes);
  }
  return NN_IO_OK;
}

nn_io_status nn_png_info(const char *path, int *c, int64_t *h, int64_t *w, char *err) {
  png_image img;
  nn_io_status st = begin(&img, path, err);
  if (st) return st;
  *c = (int)PNG_IMAGE_SAMPLE_CHANNELS(img.format);
  *h = img.height;
  *w = img.width;
  png_image_free(&img);
  return NN_IO_OK;
}

/* Decodes path into a new buffer of interleaved [h,w,c] bytes (*nbytes
 * of them, to nn_free), after checking it still has the sizes c, h, w. */
static nn_io_status decode(const char *path, int c, int64_t h, int64_t w, unsigned char **out,
                           size_t *out_bytes, char *err) {
  png_image img;
  nn_io_status st = begin(&img, path, err);
  if (st) return st;
  if ((int)PNG_IMAGE_SAMPLE_CHANNELS(img.format) != c || img.height != h || img.width != w) {
    png_image_free(&img);
    return nn_io_fail(err, NN_IO_ERR_FORMAT, "'%s' changed while being read", path);
  }
  size_t n = (size_t)c * (size_t)h * (size_t)w;
  size_t nbytes = n ? n : 1;
  unsigned char *buf = nn_alloc(nbytes);
  if (!buf) {
    png_image_free(&img);
    return nn_io_fail(err, NN_IO_ERR_NOMEM, "'%s': out of memory for %zu pixels", path, n);
  }
  /* background NULL: alpha is kept (it is in the format), never composed */
  if (!png_image_finish_read(&img, NULL, buf, 0, NULL)) {
    nn_free(buf, nbytes);
    return nn_io_fail(err, NN_IO_ERR_FORMAT,
                      "'%s': corrupt or truncated PNG (%s)", path, img.message);
  }
  *out = buf;
  *out_bytes = nbytes;
  return NN_IO_OK;
}

nn_io_status nn_png_read(const char *path, int c, int64_t h, int64_t w, float *out, char *err) {
  unsigned char *buf;
  size_t nbytes;
  nn_io_status st = decode(path, c, h, w, &buf, &nbytes, err);
  if (st) return st;
  /* interleaved [h,w,c] bytes -> planar [c,h,w] floats */
  size_t plane = (size_t)h * (size_t)w;
  for (int k = 0; k < c; k++) {
    float *o = out + (size_t)k * plane;
    const unsigned char *p = buf + k;
    for (size_t i = 0; i < plane; i++) o[i] = nn_unit_from_byte(p[i * (size_t)c]);
  }
  nn_free(buf, nbytes);
  return NN_IO_OK;
}

nn_io_status nn_png_read_bytes(const char *path, int c, int64_t h, int64_t w, unsigned char *out,
                               char *err) {
  unsigned char *buf;
  size_t nbytes;
  nn_io_status st = decode(path, c, h, w, &buf, &nbytes, err);
  if (st) return st;
  size_t plane = (size_t)h * (size_t)w;
  for (int k = 0; k < c; k++) {
    unsigned char *o = out + (size_t)k * plane;
    const unsigned char *p = buf + k;
    for (size_t i = 0; i < plane; i++) o[i] = p[i * (size_t)c];
  }
  nn_free(buf, nbytes);
  return NN_IO_OK;
}

static const png_uint_32 FORMATS[5] = {
    0, PNG_FORMAT_GRAY, PNG_FORMAT_GA, PNG_FORMAT_RGB, PNG_FORMAT_RGBA};

nn_io_status nn_png_write(const char *path, int c, int64_t h, int64_t w, const float *src,
                          char *err) {
  if (c < 1 || c > 4) return nn_io_fail(err, NN_IO_ERR_ARG, "%d channels, expected 1..4", c);
  if (h < 1 || w < 1 || h > PNG_MAX_SIDE || w > PNG_MAX_SIDE)
    return nn_io_fail(err, NN_IO_ERR_ARG, "image of %" PRId64 "x%" PRId64 " cannot be a PNG", h, w);
  size_t plane = (size_t)h * (size_t)w;
  size_t nbytes = plane * (size_t)c;
  unsigned char *buf = nn_alloc(nbytes);
  if (!buf) return nn_io_fail(err, NN_IO_ERR_NOMEM,
                              "'%s': out of memory for %zu pixels", path, plane);
  for (int k = 0; k < c; k++) {
    const float *s = src + (size_t)k * plane;
    unsigned char *q = buf + k;
    for (size_t i = 0; i < plane; i++) {
      float v = s[i];
      v = v > 0.0f ? (v < 1.0f ? v : 1.0f) : 0.0f; /* NaN -> 0 */
      q[i * (size_t)c] = (unsigned char)lrintf(v * 255.0f);
    }
  }
  png_image img;
  memset(&img, 0, sizeof img);
  img.version = PNG_IMAGE_VERSION;
  img.width = (png_uint_32)w;
  img.height = (png_uint_32)h;
  img.format = FORMATS[c];
  nn_io_writer wr;
  int st = nn_io_writer_open(&wr, path, err);
  if (st) {
    nn_free(buf, nbytes);
    return (nn_io_status)st;
  }
  errno = 0;
  int ok = png_image_write_to_stdio(&img, wr.fp, 0, buf, 0, NULL);
  int e = ferror(wr.fp) ? errno : 0; /* libpng says only "Write Error" */
  nn_free(buf, nbytes);
  if (!ok) {
    nn_io_writer_abort(&wr);
    return nn_io_fail(err, NN_IO_ERR_SYS,
                      "cannot write '%s': %s", path, e ? strerror(e) : img.message);
  }
  return (nn_io_status)nn_io_writer_commit(&wr, err);
}

/* Source coordinate of output index i along a side of n -> on: lower
 * index, upper index and the weight of the upper one. */
static void coord(int64_t i, int64_t n, int64_t on, int64_t *lo, int64_t *hi, float *t) {
  /* PyTorch's order of operations (area_pixel_compute_source_index), so
   * values rounded to bytes afterwards round as torchvision's do */
  float scale = (float)n / (float)on;
  float src = scale * ((float)i + 0.5f) - 0.5f;
  if (src < 0) src = 0;
  int64_t i0 = (int64_t)src;
  if (i0 > n - 1) i0 = n - 1;
  *lo = i0;
  *hi = i0 < n - 1 ? i0 + 1 : i0;
  *t = src - (float)i0;
}

void nn_kernel_resize(float *out, const float *x, int64_t c, int64_t h, int64_t w, int64_t oh,
                      int64_t ow) {
  for (int64_t i = 0; i < oh; i++) {
    int64_t y0, y1;
    float ty;
    coord(i, h, oh, &y0, &y1, &ty);
    for (int64_t j = 0; j < ow; j++) {
      int64_t x0, x1;
      float tx;
      coord(j, w, ow, &x0, &x1, &tx);
      for (int64_t k = 0; k < c; k++) {
        const float *p = x + k * h * w;
        float top = p[y0 * w + x0] * (1 - tx) + p[y0 * w + x1] * tx;
        float bot = p[y1 * w + x0] * (1 - tx) + p[y1 * w + x1] * tx;
        out[(k * oh + i) * ow + j] = top * (1 - ty) + bot * ty;
      }
    }
  }
}

nn_status nn_resize(nn_tensor *out, const nn_tensor *x) {
  nn_kernel_resize(nn_tensor_data(out), nn_tensor_data(x), x->shape[0], x->shape[1], x->shape[2],
                   out->shape[1], out->shape[2]);
  return NN_OK;
}
