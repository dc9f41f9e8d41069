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


def test_plain_progress_is_said_at_once_when_the_state_or_message_changes() -> None:
    from vastjob.vast.follow import progress_state

    now = [0.0]
    said: list[str] = []
    sink = Throttled(said.append, clock=lambda: now[0], key=progress_state)
    lines = [
        (1.0, "[vastjob apply] loading (pulling), 1s"),
        (2.0, "[vastjob apply] loading (pulling), 2s"),
        (3.0, "[vastjob apply] running (Container running), 3s, ~$0.001 so far"),
        (4.0, "[vastjob apply] running (Container running), 4s, ~$0.002 so far"),
        (40.0, "[vastjob apply] running (Container running), 40s, ~$0.010 so far"),
    ]
    for t, text in lines:
        now[0] = t
        sink(text)
    assert said == [lines[0][1], lines[2][1], lines[4][1]]
