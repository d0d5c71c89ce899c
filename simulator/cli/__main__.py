"""`python -m simulator.cli …` is the `segur` command."""

import sys

from simulator.cli import main

sys.exit(main())
