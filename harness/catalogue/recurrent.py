"""RecurrentLayer, CustomRecurrentLayer, LSTMLayer and GRULayer pairs.

Every pair takes a list of InputLayers (``multi_input``): the sequence, then the optional
mask ``(batch, time)``, hid_init ``(batch, units)`` and (LSTM) cell_init layers. Flags that
only steer the factories start with an underscore and are removed before the layer is built:
``_mask``, ``_hid``, ``_cell`` (which optional inputs exist), ``_gates`` (gate nonlinearities),
``_T`` (the sequence length, fixed and part of the compile key when ``unroll_scan``).

Reachable traps (SEMANTICS.md, recurrent): gate order and parameter order (distinct random
weights per gate, compared against Theano); peephole timing (``peepholes`` drawn); masked
steps copying state (masks of 0 and non-zero values, including values other than 1, which
Theano's ``switch`` treats as 1, and which Lasagne 0.1's blend ``new*m + old*(1-m)``
interpolates: ``semantics`` drawn, which also moves 0.1's LSTM output peephole after the gate's
nonlinearity); backwards re-reversal and ``only_return_final`` with
``backwards`` (both drawn independently); initial states as parameters and as layers; and
``precompute_input`` / ``unroll_scan`` variants.

Error bounds: a recurrence feeds each step's rounding difference into the next step, so the
bound is propagated through time alongside a float64 reference run (first order, plus the
second-order products in the gated updates). For ``y = f(z)`` with ``|dz| <= e``:
``|dy| <= max_{|s - z| <= e} |f'(s)| * e + jump + 4 u |y|`` (mean value theorem; ``jump``
covers ultra_fast_sigmoid's discontinuity, ``4u|y|`` the two sides' own roundings of f). A
dot product over K terms adds ``2 gamma_K (|h| + e) |W| + e |W|`` (Higham eq. 3.5 on both
sides, plus the propagated difference), and each addition or product of two stored values
``2u`` times its magnitude. Masked steps carry the previous bound unchanged.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import numpy as np
from hypothesis import strategies as st

import layers_np as L
import layers_theano as LT

from ..registry import register_pair
from ..strategies import Fn, resolve
from ..tolerance import gamma, unit_roundoff

# --------------------------------------------------------------------------------------
# derivative bounds of the nonlinearities
# --------------------------------------------------------------------------------------
_UFS_JUMP = 0.5 * abs(1.5 * 1.7 / 2.7 - 0.935409070603099)  # ultra_fast_sigmoid jumps at |x| = 3.4


def _closest_to_zero(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    return np.clip(0.0, lo, hi)


def _deriv_max(fn: Optional[Fn], lo: np.ndarray, hi: np.ndarray) -> Tuple[np.ndarray, Any]:
    """(max |f'| over [lo, hi], size of a jump inside [lo, hi]) elementwise."""
    name = None if fn is None else fn.name
    args = {} if fn is None else dict(fn.args)
    zero = np.zeros_like(lo)
    if name in (None, "linear", "identity"):
        return zero + 1.0, 0.0
    if name == "sigmoid":
        s = 1.0 / (1.0 + np.exp(-_closest_to_zero(lo, hi)))
        return s * (1 - s), 0.0
    if name == "tanh":
        return 1.0 - np.tanh(_closest_to_zero(lo, hi)) ** 2, 0.0
    if name == "ScaledTanH":
        a, b = args.get("scale_in", 1), args.get("scale_out", 1)
        return abs(a * b) * (1.0 - np.tanh(a * _closest_to_zero(lo, hi)) ** 2), 0.0
    if name == "hard_sigmoid":
        return np.where((lo <= 2.5) & (hi >= -2.5), 0.2, 0.0), 0.0
    if name == "ultra_fast_sigmoid":
        a = np.abs(_closest_to_zero(lo, hi)) / 2
        d = 0.25 * np.where(a < 1.7, 1.5 / (1 + a) ** 2, np.where(a < 3, 0.0458812946797165, 0.0))
        straddles = ((lo <= 3.4) & (hi >= 3.4)) | ((lo <= -3.4) & (hi >= -3.4))
        return d, np.where(straddles, _UFS_JUMP, 0.0)
    if name in ("rectify", "leaky_rectify", "very_leaky_rectify", "LeakyRectify"):
        alpha = {"rectify": 0.0, "leaky_rectify": 0.01, "very_leaky_rectify": 1.0 / 3}.get(name, args.get("leakiness", 0.01))
        return np.maximum(np.where(hi > 0, 1.0, 0.0), np.where(lo < 0, abs(alpha), 0.0)), 0.0
    if name == "elu":
        return np.where(hi > 0, 1.0, np.exp(np.minimum(hi, 0.0))), 0.0
    if name == "softplus":
        return 1.0 / (1.0 + np.exp(-hi)), 0.0
    if name in ("selu", "SELU"):
        scale, neg = (1.0507009873554805, 1.6732632423543772) if name == "selu" else (args.get("scale", 1), args.get("scale_neg", 1))
        return np.maximum(np.where(hi > 0, abs(scale), 0.0),
                          np.where(lo < 0, abs(scale * neg) * np.exp(np.minimum(hi, 0.0)), 0.0)), 0.0
    raise ValueError(f"no derivative bound for {fn!r}")


def _act(fn: Optional[Fn], z: np.ndarray, e: np.ndarray, u: float) -> Tuple[np.ndarray, np.ndarray]:
    """Reference value f(z) (float64) and the bound on the difference of the two sides' f."""
    f = L.nonlinearities.identity if fn is None else resolve(fn, "numpy")
    y = f(z)
    d, jump = _deriv_max(fn, z - e, z + e)
    return y, d * e + jump + 4 * u * np.abs(y)


def _dot(h: np.ndarray, eh: np.ndarray, W: np.ndarray, dtype: str) -> Tuple[np.ndarray, np.ndarray]:
    aW = np.abs(W)
    return h @ W, 2 * gamma(W.shape[0], dtype) * ((np.abs(h) + eh) @ aW) + eh @ aW


def _proj(x: np.ndarray, W: np.ndarray, b: Optional[np.ndarray], dtype: str) -> Tuple[np.ndarray, np.ndarray]:
    """x W + b over (batch, time, K) and its bound 2 gamma_{K+1} (|x||W| + |b|)."""
    a = x @ W
    acc = np.abs(x) @ np.abs(W)
    if b is not None:
        a = a + b
        acc = acc + np.abs(b)
    return a, 2 * gamma(W.shape[0] + 1, dtype) * acc


class _Case:
    """Float64 views of a case's arrays in the layer's order."""

    def __init__(self, case: Any, inputs: List[np.ndarray], params: List[np.ndarray], kwargs: Dict[str, Any]) -> None:
        self.dtype = case.dtype
        self.u = unit_roundoff(case.dtype)
        ins = [np.asarray(a, dtype=np.float64) for a in inputs]
        self.x = ins[0].reshape(ins[0].shape[:2] + (-1,))
        k = 1
        self.mask = self.hid = self.cell = self.mask_values = None
        self.blend = kwargs.get("semantics", "master") == "0.1"  # Lasagne 0.1 blends masked steps
        if kwargs.get("_mask"):
            self.mask_values = ins[k]
            self.mask = ins[k] != 0
            k += 1
        if kwargs.get("_hid"):
            self.hid = ins[k]
            k += 1
        if kwargs.get("_cell"):
            self.cell = ins[k]
        self.params = [np.asarray(p, dtype=np.float64) for p in params]
        self.batch, self.steps = self.x.shape[:2]
        self.order = range(self.steps - 1, -1, -1) if kwargs.get("backwards") else range(self.steps)
        self.final = kwargs.get("only_return_final", False)

    def pop(self) -> np.ndarray:
        return self.params.pop(0)

    def keep(self, t: int, new: np.ndarray, enew: np.ndarray, old: np.ndarray,
             eold: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """A masked step's value and bound: master selects (the bound of the kept state); 0.1
        blends ``new*m + old*(1-m)`` (the bounds scaled by |m| and |1-m|, which are exact for the
        drawn mask values, plus a rounding of each product and of the sum)."""
        if self.mask is None:
            return new, enew
        if not self.blend:
            m = self.mask[:, t, None]
            return np.where(m, new, old), np.where(m, enew, eold)
        m = self.mask_values[:, t, None]
        value = new * m + old * (1 - m)
        err = (np.abs(m) * enew + np.abs(1 - m) * eold
               + 2 * self.u * (np.abs(new * m) + np.abs(old * (1 - m)) + np.abs(value)))
        return value, err

    def result(self, bounds: List[np.ndarray]) -> np.ndarray:
        if self.final:
            return bounds[-1]
        if self.order.step < 0:
            bounds = bounds[::-1]
        return np.stack(bounds, axis=1)


def _simple_rnn_bound(c: _Case, a: np.ndarray, ea: np.ndarray, hid0: np.ndarray, W_hh: np.ndarray,
                      b_hh: Optional[np.ndarray], fn: Optional[Fn]) -> np.ndarray:
    h, e = hid0, np.zeros_like(hid0)
    out = []
    for t in c.order:
        hw, ehw = _dot(h, e, W_hh, c.dtype)
        if b_hh is not None:
            hw = hw + b_hh
            ehw = ehw + 2 * c.u * np.abs(hw)
        pre = hw + a[:, t]
        epre = ehw + ea[:, t] + 2 * c.u * np.abs(pre)
        y, ey = _act(fn, pre, epre, c.u)
        h, e = c.keep(t, y, ey, h, e)
        out.append(e)
    return c.result(out)


def rnn_bound(case, inputs, params, kwargs):
    with np.errstate(all="ignore"):
        c = _Case(case, inputs, params, kwargs)
        hid_init = None if kwargs.get("_hid") else c.pop()
        W_in = c.pop()
        b = c.pop() if kwargs.get("b", "init") is not None else None
        W_hh = c.pop()
        a, ea = _proj(c.x, W_in, b, c.dtype)
        hid0 = c.hid if hid_init is None else np.repeat(hid_init, c.batch, axis=0)
        return _simple_rnn_bound(c, a, ea, hid0, W_hh, None, kwargs.get("nonlinearity"))


def custom_bound(case, inputs, params, kwargs):
    with np.errstate(all="ignore"):
        c = _Case(case, inputs, params, kwargs)
        hid_init = None if kwargs.get("_hid") else c.pop()
        W_in = c.pop()
        b_in = c.pop() if kwargs["_i2h_bias"] else None
        W_hh = c.pop()
        b_hh = c.pop() if kwargs["_h2h_bias"] else None
        z, ez = _proj(c.x, W_in, b_in, c.dtype)
        a, ea = _act(kwargs["_i2h_nonlinearity"], z, ez, c.u)
        hid0 = c.hid if hid_init is None else np.repeat(hid_init, c.batch, axis=0)
        return _simple_rnn_bound(c, a, ea, hid0, W_hh, b_hh, kwargs.get("nonlinearity"))


def lstm_bound(case, inputs, params, kwargs):
    with np.errstate(all="ignore"):
        c = _Case(case, inputs, params, kwargs)
        gates = [(c.pop(), c.pop(), c.pop()) for _ in range(4)]  # i, f, c, o
        peep = [c.pop() for _ in range(3)] if kwargs.get("peepholes", True) else None
        cell0 = c.cell if kwargs.get("_cell") else np.repeat(c.pop(), c.batch, axis=0)
        hid0 = c.hid if kwargs.get("_hid") else np.repeat(c.pop(), c.batch, axis=0)
        fi, ff, fc, fo, fh = kwargs["_gates"]
        W_in = np.concatenate([g[0] for g in gates], axis=1)
        W_hid = np.concatenate([g[1] for g in gates], axis=1)
        b = np.concatenate([g[2] for g in gates])
        a, ea = _proj(c.x, W_in, b, c.dtype)
        n = W_hid.shape[0]
        u = c.u
        h, eh, cell, ec = hid0, np.zeros_like(hid0), cell0, np.zeros_like(cell0)
        out = []
        for t in c.order:
            hw, ehw = _dot(h, eh, W_hid, c.dtype)
            g = a[:, t] + hw
            eg = ea[:, t] + ehw + 2 * u * np.abs(g)
            pi, pf, pc, po = (g[:, k * n:(k + 1) * n] for k in range(4))
            epi, epf, epc, epo = (eg[:, k * n:(k + 1) * n] for k in range(4))
            if peep is not None:
                pi, epi = pi + cell * peep[0], epi + np.abs(peep[0]) * ec + 4 * u * np.abs(cell * peep[0])
                pf, epf = pf + cell * peep[1], epf + np.abs(peep[1]) * ec + 4 * u * np.abs(cell * peep[1])
            i, ei = _act(fi, pi, epi, u)
            f, ef = _act(ff, pf, epf, u)
            gg, eg_ = _act(fc, pc, epc, u)
            new_c = f * cell + i * gg
            enc = (ef * np.abs(cell) + np.abs(f) * ec + ef * ec + ei * np.abs(gg) + np.abs(i) * eg_ + ei * eg_
                   + 4 * u * (np.abs(f * cell) + np.abs(i * gg)))
            if peep is not None and c.blend:  # Lasagne 0.1: the peephole term after the nonlinearity
                o, eo = _act(fo, po, epo, u)
                o, eo = o + new_c * peep[2], eo + np.abs(peep[2]) * enc + 4 * u * (np.abs(new_c * peep[2]) + np.abs(o))
            else:
                if peep is not None:
                    po, epo = po + new_c * peep[2], epo + np.abs(peep[2]) * enc + 4 * u * np.abs(new_c * peep[2])
                o, eo = _act(fo, po, epo, u)
            s, es = _act(fh, new_c, enc, u)
            new_h = o * s
            enh = eo * np.abs(s) + np.abs(o) * es + eo * es + 2 * u * np.abs(new_h)
            cell, ec = c.keep(t, new_c, enc, cell, ec)
            h, eh = c.keep(t, new_h, enh, h, eh)
            out.append(eh)
        return c.result(out)


def gru_bound(case, inputs, params, kwargs):
    with np.errstate(all="ignore"):
        c = _Case(case, inputs, params, kwargs)
        upd, rst, hup = [(c.pop(), c.pop(), c.pop()) for _ in range(3)]
        hid0 = c.hid if kwargs.get("_hid") else np.repeat(c.pop(), c.batch, axis=0)
        fr, fu, fc = kwargs["_gates"]
        W_in = np.concatenate([rst[0], upd[0], hup[0]], axis=1)
        W_hid = np.concatenate([rst[1], upd[1], hup[1]], axis=1)
        b = np.concatenate([rst[2], upd[2], hup[2]])
        a, ea = _proj(c.x, W_in, b, c.dtype)
        n = W_hid.shape[0]
        u = c.u
        h, eh = hid0, np.zeros_like(hid0)
        out = []
        for t in c.order:
            hi, ehi = _dot(h, eh, W_hid, c.dtype)
            at, eat = a[:, t], ea[:, t]
            pre_r = hi[:, :n] + at[:, :n]
            pre_u = hi[:, n:2 * n] + at[:, n:2 * n]
            r, er = _act(fr, pre_r, ehi[:, :n] + eat[:, :n] + 2 * u * np.abs(pre_r), u)
            z, ez = _act(fu, pre_u, ehi[:, n:2 * n] + eat[:, n:2 * n] + 2 * u * np.abs(pre_u), u)
            hc, ehc = hi[:, 2 * n:], ehi[:, 2 * n:]
            pre_c = at[:, 2 * n:] + r * hc
            epc = (eat[:, 2 * n:] + er * np.abs(hc) + np.abs(r) * ehc + er * ehc
                   + 4 * u * (np.abs(at[:, 2 * n:]) + np.abs(r * hc)))
            cand, ecand = _act(fc, pre_c, epc, u)
            new = (1 - z) * h + z * cand
            enew = (ez * np.abs(h) + np.abs(1 - z) * eh + ez * eh + ez * np.abs(cand) + np.abs(z) * ecand + ez * ecand
                    + 4 * u * (np.abs(1 - z) + np.abs((1 - z) * h) + np.abs(z * cand)))
            h, eh = c.keep(t, new, enew, h, eh)
            out.append(eh)
        return c.result(out)


# --------------------------------------------------------------------------------------
# factories: turn the underscore flags into layers on each side
# --------------------------------------------------------------------------------------
def _split(incomings: List[Any], kwargs: Dict[str, Any], cell: bool = False) -> Tuple[Any, Dict[str, Any], Dict[str, Any]]:
    kwargs = dict(kwargs)
    flags = {k: kwargs.pop(k) for k in list(kwargs) if k.startswith("_")}
    rest = list(incomings[1:])
    if flags.get("_mask"):
        kwargs["mask_input"] = rest.pop(0)
    if flags.get("_hid"):
        kwargs["hid_init"] = rest.pop(0)
    if cell and flags.get("_cell"):
        kwargs["cell_init"] = rest.pop(0)
    return incomings[0], kwargs, flags


def _rnn_factory(M):
    def build(incomings, **kwargs):
        incoming, kwargs, _ = _split(incomings, kwargs)
        if kwargs.get("b", "init") == "init":
            kwargs.pop("b", None)
        return M.RecurrentLayer(incoming, **kwargs)
    return build


def _custom_factory(M):
    def build(incomings, **kwargs):
        incoming, kwargs, flags = _split(incomings, kwargs)
        units = kwargs.pop("num_units")
        feat = tuple(incoming.output_shape[2:])
        i2h = M.DenseLayer(M.InputLayer((None,) + feat), units, nonlinearity=flags["_i2h_nonlinearity"],
                           b=M.init.Constant(0.0) if flags["_i2h_bias"] else None)
        h2h = M.DenseLayer(M.InputLayer((None, units)), units, nonlinearity=None,
                           b=M.init.Constant(0.0) if flags["_h2h_bias"] else None)
        return M.CustomRecurrentLayer(incoming, i2h, h2h, **kwargs)
    return build


def _lstm_factory(M):
    def build(incomings, **kwargs):
        incoming, kwargs, flags = _split(incomings, kwargs, cell=True)
        fi, ff, fc, fo, fh = flags["_gates"]
        peep = kwargs.get("peepholes", True)
        w_cell = M.init.Normal(0.1) if peep else None
        kwargs.update(ingate=M.Gate(W_cell=w_cell, nonlinearity=fi), forgetgate=M.Gate(W_cell=w_cell, nonlinearity=ff),
                      cell=M.Gate(W_cell=None, nonlinearity=fc), outgate=M.Gate(W_cell=w_cell, nonlinearity=fo),
                      nonlinearity=fh)
        return M.LSTMLayer(incoming, **kwargs)
    return build


def _gru_factory(M):
    def build(incomings, **kwargs):
        incoming, kwargs, flags = _split(incomings, kwargs)
        fr, fu, fc = flags["_gates"]
        kwargs.update(resetgate=M.Gate(W_cell=None, nonlinearity=fr), updategate=M.Gate(W_cell=None, nonlinearity=fu),
                      hidden_update=M.Gate(W_cell=None, nonlinearity=fc))
        return M.GRULayer(incoming, **kwargs)
    return build


# --------------------------------------------------------------------------------------
# draws
# --------------------------------------------------------------------------------------
def _mask_prepare(kwargs, inputs, params, rng):
    """Masks of 0 and non-zero values (mostly 1; 0.5 and -2 also count as 'take the step')."""
    if kwargs.get("_mask"):
        m = inputs[1]
        keep = rng.random(m.shape) < 0.6
        inputs = list(inputs)
        inputs[1] = np.where(keep, rng.choice([1.0, 1.0, 1.0, 0.5, -2.0], size=m.shape), 0.0)
    return inputs, params


@st.composite
def _common(draw, units: List[int], cell: bool = False, unroll: bool = True, rank4: bool = True):
    kwargs: Dict[str, Any] = {"num_units": draw(st.sampled_from(units)),
                              "backwards": draw(st.booleans()), "only_return_final": draw(st.booleans()),
                              "precompute_input": draw(st.booleans()),
                              "_mask": draw(st.sampled_from([True, False])), "_hid": draw(st.booleans()),
                              # the Lasagne release reproduced (layers_np.versions): masks, LSTM peephole
                              "semantics": draw(st.sampled_from(["master", "0.1"]))}
    if cell:
        kwargs["_cell"] = draw(st.booleans())
    batch, steps = draw(st.integers(1, 4)), draw(st.integers(1, 6))
    feat = (draw(st.integers(1, 5)),)
    if rank4 and draw(st.integers(0, 4)) == 0:
        feat = feat + (draw(st.integers(1, 3)),)
    if unroll and draw(st.integers(0, 3)) == 0:
        kwargs["unroll_scan"] = True
        kwargs["_T"] = steps  # the unrolled graph is built for this length: part of the compile key
    H = kwargs["num_units"]
    shapes = [(batch, steps) + feat]
    declared = [(None, None if not kwargs.get("unroll_scan") else steps) + feat]
    for flag, shape in (("_mask", (batch, steps)), ("_hid", (batch, H)), ("_cell", (batch, H))):
        if kwargs.get(flag):
            shapes.append(shape)
            # initial states leave the unit axis free: declared as 1 (num_units=1) the InputLayer
            # would make it broadcastable, as Lasagne's does, and Lasagne's scan then refuses
            # the state (its type differs from the step's output type)
            declared.append((None, None) if flag != "_mask" else (None, declared[0][1]))
    return kwargs, shapes, declared


@st.composite
def rnn_draws(draw):
    kwargs, shapes, declared = draw(_common([3, 1, 5]))
    kwargs["nonlinearity"] = draw(st.sampled_from([Fn("rectify"), Fn("tanh"), Fn("sigmoid"), None, Fn("elu")]))
    kwargs["grad_clipping"] = draw(st.sampled_from([0, 1.0]))
    if not kwargs.get("unroll_scan"):
        kwargs["gradient_steps"] = draw(st.sampled_from([-1, 2]))
    if draw(st.booleans()):
        kwargs["b"] = None
    return kwargs, shapes, declared


@st.composite
def custom_draws(draw):
    kwargs, shapes, declared = draw(_common([3, 2], unroll=False))
    kwargs["nonlinearity"] = draw(st.sampled_from([Fn("tanh"), Fn("rectify"), Fn("softplus")]))
    kwargs["_i2h_nonlinearity"] = draw(st.sampled_from([None, Fn("tanh")]))
    kwargs["_i2h_bias"] = draw(st.booleans())
    kwargs["_h2h_bias"] = draw(st.booleans())
    return kwargs, shapes, declared


@st.composite
def lstm_draws(draw):
    kwargs, shapes, declared = draw(_common([3, 1], cell=True))
    kwargs["peepholes"] = draw(st.sampled_from([True, False]))  # shrinks towards peepholes on
    kwargs["_gates"] = draw(st.sampled_from([
        (Fn("sigmoid"), Fn("sigmoid"), Fn("tanh"), Fn("sigmoid"), Fn("tanh")),
        (Fn("hard_sigmoid"), Fn("sigmoid"), None, Fn("ultra_fast_sigmoid"), Fn("rectify")),
        (Fn("sigmoid"), Fn("hard_sigmoid"), Fn("tanh"), Fn("sigmoid"), None),
    ]))
    return kwargs, shapes, declared


@st.composite
def gru_draws(draw):
    kwargs, shapes, declared = draw(_common([3, 1]))
    kwargs["_gates"] = draw(st.sampled_from([
        (Fn("sigmoid"), Fn("sigmoid"), Fn("tanh")),
        (Fn("hard_sigmoid"), Fn("sigmoid"), Fn("rectify")),
        (Fn("sigmoid"), Fn("ultra_fast_sigmoid"), None),
    ]))
    return kwargs, shapes, declared


_OPTS = dict(family="recurrent", multi_input=True, prepare=_mask_prepare, max_examples_scale=0.5)
register_pair("RecurrentLayer", _rnn_factory(LT), _rnn_factory(L), rnn_draws(), error_bound=rnn_bound, **_OPTS)
register_pair("CustomRecurrentLayer", _custom_factory(LT), _custom_factory(L), custom_draws(), error_bound=custom_bound,
              **_OPTS)
register_pair("LSTMLayer", _lstm_factory(LT), _lstm_factory(L), lstm_draws(), error_bound=lstm_bound, **_OPTS)
register_pair("GRULayer", _gru_factory(LT), _gru_factory(L), gru_draws(), error_bound=gru_bound, **_OPTS)
