"""A ``theano`` package made of PyTensor 2.8.11, so unmodified Theano-era code runs on Python 3.11.

Theano 1.0.5 itself does not build on Python 3.11 (see /work/shared/SEMANTICS.md), but PyTensor
2.8.11 still has every op it had (``tensor.nnet`` convolutions, ``tensor.signal.pool``, the MRG
generator, scan). What changed is names and a few signatures; this module maps Theano 1.0's
public names onto PyTensor's, and nothing else: no op is reimplemented here.

Nothing happens on import. :func:`enable` installs the modules into ``sys.modules`` (``theano``,
``theano.tensor``, ``theano.tensor.nnet`` ...), after which ``import lasagne`` (0.1 or master)
and ``import keras`` (1.2.2, and 2.3.1 in a process of its own: :mod:`layers_theano.keras2_zoo`;
``KERAS_BACKEND=theano``) work unmodified. It is explicit because
it changes the process globally: every later ``import theano`` gets this shim.

What is mapped, and why each difference from a plain alias exists:

* ``theano.config``: PyTensor's config under Theano's dotted names (``config.dnn.enabled`` is
  ``dnn__enabled``). ``THEANO_FLAGS`` is read once by :func:`enable`; flags PyTensor does not
  know are refused by name, ``device=cuda*/gpu*`` is refused (there is no GPU backend).
* ``theano.tensor``: ``pytensor.tensor`` plus the names PyTensor dropped: ``inv`` (now
  ``reciprocal``), ``abs_`` (``abs``), ``addbroadcast`` / ``unbroadcast`` / ``patternbroadcast``
  (now ``specify_broadcastable`` and the ``Unbroadcast`` op), ``shared_randomstreams``.
* ``theano.tensor.nnet``: ``softmax`` is Theano's row-wise 1-d/2-d op (PyTensor's default axis
  is *all* axes); ``sigmoid``/``softplus`` moved to ``pytensor.tensor``; ``bn`` is
  ``batchnorm``; ``nnet.nnet.softsign`` and the old ``conv`` module (``conv.conv2d`` with
  ``image_shape``) keep their paths.
* ``theano.tensor.signal.downsample.max_pool_2d(input, ds, ignore_border, st, padding, mode)``:
  the Theano 0.7 spelling Lasagne 0.1 uses, over ``pool_2d``; ``ignore_border`` defaults to
  False as in Theano 0.7.
* ``theano.sandbox.rng_mrg.MRG_RandomStreams`` (PyTensor: ``MRG_RandomStream``) accepting the
  ``use_cuda`` argument; ``theano.sandbox.softsign``. ``theano.sandbox.cuda`` is deliberately
  absent: Lasagne and Keras probe it with ``import`` and fall back to the CPU ops.
* ``theano.gof`` (``Variable``, ``Apply``, ``Op``, ``Constant``, ``graph``), ``theano.clone``
  (Theano's argument names over ``clone_replace``), ``theano.printing``, ``theano.ifelse``,
  ``theano.gradient``, ``theano.compile``, ``theano.sparse`` (``SparseType`` is
  ``SparseTensorType``).
* Python 3.11 removed ``collections.Iterable`` and the other ABC aliases Keras 1.2.2 imports;
  :func:`enable` restores them from ``collections.abc`` (aliases only; nothing is redefined).
"""
from __future__ import annotations

import collections
import collections.abc
import os
import sys
import types
import warnings
from typing import Any, Dict, Iterable, List, Optional

from . import backend

__all__ = ["enable", "enabled", "THEANO_VERSION"]

#: The Theano release whose public API the shim presents (``theano.__version__``).
THEANO_VERSION = "1.0.5"

_PREFIX = "theano"


def _module(name: str, doc: str, fallbacks: Iterable[types.ModuleType] = (), **attrs: Any) -> types.ModuleType:
    """A module ``name`` holding ``attrs``; other attributes are looked up in ``fallbacks`` in order."""
    mod = types.ModuleType(name, doc)
    mod.__dict__.update(attrs)
    sources = tuple(fallbacks)

    def __getattr__(attr: str) -> Any:  # PEP 562: called only for names not set above
        if attr.startswith("__"):
            raise AttributeError(attr)
        for source in sources:
            try:
                return getattr(source, attr)
            except AttributeError:
                continue
        raise AttributeError(f"module {name!r} has no attribute {attr!r} (not mapped onto PyTensor "
                             f"{backend.__version__})")

    mod.__getattr__ = __getattr__  # type: ignore[attr-defined]
    mod.__all__ = sorted(k for k in attrs if not k.startswith("_"))  # type: ignore[attr-defined]
    return mod


# --------------------------------------------------------------------------------------- config
class _ConfigSection:
    """``theano.config`` or one of its dotted sections (``config.dnn``), over PyTensor's config.

    Theano's ``config.a.b`` is PyTensor's ``config.a__b``; reading a section that PyTensor has no
    flag under gives an AttributeError naming the Theano spelling.
    """

    def __init__(self, prefix: str = "") -> None:
        object.__setattr__(self, "_prefix", prefix)

    def _key(self, name: str) -> str:
        return f"{self._prefix}__{name}" if self._prefix else name

    def _has_section(self, key: str) -> bool:
        return any(flag.startswith(key + "__") for flag in _pytensor_flag_names())

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        key = self._key(name)
        cfg = backend.config
        if key in _pytensor_flag_names():
            return getattr(cfg, key)
        if self._has_section(key):
            return _ConfigSection(key)
        if hasattr(cfg, key):  # methods such as change_flags
            return getattr(cfg, key)
        raise AttributeError(f"theano.config.{key.replace('__', '.')}: no such flag in PyTensor "
                             f"{backend.__version__}")

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(backend.config, self._key(name), value)

    def __dir__(self) -> List[str]:
        return sorted({k[len(self._prefix) + 2:].split("__")[0] if self._prefix else k.split("__")[0]
                       for k in _pytensor_flag_names() if k.startswith(self._prefix)})


def _pytensor_flag_names() -> List[str]:
    return list(backend.config._config_var_dict)  # PyTensor keeps no public list of its flags


#: Theano flag sections that only configure its GPU backends (accepted and ignored, so the usual
#: ``device=cpu,dnn.enabled=False,lib.cnmem=0`` strings work).
_GPU_SECTIONS = frozenset({"dnn", "gpuarray", "lib", "cuda", "nvcc", "pycuda", "gpuelemwise", "gpu", "init_gpu_device"})


def parse_theano_flags(text: str) -> Dict[str, str]:
    """``THEANO_FLAGS`` (``'floatX=float32,traceback.limit=5'``) as ``{pytensor_key: value}``.

    Flags of Theano's GPU sections (``dnn.*``, ``gpuarray.*``, ``lib.cnmem`` ...) are dropped.

    Raises
    ------
    ValueError
        One line naming the first malformed entry, unknown flag or GPU device.
    """
    flags: Dict[str, str] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        if "=" not in item:
            raise ValueError(f"THEANO_FLAGS: {item!r} is not name=value")
        name, value = (s.strip() for s in item.split("=", 1))
        key = name.replace(".", "__")
        if key == "device" and not value.startswith("cpu"):
            raise ValueError(f"THEANO_FLAGS: device={value} is not available (PyTensor "
                             f"{backend.__version__} through the theano shim runs on the CPU only)")
        if key.split("__")[0] in _GPU_SECTIONS:
            continue  # configures a GPU backend PyTensor does not have; device=cpu is what runs
        if key not in _pytensor_flag_names():
            raise ValueError(f"THEANO_FLAGS: unknown flag {name!r} (PyTensor {backend.__version__} has no {key})")
        flags[key] = value
    return flags


def _apply_flags(flags: Dict[str, str]) -> None:
    for key, value in flags.items():
        if key == "device":
            continue  # cpu is PyTensor's only device
        if str(getattr(backend.config, key)) == value:
            continue  # PyTensor refuses to set some flags at run time even to their current value
        setattr(backend.config, key, value)


# --------------------------------------------------------------------------------- tensor names
def _addbroadcast(x: Any, *axes: int) -> Any:
    """Theano's ``addbroadcast``: declare ``axes`` of ``x`` broadcastable (they must be 1)."""
    T = backend.T
    x = T.as_tensor_variable(x)
    axes = tuple(a for a in axes if not x.broadcastable[a])
    from pytensor.tensor.shape import specify_broadcastable

    return specify_broadcastable(x, *axes) if axes else x


def _unbroadcast(x: Any, *axes: int) -> Any:
    """Theano's ``unbroadcast``: make ``axes`` of ``x`` not broadcastable."""
    from pytensor.tensor.shape import Unbroadcast

    x = backend.T.as_tensor_variable(x)
    axes = tuple(a for a in axes if x.broadcastable[a])
    return Unbroadcast(*axes)(x) if axes else x


def _patternbroadcast(x: Any, broadcastable: Iterable[bool]) -> Any:
    """Theano's ``patternbroadcast``: give ``x`` exactly this broadcastable pattern."""
    x = backend.T.as_tensor_variable(x)
    pattern = tuple(bool(b) for b in broadcastable)
    if len(pattern) != x.ndim:
        raise ValueError(f"patternbroadcast: pattern of length {len(pattern)} for a {x.ndim}-d tensor")
    x = _addbroadcast(x, *(i for i, b in enumerate(pattern) if b))
    return _unbroadcast(x, *(i for i, b in enumerate(pattern) if not b))


def _softmax(c: Any) -> Any:
    """Theano 1.0's ``T.nnet.softmax``: row-wise on a matrix, a vector is treated as one row.

    PyTensor's ``softmax`` without ``axis`` normalises over every axis, which is not what any
    Theano-era code meant; Theano refused other ranks.
    """
    T = backend.T
    c = T.as_tensor_variable(c)
    if c.ndim not in (1, 2):
        raise ValueError(f"x must be 1-d or 2-d tensor of floats. Got {c.type}")
    if c.ndim == 1:
        c = T.shape_padleft(c, 1)
    return backend.nnet.softmax(c, axis=-1)


def _max_pool_2d(input: Any, ds: Any, ignore_border: Optional[bool] = None, st: Any = None,
                 padding: Any = (0, 0), mode: str = "max") -> Any:
    """Theano 0.7's ``signal.downsample.max_pool_2d`` over ``pool_2d`` (Lasagne 0.1 calls it)."""
    if ignore_border is None:
        ignore_border = False  # Theano 0.7's default (``pool_2d`` would warn and pick the same)
    return backend.pool.pool_2d(input, ws=ds, ignore_border=ignore_border, stride=st, pad=padding, mode=mode)


def _clone(output: Any, replace: Any = None, strict: bool = True, share_inputs: bool = True,
           copy_inputs: Any = None) -> Any:
    """Theano's ``theano.clone`` (``copy_inputs`` was its deprecated alias of ``share_inputs``)."""
    if copy_inputs is not None:
        share_inputs = copy_inputs
    return backend.clone_replace(output, replace=replace, strict=strict, share_inputs=share_inputs)


# ----------------------------------------------------------------------------------- assembling
_STATE: Dict[str, Any] = {}


def enabled() -> bool:
    """Whether :func:`enable` has installed the shim in this process."""
    return "modules" in _STATE


def enable(flags: Optional[str] = None) -> types.ModuleType:
    """Install the ``theano`` shim into ``sys.modules`` and return the ``theano`` module.

    Parameters
    ----------
    flags : str, optional
        Theano flags (``'floatX=float32'``) applied to PyTensor's config; defaults to the
        ``THEANO_FLAGS`` environment variable. Applied on the first call only.

    Returns
    -------
    module
        The ``theano`` module (the same object on every call).

    Raises
    ------
    RuntimeError
        If a different ``theano`` (the real one) is already imported.
    ValueError
        If the flags are malformed, unknown to PyTensor, or ask for a GPU.
    """
    if enabled():
        return _STATE["modules"][_PREFIX]
    existing = sys.modules.get(_PREFIX)
    if existing is not None:
        raise RuntimeError(f"theano_compat.enable: a real theano is already imported from "
                           f"{getattr(existing, '__file__', '?')}")
    parsed = parse_theano_flags(os.environ.get("THEANO_FLAGS", "") if flags is None else flags)
    modules = _build()
    _apply_flags(parsed)
    for name in ("Iterable", "Mapping", "MutableMapping", "Sequence", "Callable", "Hashable",
                 "Set", "MutableSet", "MutableSequence", "Sized", "Container"):
        if not hasattr(collections, name):  # Python >= 3.10 keeps them only in collections.abc
            setattr(collections, name, getattr(collections.abc, name))
    sys.modules.update(modules)
    _STATE["modules"] = modules
    return modules[_PREFIX]


def _build() -> Dict[str, types.ModuleType]:
    """Every shim module by its dotted name."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pytensor
        import pytensor.compile
        import pytensor.gradient
        import pytensor.graph
        import pytensor.graph.basic
        import pytensor.graph.op
        import pytensor.ifelse
        import pytensor.printing
        import pytensor.sandbox.rng_mrg
        import pytensor.sparse
        import pytensor.tensor.extra_ops
        import pytensor.tensor.nnet.abstract_conv
        import pytensor.tensor.nnet.basic
        import pytensor.tensor.nnet.batchnorm
        import pytensor.tensor.nnet.conv
        import pytensor.tensor.nnet.conv3d2d
        import pytensor.tensor.random.utils
        import pytensor.tensor.signal.pool
    T = backend.T
    P = f"{_PREFIX}."

    class MRG_RandomStreams(pytensor.sandbox.rng_mrg.MRG_RandomStream):
        """Theano's ``MRG_RandomStreams(seed, use_cuda)``; there is no CUDA, ``use_cuda`` is ignored."""

        def __init__(self, seed: Any = 12345, use_cuda: Any = None) -> None:
            super().__init__(seed=seed)

    rng_mrg = _module(P + "sandbox.rng_mrg", "MRG31k3p generator (PyTensor's rng_mrg).",
                      [pytensor.sandbox.rng_mrg], MRG_RandomStreams=MRG_RandomStreams)
    softsign_mod = _module(P + "sandbox.softsign", "softsign.", [],
                           softsign=pytensor.tensor.nnet.basic.softsign)
    sandbox = _module(P + "sandbox", "Theano sandbox: rng_mrg and softsign (no cuda).", [],
                      rng_mrg=rng_mrg, softsign=softsign_mod)

    downsample = _module(P + "tensor.signal.downsample", "Theano 0.7 pooling names.", [],
                         max_pool_2d=_max_pool_2d)
    pool = _module(P + "tensor.signal.pool", "Pooling (PyTensor's signal.pool).", [pytensor.tensor.signal.pool])
    signal = _module(P + "tensor.signal", "Signal processing ops.", [], pool=pool, downsample=downsample)

    conv = _module(P + "tensor.nnet.conv", "Theano's legacy conv module.", [pytensor.tensor.nnet.conv])
    abstract_conv = _module(P + "tensor.nnet.abstract_conv", "Abstract convolutions.",
                            [pytensor.tensor.nnet.abstract_conv])
    conv3d2d = _module(P + "tensor.nnet.conv3d2d", "conv3d via conv2d.", [pytensor.tensor.nnet.conv3d2d])
    bn = _module(P + "tensor.nnet.bn", "Batch normalisation.", [pytensor.tensor.nnet.batchnorm])
    nnet_nnet = _module(P + "tensor.nnet.nnet", "Theano's nnet.nnet.", [pytensor.tensor.nnet.basic],
                        softmax=_softmax, sigmoid=T.sigmoid, softplus=T.softplus)
    nnet = _module(P + "tensor.nnet", "Neural-network ops (PyTensor's tensor.nnet).",
                   [backend.nnet],
                   softmax=_softmax, sigmoid=T.sigmoid, softplus=T.softplus, bn=bn, conv=conv,
                   abstract_conv=abstract_conv, conv3d2d=conv3d2d, nnet=nnet_nnet,
                   conv2d=backend.nnet.conv2d, relu=backend.nnet.relu)
    shared_randomstreams = _module(P + "tensor.shared_randomstreams", "RandomStreams.",
                                   [pytensor.tensor.random.utils],
                                   RandomStreams=pytensor.tensor.random.utils.RandomStream)
    extra_ops = _module(P + "tensor.extra_ops", "Extra ops.", [pytensor.tensor.extra_ops])
    tensor = _module(P + "tensor", "Theano tensor (PyTensor's tensor plus the names it dropped).", [T],
                     nnet=nnet, signal=signal, extra_ops=extra_ops,
                     shared_randomstreams=shared_randomstreams,
                     inv=T.reciprocal, abs_=T.abs, addbroadcast=_addbroadcast, unbroadcast=_unbroadcast,
                     patternbroadcast=_patternbroadcast)

    gof = _module(P + "gof", "Graph classes.", [pytensor.graph.basic, pytensor.graph.op, pytensor.graph],
                  graph=pytensor.graph.basic, Variable=pytensor.graph.basic.Variable,
                  Apply=pytensor.graph.basic.Apply, Constant=pytensor.graph.basic.Constant,
                  Op=pytensor.graph.op.Op)
    printing = _module(P + "printing", "Printing.", [pytensor.printing])
    ifelse = _module(P + "ifelse", "Lazy if-else.", [pytensor.ifelse], ifelse=pytensor.ifelse.ifelse)
    gradient = _module(P + "gradient", "Gradients.", [pytensor.gradient])
    compile_ = _module(P + "compile", "Function compilation.", [pytensor.compile],
                       SharedVariable=pytensor.compile.SharedVariable)
    sparse = _module(P + "sparse", "Sparse tensors.", [pytensor.sparse],
                     SparseType=pytensor.sparse.SparseTensorType)

    theano = _module(_PREFIX, "Theano 1.0 public API over PyTensor (layers_theano.theano_compat).",
                     [pytensor],
                     __version__=THEANO_VERSION, config=_ConfigSection(), tensor=tensor, sandbox=sandbox,
                     gof=gof, printing=printing, ifelse=ifelse, gradient=gradient, compile=compile_,
                     sparse=sparse, function=backend.function, shared=backend.shared, scan=backend.scan,
                     clone=_clone, grad=pytensor.gradient.grad, map=pytensor.map, foldl=pytensor.foldl,
                     foldr=pytensor.foldr, In=pytensor.In, Out=pytensor.Out)
    theano.__path__ = []  # a package, so "import theano.tensor.nnet" resolves through sys.modules
    modules = {m.__name__: m for m in (theano, tensor, nnet, nnet_nnet, conv, abstract_conv, conv3d2d, bn,
                                        signal, pool, downsample, extra_ops, shared_randomstreams,
                                        sandbox, rng_mrg, softsign_mod, gof, printing, ifelse, gradient,
                                        compile_, sparse)}
    for name, mod in modules.items():
        if any(other.startswith(name + ".") for other in modules):
            mod.__path__ = []  # type: ignore[attr-defined]
    return modules

