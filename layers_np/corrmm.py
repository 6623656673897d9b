"""Twin of Lasagne's ``lasagne.layers.corrmm`` (``Conv2DMMLayer``, the GPU CorrMM convolution).

Its arithmetic is ``Conv2DLayer``'s with ``flip_filters=False`` by default: a correlation,
the filters flipped first only when ``flip_filters=True``; see :mod:`layers_np.specs.corrmm`.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .conv import BaseConvLayer, conv2d
from .dnn import convolve_with
from .specs import corrmm as spec

__all__ = ["Conv2DMMLayer"]


class Conv2DMMLayer(spec.Conv2DMMLayer, BaseConvLayer):
    """CorrMM 2-D convolution, ``flip_filters=False`` by default (see :func:`conv2d`)."""

    def convolve(self, input: np.ndarray, **kwargs: Any) -> np.ndarray:
        return convolve_with(self, conv2d, input)
