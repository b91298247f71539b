"""Tests run against the sources (``src/``), so no install is needed: ``python3 -m pytest -q packages/python/tests``."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(os.path.dirname(HERE), "src")
if SRC not in sys.path:
    sys.path.insert(0, SRC)

ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
