"""Recurrent layers (Lasagne master's ``recurrent.py``): CustomRecurrentLayer, RecurrentLayer,
Gate, LSTMLayer and GRULayer, run with ``scan`` (or unrolled with ``unroll_scan=True``).

Lasagne makes these MergeLayers so that a mask and initial states given as layers become
extra incomings; here they are ``extra_input_layers`` of a one-input Layer (the base
``get_output`` passes their outputs as ``extra_inputs=[mask, hid_init(, cell_init)]``).
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional


from layers_np.specs import recurrent as spec

from .backend import T, pytensor, scan
from .base import InputLayer, Layer, get_all_params, get_output
from .dense import DenseLayer

__all__ = ["CustomRecurrentLayer", "RecurrentLayer", "Gate", "LSTMLayer", "GRULayer", "unroll_scan"]


def unroll_scan(fn: Callable, sequences: Any, outputs_info: List[Any], non_sequences: List[Any], n_steps: int,
                go_backwards: bool = False) -> List[Any]:
    """Lasagne's ``utils.unroll_scan``: the scan loop written out step by step in the graph."""
    if not isinstance(sequences, (list, tuple)):
        sequences = [sequences]
    counter = list(range(n_steps))
    if go_backwards:
        counter = counter[::-1]
    output: List[List[Any]] = []
    prev_vals = list(outputs_info)
    for i in counter:
        out_ = fn(*([s[i] for s in sequences] + prev_vals + list(non_sequences)))
        if not isinstance(out_, (list, tuple)):
            out_ = [out_]
        output.append(list(out_))
        prev_vals = output[-1]
    return [T.stack([o[i] for o in output]) for i in range(len(output[0]))]


def _keep(semantics: str, mask_n: Any, new: Any, old: Any) -> Any:
    """One masked step: master selects (``switch``), Lasagne 0.1 blends ``new*m + old*(1-m)``."""
    if semantics == "0.1":
        return new * mask_n + old * (1 - mask_n)
    return T.switch(mask_n, new, old)


def _grad_clip(x: Any, clip: Any) -> Any:
    return pytensor.gradient.grad_clip(x, -clip, clip)


class _SubNetwork:
    """Stands in the recorded constructor arguments for a sub-network (input_to_hidden,
    hidden_to_hidden): those layers are not below the recurrent layer, so ``to_numpy``
    converts them separately through :meth:`CustomRecurrentLayer.twin_kwargs`."""

    __slots__ = ("layer",)

    def __init__(self, layer: Any) -> None:
        self.layer = layer

    def __repr__(self) -> str:
        return f"_SubNetwork({type(self.layer).__name__})"


def _repeat_init(param: Any, num_batch: Any) -> Any:
    """Lasagne repeats a (1, ...) initial state with a dot against a ones vector."""
    dot_dims = list(range(1, param.ndim - 1)) + [0, param.ndim - 1]
    return T.dot(T.ones((num_batch, 1)), param.dimshuffle(dot_dims))


class CustomRecurrentLayer(spec.CustomRecurrentLayer, Layer):
    side_defaults = {**Layer.side_defaults, "DenseLayer": DenseLayer, "InputLayer": InputLayer}

    def subnetworks_ready(self) -> None:
        record = self.__dict__.get("_init_args")
        if record is not None and record.get("input_to_hidden") is self.input_to_hidden:
            record["input_to_hidden"] = _SubNetwork(self.input_to_hidden)
            record["hidden_to_hidden"] = _SubNetwork(self.hidden_to_hidden)

    def twin_kwargs(self, kwargs: Dict[str, Any], convert: Callable[[Any], Any]) -> Dict[str, Any]:
        from .convert import to_numpy

        kwargs["input_to_hidden"] = to_numpy(self.input_to_hidden)
        kwargs["hidden_to_hidden"] = to_numpy(self.hidden_to_hidden)
        return kwargs

    def get_output_for(self, input, extra_inputs=None, **kwargs):
        mask, hid_init = (list(extra_inputs) + [None, None])[:2] if extra_inputs else (None, None)
        input = input.dimshuffle(1, 0, *range(2, input.ndim))
        seq_len, num_batch = input.shape[0], input.shape[1]
        if self.precompute_input:
            trailing = tuple(input.shape[n] for n in range(2, input.ndim))
            input = T.reshape(input, (seq_len * num_batch,) + trailing)
            input = get_output(self.input_to_hidden, input, **kwargs)
            trailing = tuple(input.shape[n] for n in range(1, input.ndim))
            input = T.reshape(input, (seq_len, num_batch) + trailing)
        non_seqs = get_all_params(self.hidden_to_hidden)
        if not self.precompute_input:
            non_seqs += get_all_params(self.input_to_hidden)

        def step(input_n, hid_previous, *args):
            hid_pre = get_output(self.hidden_to_hidden, hid_previous, **kwargs)
            if self.precompute_input:
                hid_pre += input_n
            else:
                hid_pre += get_output(self.input_to_hidden, input_n, **kwargs)
            if self.grad_clipping:
                hid_pre = _grad_clip(hid_pre, self.grad_clipping)
            return self.nonlinearity(hid_pre)

        def step_masked(input_n, mask_n, hid_previous, *args):
            hid = step(input_n, hid_previous, *args)
            return [_keep(self.semantics, mask_n, hid, hid_previous)]

        if mask is not None:
            mask = mask.dimshuffle(1, 0, "x")
            sequences, step_fun = [input, mask], step_masked
        else:
            sequences, step_fun = input, step
        if not isinstance(self.hid_init, Layer):
            hid_init = _repeat_init(self.hid_init, num_batch)
        if self.unroll_scan:
            hid_out = unroll_scan(step_fun, sequences, [hid_init], non_seqs, self.input_shape[1],
                                  go_backwards=self.backwards)[0]
        else:
            hid_out = scan(fn=step_fun, sequences=sequences, go_backwards=self.backwards, outputs_info=[hid_init],
                           non_sequences=non_seqs, truncate_gradient=self.gradient_steps, strict=True)[0]
        if self.only_return_final:
            return hid_out[-1]
        hid_out = hid_out.dimshuffle(1, 0, *range(2, hid_out.ndim))
        if self.backwards:
            hid_out = hid_out[:, ::-1]
        return hid_out


class RecurrentLayer(spec.RecurrentLayer, CustomRecurrentLayer):

    def twin_kwargs(self, kwargs: Dict[str, Any], convert: Callable[[Any], Any]) -> Dict[str, Any]:
        kwargs["W_in_to_hid"] = self.W_in_to_hid.get_value()
        kwargs["W_hid_to_hid"] = self.W_hid_to_hid.get_value()
        kwargs["b"] = None if self.b is None else self.b.get_value()
        return kwargs


class Gate(spec.Gate):
    """Lasagne's ``Gate`` with the Theano side's functions (see :class:`layers_np.specs.recurrent.Gate`)."""

    side_defaults = Layer.side_defaults


def _gate_twin(layer: Any, gate: str, convert: Callable[[Any], Any], peephole: bool,
               nonlinearity_attr: Optional[str] = None) -> Any:
    """The numpy Gate holding the current values of one gate's parameters."""
    import layers_np

    return layers_np.Gate(W_in=getattr(layer, f"W_in_to_{gate}").get_value(),
                          W_hid=getattr(layer, f"W_hid_to_{gate}").get_value(),
                          W_cell=getattr(layer, f"W_cell_to_{gate}").get_value() if peephole else None,
                          b=getattr(layer, f"b_{gate}").get_value(),
                          nonlinearity=convert(getattr(layer, nonlinearity_attr or f"nonlinearity_{gate}")))


class _GatedBase(spec.GatedLayer, Layer):
    """Shared graph logic of LSTMLayer and GRULayer."""

    side_defaults = {**Layer.side_defaults, "Gate": Gate}

    def _run(self, step_fun: Callable, sequences: List[Any], outputs_info: List[Any], non_seqs: List[Any]) -> List[Any]:
        if self.unroll_scan:
            return unroll_scan(step_fun, sequences, outputs_info, non_seqs, self.input_shape[1],
                               go_backwards=self.backwards)
        out = scan(fn=step_fun, sequences=sequences, outputs_info=outputs_info, go_backwards=self.backwards,
                   truncate_gradient=self.gradient_steps, non_sequences=non_seqs, strict=True)[0]
        return out if isinstance(out, (list, tuple)) else [out]

    def _finish(self, hid_out: Any) -> Any:
        if self.only_return_final:
            return hid_out[-1]
        hid_out = hid_out.dimshuffle(1, 0, 2)
        if self.backwards:
            hid_out = hid_out[:, ::-1]
        return hid_out


class LSTMLayer(spec.LSTMLayer, _GatedBase):

    def twin_kwargs(self, kwargs: Dict[str, Any], convert: Callable[[Any], Any]) -> Dict[str, Any]:
        for gate in ("ingate", "forgetgate", "cell", "outgate"):
            kwargs[gate] = _gate_twin(self, gate, convert, self.peepholes and gate != "cell")
        return kwargs

    def get_output_for(self, input, extra_inputs=None, **kwargs):
        mask, hid_init, cell_init = (list(extra_inputs) + [None] * 3)[:3] if extra_inputs else (None, None, None)
        if input.ndim > 3:
            input = T.flatten(input, 3)
        input = input.dimshuffle(1, 0, 2)
        seq_len, num_batch, _ = input.shape
        W_in_stacked = T.concatenate([self.W_in_to_ingate, self.W_in_to_forgetgate,
                                      self.W_in_to_cell, self.W_in_to_outgate], axis=1)
        W_hid_stacked = T.concatenate([self.W_hid_to_ingate, self.W_hid_to_forgetgate,
                                       self.W_hid_to_cell, self.W_hid_to_outgate], axis=1)
        b_stacked = T.concatenate([self.b_ingate, self.b_forgetgate, self.b_cell, self.b_outgate], axis=0)
        if self.precompute_input:
            input = T.dot(input, W_in_stacked) + b_stacked
        n = self.num_units

        def slice_w(x, k):
            return x[:, k * n:(k + 1) * n]

        def step(input_n, cell_previous, hid_previous, *args):
            if not self.precompute_input:
                input_n = T.dot(input_n, W_in_stacked) + b_stacked
            gates = input_n + T.dot(hid_previous, W_hid_stacked)
            if self.grad_clipping:
                gates = _grad_clip(gates, self.grad_clipping)
            ingate, forgetgate = slice_w(gates, 0), slice_w(gates, 1)
            cell_input, outgate = slice_w(gates, 2), slice_w(gates, 3)
            if self.peepholes:
                ingate += cell_previous * self.W_cell_to_ingate
                forgetgate += cell_previous * self.W_cell_to_forgetgate
            ingate = self.nonlinearity_ingate(ingate)
            forgetgate = self.nonlinearity_forgetgate(forgetgate)
            cell_input = self.nonlinearity_cell(cell_input)
            cell = forgetgate * cell_previous + ingate * cell_input
            if not self.peepholes:
                outgate = self.nonlinearity_outgate(outgate)
            elif self.semantics == "0.1":  # Lasagne 0.1: the peephole term after the nonlinearity
                outgate = self.nonlinearity_outgate(outgate) + cell * self.W_cell_to_outgate
            else:
                outgate = self.nonlinearity_outgate(outgate + cell * self.W_cell_to_outgate)
            hid = outgate * self.nonlinearity(cell)
            return [cell, hid]

        def step_masked(input_n, mask_n, cell_previous, hid_previous, *args):
            cell, hid = step(input_n, cell_previous, hid_previous, *args)
            return [_keep(self.semantics, mask_n, cell, cell_previous),
                    _keep(self.semantics, mask_n, hid, hid_previous)]

        if mask is not None:
            sequences, step_fun = [input, mask.dimshuffle(1, 0, "x")], step_masked
        else:
            sequences, step_fun = [input], step
        ones = T.ones((num_batch, 1))
        if not isinstance(self.cell_init, Layer):
            cell_init = T.dot(ones, self.cell_init)
        if not isinstance(self.hid_init, Layer):
            hid_init = T.dot(ones, self.hid_init)
        non_seqs = [W_hid_stacked]
        if self.peepholes:
            non_seqs += [self.W_cell_to_ingate, self.W_cell_to_forgetgate, self.W_cell_to_outgate]
        if not self.precompute_input:
            non_seqs += [W_in_stacked, b_stacked]
        cell_out, hid_out = self._run(step_fun, sequences, [cell_init, hid_init], non_seqs)
        return self._finish(hid_out)


class GRULayer(spec.GRULayer, _GatedBase):

    def twin_kwargs(self, kwargs: Dict[str, Any], convert: Callable[[Any], Any]) -> Dict[str, Any]:
        kwargs["resetgate"] = _gate_twin(self, "resetgate", convert, False)
        kwargs["updategate"] = _gate_twin(self, "updategate", convert, False)
        kwargs["hidden_update"] = _gate_twin(self, "hidden_update", convert, False, "nonlinearity_hid")
        return kwargs

    def get_output_for(self, input, extra_inputs=None, **kwargs):
        mask, hid_init = (list(extra_inputs) + [None, None])[:2] if extra_inputs else (None, None)
        if input.ndim > 3:
            input = T.flatten(input, 3)
        input = input.dimshuffle(1, 0, 2)
        seq_len, num_batch, _ = input.shape
        W_in_stacked = T.concatenate([self.W_in_to_resetgate, self.W_in_to_updategate,
                                      self.W_in_to_hidden_update], axis=1)
        W_hid_stacked = T.concatenate([self.W_hid_to_resetgate, self.W_hid_to_updategate,
                                       self.W_hid_to_hidden_update], axis=1)
        b_stacked = T.concatenate([self.b_resetgate, self.b_updategate, self.b_hidden_update], axis=0)
        if self.precompute_input:
            input = T.dot(input, W_in_stacked) + b_stacked
        n = self.num_units

        def slice_w(x, k):
            return x[:, k * n:(k + 1) * n]

        def step(input_n, hid_previous, *args):
            hid_input = T.dot(hid_previous, W_hid_stacked)
            if self.grad_clipping:
                input_n = _grad_clip(input_n, self.grad_clipping)
                hid_input = _grad_clip(hid_input, self.grad_clipping)
            if not self.precompute_input:
                input_n = T.dot(input_n, W_in_stacked) + b_stacked
            resetgate = slice_w(hid_input, 0) + slice_w(input_n, 0)
            updategate = slice_w(hid_input, 1) + slice_w(input_n, 1)
            resetgate = self.nonlinearity_resetgate(resetgate)
            updategate = self.nonlinearity_updategate(updategate)
            hidden_update = slice_w(input_n, 2) + resetgate * slice_w(hid_input, 2)
            if self.grad_clipping:
                hidden_update = _grad_clip(hidden_update, self.grad_clipping)
            hidden_update = self.nonlinearity_hid(hidden_update)
            return (1 - updategate) * hid_previous + updategate * hidden_update

        def step_masked(input_n, mask_n, hid_previous, *args):
            return _keep(self.semantics, mask_n, step(input_n, hid_previous, *args), hid_previous)

        if mask is not None:
            sequences, step_fun = [input, mask.dimshuffle(1, 0, "x")], step_masked
        else:
            sequences, step_fun = [input], step
        if not isinstance(self.hid_init, Layer):
            hid_init = T.dot(T.ones((num_batch, 1)), self.hid_init)
        non_seqs = [W_hid_stacked]
        if not self.precompute_input:
            non_seqs += [W_in_stacked, b_stacked]
        hid_out = self._run(step_fun, sequences, [hid_init], non_seqs)[0]
        return self._finish(hid_out)
