"""Tests of the timing helpers behind benchmarks/ and ``equibasis report``."""

import pytest

from equibasis.benchmarking import time_alternately, time_callable


def test_time_alternately_interleaves_the_callables():
    calls: list[str] = []
    timings = time_alternately(
        [lambda: calls.append("a"), lambda: calls.append("b")], rounds=3, warmup=1
    )
    assert calls == ["a", "b"] * 4  # one warm-up round, then three timed rounds, in turn
    assert [t.repeats for t in timings] == [3, 3]
    assert all(0.0 <= t.minimum <= t.median for t in timings)


def test_time_callable_counts_warmup_and_repeats():
    calls: list[int] = []
    timing = time_callable(lambda: calls.append(1), repeats=4, warmup=2)
    assert len(calls) == 6 and timing.repeats == 4


@pytest.mark.parametrize("helper", [time_alternately, time_callable])
def test_timing_rejects_no_repeats(helper):
    with pytest.raises(ValueError, match=">= 1"):
        if helper is time_alternately:
            helper([lambda: None], rounds=0)
        else:
            helper(lambda: None, repeats=0)
