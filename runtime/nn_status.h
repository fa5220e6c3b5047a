/*
 * nn_status: how a runtime entry point reports failure. The bindings turn
 * a status into a Lua error: NN_ERR_NOMEM as "out of memory", NN_ERR_VALUE
 * with the message nn_fail stored (a label or index out of range: values
 * only the kernel that reads them can check without an extra pass).
 */
#ifndef NN_STATUS_H
#define NN_STATUS_H

typedef enum nn_status {
  NN_OK = 0,
  NN_ERR_NOMEM,
  NN_ERR_VALUE,
} nn_status;

/* Stores the formatted message for nn_error_message and returns
 * NN_ERR_VALUE, so a kernel reports with `return nn_fail(...)`. */
nn_status nn_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The message of the last nn_fail. */
const char *nn_error_message(void);

#endif
