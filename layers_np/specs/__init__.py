"""One specification per Lasagne layer class, shared by ``layers_np`` and ``layers_theano``.

Numpy only: signatures, defaults, validation, messages, parameter creation and output
shapes; the sides add their forward computation (see :mod:`layers_np.specs.base`).
"""
