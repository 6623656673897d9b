"""Pairs of the recurrent family (to be filled)."""
