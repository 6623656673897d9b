"""The built-in catalogue: every Lasagne layer pair, one module per layer family."""
from . import dense, special, noise, normalization, shape, conv, pool, embedding, recurrent, merge, backends  # noqa: F401,E501
