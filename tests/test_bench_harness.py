"""The benchmark harness reads wrk's output correctly (no timing is measured or asserted here)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from harness import parse_wrk  # noqa: E402

WRK_OUTPUT = """Running 5s test @ http://127.0.0.1:8000/api/v1/achievements/x
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    12.04ms    3.10ms  58.20ms   62.50%
    Req/Sec     5.31k   250.12     5.80k    70.00%
  Latency Distribution
     50%   11.50ms
     75%   13.10ms
     90%   16.00ms
     99%    1.02s
  26412 requests in 5.00s, 9.87MB read
Requests/sec:   5282.40
Transfer/sec:      1.97MB
"""


def test_the_50_and_99_percent_lines_are_read_not_the_stdev_column() -> None:
    run = parse_wrk(WRK_OUTPUT)
    assert (run.rps, run.p50_ms, run.p99_ms, run.requests) == (5282.40, 11.5, 1020.0, 26412)


def test_a_run_with_error_answers_is_refused() -> None:
    with pytest.raises(RuntimeError, match="errors"):
        parse_wrk(WRK_OUTPUT.replace("Requests/sec", "  Non-2xx or 3xx responses: 3\nRequests/sec"))
