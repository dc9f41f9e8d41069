"""apply as a backstop too: its own wait holds an instance to the deadline its label carries, as `reap`
would, so an apply that is watching does not leave the ending to a reaper.

- Waiting for `running` ends at the boot allowance: an instance not running by then is one the reaper
  would end as never started, so apply destroys it and tries the next offer, as for a dead one.
- Following a job to its end (`apply --local`) ends at the deadline: past it, the instance is destroyed.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from vastjob.errors import ApiError
from vastjob.spec.model import JobSpec
from vastjob.vast.client import VastClient
from vastjob.vast.deadline import run_bound_s
from vastjob.vast.instance import DEAD_STATES, until_running

BOOT_TIMEOUT = "boot_timeout"  # the state apply reports for an instance not running within its allowance
# The states of an instance that never ran its job: destroyed, its machine remembered as a bad host.
NEVER_RAN: frozenset[str] = frozenset({*DEAD_STATES, BOOT_TIMEOUT})


def wait_running(
    client: VastClient,
    instance_id: int,
    job: JobSpec,
    *,
    poll_s: float,
    wait_timeout_s: float,
    say: Callable[[str], None],
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> str:
    """Follow a new instance to running (`until_running`), for at most its boot allowance: BOOT_TIMEOUT
    when that passed first. A `--wait-timeout` shorter than the allowance raises as before."""
    boot_s = float(job.shutdown.boot_allowance_s)
    patience = min(wait_timeout_s, boot_s)
    try:
        return until_running(
            client, instance_id, poll_s=poll_s, timeout_s=patience, say=say, sleep=sleep, clock=clock
        )
    except ApiError as err:
        if err.error != "timeout" or patience < boot_s:
            raise
    say(f"instance {instance_id} is not running after its boot allowance of {int(boot_s)}s")
    return BOOT_TIMEOUT


def follow_limit_s(job: JobSpec) -> float:
    """How long a job may be followed from its create: the deadline its label carries."""
    return float(run_bound_s(job) + job.shutdown.boot_allowance_s)
