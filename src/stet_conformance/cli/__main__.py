"""``python -m stet_conformance.cli``."""

import sys

from stet_conformance.cli import main

sys.exit(main())
