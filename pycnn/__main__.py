"""`python -m pycnn`: the `pycnn` command (see pycnn.cli)."""

import sys

from .cli import main

sys.exit(main())
