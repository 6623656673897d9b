"""Shape arithmetic of the recurrent family."""
__all__: list = []
