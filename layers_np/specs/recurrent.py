"""Spec of CustomRecurrentLayer, RecurrentLayer, Gate, LSTMLayer and GRULayer (Lasagne master
``lasagne/layers/recurrent.py``).

A mask and initial states given as layers are ``extra_input_layers`` of a one-input layer
(each side's ``get_output`` passes their outputs as ``extra_inputs``). RecurrentLayer builds
its sub-networks from the side's own DenseLayer and InputLayer (``side_defaults``).
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Tuple

from .. import init
from ..versions import check_semantics
from ..traversal import get_all_layers
from ..shapes import check_recurrent_input, check_recurrent_options, num_flat_inputs, recurrent_output_shape
from .base import (InputLayer, Layer, SideDefault, SideSpecific, TwinError, get_all_params, is_integer,
                   nonlinearity_or_identity, twin_errors)

__all__ = ["CustomRecurrentLayer", "RecurrentLayer", "Gate", "GatedLayer", "LSTMLayer", "GRULayer"]


def _positive_units(label: str, num_units: Any) -> int:
    if not is_integer(num_units) or num_units <= 0:
        raise TwinError(f"{label}: num_units must be a positive integer, got {num_units!r}")
    return int(num_units)


def _sub_input(label: str, what: str, sub: Any) -> Any:
    """The one InputLayer of a sub-network (input_to_hidden, hidden_to_hidden)."""
    inputs = [l for l in get_all_layers(sub) if isinstance(l, InputLayer)]
    if len(inputs) != 1:
        raise TwinError(f"{label}: `{what}` must have exactly one InputLayer, but it has {len(inputs)}")
    return inputs[0]


def _initial(layer: Layer, init_value: Any, shape: Tuple[int, ...], name: str, learn_init: bool) -> Any:
    """An initial state: a layer (given per batch) or a ``(1, ...)`` parameter."""
    if isinstance(init_value, Layer):
        return init_value
    return layer.add_param(init_value, shape, name=name, trainable=learn_init, regularizable=False)


class CustomRecurrentLayer(Layer):
    """Recurrent layer with arbitrary input-to-hidden and hidden-to-hidden sub-networks.

    Parameters
    ----------
    incoming : Layer or tuple
        Input of shape ``(batch, time, features...)``.
    input_to_hidden, hidden_to_hidden : Layer
        Networks of the same side, each with exactly one InputLayer: ``f_i`` applied to
        ``x_t`` and ``f_h`` to ``h_{t-1}``; their output shapes must agree.
    nonlinearity : callable or None
    hid_init : array, initializer or Layer
        ``(1,) + hidden shape`` parameter, or a layer giving ``(batch,) + hidden shape``.
    backwards, learn_init, gradient_steps, grad_clipping, unroll_scan, precompute_input
        As in Lasagne; ``gradient_steps``, ``grad_clipping`` and ``unroll_scan`` only matter
        for training and are accepted for compatibility.
    mask_input : Layer or None
        ``(batch, time)`` mask.
    only_return_final : bool
    semantics : {'master', '0.1'}, keyword-only
        The Lasagne release whose arithmetic to reproduce (:mod:`layers_np.versions`).
        Under '0.1' a masked step blends ``new * m + old * (1 - m)`` instead of selecting.
    """

    extra_arguments = {"semantics": "the Lasagne release whose arithmetic to reproduce (layers_np.versions)"}

    def __init__(self, incoming: Any, input_to_hidden: Any, hidden_to_hidden: Any,
                 nonlinearity: Optional[Callable] = SideDefault("rectify"), hid_init: Any = init.Constant(0.),
                 backwards: bool = False, learn_init: bool = False, gradient_steps: int = -1, grad_clipping: Any = 0,
                 unroll_scan: bool = False, precompute_input: bool = True, mask_input: Any = None,
                 only_return_final: bool = False, *, semantics: str = "master", **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        label = self._label()
        with twin_errors():
            self.semantics = check_semantics(label, semantics)
            check_recurrent_input(label, self.input_shape)
            check_recurrent_options(label, self.input_shape, unroll_scan, gradient_steps)
        for what, sub in (("input_to_hidden", input_to_hidden), ("hidden_to_hidden", hidden_to_hidden)):
            if not isinstance(sub, Layer) or sub.side_name != self.side_name:
                raise TwinError(f"{label}: {what} must be a {self.side_name} Layer, got {type(sub).__name__}")
        _sub_input(label, "input_to_hidden", input_to_hidden)
        h2h_in = _sub_input(label, "hidden_to_hidden", hidden_to_hidden).output_shape
        i2h, h2h = input_to_hidden.output_shape, hidden_to_hidden.output_shape
        input_shape = self.input_shape
        if (precompute_input and i2h[0] is not None and input_shape[0] is not None and input_shape[1] is not None
                and i2h[0] != input_shape[0] * input_shape[1]):
            raise TwinError(f"{label}: When precompute_input == True, input_to_hidden.output_shape[0] must equal "
                            f"batch_size*sequence_length or be None, got {i2h[0]}")
        if not precompute_input and i2h[0] is not None and h2h[0] is not None and i2h[0] != h2h[0]:
            raise TwinError(f"{label}: When precompute_input == False, input_to_hidden.output_shape[0] must equal "
                            f"hidden_to_hidden.output_shape[0] but got {i2h[0]} and {h2h[0]}")
        if not all(a is None or b is None or a == b for a, b in zip(i2h[1:], h2h[1:])):
            raise TwinError(f"{label}: The output shape for input_to_hidden and hidden_to_hidden must be equal "
                            f"after the first dimension, got {i2h} and {h2h}")
        if not all(a is None or b is None or a == b for a, b in zip(i2h[1:], h2h_in[1:])):
            raise TwinError(f"{label}: The output shape for input_to_hidden must be equal to the input shape of "
                            f"hidden_to_hidden after the first dimension, got {i2h} and {h2h_in}")
        self.input_to_hidden = input_to_hidden
        self.hidden_to_hidden = hidden_to_hidden
        self.nonlinearity = nonlinearity_or_identity(self, nonlinearity)
        self.learn_init = learn_init
        self.backwards = backwards
        self.gradient_steps = gradient_steps
        self.grad_clipping = grad_clipping
        self.unroll_scan = unroll_scan
        self.precompute_input = precompute_input
        self.only_return_final = only_return_final
        self.hid_init = _initial(self, hid_init, (1,) + tuple(h2h[1:]), "hid_init", learn_init)
        self.mask_input = mask_input
        self.extra_input_layers = [mask_input, hid_init if isinstance(hid_init, Layer) else None]
        self.subnetworks_ready()

    def subnetworks_ready(self) -> None:
        """Called once the sub-networks are validated and stored (the side may prepare them)."""

    def get_params(self, unwrap_shared: bool = True, **tags: bool) -> Any:
        # Lasagne: the layer's own parameters, then get_all_params of each sub-network
        params = super().get_params(**tags)
        params += get_all_params(self.input_to_hidden, **tags)
        params += get_all_params(self.hidden_to_hidden, **tags)
        return params

    def get_output_shape_for(self, input_shape):
        return recurrent_output_shape(input_shape, self.hidden_to_hidden.output_shape[1:], self.only_return_final)


class RecurrentLayer(CustomRecurrentLayer):
    """Dense ("vanilla") recurrent layer: ``h_t = f(h_{t-1} W_hid_to_hid + x_t W_in_to_hid + b)``.

    Parameters are ordered as Lasagne's: hid_init, W_in_to_hid, b, W_hid_to_hid.
    """

    def __init__(self, incoming: Any, num_units: int, W_in_to_hid: Any = init.Uniform(),
                 W_hid_to_hid: Any = init.Uniform(), b: Any = init.Constant(0.),
                 nonlinearity: Optional[Callable] = SideDefault("rectify"), hid_init: Any = init.Constant(0.),
                 backwards: bool = False, learn_init: bool = False, gradient_steps: int = -1, grad_clipping: Any = 0,
                 unroll_scan: bool = False, precompute_input: bool = True, mask_input: Any = None,
                 only_return_final: bool = False, *, semantics: str = "master", **kwargs: Any) -> None:
        input_shape = incoming if isinstance(incoming, tuple) else incoming.output_shape
        label = type(self).__name__
        with twin_errors():
            check_recurrent_input(label, input_shape)
        num_units = _positive_units(label, num_units)
        name = kwargs.get("name")
        basename = name + "." if name is not None else ""
        layer_kwargs = {k: v for k, v in kwargs.items() if k != "name"}
        dense, input_layer = self.side_defaults["DenseLayer"], self.side_defaults["InputLayer"]
        in_to_hid = dense(input_layer((None,) + tuple(input_shape[2:])), num_units, W=W_in_to_hid, b=b,
                          nonlinearity=None, name=basename + "input_to_hidden", **layer_kwargs)
        hid_to_hid = dense(input_layer((None, num_units)), num_units, W=W_hid_to_hid, b=None,
                           nonlinearity=None, name=basename + "hidden_to_hidden", **layer_kwargs)
        self.W_in_to_hid = in_to_hid.W
        self.W_hid_to_hid = hid_to_hid.W
        self.b = in_to_hid.b
        self.num_units = num_units
        super().__init__(incoming, in_to_hid, hid_to_hid, nonlinearity=nonlinearity, hid_init=hid_init,
                         backwards=backwards, learn_init=learn_init, gradient_steps=gradient_steps,
                         grad_clipping=grad_clipping, unroll_scan=unroll_scan, precompute_input=precompute_input,
                         mask_input=mask_input, only_return_final=only_return_final, semantics=semantics,
                         **kwargs)


class Gate(SideSpecific):
    """Parameters of one gate of an LSTM or GRU layer (Lasagne's ``Gate``).

    Parameters
    ----------
    W_in : array or initializer, shape ``(num_inputs, num_units)``
    W_hid : array or initializer, shape ``(num_units, num_units)``
    W_cell : array, initializer or None, shape ``(num_units,)``
        Peephole weights (LSTM only; not stored when None).
    b : array or initializer, shape ``(num_units,)``
    nonlinearity : callable or None (identity)

    Notes
    -----
    The gate computes ``nonlinearity(x_t W_in + h_{t-1} W_hid (+ w_cell * c) + b)``.
    """

    def __init__(self, W_in: Any = init.Normal(0.1), W_hid: Any = init.Normal(0.1), W_cell: Any = init.Normal(0.1),
                 b: Any = init.Constant(0.), nonlinearity: Optional[Callable] = SideDefault("sigmoid")) -> None:
        self.W_in = W_in
        self.W_hid = W_hid
        if W_cell is not None:
            self.W_cell = W_cell
        self.b = b
        self.nonlinearity = self.side_defaults["identity"] if nonlinearity is None else nonlinearity


class GatedLayer(Layer):
    """Shared spec of LSTMLayer and GRULayer: options, checks and gate parameters."""

    extra_arguments = {"semantics": "the Lasagne release whose arithmetic to reproduce (layers_np.versions)"}

    _gate_order: Tuple[str, ...] = ()

    def _setup(self, num_units: Any, backwards: bool, learn_init: bool, gradient_steps: int, grad_clipping: Any,
               unroll_scan: bool, precompute_input: bool, only_return_final: bool, semantics: str) -> int:
        label = self._label()
        with twin_errors():
            self.semantics = check_semantics(label, semantics)
        num_units = _positive_units(label, num_units)
        with twin_errors():
            check_recurrent_input(label, self.input_shape)
            check_recurrent_options(label, self.input_shape, unroll_scan, gradient_steps)
            num_inputs = num_flat_inputs(label, self.input_shape)
        self.num_units = num_units
        self.learn_init = learn_init
        self.backwards = backwards
        self.gradient_steps = gradient_steps
        self.grad_clipping = grad_clipping
        self.unroll_scan = unroll_scan
        self.precompute_input = precompute_input
        self.only_return_final = only_return_final
        return num_inputs

    def _add_gate_params(self, gate: Any, gate_name: str, num_inputs: int) -> tuple:
        if not hasattr(gate, "W_in") or not hasattr(gate, "W_hid"):
            raise TwinError(f"{self._label()}: {gate_name} must be a Gate, got {type(gate).__name__}")
        n = self.num_units
        return (self.add_param(gate.W_in, (num_inputs, n), name=f"W_in_to_{gate_name}"),
                self.add_param(gate.W_hid, (n, n), name=f"W_hid_to_{gate_name}"),
                self.add_param(gate.b, (n,), name=f"b_{gate_name}", regularizable=False),
                self.side_defaults["identity"] if gate.nonlinearity is None else gate.nonlinearity)

    def get_output_shape_for(self, input_shape):
        return recurrent_output_shape(input_shape, (self.num_units,), self.only_return_final)


class LSTMLayer(GatedLayer):
    """Long short-term memory layer with optional peepholes (Lasagne's ``LSTMLayer``).

    Parameters
    ----------
    incoming : Layer or tuple
        ``(batch, time, features...)``; trailing feature axes are flattened.
    num_units : int
    ingate, forgetgate, cell, outgate : Gate
        Their parameters become ``W_in_to_<gate>``, ``W_hid_to_<gate>``, ``b_<gate>`` (in this
        order, gate by gate), then the peepholes ``W_cell_to_ingate``, ``W_cell_to_forgetgate``,
        ``W_cell_to_outgate`` when ``peepholes``, then ``cell_init`` and ``hid_init``.
    nonlinearity : callable or None
        Applied to the cell before the output gate.
    cell_init, hid_init : array, initializer or Layer
    backwards, learn_init, peepholes, gradient_steps, grad_clipping, unroll_scan,
    precompute_input, mask_input, only_return_final
        As in Lasagne.
    semantics : {'master', '0.1'}, keyword-only
        The Lasagne release whose arithmetic to reproduce (:mod:`layers_np.versions`).
    """

    _gate_order = ("ingate", "forgetgate", "cell", "outgate")

    def __init__(self, incoming: Any, num_units: int, ingate: Any = SideDefault.call("Gate"),
                 forgetgate: Any = SideDefault.call("Gate"),
                 cell: Any = SideDefault.call("Gate", W_cell=None, nonlinearity=SideDefault("tanh")),
                 outgate: Any = SideDefault.call("Gate"), nonlinearity: Optional[Callable] = SideDefault("tanh"),
                 cell_init: Any = init.Constant(0.), hid_init: Any = init.Constant(0.), backwards: bool = False,
                 learn_init: bool = False, peepholes: bool = True, gradient_steps: int = -1, grad_clipping: Any = 0,
                 unroll_scan: bool = False, precompute_input: bool = True, mask_input: Any = None,
                 only_return_final: bool = False, *, semantics: str = "master", **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        num_inputs = self._setup(num_units, backwards, learn_init, gradient_steps, grad_clipping, unroll_scan,
                                 precompute_input, only_return_final, semantics)
        self.nonlinearity = nonlinearity_or_identity(self, nonlinearity)
        self.peepholes = peepholes
        n = self.num_units
        (self.W_in_to_ingate, self.W_hid_to_ingate, self.b_ingate,
         self.nonlinearity_ingate) = self._add_gate_params(ingate, "ingate", num_inputs)
        (self.W_in_to_forgetgate, self.W_hid_to_forgetgate, self.b_forgetgate,
         self.nonlinearity_forgetgate) = self._add_gate_params(forgetgate, "forgetgate", num_inputs)
        (self.W_in_to_cell, self.W_hid_to_cell, self.b_cell,
         self.nonlinearity_cell) = self._add_gate_params(cell, "cell", num_inputs)
        (self.W_in_to_outgate, self.W_hid_to_outgate, self.b_outgate,
         self.nonlinearity_outgate) = self._add_gate_params(outgate, "outgate", num_inputs)
        if peepholes:
            for gate, gname in ((ingate, "ingate"), (forgetgate, "forgetgate"), (outgate, "outgate")):
                if not hasattr(gate, "W_cell"):
                    raise TwinError(f"{self._label()}: peepholes=True needs W_cell in the {gname} Gate, got W_cell=None")
            self.W_cell_to_ingate = self.add_param(ingate.W_cell, (n,), name="W_cell_to_ingate")
            self.W_cell_to_forgetgate = self.add_param(forgetgate.W_cell, (n,), name="W_cell_to_forgetgate")
            self.W_cell_to_outgate = self.add_param(outgate.W_cell, (n,), name="W_cell_to_outgate")
        self.cell_init = _initial(self, cell_init, (1, n), "cell_init", learn_init)
        self.hid_init = _initial(self, hid_init, (1, n), "hid_init", learn_init)
        self.mask_input = mask_input
        self.extra_input_layers = [mask_input, hid_init if isinstance(hid_init, Layer) else None,
                                   cell_init if isinstance(cell_init, Layer) else None]


class GRULayer(GatedLayer):
    """Gated recurrent unit layer (Lasagne's ``GRULayer``).

    Parameters
    ----------
    incoming : Layer or tuple
        ``(batch, time, features...)``; trailing feature axes are flattened.
    num_units : int
    resetgate, updategate, hidden_update : Gate
        Parameters are added update gate first, then reset gate, then hidden update (Lasagne's
        order), each as ``W_in_to_<gate>``, ``W_hid_to_<gate>``, ``b_<gate>``; then ``hid_init``.
    hid_init : array, initializer or Layer
    backwards, learn_init, gradient_steps, grad_clipping, unroll_scan, precompute_input,
    mask_input, only_return_final
        As in Lasagne.
    semantics : {'master', '0.1'}, keyword-only
        The Lasagne release whose arithmetic to reproduce (:mod:`layers_np.versions`).
    """

    _gate_order = ("resetgate", "updategate", "hidden_update")

    def __init__(self, incoming: Any, num_units: int, resetgate: Any = SideDefault.call("Gate", W_cell=None),
                 updategate: Any = SideDefault.call("Gate", W_cell=None),
                 hidden_update: Any = SideDefault.call("Gate", W_cell=None, nonlinearity=SideDefault("tanh")),
                 hid_init: Any = init.Constant(0.), backwards: bool = False, learn_init: bool = False,
                 gradient_steps: int = -1, grad_clipping: Any = 0, unroll_scan: bool = False,
                 precompute_input: bool = True, mask_input: Any = None, only_return_final: bool = False,
                 *, semantics: str = "master", **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        num_inputs = self._setup(num_units, backwards, learn_init, gradient_steps, grad_clipping, unroll_scan,
                                 precompute_input, only_return_final, semantics)
        # Lasagne adds the update gate's parameters first, then the reset gate's.
        (self.W_in_to_updategate, self.W_hid_to_updategate, self.b_updategate,
         self.nonlinearity_updategate) = self._add_gate_params(updategate, "updategate", num_inputs)
        (self.W_in_to_resetgate, self.W_hid_to_resetgate, self.b_resetgate,
         self.nonlinearity_resetgate) = self._add_gate_params(resetgate, "resetgate", num_inputs)
        (self.W_in_to_hidden_update, self.W_hid_to_hidden_update, self.b_hidden_update,
         self.nonlinearity_hid) = self._add_gate_params(hidden_update, "hidden_update", num_inputs)
        self.hid_init = _initial(self, hid_init, (1, self.num_units), "hid_init", learn_init)
        self.mask_input = mask_input
        self.extra_input_layers = [mask_input, hid_init if isinstance(hid_init, Layer) else None]
