/* PNG reader and writer (runtime/image.c): round trips for 1 to 4
 * channels, files made here with libpng's full API (16-bit, palette, low
 * bit depths, interlaced, tRNS), bad files, failed writes that must leave
 * the old file whole, and allocation failures on every path. Then the
 * bilinear resize against PyTorch's interpolate (align_corners=False). */
#include <dirent.h>
#include <math.h>
#include <png.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "files.h"
#include "nn_alloc.h"
#include "nn_image.h"

/* Largest difference allowed between a float and its 8-bit value. */
#define QUANT (0.5 / 255 + 1e-6)

/* ---- helpers ---- */

/* A whole PNG as [c,h,w] floats (malloc'd); NULL with rc and err set on
 * failure. */
static float *load(const char *path, int *c, int64_t *h, int64_t *w, int *rc, char *err) {
  *rc = nn_png_info(path, c, h, w, err);
  if (*rc) return NULL;
  float *out = malloc((size_t)*c * (size_t)*h * (size_t)*w * sizeof(float));
  *rc = nn_png_read(path, *c, *h, *w, out, err);
  if (*rc) {
    free(out);
    return NULL;
  }
  return out;
}

/* Header fields of a PNG file, through libpng's full API. */
static bool png_header(const char *path, int *depth, int *ctype, int *interlace) {
  FILE *fp = fopen(path, "rb");
  if (!fp) return false;
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
  png_infop info = png_create_info_struct(png);
  bool ok = false;
  if (!setjmp(png_jmpbuf(png))) {
    png_init_io(png, fp);
    png_read_info(png, info);
    *depth = png_get_bit_depth(png, info);
    *ctype = png_get_color_type(png, info);
    *interlace = png_get_interlace_type(png, info);
    ok = true;
  }
  png_destroy_read_struct(&png, &info, NULL);
  fclose(fp);
  return ok;
}

/* What a file made by write_raw holds besides its rows. */
typedef struct raw_opts {
  const png_color *palette;
  int npalette;
  const unsigned char *trans; /* palette alphas, or NULL */
  int ntrans;
  const png_color_16 *trans_color; /* the transparent gray/RGB, or NULL */
  bool interlaced;
} raw_opts;

/* Writes rows (PNG's own packing: big-endian 16-bit samples, low bit
 * depths packed from the high bits) with libpng's full API. */
static bool write_raw(const char *path, int w, int h, int depth, int ctype,
                      const unsigned char *rows, size_t row_bytes, const raw_opts *o) {
  FILE *fp = fopen(path, "wb");
  if (!fp) return false;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
  png_infop info = png_create_info_struct(png);
  bool ok = false;
  if (!setjmp(png_jmpbuf(png))) {
    png_init_io(png, fp);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, depth, ctype,
                 o && o->interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (o && o->palette) png_set_PLTE(png, info, o->palette, o->npalette);
    if (o && (o->trans || o->trans_color))
      png_set_tRNS(png, info, o->trans, o->ntrans, o->trans_color);
    png_write_info(png, info);
    int passes = png_set_interlace_handling(png);
    for (int p = 0; p < passes; p++)
      for (int y = 0; y < h; y++) png_write_row(png, rows + (size_t)y * row_bytes);
    png_write_end(png, NULL);
    ok = true;
  }
  png_destroy_write_struct(&png, &info);
  fclose(fp);
  return ok;
}

/* A [c,h,w] test pattern: every 8-bit level of each channel is reached
 * somewhere once h*w >= 256, plus values outside [0,1] and a NaN. */
static float *pattern(int c, int64_t h, int64_t w) {
  size_t n = (size_t)c * (size_t)(h * w);
  float *x = malloc(n * sizeof(float));
  for (size_t i = 0; i < n; i++) x[i] = (float)((i * 37) % 301) / 300.0f;
  if (n > 3) {
    x[0] = -0.25f;
    x[1] = 1.5f;
    x[2] = NAN;
    x[3] = 0.5f / 255; /* halfway: rounds to even level 0 or up to 1 */
  }
  return x;
}

static float clamp01(float v) { return v > 0 ? (v < 1 ? v : 1) : 0; }

/* ---- round trips ---- */

/* Writes c channels, checks the header libpng sees, reads it back. */
static void roundtrip(int c, int64_t h, int64_t w) {
  static const int ctypes[5] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA,
                                PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGB_ALPHA};
  char name[64], err[NN_IO_ERRLEN] = "";
  snprintf(name, sizeof name, "rt%d_%dx%d.png", c, (int)h, (int)w);
  const char *path = tmp(name);
  float *x = pattern(c, h, w);
  uint64_t before = live();
  int rc = nn_png_write(path, c, h, w, x, err);
  CHECK(rc == NN_IO_OK);
  if (rc) fprintf(stderr, "  write c=%d: %s\n", c, err);
  int depth = 0, ctype = -1, il = -1;
  CHECK(png_header(path, &depth, &ctype, &il));
  CHECK(depth == 8 && ctype == ctypes[c] && il == PNG_INTERLACE_NONE);
  int rc2, c2 = 0;
  int64_t h2 = 0, w2 = 0;
  float *y = load(path, &c2, &h2, &w2, &rc2, err);
  CHECK(y && c2 == c && h2 == h && w2 == w);
  size_t n = (size_t)c * (size_t)(h * w), bad = 0;
  for (size_t i = 0; y && i < n; i++) {
    float want = isnan(x[i]) ? 0 : clamp01(x[i]);
    float level = y[i] * 255;
    bad += fabsf(y[i] - want) > QUANT || fabsf(level - roundf(level)) > 1e-4f;
  }
  CHECK(bad == 0);
  if (bad) fprintf(stderr, "  c=%d %dx%d: %zu values off\n", c, (int)h, (int)w, bad);
  CHECK(live() == before);
  free(x);
  free(y);
}

static void test_roundtrip(void) {
  for (int c = 1; c <= 4; c++) {
    roundtrip(c, 5, 7); /* not square: rows and columns cannot swap */
    roundtrip(c, 1, 1);
    roundtrip(c, 31, 17);
  }
}

/* Exact 8-bit levels come back exactly, in planar order, and colour
 * under a zero alpha is kept (not premultiplied away). */
static void test_levels_and_alpha(void) {
  char err[NN_IO_ERRLEN];
  float x[4][1][3] = {{{0, 10 / 255.f, 1}}, {{20 / 255.f, 30 / 255.f, 40 / 255.f}},
                      {{50 / 255.f, 60 / 255.f, 70 / 255.f}}, {{0, 128 / 255.f, 1}}};
  CHECK(nn_png_write(tmp("rgba.png"), 4, 1, 3, &x[0][0][0], err) == NN_IO_OK);
  int rc, c;
  int64_t h, w;
  float *y = load(tmp("rgba.png"), &c, &h, &w, &rc, err);
  CHECK(y && c == 4 && h == 1 && w == 3);
  for (int i = 0; y && i < 12; i++) CHECK(y[i] == (&x[0][0][0])[i]);
  free(y);
  float ga[2][2][1] = {{{100 / 255.f}, {200 / 255.f}}, {{0}, {1}}};
  CHECK(nn_png_write(tmp("ga.png"), 2, 2, 1, &ga[0][0][0], err) == NN_IO_OK);
  y = load(tmp("ga.png"), &c, &h, &w, &rc, err);
  CHECK(y && c == 2 && h == 2 && w == 1);
  for (int i = 0; y && i < 4; i++) CHECK(y[i] == (&ga[0][0][0])[i]);
  free(y);
}

/* ---- files from other writers ---- */

/* 16-bit samples with no gAMA chunk are plain values reduced to 8 bits,
 * not linear light turned into sRGB. */
static void test_16bit(void) {
  static const unsigned short gray[6] = {0, 1000, 16384, 32768, 50000, 65535};
  unsigned char rows[2][3 * 2];
  for (int i = 0; i < 6; i++) {
    rows[i / 3][(i % 3) * 2] = (unsigned char)(gray[i] >> 8);
    rows[i / 3][(i % 3) * 2 + 1] = (unsigned char)(gray[i] & 0xff);
  }
  CHECK(write_raw(tmp("g16.png"), 3, 2, 16, PNG_COLOR_TYPE_GRAY, &rows[0][0], 6, NULL));
  char err[NN_IO_ERRLEN];
  int rc, c;
  int64_t h, w;
  float *y = load(tmp("g16.png"), &c, &h, &w, &rc, err);
  CHECK(y && c == 1 && h == 2 && w == 3);
  for (int i = 0; y && i < 6; i++) CHECK_NEAR(y[i], gray[i] / 65535.0, QUANT);
  free(y);

  /* RGBA 16-bit, one pixel per alpha level: colours stay as stored. */
  static const unsigned short px[3][4] = {
      {65535, 32768, 0, 65535}, {1000, 40000, 65535, 32768}, {50000, 20000, 3000, 0}};
  unsigned char row[3 * 8];
  for (int p = 0; p < 3; p++)
    for (int k = 0; k < 4; k++) {
      row[p * 8 + k * 2] = (unsigned char)(px[p][k] >> 8);
      row[p * 8 + k * 2 + 1] = (unsigned char)(px[p][k] & 0xff);
    }
  CHECK(write_raw(tmp("rgba16.png"), 3, 1, 16, PNG_COLOR_TYPE_RGB_ALPHA, row, sizeof row, NULL));
  y = load(tmp("rgba16.png"), &c, &h, &w, &rc, err);
  CHECK(y && c == 4 && h == 1 && w == 3);
  for (int k = 0; y && k < 4; k++)
    for (int p = 0; p < 3; p++) CHECK_NEAR(y[k * 3 + p], px[p][k] / 65535.0, QUANT);
  free(y);
}

/* Palette images expand to RGB, or RGBA with a tRNS chunk. */
static void test_palette(void) {
  static const png_color pal[4] = {{0, 0, 0}, {255, 0, 0}, {10, 128, 250}, {255, 255, 255}};
  unsigned char rows[2][2] = {{0x1B, 0x00}, {0xE4, 0x00}}; /* 2-bit: 0 1 2 3 / 3 2 1 0 */
  raw_opts o = {.palette = pal, .npalette = 4};
  CHECK(write_raw(tmp("pal.png"), 4, 2, 2, PNG_COLOR_TYPE_PALETTE, &rows[0][0], 2, &o));
  char err[NN_IO_ERRLEN];
  int rc, c;
  int64_t h, w;
  float *y = load(tmp("pal.png"), &c, &h, &w, &rc, err);
  CHECK(y && c == 3 && h == 2 && w == 4);
  static const int idx[8] = {0, 1, 2, 3, 3, 2, 1, 0};
  for (int p = 0; y && p < 8; p++) {
    CHECK(y[0 * 8 + p] == pal[idx[p]].red / 255.0f);
    CHECK(y[1 * 8 + p] == pal[idx[p]].green / 255.0f);
    CHECK(y[2 * 8 + p] == pal[idx[p]].blue / 255.0f);
  }
  free(y);

  static const unsigned char alpha[3] = {0, 128, 255}; /* entry 3 opaque by default */
  o.trans = alpha;
  o.ntrans = 3;
  CHECK(write_raw(tmp("palt.png"), 4, 2, 2, PNG_COLOR_TYPE_PALETTE, &rows[0][0], 2, &o));
  y = load(tmp("palt.png"), &c, &h, &w, &rc, err);
  CHECK(y && c == 4 && h == 2 && w == 4);
  for (int p = 0; y && p < 8; p++) {
    CHECK(y[3 * 8 + p] == (idx[p] < 3 ? alpha[idx[p]] : 255) / 255.0f);
    if (idx[p] > 0) CHECK(y[0 * 8 + p] == pal[idx[p]].red / 255.0f);
    if (idx[p] > 0) CHECK(y[2 * 8 + p] == pal[idx[p]].blue / 255.0f);
  }
  free(y);
}

/* 1-bit gray, an interlaced RGB image and gray with a transparent
 * colour. */
static void test_other_layouts(void) {
  char err[NN_IO_ERRLEN];
  int rc, c;
  int64_t h, w;
  unsigned char bits[1] = {0xA0}; /* 1 0 1 0 */
  CHECK(write_raw(tmp("g1.png"), 4, 1, 1, PNG_COLOR_TYPE_GRAY, bits, 1, NULL));
  float *y = load(tmp("g1.png"), &c, &h, &w, &rc, err);
  CHECK(y && c == 1 && h == 1 && w == 4);
  CHECK(y && y[0] == 1 && y[1] == 0 && y[2] == 1 && y[3] == 0);
  free(y);

  enum { W = 9, H = 11 };
  unsigned char rgb[H][W * 3];
  for (int i = 0; i < H; i++)
    for (int j = 0; j < W * 3; j++) rgb[i][j] = (unsigned char)(i * 23 + j * 7);
  raw_opts il = {.interlaced = true};
  CHECK(write_raw(tmp("adam7.png"), W, H, 8, PNG_COLOR_TYPE_RGB, &rgb[0][0], W * 3, &il));
  y = load(tmp("adam7.png"), &c, &h, &w, &rc, err);
  CHECK(y && c == 3 && h == H && w == W);
  int bad = 0;
  for (int k = 0; y && k < 3; k++)
    for (int i = 0; i < H; i++)
      for (int j = 0; j < W; j++) bad += y[(k * H + i) * W + j] != rgb[i][j * 3 + k] / 255.0f;
  CHECK(bad == 0);
  free(y);

  png_color_16 key = {.gray = 7};
  raw_opts t = {.trans_color = &key};
  unsigned char g[3] = {7, 8, 255};
  CHECK(write_raw(tmp("gt.png"), 3, 1, 8, PNG_COLOR_TYPE_GRAY, g, 3, &t));
  y = load(tmp("gt.png"), &c, &h, &w, &rc, err);
  CHECK(y && c == 2 && h == 1 && w == 3);
  CHECK(y && y[3] == 0 && y[4] == 1 && y[5] == 1);
  CHECK(y && y[1] == 8 / 255.0f && y[2] == 1);
  free(y);
}

/* ---- bad files ---- */

static void test_bad_files(void) {
  char err[NN_IO_ERRLEN] = "";
  int c;
  int64_t h, w;
  float out[64];
  uint64_t before = live();
  EXPECT_ERR(nn_png_info(tmp("none.png"), &c, &h, &w, err), NN_IO_ERR_SYS, err, tmp("none.png"),
             "No such file");
  EXPECT_ERR(nn_png_read(tmp("none.png"), 1, 1, 1, out, err), NN_IO_ERR_SYS, err, "none.png",
             NULL);
  write_bytes(tmp("text.png"), "not a png at all, just text", 27);
  EXPECT_ERR(nn_png_info(tmp("text.png"), &c, &h, &w, err), NN_IO_ERR_FORMAT, err,
             tmp("text.png"), "not a PNG");
  EXPECT_ERR(nn_png_read(tmp("text.png"), 1, 1, 1, out, err), NN_IO_ERR_FORMAT, err, "text.png",
             "not a PNG");
  write_bytes(tmp("empty.png"), "", 0);
  EXPECT_ERR(nn_png_info(tmp("empty.png"), &c, &h, &w, err), NN_IO_ERR_FORMAT, err,
             tmp("empty.png"), NULL);
  mkdir(tmp("dir.png"), 0700);
  EXPECT_ERR(nn_png_info(tmp("dir.png"), &c, &h, &w, err), NN_IO_ERR_SYS, err, tmp("dir.png"),
             "directory");
  EXPECT_ERR(nn_png_read(tmp("dir.png"), 1, 1, 1, out, err), NN_IO_ERR_SYS, err, "dir.png",
             "directory");

  /* A good 4x4 RGB file cut at every length: the signature and header
   * give info errors, the image data read errors. */
  float x[48];
  for (int i = 0; i < 48; i++) x[i] = (float)i / 47;
  CHECK(nn_png_write(tmp("good.png"), 3, 4, 4, x, err) == NN_IO_OK);
  size_t n = 0;
  unsigned char *good = read_bytes(tmp("good.png"), &n);
  CHECK(good && n > 60);
  int info_fails = 0, read_fails = 0;
  for (size_t cut = 1; good && cut + 12 < n; cut++) { /* keeps IDAT's end out */
    write_bytes(tmp("cut.png"), good, cut);
    int rc = nn_png_info(tmp("cut.png"), &c, &h, &w, err);
    if (rc) {
      info_fails++;
      EXPECT_ERR(rc, NN_IO_ERR_FORMAT, err, tmp("cut.png"), NULL);
      continue;
    }
    CHECK(c == 3 && h == 4 && w == 4);
    rc = nn_png_read(tmp("cut.png"), 3, 4, 4, out, err);
    read_fails += rc != NN_IO_OK;
    EXPECT_ERR(rc, NN_IO_ERR_FORMAT, err, tmp("cut.png"), NULL);
  }
  CHECK(info_fails > 0 && read_fails > 0);

  /* A flipped byte in the image data breaks its CRC. */
  if (good) {
    good[n - 16] ^= 0x55;
    write_bytes(tmp("crc.png"), good, n);
    CHECK(nn_png_info(tmp("crc.png"), &c, &h, &w, err) == NN_IO_OK);
    EXPECT_ERR(nn_png_read(tmp("crc.png"), 3, 4, 4, out, err), NN_IO_ERR_FORMAT, err, "crc.png",
               NULL);
  }
  free(good);

  /* Sizes that disagree with the file (it changed since nn_png_info). */
  EXPECT_ERR(nn_png_read(tmp("good.png"), 1, 4, 4, out, err), NN_IO_ERR_FORMAT, err, "good.png",
             "changed");
  EXPECT_ERR(nn_png_read(tmp("good.png"), 3, 4, 5, out, err), NN_IO_ERR_FORMAT, err, "good.png",
             "changed");
  /* and the reader still works after all of libpng's errors */
  CHECK(nn_png_read(tmp("good.png"), 3, 4, 4, out, err) == NN_IO_OK);
  CHECK_NEAR(out[47], 1.0, QUANT);
  CHECK(live() == before);
}

/* ---- failed writes ---- */

static void test_write_errors(void) {
  char err[NN_IO_ERRLEN] = "";
  float x[12] = {0};
  int files = count_files(tmpdir);
  EXPECT_ERR(nn_png_write(tmp("c0.png"), 0, 2, 2, x, err), NN_IO_ERR_ARG, err, "0 channels", NULL);
  EXPECT_ERR(nn_png_write(tmp("c5.png"), 5, 1, 1, x, err), NN_IO_ERR_ARG, err, "5 channels", NULL);
  EXPECT_ERR(nn_png_write(tmp("h0.png"), 1, 0, 2, x, err), NN_IO_ERR_ARG, err, "0x2", NULL);
  EXPECT_ERR(nn_png_write(tmp("big.png"), 1, 1, 70000, x, err), NN_IO_ERR_ARG, err, "1x70000",
             NULL);
  EXPECT_ERR(nn_png_write(tmp("nodir/x.png"), 1, 2, 2, x, err), NN_IO_ERR_SYS, err,
             tmp("nodir/x.png"), "No such file");
  struct stat st;
  CHECK(stat(tmp("nodir"), &st) != 0 && stat(tmp("nodir/x.png"), &st) != 0);
  mkdir(tmp("adir.png"), 0700);
  EXPECT_ERR(nn_png_write(tmp("adir.png"), 1, 2, 2, x, err), NN_IO_ERR_SYS, err, tmp("adir.png"),
             NULL);
  CHECK(stat(tmp("adir.png"), &st) == 0 && S_ISDIR(st.st_mode));
  CHECK(count_files(tmpdir) == files + 1); /* adir.png only: no temp file left */
  rmdir(tmp("adir.png"));
}

/* Every failed write leaves the previous file byte for byte and no temp
 * file; a good write then replaces it. */
static void test_atomic(void) {
  char err[NN_IO_ERRLEN] = "";
  const char *path = tmp("keep.png");
  enum { S = 64 };
  float *old = malloc(3 * S * S * sizeof(float));
  float *noise = malloc(3 * S * S * sizeof(float));
  unsigned s = 12345;
  for (int i = 0; i < 3 * S * S; i++) {
    old[i] = (float)(i % S) / S;
    s = s * 1103515245u + 12345u;
    noise[i] = (float)(s >> 16 & 0xff) / 255; /* does not compress */
  }
  CHECK(nn_png_write(path, 3, S, S, old, err) == NN_IO_OK);
  size_t n = 0;
  unsigned char *before = read_bytes(path, &n);
  CHECK(before != NULL);
  int files = count_files(tmpdir);

  /* bad arguments and no memory fail before any file is opened */
  CHECK(nn_png_write(path, 7, S, S, noise, err) == NN_IO_ERR_ARG);
  nn_alloc_fail_after(1);
  CHECK(nn_png_write(path, 3, S, S, noise, err) == NN_IO_ERR_NOMEM);
  nn_alloc_fail_after(0);
  CHECK(same_file(path, before, n) && count_files(tmpdir) == files);

  /* the temp file cannot be created: a directory holds its name */
  char tmpname[256];
  snprintf(tmpname, sizeof tmpname, "%s.tmp.%ld", path, (long)getpid());
  CHECK(mkdir(tmpname, 0700) == 0);
  EXPECT_ERR(nn_png_write(path, 3, S, S, noise, err), NN_IO_ERR_SYS, err, path, NULL);
  CHECK(rmdir(tmpname) == 0);
  CHECK(same_file(path, before, n) && count_files(tmpdir) == files);

  /* the disk "fills" mid-write: files may not grow past 1000 bytes */
  struct rlimit lim, small;
  CHECK(getrlimit(RLIMIT_FSIZE, &lim) == 0);
  small = lim;
  small.rlim_cur = 1000;
  void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
  CHECK(setrlimit(RLIMIT_FSIZE, &small) == 0);
  uint64_t live0 = live();
  int rc = nn_png_write(path, 3, S, S, noise, err);
  setrlimit(RLIMIT_FSIZE, &lim);
  signal(SIGXFSZ, prev);
  EXPECT_ERR(rc, NN_IO_ERR_SYS, err, path, "too large");
  CHECK(live() == live0);
  CHECK(same_file(path, before, n) && count_files(tmpdir) == files);

  /* and a write that works replaces the file */
  CHECK(nn_png_write(path, 3, S, S, noise, err) == NN_IO_OK);
  CHECK(!same_file(path, before, n) && count_files(tmpdir) == files);
  int rc2, c;
  int64_t h, w;
  float *y = load(path, &c, &h, &w, &rc2, err);
  CHECK(y && c == 3 && h == S && w == S);
  int bad = 0;
  for (int i = 0; y && i < 3 * S * S; i++) bad += fabsf(y[i] - noise[i]) > QUANT;
  CHECK(bad == 0);
  free(y);
  free(before);
  free(old);
  free(noise);
}

/* ---- allocation failures ---- */

/* Runs op with the k-th allocation failing, k = 1, 2, ... until it
 * succeeds; every failure must be NN_IO_ERR_NOMEM naming the path, with
 * nothing leaked and no file left behind. Returns the failures seen. */
static int fail_each_alloc(int (*op)(char *err), const char *path) {
  int failures = 0;
  for (uint64_t k = 1; k < 100; k++) {
    char err[NN_IO_ERRLEN] = "";
    uint64_t before = live();
    int files = count_files(tmpdir);
    nn_alloc_fail_after(k);
    int rc = op(err);
    nn_alloc_fail_after(0);
    if (rc == NN_IO_OK) break;
    failures++;
    EXPECT_ERR(rc, NN_IO_ERR_NOMEM, err, path, NULL);
    CHECK(live() == before);
    CHECK(count_files(tmpdir) == files);
  }
  return failures;
}

static int op_write(char *err) {
  float x[3 * 6 * 5];
  for (int i = 0; i < 90; i++) x[i] = (float)i / 89;
  remove(tmp("oom.png"));
  return nn_png_write(tmp("oom.png"), 3, 6, 5, x, err);
}

static int op_read(char *err) {
  float x[3 * 6 * 5];
  int rc = nn_png_read(tmp("oom_src.png"), 3, 6, 5, x, err);
  if (rc == NN_IO_OK) CHECK_NEAR(x[89], 1.0, QUANT);
  return rc;
}

static int op_info(char *err) {
  int c;
  int64_t h, w;
  return nn_png_info(tmp("oom_src.png"), &c, &h, &w, err);
}

static void test_alloc_failures(void) {
  char err[NN_IO_ERRLEN];
  float x[3 * 6 * 5];
  for (int i = 0; i < 90; i++) x[i] = (float)i / 89;
  CHECK(nn_png_write(tmp("oom_src.png"), 3, 6, 5, x, err) == NN_IO_OK);
  CHECK(fail_each_alloc(op_write, tmp("oom.png")) >= 1);
  CHECK(fail_each_alloc(op_read, tmp("oom_src.png")) >= 1);
  CHECK(fail_each_alloc(op_info, tmp("oom_src.png")) == 0);
  remove(tmp("oom.png"));
}

/* ---- resize ---- */

/* nn_resize of x [c,h,w] to [c,oh,ow] equals want, exactly. */
static bool resized(const float *x, int64_t c, int64_t h, int64_t w, int64_t oh, int64_t ow,
                    const float *want) {
  int64_t xs[3] = {c, h, w}, os[3] = {c, oh, ow};
  nn_tensor *t = nn_tensor_empty(NN_FLOAT32, 3, xs), *o = nn_tensor_empty(NN_FLOAT32, 3, os);
  memcpy(nn_tensor_data(t), x, sizeof(float) * (size_t)(c * h * w));
  bool ok = nn_resize(o, t) == NN_OK &&
            memcmp(nn_tensor_data(o), want, sizeof(float) * (size_t)(c * oh * ow)) == 0;
  nn_tensor_release(t);
  nn_tensor_release(o);
  return ok;
}

/* torch.nn.functional.interpolate(x, size, mode='bilinear',
 * align_corners=False) of these small images: borders clamp, no
 * antialiasing when shrinking, the same size is the identity. */
static void test_resize(void) {
  const float x[2 * 2 * 2] = {0, 1, 2, 3, 10, 20, 30, 40};
  const float up[2 * 4 * 4] = {0,   0.25f, 0.75f, 1,  0.5f, 0.75f, 1.25f, 1.5f,
                               1.5f, 1.75f, 2.25f, 2.5f, 2,  2.25f, 2.75f, 3,
                               10,  12.5f, 17.5f, 20, 15,   17.5f, 22.5f, 25,
                               25,  27.5f, 32.5f, 35, 30,   32.5f, 37.5f, 40};
  CHECK(resized(x, 2, 2, 2, 4, 4, up));
  CHECK(resized(x, 2, 2, 2, 2, 2, x));
  const float row[4] = {0, 1, 2, 3}, half[2] = {0.5f, 2.5f}, wide[3] = {0, 1.5f, 3};
  CHECK(resized(row, 1, 1, 4, 1, 2, half));
  CHECK(resized(half, 1, 1, 2, 1, 1, (const float[]){1.5f}));
  CHECK(resized((const float[]){0, 3}, 1, 1, 2, 1, 3, wide));
  CHECK(resized((const float[]){7}, 1, 1, 1, 2, 3, (const float[]){7, 7, 7, 7, 7, 7}));
}

int main(void) {
  if (!make_tmpdir("image")) return 1;
  RUN(test_roundtrip);
  RUN(test_levels_and_alpha);
  RUN(test_16bit);
  RUN(test_palette);
  RUN(test_other_layouts);
  RUN(test_bad_files);
  RUN(test_write_errors);
  RUN(test_atomic);
  RUN(test_alloc_failures);
  RUN(test_resize);
  remove_tree(tmpdir);
  return check_summary();
}
