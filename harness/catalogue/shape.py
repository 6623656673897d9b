"""Pairs of the shape family (to be filled)."""
