"""``python -m ironlb`` runs the CLI."""

import sys

from ironlb.cli.main import main

sys.exit(main())
