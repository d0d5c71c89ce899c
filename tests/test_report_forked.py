"""Figures rendered on two cores come back complete, in order, and errors are not hidden."""

from __future__ import annotations

import os

import pytest

from reports import forked


def test_split_returns_every_result_in_order():
    jobs = [lambda i=i: (i, i * i) for i in range(7)]
    assert forked.run_split(jobs) == [(i, i * i) for i in range(7)]


def test_odd_jobs_run_in_a_child_when_forking_is_possible():
    if not forked.can_fork():
        pytest.skip("forking is not possible here (one core, threads running or no fork)")
    pids = forked.run_split([os.getpid for _ in range(4)])
    assert pids[0] == pids[2] == os.getpid()
    assert pids[1] == pids[3] != os.getpid()


def test_a_failing_job_raises_here_with_its_own_error():
    def boom():
        raise ValueError("figure data missing")

    with pytest.raises(ValueError, match="figure data missing"):
        forked.run_split([lambda: 1, boom, lambda: 3])
