"""A progress bar on a terminal (rich), nothing when quiet or when output is not a terminal."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def progress_bar(label: str, quiet: bool = False) -> Iterator[Callable[[int, int], None] | None]:
    """Yield a ``callback(done, total)`` drawing a bar on stderr, or None when quiet / piped."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TimeElapsedColumn(), transient=True) as prog:
        task = prog.add_task(label, total=1)

        def update(done: int, total: int) -> None:
            prog.update(task, completed=done, total=total)

        yield update
