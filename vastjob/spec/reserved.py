"""Variable names a job may not set through `env` or `secrets`: bash, the onstart script and the tools its
steps run (git, pip, rclone) own them, and a job that set one would break before or during its steps.

This is the one list: docs/spec.md prints it, and validation refuses each name at the line it is written.
"""

from __future__ import annotations

from collections.abc import Iterator

# Bash refuses to assign these (`UID: readonly variable`): the script would die before its trap exists.
BASH_READONLY = frozenset({"UID", "EUID", "PPID", "BASH_VERSINFO", "SHELLOPTS", "BASHOPTS"})

# Bash reads or maintains these itself; set from outside they change how every later line runs.
BASH_SPECIAL: dict[str, str] = {
    "BASH_ENV": "bash runs the file it names before every bash subprocess",
    "ENV": "a shell in POSIX mode runs the file it names",
    "IFS": "it changes how bash splits every unquoted word",
    "TMOUT": "bash exits after that many quiet seconds, ending the job with no shutdown",
    "FUNCNEST": "it caps function nesting, so the script's own functions fail",
    "EXECIGNORE": "bash stops finding the commands it matches, curl for the shutdown among them",
    "GLOBIGNORE": "it changes which files every glob matches",
    "CDPATH": "it changes where every relative cd goes",
    "POSIXLY_CORRECT": "bash switches to POSIX mode",
    "BASH_COMPAT": "bash switches to an older version's behaviour",
    "BASH_XTRACEFD": "bash writes its trace to that file descriptor",
    "PS4": "bash expands it, commands and all, before every traced line",
    "PROMPT_COMMAND": "bash runs it as a command",
    "SECONDS": "the script measures time with it",
    "RANDOM": "bash maintains it",
    "SRANDOM": "bash maintains it",
    "LINENO": "bash maintains it",
    "OPTIND": "bash maintains it",
    "OPTARG": "bash maintains it",
    "HISTFILE": "bash maintains it",
    "BASHPID": "bash maintains it",
    "BASH_ARGV0": "bash maintains it",
}

# Vast sets these in the container and the shutdown request is authorised by them.
RUNTIME: dict[str, str] = {
    "CONTAINER_ID": "the shutdown request names the instance by it",
    "CONTAINER_API_KEY": "the shutdown request is authorised by it",
}
RUNTIME_PREFIXES = ("VJ_", "VASTJOB_")

# Variables the steps' tools read that point them elsewhere: the clone, the installs or the downloads
# would silently go wrong (an install the run cannot import, a download that copies nothing).
TOOLS: dict[str, str] = {
    "GIT_DIR": "git would use another repository than the clone",
    "GIT_WORK_TREE": "git would check the code out elsewhere",
    "GIT_INDEX_FILE": "git would use another index than the clone's",
    "GIT_OBJECT_DIRECTORY": "git would store the clone's objects elsewhere",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES": "git would read objects from elsewhere",
    "GIT_COMMON_DIR": "git would use another repository than the clone",
    "GIT_NAMESPACE": "git would fetch into a namespace the checkout does not see",
    "GIT_EXEC_PATH": "git would run its commands from elsewhere",
    "GIT_CONFIG": "git would read another configuration",
    "GIT_CONFIG_GLOBAL": "git would read another configuration",
    "GIT_CONFIG_SYSTEM": "git would read another configuration",
    "GIT_CONFIG_PARAMETERS": "git would read extra configuration",
    "GIT_CONFIG_COUNT": "the clone's token helper is passed through it",
    "GIT_TERMINAL_PROMPT": "the clone turns it off so that git never waits for a password",
    "GIT_ASKPASS": "git would ask it for the password instead of the token helper",
    "PIP_TARGET": "pip would install where the run does not import from",
    "PIP_PREFIX": "pip would install where the run does not import from",
    "PIP_ROOT": "pip would install where the run does not import from",
    "PIP_REQUIRE_VIRTUALENV": "pip would refuse to install outside a virtual environment",
    "PIP_DRY_RUN": "pip would install nothing",
    "RCLONE_CONFIG": "rclone would read another configuration than the job's remotes",
    "RCLONE_DRY_RUN": "rclone would download nothing",
    "RCLONE_INTERACTIVE": "rclone would wait for an answer no one gives",
}
TOOL_PREFIXES: dict[str, str] = {
    "GIT_CONFIG_KEY_": "the clone's token helper is passed through these",
    "GIT_CONFIG_VALUE_": "the clone's token helper is passed through these",
    "RCLONE_CONFIG_": "the job's remotes are configured through these; set them under remotes",
}


def why_reserved(name: str) -> str | None:
    """Why a job may not set `name`, or None when it may."""
    if name in BASH_READONLY:
        return "bash makes it read-only, so the script would stop at once"
    if name in BASH_SPECIAL:
        return BASH_SPECIAL[name]
    if name in RUNTIME:
        return RUNTIME[name]
    if name.startswith(RUNTIME_PREFIXES):
        return "the onstart script's own variables start with VJ_ or VASTJOB_"
    if name in TOOLS:
        return TOOLS[name]
    for prefix, why in TOOL_PREFIXES.items():
        if name.startswith(prefix):
            return why
    return None


def reserved_table() -> Iterator[tuple[str, str]]:
    """(name or prefix*, why) for every reserved name, in the order docs/spec.md lists them."""
    yield from ((n, "read-only in bash") for n in sorted(BASH_READONLY))
    yield from BASH_SPECIAL.items()
    yield from RUNTIME.items()
    yield from ((p + "*", "the onstart script's own variables") for p in RUNTIME_PREFIXES)
    yield from TOOLS.items()
    yield from ((p + "*", why) for p, why in TOOL_PREFIXES.items())
