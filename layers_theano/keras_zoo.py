"""Keras 1.2.2 models on PyTensor, as inference graphs for graph-level conversion (issue 14).

Keras 1.2.2 (installed ``--no-deps`` by the Makefile) runs on PyTensor 2.8.11 through the
``theano`` shim (:mod:`layers_theano.theano_compat`). Each factory builds one Keras model with
seeded weights and returns ``(inputs, outputs)`` PyTensor variables of its *inference* graph,
the form ``twins convert`` and ``twins gate --graph`` take::

    twins gate --graph layers_theano.keras_zoo:keras_cnn -o keras_cnn.npz

What "inference graph" means here, and why it is what ``model.predict`` computes:

* Keras 1.2.2 switches between training and test behaviour (Dropout, BatchNormalization,
  dropout inside recurrent layers) with ``ifelse(K.learning_phase(), train, test)``; ``predict``
  feeds ``learning_phase = 0``. :func:`inference_graph` replaces every such ``IfElse`` by its
  test branch, so the graph holds no random generator and no batch statistics. (Setting
  ``K.set_learning_phase(0)`` before building would do the same, but Keras 1.2.2's ``predict``
  then breaks: it feeds the Python int 0 as a function input.)
* Keras's input placeholders have no static shape; they are replaced by variables declaring the
  model's ``_keras_shape`` (batch axis free), so the converted file states the input shapes and
  a certification fuzzes inputs the model accepts.
* The weights are drawn from ``numpy.random.RandomState(seed)`` (Keras's own initialisers use
  the global numpy generator); BatchNormalization gets non-trivial running statistics.

:func:`keras_predict` runs Keras's own ``predict`` on the same model, which is how the tests
check that the extracted graph computes what Keras computes.

Keras is imported when a factory runs, not when this module is imported.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

__all__ = ["import_keras", "keras_import_environment", "keras_float_type", "seed_weights", "inference_graph",
           "keras_cnn", "keras_text_rnn", "keras_merge", "build_model", "model_graph", "keras_graph", "keras_predict",
           "sample_inputs", "FACTORIES", "KERAS_VERSION", "VOCABULARY"]

#: The Keras release these factories are written for (the Makefile installs it).
KERAS_VERSION = "1.2.2"
#: Token ids of the text model are below this (0 is padding).
VOCABULARY = 40


def import_keras() -> Any:
    """Import Keras 1.2.2 with the Theano backend (the ``theano`` shim over PyTensor); returns ``keras``.

    Keras 1.2.2 reads and, when it is missing, *writes* ``~/.keras/keras.json`` on import; the
    file may choose another backend, float type or epsilon. The import runs with ``HOME`` pointed
    at an empty temporary directory, so neither happens: these models are the same on every
    machine, and the user's home is left as it is.

    Raises
    ------
    ImportError
        Keras is not installed, is not 1.2.2, or was already imported with another backend.
    """
    from . import theano_compat

    theano_compat.enable()
    import sys

    if "keras" not in sys.modules:
        with tempfile.TemporaryDirectory(prefix="twins-keras-home-") as home:
            with keras_import_environment({"HOME": home, "KERAS_BACKEND": "theano"}):
                import keras  # noqa: F401  (Keras prints "Using Theano backend." on stderr)
    import keras
    from keras import backend as K

    if getattr(keras, "__version__", None) != KERAS_VERSION:
        raise ImportError(f"layers_theano.keras_zoo needs Keras {KERAS_VERSION}, found {keras.__version__}")
    if K.backend() != "theano":
        raise ImportError(f"Keras was already imported with the {K.backend()} backend; these factories need "
                          f"KERAS_BACKEND=theano")
    return keras


@contextlib.contextmanager
def keras_import_environment(env: Dict[str, str]) -> Iterator[None]:
    """The environment variables ``env`` while Keras is imported, and PyTensor's floatX kept.

    PyTensor resolves its compile cache directory from ``HOME`` when first asked: it is asked
    before ``env`` applies, so the cache stays the user's even when ``env`` moves ``HOME`` (a
    temporary ``HOME`` would mean a cold cache, deleted afterwards). Keras's theano backend
    assigns ``theano.config.floatX`` its own float type on import (Keras 1.2.2 and 2.x alike):
    for the rest of the process every Theano graph (Lasagne layers, the harness) would silently
    switch dtype, so the user's floatX is put back; :func:`keras_float_type` sets both while a
    model is built. Every variable is restored afterwards, set or unset as it was.
    """
    from .backend import config

    str(config.compiledir)
    saved = {k: os.environ.get(k) for k in env}
    floatx = config.floatX
    os.environ.update(env)
    try:
        yield
    finally:
        config.floatX = floatx
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def inference_graph(inputs: Sequence[Any], outputs: Sequence[Any], shapes: Sequence[Sequence[Any]],
                    names: Sequence[str]) -> Tuple[List[Any], List[Any]]:
    """Keras's symbolic ``(inputs, outputs)`` as the graph ``predict`` runs.

    Every ``IfElse`` on the learning phase becomes its test branch (repeatedly: a test branch may
    hold further switches), and each input placeholder becomes a variable of the same dtype
    declaring ``shapes[i]`` (None for free axes) and named ``names[i]``.

    Raises
    ------
    ValueError
        If the learning phase is still an input of the result (a use this does not resolve).
    """
    from keras import backend as K
    from pytensor.graph.basic import ancestors, applys_between, graph_inputs
    from pytensor.graph.replace import clone_replace
    from pytensor.ifelse import IfElse
    from pytensor.tensor import TensorType

    phase = K.learning_phase()
    outs = list(outputs)
    for _ in range(1000):  # each round removes at least one switch; a graph has finitely many
        switches = [node for node in applys_between(list(graph_inputs(outs)), outs)
                    if isinstance(node.op, IfElse) and node.inputs[0] is phase]
        if not switches:
            break
        replace = {}
        for node in switches:
            n = node.op.n_outs
            # IfElse inputs: condition, the n "then" (train) values, the n "else" (test) values
            replace.update({out: node.inputs[1 + n + j] for j, out in enumerate(node.outputs)})
        outs = clone_replace(outs, replace=replace)
    if any(v is phase for v in ancestors(outs)):
        raise ValueError("the Keras graph still reads the learning phase after resolving its switches")
    new_inputs = []
    for var, shape, name in zip(inputs, shapes, names):
        static = tuple(None if d is None else int(d) for d in shape)
        new_inputs.append(TensorType(var.type.dtype, shape=static)(name))
    outs = clone_replace(outs, replace=dict(zip(inputs, new_inputs)))
    return new_inputs, list(outs)


# ---------------------------------------------------------------------------
# models
# ---------------------------------------------------------------------------
@contextlib.contextmanager
def keras_float_type(dtype: str, keras: Any = None) -> Iterator[Any]:
    """Keras's float type (and PyTensor's floatX, as Keras's import makes them agree) while a model
    is built or run: weights and placeholders take it. ``keras`` defaults to :func:`import_keras`'s."""
    keras = import_keras() if keras is None else keras
    from .backend import config

    K = keras.backend
    previous = K.floatx()
    K.set_floatx(dtype)
    try:
        with config.change_flags(floatX=dtype):
            yield keras
    finally:
        K.set_floatx(previous)


def seed_weights(model: Any, seed: int, kernels_last: bool = False) -> None:
    """Weights from ``RandomState(seed)``: Glorot-uniform kernels, small non-zero biases, and for
    BatchNormalization gamma near 1, beta near 0, running mean near 0 and a positive running variance.

    Convolution kernels are ``(out, in, rows, cols)`` in Keras 1.2.2 ('th') and ``(rows, cols, in,
    out)`` in Keras 2 (``kernels_last``), which decides the fans; both BatchNormalization orders
    are gamma, beta, mean, variance."""
    rng = np.random.RandomState(seed)
    for layer in model.layers:
        values = layer.get_weights()
        if not values:
            continue
        if type(layer).__name__ == "BatchNormalization":
            gamma, beta, mean, var = values  # Keras 1.2.2's "running_std" holds the variance
            drawn = [rng.uniform(0.5, 1.5, gamma.shape), rng.uniform(-0.2, 0.2, beta.shape),
                     rng.uniform(-0.3, 0.3, mean.shape), rng.uniform(0.5, 2.0, var.shape)]
        else:
            drawn = []
            for w in values:
                if w.ndim < 2:
                    drawn.append(rng.uniform(-0.1, 0.1, w.shape))
                    continue
                if w.ndim == 2:
                    fan_in, fan_out = w.shape
                elif kernels_last:
                    fan_in, fan_out = int(np.prod(w.shape[:-1])), w.shape[-1]
                else:
                    fan_in, fan_out = int(np.prod(w.shape[1:])), w.shape[0]
                limit = np.sqrt(6.0 / (fan_in + fan_out))
                drawn.append(rng.uniform(-limit, limit, w.shape))
        layer.set_weights([d.astype(w.dtype) for d, w in zip(drawn, values)])


def _cnn(keras: Any) -> Any:
    from keras.layers import (Activation, BatchNormalization, Convolution2D, Dense, Dropout, Flatten,
                              MaxPooling2D)
    from keras.models import Sequential

    return Sequential([
        Convolution2D(6, 3, 3, border_mode="same", dim_ordering="th", input_shape=(3, 16, 16), name="conv1"),
        BatchNormalization(mode=0, axis=1, epsilon=1e-3, name="bn1"),
        Activation("relu", name="relu1"),
        MaxPooling2D((2, 2), dim_ordering="th", name="pool1"),
        Convolution2D(8, 3, 3, border_mode="valid", dim_ordering="th", activation="relu", name="conv2"),
        MaxPooling2D((2, 2), strides=(2, 2), dim_ordering="th", name="pool2"),
        Dropout(0.25, name="drop1"),
        Flatten(name="flatten"),
        Dense(32, name="dense1"),
        BatchNormalization(mode=0, epsilon=1e-3, name="bn2"),
        Activation("tanh", name="tanh1"),
        Dropout(0.5, name="drop2"),
        Dense(10, activation="softmax", name="output"),
    ], name="keras_cnn")


def _text_rnn(keras: Any) -> Any:
    from keras.layers import GRU, LSTM, Dense, Embedding
    from keras.models import Sequential

    return Sequential([
        Embedding(VOCABULARY, 8, input_length=7, mask_zero=True, name="embed"),
        LSTM(12, return_sequences=True, dropout_W=0.2, dropout_U=0.2, name="lstm"),
        GRU(10, name="gru"),
        Dense(5, activation="softmax", name="output"),
    ], name="keras_text_rnn")


def _merge(keras: Any) -> Any:
    from keras.layers import Dense, Dropout, Flatten, Input, Merge, RepeatVector, merge
    from keras.models import Model

    # Input's dtype default is K.floatx() evaluated when Keras was imported: give the current one
    a_in = Input(shape=(16,), name="features", dtype=keras.backend.floatx())
    b_in = Input(shape=(10,), name="context", dtype=keras.backend.floatx())
    a = Dense(12, activation="relu", name="branch_a")(a_in)
    b = Dense(12, activation="tanh", name="branch_b")(b_in)
    joined = merge([a, b], mode="concat", concat_axis=-1, name="concat")
    summed = Merge(mode="sum", name="sum")([a, b])
    prod = merge([a, b], mode="mul", name="mul")
    top = merge([summed, prod], mode="max", name="max")
    repeated = Flatten(name="flatten")(RepeatVector(3, name="repeat")(top))
    both = Dropout(0.3, name="drop")(merge([joined, repeated], mode="concat", name="concat2"))
    hidden = Dense(8, activation="sigmoid", name="hidden")(both)
    out = Dense(4, activation="softmax", name="output")(hidden)
    return Model(input=[a_in, b_in], output=out, name="keras_merge")


#: name -> (builder, input names): every model of this module
_BUILDERS: Dict[str, Tuple[Callable[[Any], Any], Tuple[str, ...]]] = {
    "keras_cnn": (_cnn, ("image",)),
    "keras_text_rnn": (_text_rnn, ("tokens",)),
    "keras_merge": (_merge, ("features", "context")),
}


def build_model(name: str, dtype: str = "float32", seed: int = 0) -> Any:
    """The Keras model ``name`` (a key of :data:`FACTORIES`) built in ``dtype`` with seeded weights."""
    if name not in _BUILDERS:
        raise KeyError(f"no Keras model {name!r}; choose one of {', '.join(_BUILDERS)}")
    builder, _ = _BUILDERS[name]
    with keras_float_type(dtype) as keras:
        model = builder(keras)
    seed_weights(model, seed)
    return model


def keras_graph(model: Any, input_names: Optional[Sequence[str]] = None) -> Tuple[List[Any], List[Any]]:
    """The inference graph ``(inputs, outputs)`` of any built Keras 1.2.2 or 2.x model (see :func:`inference_graph`;
    both Keras record each input's shape in ``_keras_shape`` and switch with ``ifelse`` on the learning phase).

    ``input_names`` default to the Keras input names; the declared shapes are the model's.
    """
    names = list(input_names) if input_names is not None else [v.name for v in model.inputs]
    if len(names) != len(model.inputs):
        raise ValueError(f"{len(names)} input names for a model with {len(model.inputs)} inputs")
    shapes = [tuple(var._keras_shape) for var in model.inputs]
    return inference_graph(model.inputs, model.outputs, shapes, names)


def model_graph(name: str, model: Any) -> Tuple[List[Any], List[Any]]:
    """The inference graph ``(inputs, outputs)`` of a model built by :func:`build_model`."""
    return keras_graph(model, _BUILDERS[name][1])


def keras_predict(model: Any, inputs: Sequence[np.ndarray], batch_size: int = 32) -> np.ndarray:
    """Keras's own ``model.predict`` (learning phase 0, through PyTensor), in the model's float type
    (``predict`` casts its inputs to Keras's current one)."""
    data = list(inputs)
    with keras_float_type(str(model.get_weights()[0].dtype)):
        return model.predict(data if len(data) > 1 else data[0], batch_size=batch_size, verbose=0)


def sample_inputs(graph_inputs: Sequence[Any], rng: np.random.Generator, batch: int = 5) -> List[np.ndarray]:
    """A batch for the inputs of :func:`model_graph`: standard normal floats; token ids in
    ``[1, VOCABULARY)`` with two leading padding zeros (masked by the Embedding), except the first
    sequence, which has none."""
    out = []
    for var in graph_inputs:
        shape = [batch if d is None else d for d in var.type.shape]
        if var.type.dtype.startswith("int"):
            ids = rng.integers(1, VOCABULARY, size=shape)
            ids[1:, :2] = 0
            out.append(ids.astype(var.type.dtype))
        else:
            out.append(rng.standard_normal(shape).astype(var.type.dtype))
    return out


def keras_cnn(dtype: str = "float32", seed: int = 0) -> Tuple[List[Any], List[Any]]:
    """Sequential CNN, 'th' ordering, on 3x16x16: Convolution2D, BatchNormalization (mode 0),
    relu, MaxPooling2D, Convolution2D, MaxPooling2D, Dropout, Flatten, Dense, BatchNormalization,
    tanh, Dropout, Dense softmax (10 classes)."""
    return model_graph("keras_cnn", build_model("keras_cnn", dtype, seed))


def keras_text_rnn(dtype: str = "float32", seed: int = 0) -> Tuple[List[Any], List[Any]]:
    """Text classifier on 7 token ids below 40 (0 is padding, masked): Embedding(mask_zero), LSTM
    (returning sequences, input and recurrent dropout), GRU, Dense softmax (5 classes)."""
    return model_graph("keras_text_rnn", build_model("keras_text_rnn", dtype, seed))


def keras_merge(dtype: str = "float32", seed: int = 0) -> Tuple[List[Any], List[Any]]:
    """Functional model, two inputs (16 and 10 features): two Dense branches joined by ``merge``
    (concat, mul, max) and ``Merge`` (sum), RepeatVector, Flatten, concat, Dropout, Dense sigmoid,
    Dense softmax."""
    return model_graph("keras_merge", build_model("keras_merge", dtype, seed))


#: name -> factory, each usable as ``layers_theano.keras_zoo:NAME``
FACTORIES: Dict[str, Callable[..., Tuple[List[Any], List[Any]]]] = {
    "keras_cnn": keras_cnn, "keras_text_rnn": keras_text_rnn, "keras_merge": keras_merge}
