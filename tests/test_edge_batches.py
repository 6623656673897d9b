"""Edge batches (issue 10): a batch of 0 items and a sequence of 0 steps on every zoo model.

The twin returns an empty array of the shape the network declares (its ``output_shape``
with the free axes of that call): exactly Theano's result where Theano computes one. Theano
itself raises for some of them (``reshape(x, (0, -1))`` is ambiguous, so its flatten before
a dense layer fails on an empty batch, and its scan refuses 0 steps where only the last one
is returned); there the twin gives the declared shape, or (only_return_final over 0 steps,
where no last step exists) a TwinError naming the layer, as Theano raises too.
"""
from __future__ import annotations

from typing import Any, List, Optional, Tuple

import numpy as np
import pytest

import layers_np as L

LT = pytest.importorskip("layers_theano")
from layers_theano import zoo  # noqa: E402
from layers_theano.backend import config, function  # noqa: E402

_FNS = {}


def _theano(name: str, net: Any) -> Any:
    if name not in _FNS:
        inputs = [l.input_var for l in LT.get_all_layers(net) if isinstance(l, LT.InputLayer)]
        with config.change_flags(floatX="float32"):
            _FNS[name] = function(inputs, LT.get_output(net, deterministic=True))
    return _FNS[name]


def _cases(name: str, twin: Any) -> List[Tuple[int, ...]]:
    (inp,) = [l for l in L.get_all_layers(twin) if isinstance(l, L.InputLayer)]
    rest = tuple(5 if d is None else d for d in inp.shape[1:])
    cases = [(0,) + rest]
    if name in ("char_lstm", "gru_classifier"):  # (batch, time, features): empty sequences too
        cases += [(3, 0) + rest[1:], (0, 0) + rest[1:]]
    return cases


def _declared(twin: Any, shape: Tuple[int, ...]) -> Tuple[int, ...]:
    """The network's declared output shape for an input of ``shape`` whose size is 0."""
    return tuple(0 if d is None else d for d in twin.output_shape)


@pytest.mark.parametrize("name", sorted(zoo.FACTORIES))
def test_empty_batches_and_sequences(name: str) -> None:
    net = zoo.FACTORIES[name]("float32")
    twin = LT.to_numpy(net)
    fn = _theano(name, net)
    dtype = "int32" if name == "text_cnn" else "float32"
    for shape in _cases(name, twin):
        x = np.zeros(shape, dtype)
        theano_out: Optional[np.ndarray] = None
        try:
            theano_out = np.asarray(fn(x))
        except ValueError:
            pass  # Theano refuses this one (see the module docstring)
        if name == "gru_classifier" and shape[1] == 0:  # only_return_final over no step at all
            assert theano_out is None
            with pytest.raises(L.TwinError, match="only_return_final needs a sequence of at least one time step"):
                twin(x)
            continue
        for _ in range(2):  # the first call builds the runtime, the second runs it
            out = twin(x)
            assert isinstance(out, np.ndarray) and out.size == 0 and out.dtype == np.float32, (name, shape)
            assert out.shape == _declared(twin, shape), (name, shape, out.shape)
            if theano_out is not None:
                assert out.shape == theano_out.shape, (name, shape)
        # every layer's own output for the empty input is empty too (and of its declared rank)
        layers = [l for l in L.get_all_layers(twin) if not isinstance(l, L.InputLayer)]
        for layer, value in zip(layers, L.get_output(layers, x)):
            assert value.size == 0 and value.ndim == len(layer.output_shape), (name, layer._label(), value.shape)


def test_empty_batch_through_a_loaded_model(tmp_path) -> None:
    from layers_theano.export import export

    net = zoo.resnet_small()
    export(net, tmp_path / "m.npz")
    model = L.load(tmp_path / "m.npz")
    assert model(np.zeros((0, 3, 32, 32), np.float32)).shape == (0, 10)
    # and a normal batch afterwards still gives the full result
    assert model(np.ones((2, 3, 32, 32), np.float32)).shape == (2, 10)
