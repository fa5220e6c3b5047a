/*
 * nn_conv_dnnl: the passes of a 2-D convolution (nn_conv.h's geometry,
 * contiguous NCHW float32 operands) run by oneDNN (conv_dnnl.c). Each
 * returns false, having written nothing, when oneDNN does not serve the
 * geometry or is switched off; conv.c then takes its own path.
 */
#ifndef NN_CONV_DNNL_H
#define NN_CONV_DNNL_H

#include <stdbool.h>

#include "nn_conv.h"

/* out [N, O, OH, OW] = conv(x, w) + bias (bias may be NULL). */
bool nn_dnnl_conv2d_forward(float *out, const float *x, const float *w, const float *bias,
                            const nn_conv2d_geom *g);

/* gx [N, C, H, W] += the input gradient of conv(., w) given gout. */
bool nn_dnnl_conv2d_backward_data(float *gx, const float *gout, const float *w,
                                  const nn_conv2d_geom *g);

/* gw [O, C/groups, KH, KW] += the weight gradient given gout and x. */
bool nn_dnnl_conv2d_backward_weights(float *gw, const float *gout, const float *x,
                                     const nn_conv2d_geom *g);

#endif
