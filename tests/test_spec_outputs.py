"""`outputs:` and `logs:` in the spec: read into typed records, defaults applied, bad destinations refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from vastjob.errors import SpecError
from vastjob.spec import JobSpec, load_job
from vastjob.spec.outputs import Destination

HEAD = """version: 1
name: t
offer: {max_price_per_hour: 1}
instance: {image: x}
run: {command: go, max_runtime: 1h}
remotes: {res: {type: alias, options: {remote: /srv/results}}}
"""


def load_job_text(tmp_path: Path, body: str) -> JobSpec:
    """The head job with `body` added, loaded from a file."""
    spec = tmp_path / "t.yaml"
    spec.write_text(HEAD + body)
    return load_job(spec)


def test_outputs_and_logs_are_read_with_their_defaults(tmp_path: Path) -> None:
    job = load_job_text(
        tmp_path,
        """outputs:
  ckpt: {path: checkpoints/, to: "res:runs/ckpt/", every: 30m, when: failure}
  metrics: {path: out/m.json, to: "res:runs/m.json", required: false, retries: 0, timeout: 90s}
logs: res:runs/logs
""",
    )
    ckpt, metrics = job.outputs
    assert (ckpt.name, ckpt.path, ckpt.to.text, ckpt.when, ckpt.every_s) == (
        "ckpt",
        "checkpoints/",
        "res:runs/ckpt/",
        "failure",
        1800,
    )
    assert (ckpt.required, ckpt.retries, ckpt.timeout_s) == (True, 2, 600)
    assert (metrics.when, metrics.every_s, metrics.required, metrics.retries, metrics.timeout_s) == (
        "both",
        None,
        False,
        0,
        90,
    )
    assert job.logs == Destination("res:runs/logs")
    assert ckpt.wanted("failure") and not ckpt.wanted("success") and metrics.wanted("success")


def test_a_destination_joins_path_parts_below_it() -> None:
    assert Destination("res:runs/logs/").joined("42", "job.log") == "res:runs/logs/42/job.log"
    assert Destination("res:").joined("42") == "res:42"
    assert Destination("res:a").remote == "res"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('outputs:\n  c: {path: c, to: "rez:x"}\n', "$.outputs.c.to: remote 'rez' is not defined; did you"),
        ("logs: nowhere:x\n", "$.logs: remote 'nowhere' is not defined; add it under remotes (known: res)"),
        ('outputs:\n  c: {path: c, to: "no-colon"}\n', "is not a destination such as remote:path"),
        ('outputs:\n  c: {path: c, to: "res:x", when: always}\n', "is not one of success, failure, both"),
        ('outputs:\n  c: {to: "res:x"}\n', "path"),
        ('outputs:\n  c: {path: c, to: "res:x", every: 0s}\n', "$.outputs.c.every"),
    ],
)
def test_bad_outputs_are_located_errors(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(SpecError) as err:
        load_job_text(tmp_path, body)
    assert message in str(err.value)
