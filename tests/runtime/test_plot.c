/* PNG plots (runtime/plot.c): files are PNGs of the expected size, odd
 * data draws, failed writes name the path and leave nothing behind, and
 * an allocation failure is reported; series values from tensors and the
 * default x (1..n). */
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "files.h"
#include "nn_alloc.h"
#include "nn_plot.h"

/* Width and height from the PNG at path; false unless the signature and
 * the IHDR chunk are there. */
static bool png_size(const char *path, uint32_t *w, uint32_t *h) {
  unsigned char b[24];
  FILE *f = fopen(path, "rb");
  if (!f) return false;
  size_t got = fread(b, 1, sizeof b, f);
  fclose(f);
  if (got != sizeof b || memcmp(b, "\x89PNG\r\n\x1a\n", 8) || memcmp(b + 12, "IHDR", 4)) return false;
  *w = (uint32_t)b[16] << 24 | (uint32_t)b[17] << 16 | (uint32_t)b[18] << 8 | b[19];
  *h = (uint32_t)b[20] << 24 | (uint32_t)b[21] << 16 | (uint32_t)b[22] << 8 | b[23];
  return true;
}

static void test_lines(void) {
  double x[5] = {1, 2, 3, 4, 5}, y[5] = {0.9, 0.5, NAN, 0.2, INFINITY}, z[5] = {1, 1, 1, 1, 1};
  nn_plot_series s[2] = {{.name = "train", .x = x, .y = y, .n = 5}, {.x = x, .y = z, .n = 5}};
  nn_plot_labels labels = {
      .title = "title", .xlabel = "epoch", .ylabel = "loss", .width = 0, .height = 0};
  char err[NN_PLOT_ERRLEN];
  uint32_t w = 0, h = 0;
  CHECK(nn_plot_lines(tmp("a.png"), s, 2, &labels, err) == 0);
  CHECK(png_size(tmp("a.png"), &w, &h) && w == 800 && h == 500);
  nn_plot_labels small = {
      .title = NULL, .xlabel = NULL, .ylabel = NULL, .width = 320, .height = 240};
  nn_plot_series one = {.name = "p", .x = x, .y = y, .n = 1};
  CHECK(nn_plot_lines(tmp("b.png"), &one, 1, &small, err) == 0);
  CHECK(png_size(tmp("b.png"), &w, &h) && w == 320 && h == 240);
  double nan2[2] = {NAN, NAN};
  nn_plot_series none = {.name = "nan", .x = x, .y = nan2, .n = 2};
  CHECK(nn_plot_lines(tmp("c.png"), &none, 1, &labels, err) == 0);
  nn_plot_labels tiny = {.title = NULL, .xlabel = NULL, .ylabel = NULL, .width = 60, .height = 60};
  CHECK(nn_plot_lines(tmp("d.png"), &one, 1, &tiny, err) == -1);
  CHECK(strstr(err, "60x60") != NULL);
}

/* A series without x is drawn at 1..n, pixel for pixel. */
static void test_default_x(void) {
  double x[4] = {1, 2, 3, 4}, y[4] = {0.5, NAN, 0.25, 2};
  nn_plot_series given = {.name = "s", .x = x, .y = y, .n = 4},
                 implied = {.name = "s", .x = NULL, .y = y, .n = 4};
  nn_plot_labels labels = {.title = "t", .xlabel = NULL, .ylabel = NULL, .width = 0, .height = 0};
  char err[NN_PLOT_ERRLEN];
  CHECK(nn_plot_lines(tmp("x1.png"), &given, 1, &labels, err) == 0);
  CHECK(nn_plot_lines(tmp("x2.png"), &implied, 1, &labels, err) == 0);
  size_t n = 0;
  unsigned char *png = read_bytes(tmp("x1.png"), &n);
  CHECK(png && same_file(tmp("x2.png"), png, n));
  free(png);
}

/* Tensor values as doubles: strided float32, int64 through float32, bool. */
static void test_tensor_values(void) {
  nn_tensor *f = nn_tensor_empty(NN_FLOAT32, 1, (int64_t[]){6});
  for (int i = 0; i < 6; i++) ((float *)nn_tensor_data(f))[i] = 0.1f * (float)i;
  nn_tensor *odd = nn_tensor_view(f, 1, (int64_t[]){3}, (int64_t[]){2}, 1);
  double out[3];
  nn_plot_tensor_values(out, odd);
  CHECK(out[0] == (double)0.1f && out[1] == (double)(0.1f * 3) && out[2] == (double)(0.1f * 5));
  nn_tensor *i = nn_tensor_empty(NN_INT64, 1, (int64_t[]){2});
  ((int64_t *)nn_tensor_data(i))[0] = -7, ((int64_t *)nn_tensor_data(i))[1] = 16777217;
  nn_plot_tensor_values(out, i);
  CHECK(out[0] == -7 && out[1] == 16777216);
  nn_tensor *b = nn_tensor_empty(NN_BOOL, 1, (int64_t[]){2});
  ((bool *)nn_tensor_data(b))[0] = true, ((bool *)nn_tensor_data(b))[1] = false;
  nn_plot_tensor_values(out, b);
  CHECK(out[0] == 1 && out[1] == 0);
  nn_tensor_release(odd), nn_tensor_release(f), nn_tensor_release(i), nn_tensor_release(b);
}

/* Scale mapping: linear and log10 fractions along an axis. */
static void test_axis_frac(void) {
  CHECK(nn_plot_axis_frac(0, 10, false, 0) == 0);
  CHECK(fabs(nn_plot_axis_frac(0, 10, false, 2.5) - 0.25) < 1e-12);
  CHECK(fabs(nn_plot_axis_frac(1, 1000, true, 10) - 1.0 / 3) < 1e-12);
  CHECK(fabs(nn_plot_axis_frac(0.01, 100, true, 1) - 0.5) < 1e-12);
  CHECK(fabs(nn_plot_axis_frac(0.01, 100, true, 100) - 1) < 1e-12);
}

/* Ticks: nice linear steps, integral steps for epochs, powers of ten on
 * log axes (every k-th decade for a wide range). */
static void test_ticks(void) {
  double t[64], lo, hi;
  int n = nn_plot_ticks(0.13, 0.92, false, false, t, 64, &lo, &hi);
  CHECK(n == 6 && lo == 0 && fabs(hi - 1) < 1e-12 && fabs(t[1] - 0.2) < 1e-12);
  n = nn_plot_ticks(1, 3, false, true, t, 64, &lo, &hi);
  CHECK(n == 3 && t[0] == 1 && t[1] == 2 && t[2] == 3);
  n = nn_plot_ticks(0.003, 25, true, false, t, 64, &lo, &hi);
  CHECK(n == 6 && fabs(lo - 1e-3) < 1e-15 && fabs(hi - 100) < 1e-9);
  CHECK(fabs(t[0] - 1e-3) < 1e-15 && fabs(t[3] - 1) < 1e-12 && fabs(t[5] - 100) < 1e-9);
  n = nn_plot_ticks(5, 5, true, false, t, 64, &lo, &hi); /* one value: its decade */
  CHECK(n == 2 && fabs(lo - 1) < 1e-12 && fabs(hi - 10) < 1e-12);
  n = nn_plot_ticks(1e-20, 1e20, true, false, t, 64, &lo, &hi); /* 40 decades: every 5th */
  CHECK(n == 9 && fabs(t[1] / t[0] - 1e5) < 1e-3);
}

/* Bin counting as numpy.histogram: hi falls in the last bin, values
 * outside and non-finite ones are not counted. */
static void test_bin_counts(void) {
  double v[9] = {0, 0.1, 0.5, 0.99, 1, 1.5, -0.1, NAN, INFINITY}, c[4];
  nn_plot_bin_counts(v, 9, 0, 1, 4, c);
  CHECK(c[0] == 2 && c[1] == 0 && c[2] == 1 && c[3] == 2);
  double same[3] = {2, 2, 2};
  nn_plot_bin_counts(same, 3, 2, 2, 3, c);
  CHECK(c[0] == 3 && c[1] == 0 && c[2] == 0);
  CHECK(nn_plot_first_nonfinite(v, 7) == -1 && nn_plot_first_nonfinite(v, 9) == 7);
}

/* Every chart kind writes a PNG of its size; a log axis refuses values
 * <= 0, naming the series and the value. */
static void test_kinds(void) {
  char err[NN_PLOT_ERRLEN];
  uint32_t w = 0, h = 0;
  double x[4] = {1, 10, 100, 1000}, y[4] = {0.5, 0.05, 0.01, 0.002}, v[4] = {3, -1, 2, 0};
  nn_plot_point pt = {10, 0.05, "here"};
  double vl[1] = {100};
  nn_plot_series s[2] = {
      {.name = "a", .x = x, .y = y, .n = 4, .style = NN_PLOT_DASHED, .marker = NN_PLOT_MARK_SQUARE},
      {.name = "b", .x = x, .y = x, .n = 4, .style = NN_PLOT_DOTTED, .color = 4}};
  nn_plot_labels lg = {.title = "log",
                       .xlog = true,
                       .ylog = true,
                       .vlines = vl,
                       .nvlines = 1,
                       .points = &pt,
                       .npoints = 1};
  CHECK(nn_plot_lines(tmp("log.png"), s, 2, &lg, err) == 0);
  CHECK(png_size(tmp("log.png"), &w, &h) && w == 800 && h == 500);
  nn_plot_series neg = {.name = "n", .x = x, .y = v, .n = 4};
  CHECK(nn_plot_lines(tmp("neg.png"), &neg, 1, &lg, err) == -1);
  CHECK(strstr(err, "yscale 'log'") && strstr(err, "series 1 y[2] = -1"));
  const char *cats[4] = {"w", "x", "y", "z"};
  nn_plot_series bars[2] = {{.name = "p", .y = v, .n = 4}, {.name = "q", .y = y, .n = 4}};
  nn_plot_labels lb = {.categories = cats, .ncategories = 4, .width = 400, .height = 300};
  CHECK(nn_plot_lines(tmp("bar.png"), bars, 2, &lb, err) == 0);
  CHECK(png_size(tmp("bar.png"), &w, &h) && w == 400 && h == 300);
  nn_plot_labels hl = {.xlabel = "v"};
  CHECK(nn_plot_hist(tmp("hist.png"), bars, 2, 7, &hl, err) == 0);
  CHECK(png_size(tmp("hist.png"), &w, &h) && w == 800 && h == 500);
  double m[6] = {5, 1, 0, 2, 7, 1};
  const char *rn[2] = {"r1", "r2"}, *cn[3] = {"a", "bb", "a very long class name"};
  nn_plot_labels ht = {.title = "cm", .xlabel = "predicted", .ylabel = "true"};
  CHECK(nn_plot_heatmap(tmp("heat.png"), m, 2, 3, rn, cn, true, &ht, err) == 0);
  CHECK(png_size(tmp("heat.png"), &w, &h) && w >= 240 && h > 2 * 64);
  CHECK(nn_plot_heatmap(tmp("heat2.png"), m, 3, 2, NULL, NULL, false, &ht, err) == 0);
  double z[12];
  for (int i = 0; i < 12; i++)
    z[i] = (i % 4) * (i / 4) - 1.5;
  nn_plot_field fd = {.z = z, .nx = 4, .ny = 3, .x0 = -1, .x1 = 1, .y0 = 0, .y1 = 2, .levels = 5};
  nn_plot_labels fl = {.field = &fd, .width = 300, .height = 300};
  CHECK(nn_plot_lines(tmp("field.png"), s, 1, &fl, err) == 0);
  CHECK(png_size(tmp("field.png"), &w, &h) && w == 300 && h == 300);
  fd.classes = true, fd.zlog = false;
  for (int i = 0; i < 12; i++)
    z[i] = 1 + (i % 4 > 1);
  CHECK(nn_plot_lines(tmp("regions.png"), s, 1, &fl, err) == 0);
  /* A failed allocation (the histogram's buffers, the field's bands) is
   * an error naming the path, and leaks nothing. */
  uint64_t live = nn_memory_stats_get().live_bytes;
  nn_alloc_fail_after(1);
  CHECK(nn_plot_hist(tmp("nomem.png"), bars, 2, 7, &hl, err) == -1);
  nn_alloc_fail_after(0);
  CHECK(strstr(err, "nomem.png") != NULL);
  nn_alloc_fail_after(1);
  CHECK(nn_plot_lines(tmp("nomem.png"), s, 1, &fl, err) == -1);
  nn_alloc_fail_after(0);
  CHECK(strstr(err, "nomem.png") != NULL);
  CHECK(nn_memory_stats_get().live_bytes == live);
  nn_plot_panel p[2] = {{s, 2, &lg}, {bars, 1, &hl}};
  CHECK(nn_plot_panels(tmp("panels.png"), p, 2, "two", 0, 0, err) == 0);
  CHECK(png_size(tmp("panels.png"), &w, &h) && w == 840 && h == 400);
  CHECK(nn_plot_panels(tmp("panels.png"), p, 2, NULL, 180, 300, err) == -1);
  CHECK(strstr(err, "too small") != NULL);
}

static void test_images(void) {
  float data[3 * 3 * 4 * 5];
  for (int i = 0; i < 3 * 3 * 4 * 5; i++) data[i] = (float)(i % 7);
  data[3] = NAN;
  char err[NN_PLOT_ERRLEN];
  uint32_t w = 0, h = 0;
  /* 4x5 images zoom 13x to 52x65; 2 per row. */
  CHECK(nn_plot_images(tmp("g.png"), data, 3, 3, 4, 5, 2, NAN, NAN, NULL, NULL, NULL, err) == 0);
  CHECK(png_size(tmp("g.png"), &w, &h) && w == 6 + 2 * (65 + 6) && h == 6 + 2 * (52 + 6));
  const char *caps[9] = {"1", "2", "3", "4", "5", "6", "7", "8", "9"};
  bool red[9] = {false, true};
  CHECK(nn_plot_images(tmp("g1.png"), data, 9, 1, 4, 5, 3, 0, 6, caps, red, "t", err) == 0);
  CHECK(png_size(tmp("g1.png"), &w, &h) && w == 6 + 3 * (65 + 6) &&
        h == 32 + 6 + 3 * (52 + 18 + 6));
  CHECK(nn_plot_images(tmp("big.png"), data, 1, 1, 40000, 1, 1, NAN, NAN, NULL, NULL, NULL, err) ==
        -1);
  CHECK(strstr(err, "40000") != NULL && strstr(err, "big.png") != NULL);
}

static void test_write_errors(void) {
  double x[2] = {1, 2};
  nn_plot_series s = {.name = "s", .x = x, .y = x, .n = 2};
  nn_plot_labels labels = {0};
  char err[NN_PLOT_ERRLEN];
  const char *missing = tmp("no/such/p.png");
  CHECK(nn_plot_lines(missing, &s, 1, &labels, err) == -1);
  CHECK(strstr(err, missing) != NULL);
  /* Renaming onto a directory fails after the temporary was written. */
  mkdir(tmp("dir"), 0700);
  int before = count_files(tmpdir);
  CHECK(nn_plot_lines(tmp("dir"), &s, 1, &labels, err) == -1);
  CHECK(strstr(err, "dir") != NULL);
  CHECK(count_files(tmpdir) == before);
  rmdir(tmp("dir"));
}

static void cleanup(void) {
  DIR *d = opendir(tmpdir);
  for (struct dirent *e; d && (e = readdir(d));)
    if (e->d_name[0] != '.') unlink(tmp(e->d_name));
  if (d) closedir(d);
  rmdir(tmpdir);
}

int main(void) {
  if (!make_tmpdir("plot")) return 1;
  RUN(test_lines);
  RUN(test_default_x);
  RUN(test_tensor_values);
  RUN(test_axis_frac);
  RUN(test_ticks);
  RUN(test_bin_counts);
  RUN(test_kinds);
  RUN(test_images);
  RUN(test_write_errors);
  cleanup();
  nn_plot_release();
  return check_summary();
}
