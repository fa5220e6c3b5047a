/* PNG plots (runtime/plot.c): files are PNGs of the expected size, odd
 * data draws, failed writes name the path and leave nothing behind, and
 * an allocation failure is reported. */
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
  nn_plot_series s[2] = {{"train", x, y, 5}, {NULL, x, z, 5}};
  nn_plot_labels labels = {"title", "epoch", "loss", 0, 0};
  char err[NN_PLOT_ERRLEN];
  uint32_t w = 0, h = 0;
  CHECK(nn_plot_lines(tmp("a.png"), s, 2, &labels, err) == 0);
  CHECK(png_size(tmp("a.png"), &w, &h) && w == 800 && h == 500);
  nn_plot_labels small = {NULL, NULL, NULL, 320, 240};
  nn_plot_series one = {"p", x, y, 1};
  CHECK(nn_plot_lines(tmp("b.png"), &one, 1, &small, err) == 0);
  CHECK(png_size(tmp("b.png"), &w, &h) && w == 320 && h == 240);
  double nan2[2] = {NAN, NAN};
  nn_plot_series none = {"nan", x, nan2, 2};
  CHECK(nn_plot_lines(tmp("c.png"), &none, 1, &labels, err) == 0);
  nn_plot_labels tiny = {NULL, NULL, NULL, 60, 60};
  CHECK(nn_plot_lines(tmp("d.png"), &one, 1, &tiny, err) == -1);
  CHECK(strstr(err, "60x60") != NULL);
}

static void test_images(void) {
  float data[3 * 3 * 4 * 5];
  for (int i = 0; i < 3 * 3 * 4 * 5; i++) data[i] = (float)(i % 7);
  data[3] = NAN;
  char err[NN_PLOT_ERRLEN];
  uint32_t w = 0, h = 0;
  /* 4x5 images zoom 13x to 52x65; 2 per row. */
  CHECK(nn_plot_images(tmp("g.png"), data, 3, 3, 4, 5, 2, NULL, NULL, NULL, err) == 0);
  CHECK(png_size(tmp("g.png"), &w, &h) && w == 6 + 2 * (65 + 6) && h == 6 + 2 * (52 + 6));
  const char *caps[9] = {"1", "2", "3", "4", "5", "6", "7", "8", "9"};
  bool red[9] = {false, true};
  CHECK(nn_plot_images(tmp("g1.png"), data, 9, 1, 4, 5, 3, caps, red, "t", err) == 0);
  CHECK(png_size(tmp("g1.png"), &w, &h) && w == 6 + 3 * (65 + 6) &&
        h == 32 + 6 + 3 * (52 + 18 + 6));
  CHECK(nn_plot_images(tmp("big.png"), data, 1, 1, 40000, 1, 1, NULL, NULL, NULL, err) == -1);
  CHECK(strstr(err, "40000") != NULL && strstr(err, "big.png") != NULL);
}

static void test_write_errors(void) {
  double x[2] = {1, 2};
  nn_plot_series s = {"s", x, x, 2};
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
  RUN(test_images);
  RUN(test_write_errors);
  cleanup();
  nn_plot_release();
  return check_summary();
}
