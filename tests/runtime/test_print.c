/* nn_print against PyTorch's str(): the styles (integral, fixed,
 * scientific, ints, bools), padding with nan/inf, 0-dim, multi-dim
 * layout, strided views, "..." summarization past 1000 elements, empty
 * tensors, and the snprintf contract (length, truncation, NULL buffer). */
#include <math.h>
#include <string.h>

#include "check.h"
#include "nn_print.h"

#define SHAPE(...) ((const int64_t[]){__VA_ARGS__})

static nn_tensor *f32(int ndim, const int64_t *shape, const float *values) {
  nn_tensor *t = nn_tensor_empty(NN_FLOAT32, ndim, shape);
  memcpy(nn_tensor_data(t), values, (size_t)nn_tensor_numel(t) * sizeof(float));
  return t;
}

static nn_tensor *i64_range(int ndim, const int64_t *shape) {
  nn_tensor *t = nn_tensor_empty(NN_INT64, ndim, shape);
  for (int64_t i = 0; i < nn_tensor_numel(t); i++) ((int64_t *)nn_tensor_data(t))[i] = i;
  return t;
}

/* Whether t prints as expected; also checks the returned length. Releases t. */
static bool prints(nn_tensor *t, const char *expected) {
  char buf[4096];
  size_t n = nn_print(buf, sizeof buf, t);
  nn_tensor_release(t);
  bool ok = n == strlen(expected) && strcmp(buf, expected) == 0;
  if (!ok) fprintf(stderr, "got      %s\nexpected %s\n", buf, expected);
  return ok;
}

static void test_styles(void) {
  CHECK(prints(f32(1, SHAPE(3), (float[]){1, 2, 3}), "tensor([1., 2., 3.])"));
  CHECK(prints(f32(1, SHAPE(2), (float[]){-1.5f, 2.25f}), "tensor([-1.5000,  2.2500])"));
  CHECK(prints(f32(1, SHAPE(3), (float[]){1e-5f, 1, 1e5f}),
               "tensor([1.0000e-05, 1.0000e+00, 1.0000e+05])"));
  CHECK(prints(f32(1, SHAPE(2), (float[]){0.1f, 123456}), "tensor([1.0000e-01, 1.2346e+05])"));
  CHECK(prints(f32(1, SHAPE(2), (float[]){1e10f, 1}), "tensor([1.0000e+10, 1.0000e+00])"));
  CHECK(prints(f32(0, NULL, (float[]){3.5f}), "tensor(3.5000)"));
  CHECK(prints(f32(0, NULL, (float[]){-0.125f}), "tensor(-0.1250)"));
  /* nan and inf are padded to the finite values' width, never widen it. */
  CHECK(prints(f32(1, SHAPE(5), (float[]){1, NAN, INFINITY, -INFINITY, 2.5f}),
               "tensor([1.0000,    nan,    inf,   -inf, 2.5000])"));
  CHECK(prints(f32(0, NULL, (float[]){NAN}), "tensor(nan)"));
}

static void test_ints_and_bools(void) {
  nn_tensor *t = nn_tensor_empty(NN_INT64, 2, SHAPE(2, 2));
  memcpy(nn_tensor_data(t), (int64_t[]){1, -2, 3, 400}, 4 * sizeof(int64_t));
  CHECK(prints(t, "tensor([[  1,  -2],\n        [  3, 400]])"));
  t = nn_tensor_empty(NN_BOOL, 1, SHAPE(2));
  memcpy(nn_tensor_data(t), (bool[]){true, false}, 2 * sizeof(bool));
  CHECK(prints(t, "tensor([ True, False])"));
  t = nn_tensor_empty(NN_BOOL, 0, NULL);
  *(bool *)nn_tensor_data(t) = true;
  CHECK(prints(t, "tensor(True)"));
}

static void test_layout(void) {
  CHECK(prints(f32(2, SHAPE(2, 2), (float[]){1.5f, -2, 3.25f, 400}),
               "tensor([[  1.5000,  -2.0000],\n        [  3.2500, 400.0000]])"));
  /* A transposed view prints its own order, not the storage's. */
  nn_tensor *base = f32(2, SHAPE(2, 3), (float[]){1, 2, 3, 4, 5, 6});
  nn_tensor *tr = nn_tensor_view(base, 2, SHAPE(3, 2), SHAPE(1, 3), 0);
  nn_tensor_release(base);
  CHECK(prints(tr, "tensor([[1., 4.],\n        [2., 5.],\n        [3., 6.]])"));
  /* Dims above the last are separated by one blank line per level. */
  CHECK(prints(i64_range(3, SHAPE(2, 1, 2)), "tensor([[[0, 1]],\n\n        [[2, 3]]])"));
}

static void test_summarize(void) {
  CHECK(prints(i64_range(1, SHAPE(1001)), "tensor([   0,    1,    2,  ...,  998,  999, 1000])"));
  char buf[8192];
  nn_tensor *t = i64_range(1, SHAPE(1000));
  nn_print(buf, sizeof buf, t);
  nn_tensor_release(t);
  CHECK(strstr(buf, "...") == NULL);
  /* Only the displayed elements set the width. */
  CHECK(prints(i64_range(2, SHAPE(40, 40)),
               "tensor([[   0,    1,    2,  ...,   37,   38,   39],\n"
               "        [  40,   41,   42,  ...,   77,   78,   79],\n"
               "        [  80,   81,   82,  ...,  117,  118,  119],\n"
               "        ...,\n"
               "        [1480, 1481, 1482,  ..., 1517, 1518, 1519],\n"
               "        [1520, 1521, 1522,  ..., 1557, 1558, 1559],\n"
               "        [1560, 1561, 1562,  ..., 1597, 1598, 1599]])"));
}

static void test_empty(void) {
  CHECK(prints(nn_tensor_empty(NN_FLOAT32, 1, SHAPE(0)), "tensor([])"));
  CHECK(prints(nn_tensor_empty(NN_INT64, 1, SHAPE(0)), "tensor([], dtype=int64)"));
  CHECK(prints(nn_tensor_empty(NN_FLOAT32, 2, SHAPE(2, 0)),
               "tensor([[],\n        []], size=[2,0])"));
  CHECK(prints(nn_tensor_empty(NN_BOOL, 3, SHAPE(2, 0, 3)),
               "tensor([[],\n\n        []], size=[2,0,3], dtype=bool)"));
}

static void test_buffer_contract(void) {
  const char *full = "tensor([1., 2., 3.])";
  nn_tensor *t = f32(1, SHAPE(3), (float[]){1, 2, 3});
  CHECK(nn_print(NULL, 0, t) == strlen(full));
  char small[8];
  memset(small, 'x', sizeof small);
  CHECK(nn_print(small, sizeof small, t) == strlen(full));
  CHECK(strcmp(small, "tensor(") == 0);
  char one[1] = {'x'};
  CHECK(nn_print(one, 1, t) == strlen(full) && one[0] == '\0');
  char exact[32];
  CHECK(nn_print(exact, strlen(full) + 1, t) == strlen(full) && strcmp(exact, full) == 0);
  nn_tensor_release(t);
}

int main(void) {
  RUN(test_styles);
  RUN(test_ints_and_bools);
  RUN(test_layout);
  RUN(test_summarize);
  RUN(test_empty);
  RUN(test_buffer_contract);
  return check_summary();
}
