"""Pairs of the normalization family (to be filled)."""
