"""LocallyConnected2DLayer (Lasagne master ``local.py``)."""
from __future__ import annotations

from layers_np.specs import conv as spec

from .backend import T
from .conv import Conv2DLayer

__all__ = ["LocallyConnected2DLayer"]


class LocallyConnected2DLayer(spec.LocallyConnected2DLayer, Conv2DLayer):
    def convolve(self, input, **kwargs):
        output_shape = self.output_shape
        i = self.filter_size[0] // 2
        j = self.filter_size[1] // 2
        filter_h_ind = -i - 1 if self.flip_filters else i
        filter_w_ind = -j - 1 if self.flip_filters else j
        if self.channelwise:
            conved = input * self.W[:, filter_h_ind, filter_w_ind, :, :]
        else:
            conved = (input[:, None, :, :, :] * self.W[:, :, filter_h_ind, filter_w_ind, :, :]).sum(axis=-3)
        for i in range(self.filter_size[0]):
            filter_h_ind = -i - 1 if self.flip_filters else i
            ii = i - (self.filter_size[0] // 2)
            input_h_slice = slice(max(ii, 0), min(ii + output_shape[-2], output_shape[-2]))
            output_h_slice = slice(max(-ii, 0), min(-ii + output_shape[-2], output_shape[-2]))
            for j in range(self.filter_size[1]):
                filter_w_ind = -j - 1 if self.flip_filters else j
                jj = j - (self.filter_size[1] // 2)
                input_w_slice = slice(max(jj, 0), min(jj + output_shape[-1], output_shape[-1]))
                output_w_slice = slice(max(-jj, 0), min(-jj + output_shape[-1], output_shape[-1]))
                if ii == jj == 0:
                    continue
                if self.channelwise:
                    inc = (input[:, :, input_h_slice, input_w_slice]
                           * self.W[:, filter_h_ind, filter_w_ind, output_h_slice, output_w_slice])
                else:
                    inc = (input[:, None, :, input_h_slice, input_w_slice]
                           * self.W[:, :, filter_h_ind, filter_w_ind, output_h_slice, output_w_slice]).sum(axis=-3)
                conved = T.inc_subtensor(conved[:, :, output_h_slice, output_w_slice], inc)
        return conved
