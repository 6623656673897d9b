"""Pairs of the embedding family (to be filled)."""
