"""Keras 2.3.1 models on PyTensor, as inference graphs for graph-level conversion (issue 14).

Keras 2.3.1, the last Keras with a Theano backend, runs unmodified on PyTensor 2.8.11 through
the ``theano`` shim (:mod:`layers_theano.theano_compat`), like Keras 1.2.2 does for
:mod:`layers_theano.keras_zoo`. Both are the package ``keras``, so they cannot share an
environment or a process: the Makefile installs Keras 2.3.1 and the two packages its import
needs (``keras_applications``, ``keras_preprocessing``; ``--no-deps``: scipy, six and PyYAML come
with the project, h5py is optional) into the directory ``.keras2`` of the checkout, and
:func:`import_keras` puts that directory first on ``sys.path`` in a process where no ``keras``
is imported yet. A process that already holds Keras 1.2.2 gets an ImportError saying so; run
the Keras 2 factories in a process of their own, which the command line is::

    twins gate --graph layers_theano.keras2_zoo:keras2_cnn -o keras2_cnn.npz

Each factory builds one Keras 2 model with seeded weights and returns ``(inputs, outputs)`` of
its inference graph, extracted exactly as for Keras 1.2.2 (:func:`keras_zoo.inference_graph`:
Keras 2's ``in_train_phase`` is the same ``ifelse`` on the learning phase, replaced by its test
branch; the placeholders carry ``_keras_shape`` as in Keras 1).

Keras 2.3.1 with the Theano backend ignores recurrent dropout (``LSTM(dropout=...)`` warns
"RNN dropout is no longer supported with the Theano backend" and sets it to 0), so the text
model has a ``Dropout`` layer between its recurrent layers instead.

Keras is imported when a factory runs, not when this module is imported.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
from typing import Any, Callable, Dict, List, Sequence, Tuple

import numpy as np

from . import keras_zoo

__all__ = ["import_keras", "keras2_path", "build_model", "model_graph", "keras_predict", "keras2_cnn",
           "keras2_text_rnn", "keras2_merge", "FACTORIES", "KERAS_VERSION", "KERAS2_PACKAGES", "PATH_VARIABLE"]

#: The Keras release these factories are written for (the last with a Theano backend).
KERAS_VERSION = "2.3.1"
#: What the Makefile installs with ``pip install --no-deps --target .keras2``.
KERAS2_PACKAGES = ("keras==2.3.1", "keras_applications==1.0.8", "keras_preprocessing==1.1.2")
#: Environment variable naming the directory Keras 2.3.1 is installed in (default: ``.keras2``
#: in the checkout holding this package).
PATH_VARIABLE = "TWINS_KERAS2_PATH"

#: The ``keras.json`` Keras 2 reads on import (from a temporary ``KERAS_HOME``, never ``~/.keras``):
#: the Theano backend with Theano's channel order as the default; ``floatx`` is set per model.
_CONFIG = {"backend": "theano", "floatx": "float32", "epsilon": 1e-7, "image_data_format": "channels_first"}


def keras2_path() -> str:
    """The directory holding Keras 2.3.1: ``$TWINS_KERAS2_PATH``, else ``.keras2`` beside this package."""
    configured = os.environ.get(PATH_VARIABLE)
    if configured:
        return os.path.abspath(configured)
    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".keras2")


def import_keras() -> Any:
    """Import Keras 2.3.1 with the Theano backend (the ``theano`` shim over PyTensor); returns ``keras``.

    Keras 2 reads ``$KERAS_HOME/keras.json`` (default ``~/.keras``) on import and writes one when
    it is missing. The import runs with ``KERAS_HOME`` pointed at a temporary directory holding
    the configuration above, so the user's file can change neither the backend, the float type,
    epsilon nor the image data format, and ``~/.keras`` is neither read nor written.

    Raises
    ------
    ImportError
        Another Keras (1.2.2) is already imported in this process, Keras 2.3.1 is not installed
        where :func:`keras2_path` says, or it was imported with another backend.
    """
    from . import theano_compat

    theano_compat.enable()
    if "keras" in sys.modules:
        found = getattr(sys.modules["keras"], "__version__", "?")
        if found != KERAS_VERSION:
            raise ImportError(f"Keras {found} is already imported in this process; Keras {KERAS_VERSION} is the same "
                              f"package and needs a process of its own (run the layers_theano.keras2_zoo factories "
                              f"through `twins gate --graph` or `twins convert` in a new process)")
    else:
        path = keras2_path()
        if not os.path.isfile(os.path.join(path, "keras", "__init__.py")):
            raise ImportError(f"Keras {KERAS_VERSION} is not installed in {path} (`make venv` installs it; or "
                              f"`pip install --no-deps --target DIR {' '.join(KERAS2_PACKAGES)}` and set "
                              f"{PATH_VARIABLE}=DIR)")
        if path not in sys.path:
            sys.path.insert(0, path)  # first: the environment may hold Keras 1.2.2 under the same name
        with tempfile.TemporaryDirectory(prefix="twins-keras2-home-") as home:
            with open(os.path.join(home, "keras.json"), "w") as f:
                json.dump(_CONFIG, f)
            with keras_zoo.keras_import_environment({"KERAS_HOME": home, "KERAS_BACKEND": "theano"}):
                import keras  # noqa: F401  (Keras prints "Using Theano backend." on stderr)
    import keras
    from keras import backend as K

    if keras.__version__ != KERAS_VERSION:
        raise ImportError(f"layers_theano.keras2_zoo needs Keras {KERAS_VERSION}, found {keras.__version__} in "
                          f"{os.path.dirname(keras.__file__)}")
    if K.backend() != "theano":
        raise ImportError(f"Keras was already imported with the {K.backend()} backend; these factories need "
                          f"KERAS_BACKEND=theano")
    return keras


# ---------------------------------------------------------------------------
# models
# ---------------------------------------------------------------------------
def _cnn(keras: Any) -> Any:
    from keras.layers import Activation, BatchNormalization, Conv2D, Dense, Dropout, Flatten, MaxPooling2D
    from keras.models import Sequential

    first = "channels_first"
    return Sequential([
        Conv2D(6, (3, 3), padding="same", data_format=first, input_shape=(3, 16, 16), name="conv1"),
        BatchNormalization(axis=1, epsilon=1e-3, name="bn1"),
        Activation("relu", name="relu1"),
        MaxPooling2D((2, 2), data_format=first, name="pool1"),
        # a dilated convolution (Theano's conv2d filter_dilation) and a 'same' pooling (pad, then crop)
        Conv2D(8, (3, 3), dilation_rate=(2, 2), data_format=first, activation="relu", name="conv2"),
        MaxPooling2D((2, 2), padding="same", data_format=first, name="pool2"),
        Dropout(0.25, name="drop1"),
        Flatten(data_format=first, name="flatten"),
        Dense(32, name="dense1"),
        BatchNormalization(epsilon=1e-3, name="bn2"),
        Activation("tanh", name="tanh1"),
        Dropout(0.5, name="drop2"),
        Dense(10, activation="softmax", name="output"),
    ], name="keras2_cnn")


def _text_rnn(keras: Any) -> Any:
    from keras.layers import GRU, LSTM, Dense, Dropout, Embedding
    from keras.models import Sequential

    return Sequential([
        Embedding(keras_zoo.VOCABULARY, 8, input_length=7, mask_zero=True, name="embed"),
        LSTM(12, return_sequences=True, name="lstm"),
        Dropout(0.2, name="drop"),
        GRU(10, reset_after=True, name="gru"),
        Dense(5, activation="softmax", name="output"),
    ], name="keras2_text_rnn")


def _merge(keras: Any) -> Any:
    from keras.layers import (Add, Concatenate, Dense, Dropout, Flatten, Input, Maximum, Multiply, RepeatVector,
                              Subtract)
    from keras.models import Model

    a_in = Input(shape=(16,), name="features")
    b_in = Input(shape=(10,), name="context")
    a = Dense(12, activation="relu", name="branch_a")(a_in)
    b = Dense(12, activation="tanh", name="branch_b")(b_in)
    joined = Concatenate(axis=-1, name="concat")([a, b])
    summed = Add(name="add")([a, b])
    prod = Multiply(name="mul")([a, b])
    top = Maximum(name="max")([Subtract(name="sub")([summed, prod]), prod])
    repeated = Flatten(name="flatten")(RepeatVector(3, name="repeat")(top))
    both = Dropout(0.3, name="drop")(Concatenate(name="concat2")([joined, repeated]))
    hidden = Dense(8, activation="softsign", name="hidden")(both)
    out = Dense(4, activation="softmax", name="output")(hidden)
    return Model(inputs=[a_in, b_in], outputs=out, name="keras2_merge")


#: name -> (builder, input names): every model of this module
_BUILDERS: Dict[str, Tuple[Callable[[Any], Any], Tuple[str, ...]]] = {
    "keras2_cnn": (_cnn, ("image",)),
    "keras2_text_rnn": (_text_rnn, ("tokens",)),
    "keras2_merge": (_merge, ("features", "context")),
}


def build_model(name: str, dtype: str = "float32", seed: int = 0) -> Any:
    """The Keras 2 model ``name`` (a key of :data:`FACTORIES`) built in ``dtype`` with seeded weights."""
    if name not in _BUILDERS:
        raise KeyError(f"no Keras 2 model {name!r}; choose one of {', '.join(_BUILDERS)}")
    builder, _ = _BUILDERS[name]
    with keras_zoo.keras_float_type(dtype, import_keras()) as keras:
        model = builder(keras)
    keras_zoo.seed_weights(model, seed, kernels_last=True)
    return model


def model_graph(name: str, model: Any) -> Tuple[List[Any], List[Any]]:
    """The inference graph ``(inputs, outputs)`` of a model built by :func:`build_model`."""
    return keras_zoo.keras_graph(model, _BUILDERS[name][1])


def keras_predict(model: Any, inputs: Sequence[np.ndarray], batch_size: int = 32) -> np.ndarray:
    """Keras 2's own ``model.predict`` (learning phase 0, through PyTensor), in the model's float type."""
    data = list(inputs)
    with keras_zoo.keras_float_type(str(model.get_weights()[0].dtype), import_keras()):
        return model.predict(data if len(data) > 1 else data[0], batch_size=batch_size, verbose=0)


def keras2_cnn(dtype: str = "float32", seed: int = 0) -> Tuple[List[Any], List[Any]]:
    """Sequential CNN, channels_first, on 3x16x16: Conv2D ('same'), BatchNormalization, relu,
    MaxPooling2D, dilated Conv2D, MaxPooling2D ('same'), Dropout, Flatten, Dense,
    BatchNormalization, tanh, Dropout, Dense softmax (10 classes)."""
    return model_graph("keras2_cnn", build_model("keras2_cnn", dtype, seed))


def keras2_text_rnn(dtype: str = "float32", seed: int = 0) -> Tuple[List[Any], List[Any]]:
    """Text classifier on 7 token ids below 40 (0 is padding, masked): Embedding(mask_zero), LSTM
    (returning sequences), Dropout, GRU (reset_after), Dense softmax (5 classes)."""
    return model_graph("keras2_text_rnn", build_model("keras2_text_rnn", dtype, seed))


def keras2_merge(dtype: str = "float32", seed: int = 0) -> Tuple[List[Any], List[Any]]:
    """Functional model, two inputs (16 and 10 features): two Dense branches joined by Concatenate,
    Add, Multiply, Subtract and Maximum, RepeatVector, Flatten, Concatenate, Dropout, Dense softsign,
    Dense softmax."""
    return model_graph("keras2_merge", build_model("keras2_merge", dtype, seed))


#: name -> factory, each usable as ``layers_theano.keras2_zoo:NAME``
FACTORIES: Dict[str, Callable[..., Tuple[List[Any], List[Any]]]] = {
    "keras2_cnn": keras2_cnn, "keras2_text_rnn": keras2_text_rnn, "keras2_merge": keras2_merge}

