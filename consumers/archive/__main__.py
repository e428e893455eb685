"""`python -m consumers.archive [options]`: the archiver, as `vigie archive run`."""

import sys

from vigie.cli import main

sys.exit(main(["archive", "run", *sys.argv[1:]]))
