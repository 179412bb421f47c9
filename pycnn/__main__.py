"""`python -m pycnn`: the `pycnn` command (see pycnn.cli)."""

import sys

from .cli import main

if __name__ == "__main__":  # not when multiprocessing's spawn start re-imports it in a worker
    sys.exit(main())
