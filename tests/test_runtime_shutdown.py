"""The shutdown the script applies, run for real against a loopback API: every request, after a success and
after a failure, is retried until the API's answer accepts it, and each attempt is in the job log."""

from __future__ import annotations

import json

import pytest
from scriptkit import CONTAINER_ID, CONTAINER_KEY, DROP, Sandbox, job_of, sandbox

from vastjob.compile import render_script

__all__ = ["sandbox"]  # fixture used by name below

pytestmark = pytest.mark.slow

_REQUEST = {
    "stop": ("PUT", {"state": "stopped"}),
    "destroy": ("DELETE", {}),
}


@pytest.mark.parametrize("fault", [500, DROP, 200], ids=["500-then-200", "dropped", "200-success-false"])
@pytest.mark.parametrize("verb", ["stop", "destroy"])
@pytest.mark.parametrize("outcome", ["success", "failure"])
def test_a_refused_shutdown_is_retried_until_accepted(
    sandbox: Sandbox, outcome: str, verb: str, fault: int | str
) -> None:
    # The other action is `keep`, so only the asked one can reach the API.
    shutdown = {"on_success": verb, "on_failure": "keep"}
    if outcome == "failure":
        shutdown = {"on_success": "keep", "on_failure": verb}
    job = job_of(run={"command": "true" if outcome == "success" else "exit 3"}, shutdown=shutdown)
    sandbox.api.failures = [fault]
    result = sandbox.run(render_script(job))
    assert result.returncode == (0 if outcome == "success" else 1), result.stdout + result.stderr
    method, body = _REQUEST[verb]
    requests = [
        (r.method, r.path, r.headers.get("Authorization"), json.loads(r.body)) for r in sandbox.api.requests
    ]
    assert requests == [(method, f"/api/v0/instances/{CONTAINER_ID}/", f"Bearer {CONTAINER_KEY}", body)] * 2
    lines = sandbox.log_lines("vastjob")
    end = lines.index(f"job {outcome}, exit code {result.returncode}: {verb}")
    # After the end line: the first attempt's error, its retry, then the second attempt accepted.
    assert f"{verb} request failed, retry in 0s" in lines[end:]
    assert lines[-1] == f"{verb} request accepted"
    assert lines.index(f"{verb} request failed, retry in 0s") < lines.index(f"{verb} request accepted")
    if fault == 200:
        assert '{"success": false}' in lines  # the answer that said no
    else:
        assert any(line.startswith("curl: (") for line in lines[end:])  # curl's error
