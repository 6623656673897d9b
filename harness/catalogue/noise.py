"""Pairs of the noise family (to be filled)."""
