"""The benchmark's figures, one module per figure, and what they share (``benchmarks/run.py``).

``run.py`` runs from the checkout, so this folder is on ``sys.path`` and the package imports as
``figures``; the throughput clients (spawned processes) import it the same way.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "stet_conformance.cli"]
