"""What a follow shows between log lines: state, status message, elapsed time and cost so far; without a
terminal, at most one such line every 30 seconds."""

from __future__ import annotations

from vastjob.vast.follow import PROGRESS_EVERY_S, Throttled, _progress
from vastjob.vast.instance import Instance


def test_progress_says_state_message_elapsed_and_cost_so_far() -> None:
    inst = Instance.from_api(
        {"id": 1, "actual_status": "running", "status_msg": "Container running", "dph_total": 0.36}
    )
    text = _progress(inst, started=100.0, now=100.0 + 3600)
    assert text == "[vastjob apply] running (Container running), 1h, ~$0.360 so far"


def test_plain_progress_is_said_at_most_every_30_seconds() -> None:
    now = [0.0]
    said: list[str] = []
    sink = Throttled(said.append, clock=lambda: now[0])
    for t in (1.0, 10.0, PROGRESS_EVERY_S, PROGRESS_EVERY_S + 1, 2 * PROGRESS_EVERY_S + 1):
        now[0] = t
        sink(f"at {t:g}")
    assert said == [f"at {PROGRESS_EVERY_S:g}", f"at {2 * PROGRESS_EVERY_S + 1:g}"]
