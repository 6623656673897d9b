"""Shape arithmetic of the conv family."""
__all__: list = []
