/* The autograd engine: nodes, and the backward walk (see nn_autograd.h). */
#include <assert.h>
#include <math.h>
#include <string.h>

#include "nn_alloc.h"
#include "nn_autograd.h"
#include "nn_iter.h"
#include "nn_elementwise.h"

static bool grad_enabled = true;
static bool detect_anomaly;
static uint64_t walk_epoch;

bool nn_grad_enabled(void) { return grad_enabled; }
void nn_set_grad_enabled(bool on) { grad_enabled = on; }
void nn_set_detect_anomaly(bool on) { detect_anomaly = on; }
bool nn_detect_anomaly(void) { return detect_anomaly; }

bool nn_tensor_needs_grad(const nn_tensor *t) {
  return t && (t->requires_grad || t->grad_fn);
}

/* A node for op with ninputs inputs, edges taken from the inputs (which
 * may be NULL: constants). NULL on OOM. */
static nn_node *node_new(nn_op op, int ninputs, nn_tensor *const *inputs) {
  assert(nn_op_info(op)->backward);
  assert(nn_op_info(op)->ninputs < 0 || nn_op_info(op)->ninputs == ninputs);
  nn_node *node = nn_alloc_zeroed(sizeof *node);
  if (!node) return NULL;
  node->edges = ninputs <= NN_NODE_LOCAL_EDGES
                    ? node->local_edges
                    : nn_alloc_zeroed(sizeof *node->edges * (size_t)ninputs);
  if (!node->edges) {
    nn_free(node, sizeof *node);
    return NULL;
  }
  node->op = op;
  node->refcount = 1;
  node->ninputs = ninputs;
  for (int i = 0; i < ninputs; i++) {
    nn_tensor *t = inputs[i];
    if (!t) continue;
    if (t->grad_fn) {
      node->edges[i].fn = t->grad_fn;
      t->grad_fn->refcount++;
    } else if (t->requires_grad) {
      node->edges[i].leaf = t;
      nn_tensor_retain(t);
    }
  }
  return node;
}

/* Makes node the grad_fn of out (taking the caller's reference). */
static void node_attach(nn_node *node, nn_tensor *out) {
  out->grad_fn = node;
  out->requires_grad = true;
  node->out_ndim = out->ndim;
  memcpy(node->out_shape, out->shape, sizeof out->shape);
}

nn_status nn_record(nn_node **node, nn_op op, nn_tensor *out, int ninputs,
                    nn_tensor *const *inputs) {
  *node = NULL;
  if (!grad_enabled || out->dtype != NN_FLOAT32) return NN_OK;
  bool wanted = false;
  for (int i = 0; i < ninputs; i++) wanted = wanted || nn_tensor_needs_grad(inputs[i]);
  if (!wanted) return NN_OK;
  if (!(*node = node_new(op, ninputs, inputs))) return NN_ERR_NOMEM;
  node_attach(*node, out);
  return NN_OK;
}

nn_status nn_node_save(nn_node *node, const nn_tensor *t) {
  assert(node->nsaved < NN_NODE_MAX_SAVED);
  nn_tensor *kept = (nn_tensor *)t;
  if (nn_tensor_is_borrowed(t)) {
    if (!(kept = nn_tensor_empty(t->dtype, t->ndim, t->shape))) return NN_ERR_NOMEM;
    nn_copy(kept, t);
  } else {
    nn_tensor_retain(kept);
  }
  node->saved[node->nsaved++] = kept;
  return NN_OK;
}

nn_status nn_node_save_output(nn_node *node, const nn_tensor *out) {
  assert(node->nsaved < NN_NODE_MAX_SAVED);
  nn_tensor *alias = nn_tensor_view(out, out->ndim, out->shape, out->stride, out->offset);
  if (!alias) return NN_ERR_NOMEM;
  node->saved[node->nsaved++] = alias;
  return NN_OK;
}

static void drop_saved(nn_node *node) {
  for (int i = 0; i < node->nsaved; i++) nn_tensor_release(node->saved[i]);
  node->nsaved = 0;
}

/* Frees nodes iteratively: a long chain of nodes (a deep graph) must not
 * recurse once per node. */
void nn_node_release(nn_node *node) {
  if (!node || --node->refcount > 0) return;
  /* Only nodes whose count reached zero enter the list, each once. */
  node->release_next = NULL;
  nn_node *pending = node;
  while (pending) {
    nn_node *n = pending;
    pending = n->release_next;
    drop_saved(n);
    nn_tensor_release(n->grad);
    for (int i = 0; i < n->ninputs; i++) {
      nn_tensor_release(n->edges[i].leaf);
      nn_node *child = n->edges[i].fn;
      if (child && --child->refcount == 0) {
        child->release_next = pending;
        pending = child;
      }
    }
    if (n->edges != n->local_edges) nn_free(n->edges, sizeof *n->edges * (size_t)n->ninputs);
    nn_free(n, sizeof *n);
  }
}

/* ---- the walk ---- */

/* A growing array of nodes. The first LOCAL_NODES live in the list
 * itself, so the backward of a small graph allocates no list at all. A
 * list is never copied (items may point into it). */
#define LOCAL_NODES 16

typedef struct node_list {
  nn_node **items;
  size_t count, capacity;
  nn_node *local[LOCAL_NODES];
} node_list;

static bool list_push(node_list *l, nn_node *n) {
  if (l->count == l->capacity) {
    if (!l->items) {
      l->items = l->local;
      l->capacity = LOCAL_NODES;
    } else {
      size_t cap = l->capacity * 2;
      nn_node **items = nn_alloc(cap * sizeof *items);
      if (!items) return false;
      memcpy(items, l->items, l->count * sizeof *items);
      if (l->items != l->local) nn_free(l->items, l->capacity * sizeof *items);
      l->items = items;
      l->capacity = cap;
    }
  }
  l->items[l->count++] = n;
  return true;
}

static void list_free(node_list *l) {
  if (l->items != l->local) nn_free(l->items, l->capacity * sizeof *l->items);
}

/* Collects the nodes reachable from root and counts, for each, how many
 * reachable nodes feed gradient into it. */
static bool collect(nn_node *root, node_list *all) {
  uint64_t epoch = ++walk_epoch;
  node_list stack = {0};
  bool ok = list_push(&stack, root);
  root->mark = epoch;
  root->deps = 0;
  while (ok && stack.count) {
    nn_node *n = stack.items[--stack.count];
    ok = list_push(all, n);
    for (int i = 0; ok && i < n->ninputs; i++) {
      nn_node *c = n->edges[i].fn;
      if (!c) continue;
      if (c->mark != epoch) {
        c->mark = epoch;
        c->deps = 0;
        ok = list_push(&stack, c);
      }
      c->deps++;
    }
  }
  list_free(&stack);
  return ok;
}

static nn_tensor *zeros_shaped(int ndim, const int64_t *shape) {
  return nn_tensor_zeros(NN_FLOAT32, ndim, shape);
}

/* Where the gradient of edge e goes: its node's or its leaf's slot. */
static nn_tensor **edge_slot(nn_edge *e) {
  return e->fn ? &e->fn->grad : e->leaf ? &e->leaf->grad : NULL;
}

/* The buffer the gradient of edge e is added into, created on first use:
 * zeroed, or left uninitialized when *fresh (the backward overwrites it). */
static nn_tensor *edge_target(nn_edge *e, bool *fresh) {
  nn_tensor **slot = edge_slot(e);
  if (!slot) return NULL;
  if (*slot) {
    *fresh = false;
    return *slot;
  }
  int ndim = e->fn ? e->fn->out_ndim : e->leaf->ndim;
  const int64_t *shape = e->fn ? e->fn->out_shape : e->leaf->shape;
  return *slot = *fresh ? nn_tensor_empty(NN_FLOAT32, ndim, shape) : zeros_shaped(ndim, shape);
}

/* Does another edge of n feed the same buffer as edge i (linear(a, a))?
 * Then neither may overwrite it. */
static bool shares_target(nn_node *n, int i) {
  nn_tensor **slot = edge_slot(&n->edges[i]);
  for (int j = 0; j < n->ninputs; j++)
    if (j != i && edge_slot(&n->edges[j]) == slot) return true;
  return false;
}

bool nn_tensor_has_nonfinite(const nn_tensor *t) {
  if (t->dtype != NN_FLOAT32) return false;
  nn_iter it;
  nn_iter_init_tensors(&it, t->ndim, t->shape, 1, (const nn_tensor *[]){t});
  while (nn_iter_next(&it)) {
    const float *p = (const float *)it.ptr[0];
    for (int64_t i = 0; i < it.n; i++)
      if (!isfinite(p[i * it.step[0]])) return true;
  }
  return false;
}

/* Runs one node's backward into its edges' buffers. */
static nn_backward_status run_node(nn_node *n) {
  nn_tensor *targets[64], **grad_in = targets;
  size_t bytes = sizeof *grad_in * (size_t)n->ninputs;
  if (n->ninputs > 64 && !(grad_in = nn_alloc(bytes))) return NN_BACKWARD_NO_MEMORY;
  nn_backward_status st = NN_BACKWARD_OK;
  bool overwrites = nn_op_info(n->op)->overwrites;
  n->fresh = 0;
  for (int i = 0; i < n->ninputs; i++) {
    bool wanted = n->edges[i].fn || n->edges[i].leaf;
    bool fresh = overwrites && i < 32 && wanted && !shares_target(n, i);
    grad_in[i] = wanted ? edge_target(&n->edges[i], &fresh) : NULL;
    if (fresh) n->fresh |= 1u << i;
    if (wanted && !grad_in[i]) st = NN_BACKWARD_NO_MEMORY;
  }
  if (st == NN_BACKWARD_OK && !nn_op_info(n->op)->backward(n, n->grad, grad_in)) st = NN_BACKWARD_NO_MEMORY;
  for (int i = 0; st != NN_BACKWARD_OK && i < n->ninputs; i++) /* a leaf keeps its .grad: never garbage */
    if (nn_grad_is_fresh(n, i) && grad_in[i]) nn_fill(grad_in[i], 0);
  for (int i = 0; st == NN_BACKWARD_OK && detect_anomaly && i < n->ninputs; i++)
    if (grad_in[i] && nn_tensor_has_nonfinite(grad_in[i])) st = NN_BACKWARD_ANOMALY;
  if (grad_in != targets) nn_free(grad_in, bytes);
  return st;
}

nn_backward_error nn_backward(nn_tensor *root, const nn_tensor *grad_root, bool retain_graph) {
  nn_backward_error err = {NN_BACKWARD_OK, NULL};
  if (!root->grad_fn) { /* a leaf: its gradient is grad_root itself */
    if (!root->grad && !(root->grad = zeros_shaped(root->ndim, root->shape)))
      err.status = NN_BACKWARD_NO_MEMORY;
    else nn_accumulate(root->grad, grad_root);
    return err;
  }
  node_list all = {0}, ready = {0};
  if (!collect(root->grad_fn, &all)) {
    err.status = NN_BACKWARD_NO_MEMORY;
    goto done;
  }
  for (size_t i = 0; i < all.count; i++)
    if (all.items[i]->released) {
      err = (nn_backward_error){NN_BACKWARD_RELEASED, nn_op_name(all.items[i]->op)};
      goto done;
    }
  nn_node *top = root->grad_fn;
  if (!(top->grad = zeros_shaped(top->out_ndim, top->out_shape)) || !list_push(&ready, top)) {
    err.status = NN_BACKWARD_NO_MEMORY;
    goto done;
  }
  nn_accumulate(top->grad, grad_root);
  /* Kahn's algorithm: a node runs once every node feeding it has run. */
  while (ready.count) {
    nn_node *n = ready.items[--ready.count];
    nn_backward_status st = run_node(n);
    if (st != NN_BACKWARD_OK) {
      err = (nn_backward_error){st, nn_op_name(n->op)};
      goto done;
    }
    nn_tensor_release(n->grad);
    n->grad = NULL;
    if (!retain_graph) {
      drop_saved(n);
      n->released = true;
    }
    for (int i = 0; i < n->ninputs; i++) {
      nn_node *c = n->edges[i].fn;
      if (c && --c->deps == 0 && !list_push(&ready, c)) {
        err = (nn_backward_error){NN_BACKWARD_NO_MEMORY, nn_op_name(c->op)};
        goto done;
      }
    }
  }
done:
  for (size_t i = 0; i < all.count; i++) { /* after an error, drop partial buffers */
    nn_tensor_release(all.items[i]->grad);
    all.items[i]->grad = NULL;
  }
  list_free(&all);
  list_free(&ready);
  return err;
}

void nn_accumulate(nn_tensor *dst, const nn_tensor *src) {
  /* Reading dst as src's shape with stride 0 along broadcast dims makes
   * the sequential add loop sum those dims into dst. */
  nn_tensor view = *dst;
  nn_broadcast_strides(dst, src->ndim, src->shape, view.stride);
  memcpy(view.shape, src->shape, sizeof view.shape);
  view.ndim = src->ndim;
  nn_binary(NN_OP_ADD, &view, &view, src);
}
