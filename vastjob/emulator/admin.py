"""The emulator's own endpoints under `/_emulator/`: fault knobs, the billing meter, manual state changes."""

from __future__ import annotations

from vastjob.emulator.state import State
from vastjob.emulator.wire import Reply, Request, error, ok


def get_faults(state: State, req: Request) -> Reply:
    """`GET /_emulator/faults`: the knobs as they stand (counters count down as faults fire)."""
    return Reply(200, state.faults.as_dict())


def set_faults(state: State, req: Request) -> Reply:
    """`POST /_emulator/faults` with a JSON object of knobs to change."""
    if not isinstance(req.body, dict):
        return error(400, "invalid_args", "expected a JSON object of fault knobs")
    try:
        state.faults.update(req.body)
    except ValueError as err:
        return error(400, "invalid_args", str(err))
    return Reply(200, state.faults.as_dict())


def billing(state: State, req: Request) -> Reply:
    """`GET /_emulator/billing`: the meter of every instance ever created, destroyed ones included."""
    with state.lock:
        ids = list(state.instances)
    return Reply(200, {"instances": [state.billing(i) for i in ids]})


def advance(state: State, req: Request) -> Reply:
    """`POST /_emulator/advance` with `{"id": N, "status": "running"}`: move an instance by hand."""
    body = req.body if isinstance(req.body, dict) else {}
    try:
        state.advance(int(body["id"]), body.get("status"))
    except (KeyError, TypeError, ValueError) as err:
        return error(400, "invalid_args", f'expected {{"id": N, "status": S}}: {err}')
    return ok()


def kill_script(state: State, req: Request) -> Reply:
    """`POST /_emulator/kill-script` with `{"id": N}`: SIGKILL a running instance's onstart now; the
    instance stays running, and billing, as a host whose script died under sshd does."""
    body = req.body if isinstance(req.body, dict) else {}
    try:
        inst = state.fleet.get(int(body["id"]))
    except (KeyError, TypeError, ValueError) as err:
        return error(400, "invalid_args", f'expected {{"id": N}}: {err}')
    if inst is None or inst.actual_status != "running":
        return error(400, "invalid_args", f"instance {body['id']} is not running")
    state.afterlife.kill_now(inst)
    return ok()
