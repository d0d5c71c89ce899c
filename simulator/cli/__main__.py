"""`python -m simulator.cli …` is the `segur` command."""

import os
import signal
import sys


def _terminated_early(signum: int, frame: object) -> None:
    """SIGTERM while the command's modules are still being imported: nothing was written yet."""
    os.write(2, b"segur: terminated; nothing was written\n")
    os._exit(143)


signal.signal(signal.SIGTERM, _terminated_early)  # the imports below take about a second

from simulator.cli import main  # noqa: E402  (after the handler, on purpose)

sys.exit(main())
