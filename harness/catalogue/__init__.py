"""The built-in catalogue: every Lasagne layer pair, one module per layer family."""
from . import dense  # noqa: F401
