"""`python -m vigie ...` is the `vigie` command."""

import sys

from vigie.cli import main

sys.exit(main())
