"""``python -m speaker`` / ``ironlb-speaker``."""

from __future__ import annotations

import sys

from speaker.main import main

if __name__ == "__main__":
    sys.exit(main())
