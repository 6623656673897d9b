"""Shape arithmetic of the shape family."""
__all__: list = []
