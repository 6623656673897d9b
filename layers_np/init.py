"""Parameter initialisers, numpy only (Lasagne's ``lasagne.init``).

Trained models load their weights, so these matter only for building fresh networks;
both sides use them, which keeps a freshly built Theano network and its twin equal.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence, Tuple

import numpy as np

_rng = np.random.RandomState(1234)


def get_rng() -> np.random.RandomState:
    return _rng


def set_rng(rng: np.random.RandomState) -> None:
    global _rng
    _rng = rng


class Initializer:
    def __call__(self, shape: Sequence[int]) -> np.ndarray:
        return self.sample(tuple(shape))

    def sample(self, shape: Tuple[int, ...]) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


class Constant(Initializer):
    def __init__(self, val: float = 0.0) -> None:
        self.val = val

    def sample(self, shape):
        return np.full(shape, self.val, dtype=np.float64)


class Normal(Initializer):
    def __init__(self, std: float = 0.01, mean: float = 0.0) -> None:
        self.std, self.mean = std, mean

    def sample(self, shape):
        return get_rng().normal(self.mean, self.std, size=shape)


class Uniform(Initializer):
    def __init__(self, range: Any = 0.01, std: Optional[float] = None, mean: float = 0.0) -> None:
        if std is not None:
            a, b = mean - np.sqrt(3) * std, mean + np.sqrt(3) * std
        elif isinstance(range, (tuple, list)):
            a, b = range
        else:
            a, b = -range, range
        self.range = (float(a), float(b))

    def sample(self, shape):
        return get_rng().uniform(self.range[0], self.range[1], size=shape)


def _fans(shape: Tuple[int, ...], c01b: bool = False) -> Tuple[float, float]:
    if len(shape) < 2:
        raise ValueError(f"This initializer only works with shapes of length >= 2, got {shape}")
    if c01b:
        fan_in = shape[0] * int(np.prod(shape[1:3]))
        fan_out = shape[3] * int(np.prod(shape[1:3]))
    else:
        receptive = int(np.prod(shape[2:]))
        fan_in, fan_out = shape[1] * receptive, shape[0] * receptive
    return fan_in, fan_out


class Glorot(Initializer):
    def __init__(self, initializer: type, gain: Any = 1.0, c01b: bool = False) -> None:
        self.initializer, self.gain, self.c01b = initializer, (np.sqrt(2) if gain == "relu" else gain), c01b

    def sample(self, shape):
        fan_in, fan_out = _fans(shape, self.c01b)
        std = self.gain * np.sqrt(2.0 / (fan_in + fan_out))
        return self.initializer(std=std).sample(shape)


class GlorotNormal(Glorot):
    def __init__(self, gain: Any = 1.0, c01b: bool = False) -> None:
        super().__init__(Normal, gain, c01b)


class GlorotUniform(Glorot):
    def __init__(self, gain: Any = 1.0, c01b: bool = False) -> None:
        super().__init__(Uniform, gain, c01b)


class He(Initializer):
    def __init__(self, initializer: type, gain: Any = 1.0, c01b: bool = False) -> None:
        self.initializer, self.gain, self.c01b = initializer, (np.sqrt(2) if gain == "relu" else gain), c01b

    def sample(self, shape):
        fan_in = _fans(shape, self.c01b)[0] if len(shape) >= 2 else shape[0]
        return self.initializer(std=self.gain * np.sqrt(1.0 / fan_in)).sample(shape)


class HeNormal(He):
    def __init__(self, gain: Any = 1.0, c01b: bool = False) -> None:
        super().__init__(Normal, gain, c01b)


class HeUniform(He):
    def __init__(self, gain: Any = 1.0, c01b: bool = False) -> None:
        super().__init__(Uniform, gain, c01b)


class Orthogonal(Initializer):
    def __init__(self, gain: Any = 1.0) -> None:
        self.gain = np.sqrt(2) if gain == "relu" else gain

    def sample(self, shape):
        if len(shape) < 2:
            raise ValueError(f"Orthogonal needs a shape of length >= 2, got {shape}")
        flat = (shape[0], int(np.prod(shape[1:])))
        a = get_rng().normal(0.0, 1.0, flat)
        u, _, v = np.linalg.svd(a, full_matrices=False)
        q = u if u.shape == flat else v
        return self.gain * q.reshape(shape)


def as_array(spec: Any, shape: Tuple[int, ...], what: str) -> np.ndarray:
    """Turn an array, initialiser or callable into an array of ``shape`` (Lasagne's ``create_param``).

    Objects with ``get_value`` (Theano shared variables, twin Params) are read, so a
    twin can be built from the other side's parameters.
    """
    if hasattr(spec, "get_value"):
        spec = spec.get_value()
    if isinstance(spec, np.ndarray) or np.isscalar(spec) and not callable(spec):
        arr = np.asarray(spec)
        if arr.shape != shape:
            raise ValueError(f"{what}: expected an array of shape {shape}, got {arr.shape}")
        return arr
    if callable(spec):
        arr = np.asarray(spec(shape))
        if arr.shape != shape:
            raise ValueError(f"{what}: initializer returned shape {arr.shape}, expected {shape}")
        return arr
    arr = np.asarray(spec)
    if arr.dtype == object:
        raise TypeError(f"{what}: cannot make a parameter from {type(spec).__name__}")
    if arr.shape != shape:
        raise ValueError(f"{what}: expected an array of shape {shape}, got {arr.shape}")
    return arr
