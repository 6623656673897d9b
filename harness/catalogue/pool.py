"""Pairs of the pool family (to be filled)."""
