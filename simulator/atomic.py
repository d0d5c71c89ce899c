"""Write an output folder all at once: fill a temporary folder beside it, then rename it.

Every command that writes a folder (run, compare, calibrate, demo, network) goes through
``atomic_folder``, so an interrupted or failed command never leaves a half-written folder and a
reader never sees one: the old folder (if any) is swapped out by renames on the same file system.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_folder(out: str | Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``out``; when the block ends normally it replaces ``out``,
    when it raises (or is interrupted) the temporary folder is removed and ``out`` is untouched."""
    out = Path(out)
    parent = out.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=parent))
    os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes it private; the folder is a normal output
    try:
        yield tmp
        if out.exists():
            old = parent / f".{out.name}.old-{os.getpid()}"
            os.replace(out, old)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
