"""``twins certify --pairs-module broken_pairs_cli`` registers the deliberately broken pairs."""
import broken_twins

broken_twins.register_broken()
broken_twins.register_two_bugs()
