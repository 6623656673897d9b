"""Pairs of the conv family (to be filled)."""
