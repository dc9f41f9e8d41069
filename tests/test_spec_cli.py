"""`vastjob validate` and `vastjob schema` as a user runs them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import given, settings
from hypothesis import strategies as st

from vastjob.cli import cli

ROOT = Path(__file__).resolve().parent.parent
MINIMAL = "version: 1\nname: t\noffer: {max_price_per_hour: 1}\ninstance: {image: img}\nrun: {command: go}\n"
THREE_PROBLEMS = """\
version: 1
name: three
offer:
  max_price_per_hour: 2
  min_reliabilty: 0.9
  gpu: {count: two}
instance: {image: img}
run:
  command: go
  max_runtime: 12hours
"""


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_the_example_jobs_are_valid() -> None:
    code, out, _ = invoke("validate", str(ROOT / "jobs"))
    assert (code, out) == (0, "ok: 6 job specs valid, 1 sweep of 4 runs (1 base spec checked)\n")


def test_three_problems_three_located_lines_exit_1_no_traceback(tmp_path: Path) -> None:
    spec = tmp_path / "three.yaml"
    spec.write_text(THREE_PROBLEMS, encoding="utf-8")
    # A real process, as a user runs it: the console script's module, with the test's environment.
    proc = subprocess.run(
        [sys.executable, "-c", "from vastjob.cli import main; main()", "validate", "three.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=os.environ,
        check=False,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 3
    assert all(re.match(r"^three\.yaml:\d+:\d+: \$\.\S+: ", line) for line in lines)
    assert [line.split(": ")[1] for line in lines] == [
        "$.offer.min_reliabilty",
        "$.offer.gpu.count",
        "$.run.max_runtime",
    ]


def test_json_output_lists_the_same_problems(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("three.yaml").write_text(THREE_PROBLEMS, encoding="utf-8")
    code, out, _ = invoke("validate", "-o", "json", "three.yaml")
    _, _, text = invoke("validate", "three.yaml")
    problems = json.loads(out)["errors"]["problems"]
    assert code == 1
    assert [
        f"{p['file']}:{p['line']}:{p['col']}: {p['path']}: {p['message']}" for p in problems
    ] == text.splitlines()


def test_json_output_on_success(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(MINIMAL, encoding="utf-8")
    code, out, _ = invoke("validate", "-o", "json", str(tmp_path / "a.yaml"))
    (entry,) = json.loads(out)
    assert code == 0
    assert entry["name"] == "t" and entry["label"] == f"vastjob:t:{entry['spec_hash']}"


def test_set_on_the_command_line(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(MINIMAL, encoding="utf-8")
    code, _, err = invoke("validate", str(tmp_path / "a.yaml"), "--set", "shutdown.on_success=explode")
    assert code == 1
    assert err.endswith("(from --set shutdown.on_success=explode)\n")


def test_folders_and_globs_check_bases_through_their_jobs(tmp_path: Path) -> None:
    (tmp_path / "_base.yaml").write_text(MINIMAL.replace("name: t\n", ""), encoding="utf-8")
    (tmp_path / "a.yaml").write_text("extends: _base.yaml\nname: a\n", encoding="utf-8")
    (tmp_path / "b.yml").write_text("extends: _base.yaml\nname: b\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a spec", encoding="utf-8")
    assert invoke("validate", str(tmp_path))[:2] == (0, "ok: 2 job specs valid (1 base spec checked)\n")
    assert invoke("validate", str(tmp_path / "*.yaml"))[:2] == (
        0,
        "ok: 1 job spec valid (1 base spec checked)\n",
    )


def test_a_broken_base_is_reported_once_through_its_jobs(tmp_path: Path) -> None:
    (tmp_path / "_base.yaml").write_text("version: 1\noffer: {max_price_per_hour: 1\n", encoding="utf-8")
    for name in ("a", "b"):
        (tmp_path / f"{name}.yaml").write_text(f"extends: _base.yaml\nname: {name}\n", encoding="utf-8")
    code, _, err = invoke("validate", str(tmp_path))
    assert code == 1
    # Once, and at the { that is never closed rather than where the parser gave up.
    assert err.count("_base.yaml:2:8: $: YAML syntax error") == 1


def test_a_base_no_job_extends_is_checked_alone(tmp_path: Path) -> None:
    (tmp_path / "_lonely.yaml").write_text("version: 1\nenv: {A: true}\n", encoding="utf-8")
    (tmp_path / "job.yaml").write_text(MINIMAL, encoding="utf-8")
    code, _, err = invoke("validate", str(tmp_path))
    assert code == 1
    assert "_lonely.yaml:2:10: $.env.A: true is a YAML boolean" in err


def test_two_jobs_with_one_name_are_reported(tmp_path: Path) -> None:
    # Instances are found by name: `destroy t` or `apply --replace` of one would act on the other's.
    (tmp_path / "a.yaml").write_text(MINIMAL, encoding="utf-8")
    (tmp_path / "b.yaml").write_text("# copy of a\nextends: a.yaml\nenv: {X: '1'}\n", encoding="utf-8")
    (tmp_path / "c.yaml").write_text(MINIMAL.replace("image: img", "image: other"), encoding="utf-8")
    code, _, err = invoke("validate", str(tmp_path), str(tmp_path / "." / "a.yaml"))
    assert code == 1
    first = tmp_path / "a.yaml"
    assert err.splitlines() == [
        f"{tmp_path / 'b.yaml'}:2:1: $.name: 't' (inherited through extends) is also the name of {first}; "
        "give each job its own name",
        f"{tmp_path / 'c.yaml'}:2:1: $.name: 't' is also the name of {first}; give each job its own name",
    ]
    assert invoke("validate", str(first), str(tmp_path / "." / "a.yaml"))[0] == 0


def test_a_path_that_matches_nothing(tmp_path: Path) -> None:
    code, _, err = invoke("validate", str(tmp_path / "nope.yaml"), str(tmp_path / "*.yml"))
    assert code == 1
    assert err.splitlines() == [
        f"{tmp_path / 'nope.yaml'}:0:0: $: no such file or folder",
        f"{tmp_path / '*.yml'}:0:0: $: no .yaml or .yml spec found here",
    ]


ODD_FILES = {
    "deeply-nested": MINIMAL + "env: {A: " + "[" * 700 + "]" * 700 + "}\n",
    "deep-block-maps": MINIMAL + "env:\n" + "".join("  " * i + f" k{i}:\n" for i in range(1, 800)),
    "surrogate-escape": MINIMAL + 'env: {A: "\\ud83d\\ude00"}\n',
    "nul": MINIMAL + "env: {A: \x00}\n",
    "float-duration": MINIMAL.replace("{command: go}", "{command: go, max_runtime: 1e3}"),
    "nan-price": MINIMAL.replace("max_price_per_hour: 1", "max_price_per_hour: .nan"),
    "long-step-chain": MINIMAL
    + "steps:\n"
    + "".join(f"  - {{id: s{i}, run: x, needs: [s{i + 1}]}}\n" for i in range(1500))
    + "  - {id: s1500, run: x}\n",
}


def clean(result: Result) -> bool:
    """The command ended by its own exit code, not by an exception that would print a traceback."""
    return result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize("name", sorted(ODD_FILES))
@pytest.mark.parametrize("output", ["text", "json"])
def test_odd_specs_never_end_in_a_traceback(tmp_path: Path, name: str, output: str) -> None:
    (tmp_path / "odd.yaml").write_text(ODD_FILES[name], encoding="utf-8", errors="surrogatepass")
    result = CliRunner().invoke(cli, ["validate", "-o", output, str(tmp_path / "odd.yaml")])
    assert clean(result), result.exception
    assert result.exit_code in (0, 1)
    if output == "json":
        data = json.loads(result.stdout)
        assert isinstance(data if result.exit_code == 0 else data["errors"]["problems"], list)
    elif result.exit_code == 0:
        assert result.stdout == "ok: 1 job spec valid\n"
    else:
        located = re.compile(r".*odd\.yaml:[1-9][0-9]*:[1-9][0-9]*: \$\S*: .+")
        assert all(located.fullmatch(line) for line in result.stderr.splitlines())


FIELDS = [
    "env: {A: %s}",
    "offer: {max_price_per_hour: %s}",
    "run: {command: go, max_runtime: %s}",
    "datasets: {d: {source: %s, min_bytes: %s}}",
    "steps: [{id: a, run: x, timeout: %s, needs: [%s]}]",
    "instance: {image: x, disk_gb: %s}",
    "offer: {max_price_per_hour: 1, gpu: {count: %s, names: [%s]}}",
    "secrets: [%s]\nenv: {%s: x}",
    "%s: %s",
]
FRAGMENT = st.text(
    alphabet=st.sampled_from(
        [*"[]{}:-,&*!|>'\"#%@ .0123456789eEinfaINFNxo~\\/_", "\t", "\r", "\u2028", "\x00"]
    ),
    max_size=10,
)


@settings(max_examples=120, deadline=None)
@given(field=st.sampled_from(FIELDS), a=FRAGMENT, b=FRAGMENT)
def test_fuzzed_fields_give_exit_0_or_located_problems(field: str, a: str, b: str) -> None:
    line = field % ((a, b) if field.count("%s") == 2 else (a,))
    key = line.split(":")[0]
    text = "".join(f"{x}\n" for x in MINIMAL.splitlines() if x.split(":")[0] != key) + line + "\n"
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "f.yaml").write_text(text, encoding="utf-8")
        result = CliRunner().invoke(cli, ["validate", "-o", "json", str(Path(folder) / "f.yaml")])
    assert clean(result), result.exception
    data = json.loads(result.stdout)
    if result.exit_code == 0:
        assert [entry["name"] for entry in data] == ["t"]
    else:
        problems = data["errors"]["problems"]
        assert result.exit_code == 1 and problems
        assert all(p["line"] >= 1 and p["col"] >= 1 and p["path"].startswith("$") for p in problems)


def test_schema_prints_the_packaged_schema() -> None:
    code, out, _ = invoke("schema")
    assert code == 0
    assert json.loads(out) == json.loads((ROOT / "schemas" / "job.schema.json").read_text(encoding="utf-8"))


def test_validate_prints_warnings_on_stderr_and_keeps_json_clean(tmp_path: Path) -> None:
    spec = tmp_path / "slip.yaml"
    spec.write_text(MINIMAL.replace("max_price_per_hour: 1", "max_price_per_hour: 250"))
    code, out, err = invoke("validate", str(spec), "-o", "json")
    assert code == 0
    assert json.loads(out)[0]["name"] == "t"
    assert "warning: " in err and "max_price_per_hour" in err and "decimal point" in err
    assert "no max_runtime" in err
