"""Run the ``optgrad`` command with ``python -m optgrad``."""

import sys

from optgrad.cli import main

sys.exit(main())
