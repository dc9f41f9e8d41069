"""The shutdown the script applies, run for real against a loopback API: every request, after a success and
after a failure, is retried until the API's answer accepts it, and each attempt is in the job log."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.support.jobs import job_of
from tests.support.script import Sandbox
from vastjob.compile import render_script

pytestmark = pytest.mark.slow

_REQUEST = {"stop": ("PUT", {"state": "stopped"}), "destroy": ("DELETE", {})}
DROP = "drop"  # the first request's connection closes with no answer


class _Dropper(ThreadingHTTPServer):
    """A loopback API that closes the first connection without answering, then answers success."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, str | None, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.requests.append((self.command, self.path, self.headers.get("Authorization"), body))
                if len(outer.requests) == 1:
                    self.close_connection = True
                    return
                data = b'{"success": true}'
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_PUT = do_DELETE = _answer

            def log_message(self, format: str, *args: Any) -> None:
                return None

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()


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
    method, body = _REQUEST[verb]
    wanted = (method, f"/api/v0/instances/{sandbox.api_id}/", f"Bearer {sandbox.api_key}", body)
    if fault == DROP:
        dropper = _Dropper()
        try:
            url = f"http://127.0.0.1:{dropper.server_port}"
            result = sandbox.run(render_script(job), {"VASTJOB_API_URL": url})
        finally:
            dropper.shutdown()
            dropper.server_close()
        requests = [(m, p, a, json.loads(b)) for m, p, a, b in dropper.requests]
    else:
        sandbox.api.faults.refusals = [int(fault)]
        result = sandbox.run(render_script(job))
        requests = [
            (r.method, r.path, r.headers.get("Authorization"), json.loads(r.body)) for r in sandbox.requests
        ]
    assert result.returncode == (0 if outcome == "success" else 1), result.stdout + result.stderr
    assert requests == [wanted] * 2
    lines = sandbox.log_lines("vastjob")
    end = lines.index(f"job {outcome}, exit code {result.returncode}: {verb}")
    # After the end line: the first attempt's error, its retry, then the second attempt accepted.
    assert lines.index(f"{verb} request failed, retry in 0s") > end
    assert lines[-1] == f"{verb} request accepted"
    if fault == 200:
        assert '{"success": false}' in lines  # the answer that said no
    else:
        assert any(line.startswith("curl: (") for line in lines[end:])  # curl's error
