"""Pairs of the merge family (to be filled)."""
