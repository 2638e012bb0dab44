"""lifqa.parallel: the one process fan-out the readers and the build share."""

import pytest

from lifqa.parallel import ordered_map

pytestmark = pytest.mark.slow  # starts worker processes


def _power(base: int, exponent: int) -> int:
    if base < 0:
        raise ValueError(f"negative base {base}")
    return base ** exponent


@pytest.mark.parametrize("start", ["spawn", "fork"])
def test_results_come_back_in_order_from_worker_processes(start):
    jobs = [(n, 2) for n in range(40)]
    assert list(ordered_map(_power, jobs, workers=2, start=start, chunksize=3)) == [n * n for n in range(40)]


def test_one_worker_or_one_job_runs_in_this_process_and_errors_propagate():
    assert list(ordered_map(_power, [(3, 3)], workers=2, start="spawn")) == [27]
    assert list(ordered_map(_power, [(2, n) for n in range(5)], workers=1, start="fork", desc="powers")) == [1, 2, 4, 8, 16]
    with pytest.raises(ValueError, match="negative base -1"):
        list(ordered_map(_power, [(1, 1), (-1, 1)], workers=2, start="spawn"))
