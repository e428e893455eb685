"""`python -m producers --config FILE [--operator ID] [--seconds N]`: the camera adapters."""

import sys

from vigie.cli import main

sys.exit(main(["cameras", "run", *sys.argv[1:]]))
