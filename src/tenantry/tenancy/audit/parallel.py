"""Verification's worker processes: one per core, or none.

Chains are independent and a chain splits into ranges (``ranges.py``), so verification runs its
ranges in a process pool sized to the cores this process may use. With one core (or one range)
they run here, one after the other, and so do those left when a worker dies. Workers are
spawned, never forked: the parent runs an event loop and driver threads, which a fork would copy
mid-flight.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

Task = TypeVar("Task")
Result = TypeVar("Result")


def cores() -> int:
    """The cores this process may run on (its affinity, where the platform tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def processes(requested: int) -> int:
    """``requested`` worker processes; 0 means one per core."""
    return requested if requested > 0 else cores()


def run_all(
    work: Callable[[Task], Result],
    tasks: Sequence[Task],
    *,
    processes: int,
    done: Callable[[int], None] | None = None,
) -> list[Result]:
    """``work`` of every task, in the tasks' order; ``done(i)`` as task ``i`` finishes (in this
    process, in the order they finish)."""
    results: dict[int, Result] = {}
    if processes >= 2 and len(tasks) >= 2:
        with contextlib.suppress(BrokenProcessPool):  # a worker was killed: the rest run here
            _in_pool(work, tasks, processes, results, done)
    for i, task in enumerate(tasks):
        if i not in results:
            results[i] = _noted(work(task), i, done)
    return [results[i] for i in range(len(tasks))]


def _in_pool(
    work: Callable[[Task], Result],
    tasks: Sequence[Task],
    processes: int,
    results: dict[int, Result],
    done: Callable[[int], None] | None,
) -> None:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(min(processes, len(tasks)), mp_context=context) as pool:
        futures = {pool.submit(work, task): i for i, task in enumerate(tasks)}
        for future in as_completed(futures):
            i = futures[future]
            results[i] = _noted(future.result(), i, done)


def _noted(result: Result, index: int, done: Callable[[int], None] | None) -> Result:
    if done is not None:
        done(index)
    return result
