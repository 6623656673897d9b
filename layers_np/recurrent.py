"""Recurrent twins (Lasagne master's ``lasagne/layers/recurrent.py``).

Input is ``(batch, time, features...)``. Every layer first computes the input projection of
all time steps in one GEMM, then loops over time with whole-batch numpy steps. A mask and
initial states given as layers are ``extra_input_layers``: ``get_output`` passes their
outputs as ``extra_inputs=[mask, hid_init(, cell_init)]``.

Common semantics (Lasagne):

* a step whose mask is 0 copies the previous state(s): ``h_t = mask ? step(...) : h_{t-1}``
  (Theano's ``switch``: any non-zero mask value takes the new state);
* ``backwards=True`` runs from the last step to the first and re-reverses the output so it
  is aligned with the input; ``only_return_final`` returns the last *processed* step
  (t = 0 when backwards);
* an initial state given as an array or initializer has shape ``(1, ...)`` and is repeated
  over the batch; given as a layer, that layer's ``(batch, ...)`` output is used.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from . import nonlinearities
from .base import InputLayer, Layer, TwinError, get_all_layers
from .dense import DenseLayer
from .specs import recurrent as spec

__all__ = ["CustomRecurrentLayer", "RecurrentLayer", "Gate", "LSTMLayer", "GRULayer"]


def _split_extra(extra_inputs: Optional[Sequence[Any]], n: int) -> List[Any]:
    values = list(extra_inputs) if extra_inputs else []
    return (values + [None] * n)[:n]


def _check_mask(label: str, mask: Optional[np.ndarray], batch: int, steps: int) -> Optional[np.ndarray]:
    """The mask as ``(time, batch, 1)`` booleans (non-zero means: take the new state)."""
    if mask is None:
        return None
    mask = np.asarray(mask)
    if mask.shape != (batch, steps):
        raise TwinError(f"{label}: mask must have shape (batch, time) = {(batch, steps)}, got {mask.shape}")
    return (mask != 0).T[:, :, None]


def _mask_for(label: str, semantics: str, mask: Optional[np.ndarray], batch: int, steps: int) -> Optional[np.ndarray]:
    """The mask as ``(time, batch, 1)``: booleans under master (select), the values under 0.1 (blend)."""
    if semantics == "master" or mask is None:
        return _check_mask(label, mask, batch, steps)
    mask = np.asarray(mask)
    if mask.shape != (batch, steps):
        raise TwinError(f"{label}: mask must have shape (batch, time) = {(batch, steps)}, got {mask.shape}")
    return mask.T[:, :, None]


def _keep(mask_t: np.ndarray, new: np.ndarray, old: np.ndarray) -> np.ndarray:
    """One masked step: master selects (boolean mask), Lasagne 0.1 blends ``new*m + old*(1-m)``."""
    if mask_t.dtype == bool:
        return np.where(mask_t, new, old)
    return new * mask_t + old * (1 - mask_t)


def _initial_state(label: str, what: str, param: Any, given: Optional[np.ndarray], shape: Tuple[int, ...]) -> np.ndarray:
    """The initial state for a batch: the layer-given array, or the (1, ...) parameter repeated."""
    if given is not None:
        given = np.asarray(given)
        if given.shape != shape:
            raise TwinError(f"{label}: {what} input must have shape {shape}, got {given.shape}")
        return given
    return np.repeat(param.value, shape[0], axis=0)


def _sigmoid_fast(x: np.ndarray) -> np.ndarray:
    """``nonlinearities.sigmoid`` with the same arithmetic, in place and without its per-call
    ``errstate`` (the time loop sets it once): bit-identical, cheaper per step.

    float64: ``1 / (1 + exp(-x))``; float32: ``exp(-x)`` evaluated in float64 and rounded,
    then ``1 / (1 + e)`` in float32 (``reciprocal`` is the correctly rounded ``1 / v``).
    """
    if x.dtype == np.float64:
        v = np.negative(x)
        np.exp(v, out=v)
    else:
        v = np.exp(np.negative(x, dtype=np.float64)).astype(x.dtype)
    v += 1
    np.reciprocal(v, out=v)
    return v


def _tanh_fast(x: np.ndarray) -> np.ndarray:
    """``nonlinearities.tanh`` (float64 evaluation, one rounding), bit-identical."""
    if x.dtype == np.float64:
        return np.tanh(x)
    return np.tanh(x.astype(np.float64)).astype(x.dtype)


def _agrees(fast: Callable, slow: Callable) -> bool:
    """The fast path is used only if it reproduces the public nonlinearity bit for bit."""
    probe = np.concatenate([np.linspace(-120.0, 120.0, 4801), [0.0, -0.0, 1e-30, -1e-30, 88.7, -88.7, 15.0, 16.7]])
    with np.errstate(all="ignore"):
        for dtype in (np.float32, np.float64):
            a = probe.astype(dtype).reshape(1, -1)
            want, got = slow(a), fast(a)
            if want.dtype != got.dtype or not np.array_equal(want, got, equal_nan=True):
                return False
    return True


_FAST: Dict[int, Callable] = {}


def _fast(fn: Callable) -> Callable:
    """A per-step implementation of ``fn`` (the same numbers, less overhead), or ``fn`` itself.

    The probe that the fast paths agree bit for bit runs on first use, not at import
    (start-up: importing layers_np should cost little more than importing numpy).
    """
    if not _FAST:
        _FAST.update({id(f): fast for f, fast in ((nonlinearities.sigmoid, _sigmoid_fast),
                                                  (nonlinearities.tanh, _tanh_fast)) if _agrees(fast, f)})
        _FAST.setdefault(0, None)  # probed (even if no fast path agreed)
    return _FAST.get(id(fn), fn)


def _steps(n: int, backwards: bool) -> range:
    return range(n - 1, -1, -1) if backwards else range(n)


def _finish(outputs: List[np.ndarray], order: range, only_return_final: bool, label: str = "",
            state: Optional[np.ndarray] = None) -> np.ndarray:
    """Stack step outputs in time order (undoing the backwards order), or return the last processed one.

    A sequence of length 0 gives ``(batch, 0) + state shape`` (``state`` is the initial state,
    which has that shape); with ``only_return_final`` there is no last step, an error as in
    Theano (whose scan refuses 0 steps there).
    """
    if not outputs:
        if only_return_final:
            raise TwinError(f"{label}: only_return_final needs a sequence of at least one time step, got 0")
        return np.empty((state.shape[0], 0) + state.shape[1:], dtype=state.dtype)
    if only_return_final:
        return outputs[-1]
    if order.step < 0:
        outputs = outputs[::-1]
    return np.stack(outputs, axis=1)


class _Subnet:
    """A sub-network with one InputLayer evaluated repeatedly (layer order computed once)."""

    def __init__(self, output: Layer, label: str, what: str) -> None:
        self.layers = get_all_layers(output)
        inputs = [l for l in self.layers if isinstance(l, InputLayer)]
        if len(inputs) != 1:
            raise TwinError(f"{label}: `{what}` must have exactly one InputLayer, but it has {len(inputs)}")
        self.input_layer = inputs[0]
        self.output = output

    def __call__(self, x: np.ndarray) -> np.ndarray:
        values: Dict[int, Any] = {id(self.input_layer): self.input_layer.check_input(x)}
        for l in self.layers:
            if l is self.input_layer:
                continue
            if hasattr(l, "input_layers"):
                values[id(l)] = l.get_output_for([values[id(i)] for i in l.input_layers])
            else:
                values[id(l)] = l.get_output_for(values[id(l.input_layer)])
        return values[id(self.output)]


class CustomRecurrentLayer(spec.CustomRecurrentLayer, Layer):
    """Recurrent layer with arbitrary input-to-hidden and hidden-to-hidden sub-networks.

    Notes
    -----
    ``h_t = sigma(f_i(x_t) + f_h(h_{t-1}))``, with ``f_i`` evaluated for all steps at once
    on the input reshaped to ``(time * batch, features...)``.
    """

    side_defaults = {**Layer.side_defaults, "DenseLayer": DenseLayer, "InputLayer": InputLayer}

    def subnetworks_ready(self) -> None:
        label = self._label()
        self._i2h = _Subnet(self.input_to_hidden, label, "input_to_hidden")
        self._h2h = _Subnet(self.hidden_to_hidden, label, "hidden_to_hidden")

    def _project_inputs(self, x: np.ndarray) -> np.ndarray:
        """``f_i`` for all steps: (time, batch, ...) -> (time, batch, hidden...)."""
        steps, batch = x.shape[:2]
        first = self._i2h.input_layer.output_shape[0]
        if first is None or first == steps * batch:
            flat = self._i2h(x.reshape((steps * batch,) + x.shape[2:]))
            return flat.reshape((steps, batch) + flat.shape[1:])
        if steps == 0:  # no step to evaluate f_i on: its output for no rows gives the hidden shape
            flat = self._i2h(x.reshape((0,) + x.shape[2:]))
            return flat.reshape((0, batch) + flat.shape[1:])
        return np.stack([self._i2h(x[t]) for t in range(steps)])

    def _hidden_step(self, h: np.ndarray) -> np.ndarray:
        return self._h2h(h)

    def get_output_for(self, input: np.ndarray, extra_inputs: Optional[Sequence[Any]] = None, **kwargs: Any) -> np.ndarray:
        label = self._label()
        if input.ndim != len(self.input_shape):
            raise TwinError(f"{label}: expected a {len(self.input_shape)}-D input, got shape {input.shape}")
        mask, hid_given = _split_extra(extra_inputs, 2)
        batch, steps = input.shape[:2]
        xin = self._project_inputs(np.swapaxes(input, 0, 1))
        mask = _mask_for(label, self.semantics, mask, batch, steps)
        hid = _initial_state(label, "hid_init", self.hid_init, hid_given, (batch,) + xin.shape[2:])
        order = _steps(steps, self.backwards)
        outputs = []
        for t in order:
            new = self.nonlinearity(self._hidden_step(hid) + xin[t])
            if mask is not None:
                new = _keep(mask[t], new, hid)
            hid = new
            outputs.append(hid)
        return _finish(outputs, order, self.only_return_final, label, hid)


class RecurrentLayer(spec.RecurrentLayer, CustomRecurrentLayer):
    """Dense ("vanilla") recurrent layer.

    Notes
    -----
    ``h_t = sigma(h_{t-1} W_hh + (x_t W_xh + b))``, the bracket computed for all steps in one
    GEMM. Parameters are ordered as Lasagne's: hid_init, W_in_to_hid, b, W_hid_to_hid.
    """

    def _project_inputs(self, x: np.ndarray) -> np.ndarray:
        steps, batch = x.shape[:2]
        W = self.W_in_to_hid.value
        # explicit sizes: ``-1`` is ambiguous when the batch or the sequence is empty
        out = (x.reshape(steps * batch, W.shape[0]) @ W).reshape(steps, batch, W.shape[1])
        if self.b is not None:
            out = out + self.b.value
        return out

    def _hidden_step(self, h: np.ndarray) -> np.ndarray:
        return h @ self.W_hid_to_hid.value


class Gate(spec.Gate):
    """Lasagne's ``Gate`` with the twin's functions (see :class:`layers_np.specs.recurrent.Gate`)."""

    side_defaults = Layer.side_defaults


class _Gated(spec.GatedLayer, Layer):
    """Shared forward logic of the LSTM and GRU twins: stacked gate parameters."""

    side_defaults = {**Layer.side_defaults, "Gate": Gate}
    _stack_cache: Tuple[Any, ...] = ((), None)  # (ids of the stacked arrays, stacked arrays, arrays)

    def _stacked(self) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(W_in, W_hid, b) of all gates side by side in Lasagne's stacking order (cached)."""
        arrays = [getattr(self, f"{kind}{g}").value for g in self._gate_order
                  for kind in ("W_in_to_", "W_hid_to_", "b_")]
        key = tuple(id(a) for a in arrays)
        if self._stack_cache[0] != key:
            k = len(self._gate_order)
            stacked = (np.concatenate([arrays[3 * i] for i in range(k)], axis=1),
                       np.concatenate([arrays[3 * i + 1] for i in range(k)], axis=1),
                       np.concatenate([arrays[3 * i + 2] for i in range(k)], axis=0))
            self._stack_cache = (key, stacked, arrays)  # keep the arrays alive so ids stay unique
        return self._stack_cache[1]

    def _projected(self, input: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """(x W_in + b for all steps as (time, batch, k*units), W_hid stacked)."""
        if input.ndim != len(self.input_shape) or input.shape[2:] != tuple(self.input_shape[2:]):
            raise TwinError(f"{self._label()}: expected input of shape (batch, time) + {tuple(self.input_shape[2:])}, "
                            f"got {input.shape}")
        batch, steps = input.shape[:2]
        W_in, W_hid, b = self._stacked()
        k = W_in.shape[0]  # explicit sizes: ``-1`` is ambiguous when the batch or the sequence is empty
        x = np.swapaxes(input.reshape(batch, steps, k), 0, 1).reshape(steps * batch, k)
        return (x @ W_in).reshape(steps, batch, W_in.shape[1]) + b, W_hid


class LSTMLayer(spec.LSTMLayer, _Gated):
    """Long short-term memory layer with optional peepholes (Lasagne's ``LSTMLayer``).

    Notes
    -----
    With ``a_t = x_t W_x + b`` precomputed for all steps (gate order i, f, c, o)::

        g   = a_t + h_{t-1} W_h
        i_t = s_i(g_i + w_ci * c_{t-1})
        f_t = s_f(g_f + w_cf * c_{t-1})
        c_t = f_t * c_{t-1} + i_t * s_c(g_c)
        o_t = s_o(g_o + w_co * c_t)          # the output peephole sees the new cell
        h_t = o_t * s_h(c_t)
    """

    def get_output_for(self, input: np.ndarray, extra_inputs: Optional[Sequence[Any]] = None, **kwargs: Any) -> np.ndarray:
        label = self._label()
        mask, hid_given, cell_given = _split_extra(extra_inputs, 3)
        xin, W_hid = self._projected(input)
        steps, batch = xin.shape[:2]
        n = self.num_units
        mask = _mask_for(label, self.semantics, mask, batch, steps)
        outgate_first = self.semantics == "0.1"  # 0.1: o = s_o(g_o) + c_t * w_co
        cell = _initial_state(label, "cell_init", self.cell_init, cell_given, (batch, n))
        hid = _initial_state(label, "hid_init", self.hid_init, hid_given, (batch, n))
        same_if = self.nonlinearity_ingate is self.nonlinearity_forgetgate
        f_i, f_f, f_c, f_o, f_h = (_fast(f) for f in (self.nonlinearity_ingate, self.nonlinearity_forgetgate,
                                                     self.nonlinearity_cell, self.nonlinearity_outgate,
                                                     self.nonlinearity))
        w_if = w_o = None
        if self.peepholes:
            w_if = np.stack([self.W_cell_to_ingate.value, self.W_cell_to_forgetgate.value])
            w_o = self.W_cell_to_outgate.value
        order = _steps(steps, self.backwards)
        outputs = []
        s_if, s_c, s_o = slice(0, 2 * n), slice(2 * n, 3 * n), slice(3 * n, 4 * n)
        dot = np.dot
        with np.errstate(over="ignore"):
            # One whole-batch step per iteration, written inline (this loop is the hot path).
            for t in order:
                gates = dot(hid, W_hid)
                gates += xin[t]
                if w_if is not None:  # w_if is (2, n): c_{t-1} * [w_ci; w_cf] in one product
                    gates[:, s_if] += (cell[:, None, :] * w_if).reshape(batch, 2 * n)
                if same_if:  # one call for both gates (elementwise, same values)
                    act_if = f_i(gates[:, s_if])
                    ingate, forgetgate = act_if[:, :n], act_if[:, n:]
                else:
                    ingate, forgetgate = f_i(gates[:, :n]), f_f(gates[:, n:2 * n])
                new_cell = forgetgate * cell + ingate * f_c(gates[:, s_c])
                pre_o = gates[:, s_o]
                if w_o is None:
                    outgate = f_o(pre_o)
                elif outgate_first:
                    outgate = f_o(pre_o) + new_cell * w_o
                else:
                    pre_o += new_cell * w_o
                    outgate = f_o(pre_o)
                new_hid = outgate * f_h(new_cell)
                if mask is not None:
                    new_cell = _keep(mask[t], new_cell, cell)
                    new_hid = _keep(mask[t], new_hid, hid)
                cell, hid = new_cell, new_hid
                outputs.append(hid)
        return _finish(outputs, order, self.only_return_final, label, hid)


class GRULayer(spec.GRULayer, _Gated):
    """Gated recurrent unit layer (Lasagne's ``GRULayer``).

    Notes
    -----
    With ``a_t = x_t W_x + b`` (order r, u, c) and ``g = h_{t-1} W_h``::

        r_t = s_r(g_r + a_r)
        u_t = s_u(g_u + a_u)
        c_t = s_c(a_c + r_t * g_c)           # reset applied after the recurrent product
        h_t = (1 - u_t) * h_{t-1} + u_t * c_t
    """

    def get_output_for(self, input: np.ndarray, extra_inputs: Optional[Sequence[Any]] = None, **kwargs: Any) -> np.ndarray:
        label = self._label()
        mask, hid_given = _split_extra(extra_inputs, 2)
        xin, W_hid = self._projected(input)
        steps, batch = xin.shape[:2]
        n = self.num_units
        mask = _mask_for(label, self.semantics, mask, batch, steps)
        hid = _initial_state(label, "hid_init", self.hid_init, hid_given, (batch, n))
        same_ru = self.nonlinearity_resetgate is self.nonlinearity_updategate
        f_r, f_u, f_c = (_fast(f) for f in (self.nonlinearity_resetgate, self.nonlinearity_updategate,
                                           self.nonlinearity_hid))
        order = _steps(steps, self.backwards)
        outputs = []
        s_c = slice(2 * n, 3 * n)
        s_ru = slice(0, 2 * n)
        dot = np.dot
        with np.errstate(over="ignore"):
            # One whole-batch step per iteration, written inline (this loop is the hot path).
            for t in order:
                hid_input = dot(hid, W_hid)
                a = xin[t]
                pre_ru = hid_input[:, s_ru] + a[:, s_ru]
                if same_ru:
                    act = f_r(pre_ru)
                    resetgate, updategate = act[:, :n], act[:, n:]
                else:
                    resetgate, updategate = f_r(pre_ru[:, :n]), f_u(pre_ru[:, n:])
                hidden_update = f_c(a[:, s_c] + resetgate * hid_input[:, s_c])
                new = (1 - updategate) * hid + updategate * hidden_update
                if mask is not None:
                    new = _keep(mask[t], new, hid)
                hid = new
                outputs.append(hid)
        return _finish(outputs, order, self.only_return_final, label, hid)
