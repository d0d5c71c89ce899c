"""`segur app`: a web page for planners (levers, runs, comparisons) and teachers (the demo
territory day by day, a patient's Mon espace santé, FHIR one click away).

FastAPI serves server-rendered pages (Jinja2) and a small vanilla script; runs go to worker
processes behind a bounded queue (``simulator.app.jobs``); the teaching view reads the demo
through one adapter (``simulator.app.teaching_source``). Everything is served by the app.
"""

from __future__ import annotations


def create_app(*args, **kwargs):
    """The FastAPI application (see ``simulator.app.server.create_app``)."""
    from simulator.app.server import create_app as _create  # lazy: keeps `segur --help` fast

    return _create(*args, **kwargs)


__all__ = ["create_app"]
