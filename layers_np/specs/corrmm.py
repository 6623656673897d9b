"""Spec of Lasagne master's ``lasagne/layers/corrmm.py``: ``Conv2DMMLayer``.

The GPU CorrMM convolution; its arithmetic is ``Conv2DLayer``'s with ``flip_filters=False``
by default (filters are flipped by slicing before the correlation when True) and ``'same'``
as Theano's ``'half'`` (odd filters only, as every BaseConvLayer).
"""
from __future__ import annotations

from typing import Any, Callable, Optional

from .. import init
from .base import SideDefault
from .conv import BaseConvLayer

__all__ = ["Conv2DMMLayer"]


class Conv2DMMLayer(BaseConvLayer):
    """CorrMM 2-D convolution: ``flip_filters=False`` by default."""

    def __init__(self, incoming: Any, num_filters: int, filter_size: Any, stride: Any = (1, 1), pad: Any = 0,
                 untie_biases: bool = False, W: Any = init.GlorotUniform(), b: Any = init.Constant(0.),
                 nonlinearity: Optional[Callable] = SideDefault("rectify"), flip_filters: bool = False,
                 num_groups: int = 1, **kwargs: Any) -> None:
        super().__init__(incoming, num_filters, filter_size, stride, pad, untie_biases, W, b, nonlinearity,
                         flip_filters, num_groups, n=2, **kwargs)
