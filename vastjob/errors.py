"""The one error family vastjob raises for expected failures, and the exit codes they map to.

With `-o json` every error prints as one shape, `{"errors": ERROR}`, where ERROR always has `error` (the
kind: SpecError, UserError, RenderError, ApiError, PriceCapError, Interrupted) and `message`; a SpecError
adds `problems` (each with file, line, col, path, message), an ApiError `status`, `api_error`, `api_msg`.
"""

from __future__ import annotations

from dataclasses import dataclass

EXIT_OK = 0
EXIT_USER = 1  # the spec or the user's input is wrong
EXIT_USAGE = 2  # command-line usage (click's own code)
EXIT_API = 3  # the remote API failed
EXIT_JOB_FAILED = 4  # the job ran and failed (or how it ended could not be read)
EXIT_INTERRUPTED = 130


class VastjobError(Exception):
    """Base of every expected error: the CLI prints its message, never a traceback."""

    exit_code = EXIT_USER

    def to_json(self) -> dict[str, object]:
        """A JSON-ready form of the error for `-o json`: its kind and message, then what the kind adds."""
        return {"error": type(self).__name__, "message": str(self)}


@dataclass(frozen=True)
class Problem:
    """One problem in a spec, located in its source file."""

    file: str
    line: int  # 1-based; 0 when unknown
    col: int  # 1-based; 0 when unknown
    path: str  # JSON path such as $.offer.gpu.count
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}: {self.path}: {self.message}"

    def to_json(self) -> dict[str, object]:
        """A JSON-ready form of the problem."""
        return {
            "file": self.file,
            "line": self.line,
            "col": self.col,
            "path": self.path,
            "message": self.message,
        }


class SpecError(VastjobError):
    """A spec has one or more problems; all of them are carried, in source order."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))

    def to_json(self) -> dict[str, object]:
        return {**super().to_json(), "problems": [p.to_json() for p in self.problems]}


class UserError(VastjobError):
    """Wrong input that is not a spec problem: a missing secret, an unknown job, a refused action."""


class RenderError(VastjobError):
    """The compiler cannot produce a valid script, for example a bootstrap over Vast's limit."""


class ApiError(VastjobError):
    """The Vast API (or the emulator) answered with an error, or could not be reached."""

    exit_code = EXIT_API

    def __init__(
        self, message: str, *, status: int | None = None, error: str | None = None, msg: str | None = None
    ) -> None:
        self.status = status
        self.error = error
        self.msg = msg
        super().__init__(message)

    def to_json(self) -> dict[str, object]:
        return {
            **super().to_json(),
            "status": self.status,
            "api_error": self.error,
            "api_msg": self.msg,
        }


class Interrupted(VastjobError):
    """The user pressed Ctrl-C; the message says what was left behind, if anything."""

    exit_code = EXIT_INTERRUPTED
