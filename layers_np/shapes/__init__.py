"""Output-shape arithmetic shared by both sides (pure Python), one module per layer family.

The harness checks every shape declared here against the arrays Theano produces, so a
mistake in this package cannot hide: it shows up as a shape mismatch.
"""
from .dense import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .pool import *  # noqa: F401,F403
from .shape import *  # noqa: F401,F403
from .recurrent import *  # noqa: F401,F403
from .merge import *  # noqa: F401,F403
from .special import *  # noqa: F401,F403
