"""The verifying workers' pool: results in the tasks' order, every task done once, and a pool
whose worker dies leaves the rest to this process."""

from __future__ import annotations

import multiprocessing
import os

from tenantry.tenancy.audit import parallel


def _square(n: int) -> int:
    return n * n


def _dies_in_a_worker(n: int) -> int:
    if multiprocessing.parent_process() is not None:
        os._exit(1)  # a worker killed mid-task (out of memory, a signal)
    return n + 1


def test_results_come_in_the_tasks_order_each_noted_once() -> None:
    for processes in (1, 2):
        seen: list[int] = []
        assert parallel.run_all(_square, [3, 1, 2], processes=processes, done=seen.append) == [
            9,
            1,
            4,
        ]
        assert sorted(seen) == [0, 1, 2]


def test_a_dead_worker_leaves_its_tasks_to_this_process() -> None:
    seen: list[int] = []
    assert parallel.run_all(_dies_in_a_worker, [1, 2, 3], processes=2, done=seen.append) == [
        2,
        3,
        4,
    ]
    assert sorted(seen) == [0, 1, 2]


def test_zero_processes_means_one_per_core() -> None:
    assert parallel.processes(0) == parallel.cores() >= 1
    assert parallel.processes(3) == 3
