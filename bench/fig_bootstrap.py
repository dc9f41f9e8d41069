"""Bootstrap size: the onstart text of every job in `jobs/` against Vast's 4048-character limit, with the
full script it carries for comparison, and the form each job is sent in (inline, or chunked in env entries
when the inline bootstrap is over) with the budget of the create body it uses."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

from bench.harness import ROOT, Figure

JOBS = ROOT / "jobs"
BURGERS_TARGET = 3000


def breakdown(script: str, top: int = 6) -> list[str]:
    """Where a script's compressed size comes from: its static runtime vs its generated part (which starts
    at the job's settings, `VJ_JOB=`), and the biggest functions of the runtime."""

    def z(text: str) -> int:
        return len(gzip.compress(text.encode(), compresslevel=9, mtime=0))

    cut = script.find("\nVJ_JOB=") + 1
    if cut <= 0:
        return [f"script {len(script)} chars, {z(script)} gzipped; base64 adds a third"]
    runtime, generated = script[:cut], script[cut:]
    functions = re.findall(r"^(\w+)\(\) \{\n(?:.*\n)*?\}\n", runtime, re.M)
    sizes = sorted(
        (
            (len(m.group(0)), name)
            for name in functions
            if (m := re.search(rf"^{name}\(\) \{{\n(?:.*\n)*?\}}\n", runtime, re.M))
        ),
        reverse=True,
    )[:top]
    return [
        f"burgers512 script: runtime {len(runtime)} chars ({z(runtime)} gzipped), generated part "
        f"{len(generated)} chars ({z(generated)} gzipped), whole {z(script)} gzipped; base64 adds a third",
        "largest runtime functions (chars): " + ", ".join(f"{n} {c}" for c, n in sizes),
    ]


def measure(*, jobs: Path = JOBS) -> Figure:
    """Render every job (files not starting with _) and measure what would be sent."""
    from vastjob.compile import BOOTSTRAP_LIMIT, render_script
    from vastjob.compile.pack import bootstrap_for
    from vastjob.compile.transport import render_payload
    from vastjob.errors import RenderError
    from vastjob.spec.load import check_file, load_job

    rows = []
    sizes: dict[str, int] = {}
    notes: list[str] = []
    sent_ok = True
    for path in sorted(jobs.glob("*.yaml")):
        if path.name.startswith("_") or check_file(path).sweep is not None:
            continue  # a sweep's runs are jobs of the same shape as the single ones
        job = load_job(path)
        script = render_script(job)
        # The inline bootstrap as apply would send it; an oversized one is measured from the refusal.
        try:
            size = len(bootstrap_for(job, script))
        except RenderError as err:
            found = re.search(r"bootstrap is (\d+) characters", str(err))
            size = int(found[1]) if found else 0
        sizes[job.name] = size
        if job.name == "burgers512":
            notes = breakdown(script)
        try:
            payload = render_payload(job)
            form: str = payload.form
            budget = payload.budget.summary()
        except RenderError:
            form, budget, sent_ok = "refused", "over the env's 32768", False
        row = [path.name, len(script), size, f"{size / BOOTSTRAP_LIMIT:.1%}", BOOTSTRAP_LIMIT - size]
        rows.append([*row, form, budget])
    burgers = sizes.get("burgers512")
    largest = max(sizes.values(), default=0)
    chunked = [str(r[0]) for r in rows if r[5] == "chunked"]
    # Every job must be sendable; one over the inline limit travels chunked.
    within = sent_ok
    return Figure(
        key="bootstrap",
        title=f"Bootstrap size ({len(rows)} jobs in jobs/)",
        baseline=f"Vast's onstart limit of {BOOTSTRAP_LIMIT} characters",
        target=f"every job sendable (inline <= {BOOTSTRAP_LIMIT}, else chunked); burgers512 <= "
        f"{BURGERS_TARGET} characters",
        columns=["job", "script chars", "bootstrap chars", "of limit", "headroom", "form", "budget used"],
        rows=rows,
        headline=f"burgers512 sends {burgers} characters "
        f"({(burgers or 0) / BOOTSTRAP_LIMIT:.1%} of the limit); largest inline bootstrap {largest}; "
        f"{len(chunked)} job(s) sent chunked" + (f" ({', '.join(chunked)})" if chunked else ""),
        met=within and burgers is not None and burgers <= BURGERS_TARGET,
        extra={"sizes": sizes, "limit": BOOTSTRAP_LIMIT, "forms": {r[0]: r[5] for r in rows}},
        notes=notes,
    )
