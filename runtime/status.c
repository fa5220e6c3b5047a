/* The message behind NN_ERR_VALUE (see nn_status.h). */
#include <stdarg.h>
#include <stdio.h>

#include "nn_status.h"

/* One per thread: worker threads may fail while the main thread reads. */
static _Thread_local char message[256];

nn_status nn_fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(message, sizeof message, fmt, ap);
  va_end(ap);
  return NN_ERR_VALUE;
}

const char *nn_error_message(void) { return message; }
