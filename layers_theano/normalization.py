"""LocalResponseNormalization2DLayer, BatchNormLayer and StandardizationLayer (Lasagne master).

The graphs are Lasagne's, expression for expression, so the twins can mirror their
rounding. BatchNormLayer also builds Lasagne's training-mode graph (batch statistics and
running-average updates); the harness compiles ``deterministic=True``.
"""
from __future__ import annotations

import sys

from layers_np.specs import normalization as spec
from layers_np.specs.normalization import normalization_helpers

from .backend import T
from .base import Layer

__all__ = ["LocalResponseNormalization2DLayer", "BatchNormLayer", "StandardizationLayer", "batch_norm",
           "instance_norm", "layer_norm"]


class LocalResponseNormalization2DLayer(spec.LocalResponseNormalization2DLayer, Layer):
    def get_output_for(self, input, **kwargs):
        input_shape = self.input_shape
        if any(s is None for s in input_shape):
            input_shape = input.shape
        half_n = self.n // 2
        input_sqr = T.sqr(input)
        b, ch, r, c = input_shape
        extra_channels = T.alloc(0., b, ch + 2 * half_n, r, c)
        input_sqr = T.set_subtensor(extra_channels[:, half_n:half_n + ch, :, :], input_sqr)
        scale = self.k
        for i in range(self.n):
            scale += self.alpha * input_sqr[:, i:i + ch, :, :]
        scale = scale ** self.beta
        return input / scale


class BatchNormLayer(spec.BatchNormLayer, Layer):
    def get_output_for(self, input, deterministic=False, batch_norm_use_averages=None,
                       batch_norm_update_averages=None, **kwargs):
        input_mean = input.mean(self.axes)
        input_inv_std = T.reciprocal(T.sqrt(input.var(self.axes) + self.epsilon))

        # Decide whether to use the stored averages or mini-batch statistics
        if batch_norm_use_averages is None:
            batch_norm_use_averages = deterministic
        if batch_norm_use_averages:
            mean = self.mean
            inv_std = self.inv_std
        else:
            mean = input_mean
            inv_std = input_inv_std

        # Decide whether to update the stored averages
        if batch_norm_update_averages is None:
            batch_norm_update_averages = not deterministic
        if batch_norm_update_averages:
            # memory-aliased clones of the statistics carry the updates (Lasagne's trick)
            running_mean = self.mean.clone()  # shares the container, like theano.clone(share_inputs=False)
            running_inv_std = self.inv_std.clone()
            running_mean.default_update = (1 - self.alpha) * running_mean + self.alpha * input_mean
            running_inv_std.default_update = (1 - self.alpha) * running_inv_std + self.alpha * input_inv_std
            mean += 0 * running_mean
            inv_std += 0 * running_inv_std

        # prepare dimshuffle pattern inserting broadcastable axes as needed
        param_axes = iter(range(input.ndim - len(self.axes)))
        pattern = ["x" if input_axis in self.axes else next(param_axes) for input_axis in range(input.ndim)]

        beta = 0 if self.beta is None else self.beta.dimshuffle(pattern)
        gamma = 1 if self.gamma is None else self.gamma.dimshuffle(pattern)
        mean = mean.dimshuffle(pattern)
        inv_std = inv_std.dimshuffle(pattern)

        normalized = (input - mean) * (gamma * inv_std) + beta
        return normalized


class StandardizationLayer(spec.StandardizationLayer, Layer):
    def get_output_for(self, input, **kwargs):
        mean = input.mean(self.axes, keepdims=True)
        std = T.sqrt(input.var(self.axes, keepdims=True) + self.epsilon)
        return (input - mean) / std


# Lasagne master's helpers; the classes they stack are looked up in the package when called
batch_norm, _, instance_norm, layer_norm = normalization_helpers(
    lambda name: getattr(sys.modules["layers_theano"], name))
