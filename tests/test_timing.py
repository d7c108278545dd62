import matcher.timing as timing
from matcher.timing import Clock


def test_laps_accumulate_per_stage_and_skip_drops_time_counted_elsewhere(monkeypatch):
    now = iter([0.0, 1.0, 3.0, 7.0, 7.5])  # start, lap embed, skip, lap explain, lap explain
    monkeypatch.setattr(timing.time, "perf_counter", lambda: next(now))
    timings: dict[str, float] = {}
    clock = Clock(timings)
    clock.lap("embed")
    clock.skip()  # a callee kept its own stages for 1.0 → 3.0
    clock.lap("explain")
    clock.lap("explain")
    assert timings == {"embed": 1.0, "explain": 4.5}


def test_a_clock_without_timings_records_nothing_and_reads_no_time(monkeypatch):
    monkeypatch.setattr(timing.time, "perf_counter", lambda: (_ for _ in ()).throw(AssertionError("read")))
    clock = Clock(None)
    clock.lap("embed")
    clock.skip()
    assert clock.timings is None
