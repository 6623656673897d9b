"""``lasagne.init`` for the Theano side, so ``import layers_theano as lasagne`` finds ``lasagne.init``.

The initialisers draw numpy arrays, so there is one implementation, ``layers_np.init``; this module
only gives it Lasagne's module path here. ``set_rng`` seeds both sides.
"""
from layers_np.init import (Constant, Glorot, GlorotNormal, GlorotUniform, He, HeNormal, HeUniform,
                            Initializer, Normal, Orthogonal, Uniform, get_rng, set_rng)

__all__ = ["Initializer", "Constant", "Normal", "Uniform", "Glorot", "GlorotNormal", "GlorotUniform", "He",
           "HeNormal", "HeUniform", "Orthogonal", "get_rng", "set_rng"]
