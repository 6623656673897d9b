"""Shape arithmetic of the merge family."""
__all__: list = []
