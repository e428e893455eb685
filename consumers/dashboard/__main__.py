"""`python -m consumers.dashboard --operator ID [--port N]`: one operator's live dashboard."""

import sys

from vigie.cli import main

sys.exit(main(["dashboard", *sys.argv[1:]]))
