"""ConcatLayer, ElemwiseMergeLayer and ElemwiseSumLayer (Lasagne's ``merge.py``), with ``autocrop``."""
from __future__ import annotations

from typing import Any, List, Optional, Sequence

import numpy as np

from layers_np.shapes import (autocrop_array_shapes, pad_cropping)

from layers_np.specs import merge as spec

from .backend import T
from .base import MergeLayer
from .convert import register_nonlinearity

__all__ = ["autocrop", "autocrop_array_shapes", "ConcatLayer", "concat", "ElemwiseMergeLayer",
           "ElemwiseSumLayer"]


def autocrop(inputs: List[Any], cropping: Optional[Sequence[Optional[str]]]) -> List[Any]:
    """Crop symbolic ``inputs`` to their common minimum size along the cropped axes (Lasagne)."""
    if cropping is None:
        return inputs
    ndim = inputs[0].ndim
    if not all(inp.ndim == ndim for inp in inputs):
        raise ValueError(f"Not all inputs are of the same dimensionality. Got {len(inputs)} inputs of "
                         f"dimensionalities {[inp.ndim for inp in inputs]}.")
    shapes = [inp.shape for inp in inputs]
    min_shape = T.min(T.as_tensor_variable(shapes), axis=0)
    slices_by_input: List[List[slice]] = [[] for _ in inputs]
    for dim, cr in enumerate(pad_cropping(cropping, ndim)):
        if cr is None:
            for slices in slices_by_input:
                slices.append(slice(None))
        else:
            sz = min_shape[dim]
            if cr == "lower":
                for slices in slices_by_input:
                    slices.append(slice(None, sz))
            elif cr == "upper":
                for slices in slices_by_input:
                    slices.append(slice(-sz, None))
            elif cr == "center":
                for sh, slices in zip(shapes, slices_by_input):
                    offset = (sh[dim] - sz) // 2
                    slices.append(slice(offset, offset + sz))
            else:
                raise ValueError(f"Unknown crop mode '{cr}'")
    return [inp[tuple(slices)] for inp, slices in zip(inputs, slices_by_input)]


class ConcatLayer(spec.ConcatLayer, MergeLayer):
    def get_output_for(self, inputs, **kwargs):
        inputs = autocrop(inputs, self.cropping)
        return T.concatenate(inputs, axis=self.axis)


concat = ConcatLayer


class ElemwiseMergeLayer(spec.ElemwiseMergeLayer, MergeLayer):

    side_defaults = {**MergeLayer.side_defaults, "add": T.add}

    def get_output_for(self, inputs, **kwargs):
        inputs = autocrop(inputs, self.cropping)
        output = None
        for inp in inputs:
            output = inp if output is None else self.merge_function(output, inp)
        return output


class ElemwiseSumLayer(spec.ElemwiseSumLayer, ElemwiseMergeLayer):
    def get_output_for(self, inputs, **kwargs):
        inputs = [inp * coeff if coeff != 1 else inp for coeff, inp in zip(self.coeffs, inputs)]
        return super().get_output_for(inputs, **kwargs)


# Theano's elementwise merge functions and their numpy twins, mapped by name for to_numpy.
MERGE_FUNCTION_TWINS = {"add": "add", "mul": "multiply", "sub": "subtract", "maximum": "maximum",
                        "minimum": "minimum", "true_div": "true_divide"}
for _th_name, _np_name in MERGE_FUNCTION_TWINS.items():
    register_nonlinearity(getattr(T, _th_name), getattr(np, _np_name))
