"""Spec of LocalResponseNormalization2DLayer, BatchNormLayer and StandardizationLayer
(Lasagne master ``lasagne/layers/normalization.py``)."""
from __future__ import annotations

from typing import Any, Callable, Dict, Tuple

import numpy as np

from .. import init
from ..record import amend_arguments
from ..shapes.shape import is_int
from .base import Layer, TwinError

__all__ = ["LocalResponseNormalization2DLayer", "BatchNormLayer", "StandardizationLayer", "check_axes",
           "strip_bias_and_nonlinearity", "normalization_helpers"]


def check_axes(label: str, axes: Any, ndim: int, allow_negative: bool = False) -> Tuple[int, ...]:
    """Axes as a tuple of distinct ints in ``[0, ndim)`` (negative ones counted from the end if allowed)."""
    if is_int(axes):
        axes = (axes,)
    try:
        axes = tuple(axes)
    except TypeError:
        raise TwinError(f"{label}: axes must be 'auto', an int or a tuple of ints, got {axes!r}") from None
    if not all(is_int(a) for a in axes):
        raise TwinError(f"{label}: axes must be a tuple of ints, got {axes!r}")
    low = -ndim if allow_negative else 0
    if any(not low <= a < ndim for a in axes):
        raise TwinError(f"{label}: axes {axes} out of range for a {ndim}-dimensional input (use {low}..{ndim - 1})")
    axes = tuple(int(a) % ndim for a in axes)
    if len(set(axes)) != len(axes):
        raise TwinError(f"{label}: axes {axes} contain an axis more than once")
    return axes


def _is_number(value: Any) -> bool:
    return not isinstance(value, (bool, np.bool_)) and isinstance(value, (int, float, np.integer, np.floating))


class LocalResponseNormalization2DLayer(Layer):
    """Cross-channel local response normalization of ``(batch, channels, rows, cols)`` input.

    Parameters
    ----------
    incoming : Layer or tuple
        4-dimensional input, channels on axis 1.
    alpha, k, beta : float
        ``out_c = x_c / (k + alpha * sum_{|j-c| <= n//2} x_j^2) ** beta`` (defaults 1e-4, 2, 0.75).
    n : int
        Number of neighbouring channels summed over; must be odd (default 5).
    """

    def __init__(self, incoming: Any, alpha: float = 1e-4, k: float = 2, beta: float = 0.75, n: int = 5,
                 **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        if len(self.input_shape) != 4:
            raise TwinError(f"{self._label()}: expects 4-dimensional (batch, channels, rows, cols) input, "
                            f"got input_shape={self.input_shape}")
        if not is_int(n) or n < 1:
            raise TwinError(f"{self._label()}: n must be a positive odd int, got {n!r}")
        if n % 2 == 0:
            raise NotImplementedError(f"{self._label()}: Only works with odd n, got n={n}")
        for name, value in (("alpha", alpha), ("k", k), ("beta", beta)):
            if not _is_number(value):
                raise TwinError(f"{self._label()}: {name} must be a number, got {value!r}")
        # kept as given: an int k and a float k are different Theano constants
        self.alpha = alpha
        self.k = k
        self.beta = beta
        self.n = int(n)


class BatchNormLayer(Layer):
    """Batch normalization; parameters (beta, gamma, mean, inv_std) broadcast over ``axes``.

    Parameters
    ----------
    incoming : Layer or tuple
    axes : 'auto', int or tuple of int
        Axes normalized over; 'auto' is ``(0,) + (2, 3, ...)`` (all but the channel axis).
    epsilon : float
        Added to the variance when statistics are computed in training (default 1e-4).
    alpha : float
        Running-average coefficient of training (default 0.1).
    beta, gamma : array, initializer or None
        Shift and scale, shape = the input shape without ``axes``. None leaves it out.
    mean, inv_std : array or initializer
        Stored mean and inverse standard deviation, same shape (tag ``batch_norm_stat``).
    """

    def __init__(self, incoming: Any, axes: Any = "auto", epsilon: float = 1e-4, alpha: float = 0.1,
                 beta: Any = init.Constant(0), gamma: Any = init.Constant(1), mean: Any = init.Constant(0),
                 inv_std: Any = init.Constant(1), **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        ndim = len(self.input_shape)
        if isinstance(axes, str):
            if axes != "auto":
                raise TwinError(f"{self._label()}: axes must be 'auto', an int or a tuple of ints, got {axes!r}")
            axes = (0,) + tuple(range(2, ndim))
        self.axes = check_axes(self._label(), axes, ndim)
        self.epsilon = float(epsilon)
        self.alpha = float(alpha)
        shape = [size for axis, size in enumerate(self.input_shape) if axis not in self.axes]
        if any(size is None for size in shape):
            raise TwinError(f"{self._label()} needs specified input sizes for all axes not normalized over; "
                            f"got input_shape={self.input_shape} with axes={self.axes}")
        self.beta = None if beta is None else self.add_param(beta, shape, "beta", trainable=True, regularizable=False)
        self.gamma = None if gamma is None else self.add_param(gamma, shape, "gamma", trainable=True, regularizable=True)
        self.mean = self.add_param(mean, shape, "mean", trainable=False, regularizable=False, batch_norm_stat=True)
        self.inv_std = self.add_param(inv_std, shape, "inv_std", trainable=False, regularizable=False,
                                      batch_norm_stat=True)


class StandardizationLayer(Layer):
    """Normalize to zero mean and unit variance over ``axes``, statistics of the input itself.

    Parameters
    ----------
    incoming : Layer or tuple
    axes : 'auto', 'spatial', 'features', int or tuple of int
        'auto': axis 1 for 2-dimensional input, else all axes after the first two;
        'spatial': all axes after the first two; 'features': all axes after the first.
    epsilon : float
        Added to the variance (default 1e-4).
    """

    def __init__(self, incoming: Any, axes: Any = "auto", epsilon: float = 1e-4, **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        ndim = len(self.input_shape)
        if isinstance(axes, str):
            if axes == "auto":
                axes = (1,) if ndim == 2 else tuple(range(2, ndim))
            elif axes == "spatial":
                axes = tuple(range(2, ndim))
            elif axes == "features":
                axes = tuple(range(1, ndim))
            else:
                raise TwinError(f"{self._label()}: axes must be 'auto', 'spatial', 'features', an int or a tuple "
                                f"of ints, got {axes!r}")
        self.axes = check_axes(self._label(), axes, ndim, allow_negative=True)
        if not _is_number(epsilon):
            raise TwinError(f"{self._label()}: epsilon must be a number, got {epsilon!r}")
        self.epsilon = float(epsilon)


def strip_bias_and_nonlinearity(layer: Any, drop_bias: bool = True) -> Any:
    """Lasagne's first step of ``batch_norm``/``instance_norm``/``layer_norm``.

    The layer's nonlinearity (returned, None if it has none) becomes the identity and its
    bias ``b`` is removed from its parameters (``b = None``): the normalization that follows
    would cancel a bias, and the nonlinearity is re-applied after it.
    """
    nonlinearity = getattr(layer, "nonlinearity", None)
    if nonlinearity is not None:
        layer.nonlinearity = layer.side_defaults["identity"]
        amend_arguments(layer, nonlinearity=None)  # an export or to_numpy rebuilds the layer as it is now
    if drop_bias and getattr(layer, "b", None) is not None:
        del layer.params[layer.b]
        layer.b = None
        amend_arguments(layer, b=None)
    if hasattr(layer, "changed_in_place"):
        layer.changed_in_place()
    return nonlinearity


def _suffixed(name: Any, suffix: str) -> Any:
    """Lasagne's ``name and name + suffix``: None (or '') stays as it is."""
    return name and name + suffix


def normalization_helpers(side: Callable[[str], type]) -> Tuple[Callable[..., Any], ...]:
    """Lasagne master's ``batch_norm``, ``batch_norm_dnn``, ``instance_norm`` and ``layer_norm``
    for one side; ``side(name)`` is that side's class of the name they stack (``BatchNormLayer``,
    ``BatchNormDNNLayer``, ``StandardizationLayer``, ``ScaleLayer``, ``BiasLayer``,
    ``NonlinearityLayer``), looked up when a helper is called (the classes live in several
    modules of the side, which import this one).

    Layer order and names are master's: ``layer -> BatchNormLayer('<name>_bn') ->
    NonlinearityLayer('<name>_bn_nonlin')`` (the NonlinearityLayer only when the layer had a
    nonlinearity); instance_norm stacks ``StandardizationLayer(axes='spatial', '<name>_in')``,
    ``ScaleLayer('_in_scale')``, ``BiasLayer('_in_bias')`` (each optional) and the nonlinearity;
    layer_norm ``StandardizationLayer(axes='features', '<name>_ln')``, ``ScaleLayer``,
    ``BiasLayer``, nonlinearity.
    """

    def _batch_norm_with(cls_name: str, layer: Any, kwargs: Dict[str, Any]) -> Any:
        nonlinearity = strip_bias_and_nonlinearity(layer)
        bn_name = kwargs.pop("name", None) or _suffixed(getattr(layer, "name", None), "_bn")
        layer = side(cls_name)(layer, name=bn_name, **kwargs)
        if nonlinearity is not None:
            layer = side("NonlinearityLayer")(layer, nonlinearity, name=_suffixed(bn_name, "_nonlin"))
        return layer

    def batch_norm(layer: Any, **kwargs: Any) -> Any:
        """Normalize ``layer``'s output: drop its bias and nonlinearity, stack a BatchNormLayer
        (``kwargs`` go to it) and, if the layer had a nonlinearity, a NonlinearityLayer."""
        return _batch_norm_with("BatchNormLayer", layer, kwargs)

    def batch_norm_dnn(layer: Any, **kwargs: Any) -> Any:
        """:func:`batch_norm` with a BatchNormDNNLayer (Lasagne's ``lasagne.layers.dnn.batch_norm_dnn``)."""
        return _batch_norm_with("BatchNormDNNLayer", layer, kwargs)

    def instance_norm(layer: Any, learn_scale: bool = True, learn_bias: bool = True, **kwargs: Any) -> Any:
        """Instance normalization: drop bias and nonlinearity, standardize over the spatial axes,
        then a learned per-channel ScaleLayer and BiasLayer (optional) and the nonlinearity."""
        nonlinearity = strip_bias_and_nonlinearity(layer)
        in_name = kwargs.pop("name", None) or _suffixed(getattr(layer, "name", None), "_in")
        layer = side("StandardizationLayer")(layer, axes="spatial", name=in_name, **kwargs)
        if learn_scale:
            layer = side("ScaleLayer")(layer, shared_axes="auto", name=_suffixed(in_name, "_scale"))
        if learn_bias:
            layer = side("BiasLayer")(layer, shared_axes="auto", name=_suffixed(in_name, "_bias"))
        if nonlinearity is not None:
            layer = side("NonlinearityLayer")(layer, nonlinearity, name=_suffixed(in_name, "_nonlin"))
        return layer

    def layer_norm(layer: Any, **kwargs: Any) -> Any:
        """Layer normalization: drop bias and nonlinearity, standardize over all axes but the
        first, then a learned ScaleLayer, a BiasLayer and the nonlinearity."""
        nonlinearity = strip_bias_and_nonlinearity(layer)
        ln_name = kwargs.pop("name", None) or _suffixed(getattr(layer, "name", None), "_ln")
        layer = side("StandardizationLayer")(layer, axes="features", name=ln_name, **kwargs)
        layer = side("ScaleLayer")(layer, shared_axes="auto", name=_suffixed(ln_name, "_scale"))
        layer = side("BiasLayer")(layer, shared_axes="auto", name=_suffixed(ln_name, "_bias"))
        if nonlinearity is not None:
            layer = side("NonlinearityLayer")(layer, nonlinearity, name=_suffixed(ln_name, "_nonlin"))
        return layer

    return batch_norm, batch_norm_dnn, instance_norm, layer_norm
