"""Shape-manipulation twins (Lasagne's ``lasagne/layers/shape.py``).

None of these layers computes anything: they move, copy or pad values, so the twin's
output equals Theano's bit for bit.
"""
from __future__ import annotations

import math
from typing import Any, List, Union

import numpy as np

from .base import Layer, TwinError
from .specs import shape as spec
from .shapes.shape import is_int, pad_widths

__all__ = ["FlattenLayer", "flatten", "ReshapeLayer", "reshape", "DimshuffleLayer", "dimshuffle",
           "PadLayer", "pad", "SliceLayer"]


class FlattenLayer(spec.FlattenLayer, Layer):
    """Flatten the trailing axes: the output has ``outdim`` dimensions.

    Notes
    -----
    ``out.shape = in.shape[:outdim-1] + (prod(in.shape[outdim-1:]),)``, elements taken in
    C order (Theano's ``flatten``)::

        out = x.reshape(x.shape[:outdim - 1] + (-1,))
    """

    def get_output_for(self, input: np.ndarray, **kwargs: Any) -> np.ndarray:
        if self.outdim > 1 and input.ndim < self.outdim:
            raise TwinError(f"{self._label()}: cannot flatten a {input.ndim}-dimensional input to {self.outdim} dimensions")
        # explicit size: ``-1`` is ambiguous for an empty batch
        return np.reshape(input, input.shape[:self.outdim - 1] + (math.prod(input.shape[self.outdim - 1:]),))


flatten = FlattenLayer


class ReshapeLayer(spec.ReshapeLayer, Layer):
    """Reshape to a specification of sizes, input-dimension references and one ``-1``.

    Notes
    -----
    Elements are read and written in C order::

        out = x.reshape(tuple(x.shape[s[0]] if isinstance(s, list) else s for s in shape))
    """

    def get_output_for(self, input: np.ndarray, **kwargs: Any) -> np.ndarray:
        target = []
        for s in self.shape:
            if isinstance(s, list):
                if s[0] >= input.ndim:
                    raise TwinError(f"{self._label()}: specification contains {s}, but the input has {input.ndim} dimensions")
                target.append(input.shape[s[0]])
            else:
                target.append(int(s))
        known = int(np.prod([t for t in target if t != -1], dtype=np.int64))
        ok = (known == input.size) if -1 not in target else (known > 0 and input.size % known == 0)
        if not ok:
            raise TwinError(
                f"{self._label()}: cannot reshape an input of shape {input.shape} ({input.size} elements) "
                f"to {tuple(target)} (specification {self.shape})"
            )
        return np.reshape(input, tuple(target))


reshape = ReshapeLayer


class DimshuffleLayer(spec.DimshuffleLayer, Layer):
    """Permute the axes and insert broadcastable ones (Theano's ``dimshuffle``).

    Notes
    -----
    ``out.shape[j] = in.shape[pattern[j]]`` (1 where ``pattern[j] == 'x'``) and
    ``out[..., i_j, ...] = x[..., i_{pattern^-1}, ...]``: a transpose followed by a reshape
    that inserts the ``'x'`` axes and drops the omitted size-1 axes.
    """

    def get_output_for(self, input: np.ndarray, **kwargs: Any) -> np.ndarray:
        kept = [p for p in self.pattern if p != "x"]
        if any(p >= input.ndim for p in kept):
            raise TwinError(f"{self._label()}: pattern {self.pattern} does not fit a {input.ndim}-dimensional input")
        dropped = [i for i in range(input.ndim) if i not in kept]
        if any(input.shape[i] != 1 for i in dropped):
            raise TwinError(
                f"{self._label()}: pattern {self.pattern} drops dimensions {dropped} of input shape {input.shape}; "
                "only dimensions of size 1 can be dropped"
            )
        moved = np.transpose(input, kept + dropped)
        out_shape = tuple(1 if p == "x" else input.shape[p] for p in self.pattern)
        return np.reshape(moved, out_shape)


dimshuffle = DimshuffleLayer


class PadLayer(spec.PadLayer, Layer):
    """Pad every axis after the first ``batch_ndim`` with the constant ``val``.

    Notes
    -----
    ``out = full(padded_shape, val); out[..., l_k : l_k + n_k, ...] = x`` with
    ``padded_shape[k] = n_k + l_k + r_k`` for padded axes.
    """

    def get_output_for(self, input: np.ndarray, **kwargs: Any) -> np.ndarray:
        pairs = pad_widths(self._label(), self.width, input.ndim, self.batch_ndim)
        out_shape = list(input.shape)
        index: List[Union[slice, int]] = [slice(None)] * input.ndim
        for k, (l, r) in enumerate(pairs):
            axis = k + self.batch_ndim
            out_shape[axis] += l + r
            index[axis] = slice(l, l + input.shape[axis])
        # float(val): the value is rounded to the input dtype, like Theano's ones(...) * val
        out = np.full(tuple(out_shape), float(self.val), dtype=input.dtype)
        out[tuple(index)] = input
        return out


pad = PadLayer


class SliceLayer(spec.SliceLayer, Layer):
    """Select an index or a slice along one axis.

    Notes
    -----
    ``out = x[(slice(None),) * axis + (indices,)]``.
    """

    def get_output_for(self, input: np.ndarray, **kwargs: Any) -> np.ndarray:
        axis = self.axis + input.ndim if self.axis < 0 else self.axis
        if is_int(self.slice) and not -input.shape[axis] <= self.slice < input.shape[axis]:
            raise TwinError(
                f"{self._label()}: index {self.slice} is out of range for axis {self.axis} of input shape {input.shape}"
            )
        return np.asarray(input[(slice(None),) * axis + (self.slice,)])  # 0-d array, not a scalar, for 1-d input
