"""merge layers (to be filled)."""
__all__: list = []
