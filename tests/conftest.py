import os
import sys

pytest_plugins = ["pytester"]

# tests import their helper modules (broken_twins) by name
sys.path.insert(0, os.path.dirname(__file__))
