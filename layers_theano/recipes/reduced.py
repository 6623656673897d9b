"""The Recipes networks at the smallest input each allows: same layers, same parameters except
the first dense layer's input width (it follows the spatial size), for tests and quick gates::

    twins gate layers_theano.recipes.reduced:resnet50 -o resnet50_32.npz

Sizes: :data:`layers_theano.recipes.REDUCED_SIZES`. Each factory takes ``dtype`` and ``seed``
like the full-size ones; the default dtype is :data:`DTYPES` (float32, float64 for the batch-normalised
resnet50, inception_v3 and unet unless floatX is set in the flags): in float32 their chained outputs leave the
per-layer tolerance by propagation alone, every layer agreeing with Theano on Theano's own
inputs (README, "Lasagne Recipes networks").
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Optional

from . import FACTORIES as _FULL
from . import REDUCED_SIZES

# certification dtype of each reduced network (see the module docstring)
DTYPES: Dict[str, str] = {name: "float64" if name in ("resnet50", "inception_v3", "unet") else "float32"
                         for name in _FULL}

__all__ = ["vgg16", "vgg19", "vgg_cnn_s", "googlenet", "inception_v3", "resnet50", "caffenet", "nin_cifar10", "c3d",
           "unet", "FACTORIES", "DTYPES"]


def _reduced(name: str) -> Callable[..., Any]:
    full = _FULL[name]

    def factory(dtype: Optional[str] = None, seed: int = 0) -> Any:
        from layers_theano.backend import FLOATX_FROM_FLAGS

        return full(dtype=dtype or FLOATX_FROM_FLAGS or DTYPES[name], seed=seed, input_size=REDUCED_SIZES[name])

    factory.__name__ = factory.__qualname__ = name
    factory.__doc__ = f"``layers_theano.recipes.{name}`` on a {REDUCED_SIZES[name]} input (see its docstring)."
    return factory


FACTORIES: Dict[str, Callable[..., Any]] = {name: _reduced(name) for name in _FULL}
vgg16 = FACTORIES["vgg16"]
vgg19 = FACTORIES["vgg19"]
vgg_cnn_s = FACTORIES["vgg_cnn_s"]
googlenet = FACTORIES["googlenet"]
inception_v3 = FACTORIES["inception_v3"]
resnet50 = FACTORIES["resnet50"]
caffenet = FACTORIES["caffenet"]
nin_cifar10 = FACTORIES["nin_cifar10"]
c3d = FACTORIES["c3d"]
unet = FACTORIES["unet"]
