"""Pairs of the special family (to be filled)."""
