"""Shape arithmetic of the pool family."""
__all__: list = []
