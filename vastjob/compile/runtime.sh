#!/usr/bin/env bash
# The fixed part of every onstart script vastjob renders, in three files rendered one after the other:
# this one (settings, logging, process groups, the steps' tools), schedule.sh (attempts, the scheduler)
# and ending.sh (outputs, the shutdown, the exit trap, the watchdog, vj_main). The generated part after
# them defines the job's steps (vj_sN functions plus one vj_def line each) and calls vj_main.
#
# Rendering keeps only what a job uses: a line `#@ NAME...` starts a section that is dropped unless a
# step calls one of vj_NAME... (`#@` alone ends it). Comments, blank lines and indentation are dropped
# too: the smaller the script, the likelier it fits inline in Vast's 4048-character onstart field.
set -Eeuo pipefail

# Every absolute path hangs off VJ_ROOT, so tests (and the local emulator) run the script in a folder.
VJ_ROOT=${VASTJOB_ROOT:-}
VJ_ROOT=${VJ_ROOT%/}
VJ_API=${VASTJOB_API_URL:-https://console.vast.ai}
VJ_STATE=$VJ_ROOT/var/lib/vastjob
VJ_RUN=$VJ_STATE/run
VJ_LOG=$VJ_ROOT/var/log/vastjob/job.log
VJ_BACKOFF=${VASTJOB_RETRY_BASE:-5}
# Seconds a process group gets between TERM and KILL; between two writes of the time used; requests
# per verb before a refused shutdown escalates; the process whose end stops the container.
VJ_GRACE=${VASTJOB_GRACE:-20}
VJ_BEAT=${VASTJOB_HEARTBEAT:-5}
VJ_TRIES=${VASTJOB_SHUTDOWN_TRIES:-10}
VJ_INIT=${VASTJOB_INIT_PID:-1}
VJ_FLOCK=
! command -v flock >/dev/null || VJ_FLOCK=1
VJ_SELF=$(readlink -f -- "$0")
VJ_END=failure

# One log line, `TIME [step] message`, appended to the log file and printed on stdout. Bash writes a
# line over 4 KiB in several writes: under an exclusive lock (on a file opened here, so that no other
# writer shares it), lines of parallel steps are never spliced. Without flock, best effort.
vj_log() {
  local TZ=UTC l
  printf -v l '%(%FT%TZ)T [%s] %s' -1 "$1" "${*:2}"
  {
    [[ ! $VJ_FLOCK ]] || flock 9 || :
    echo "$l" >>"$VJ_LOG" || :
    echo "$l" 2>/dev/null || :
  } 9>>"$VJ_LOG.lock" 2>/dev/null || { echo "$l" 2>/dev/null || :; }
}

# Caught, not ignored (the commands of the steps keep the default): a write to a stdout whose reader
# is gone fails instead of killing the script. Set again in each subshell that logs: they reset it.
# vj_prefix ID [END]: a line `END CODE` ends the output and is returned as its status.
vj_prefix() {
  local x
  trap : PIPE
  while IFS= read -r x || [[ $x ]]; do
    if [[ ${2-} && $x == "$2 "* ]]; then
      #@ keep
      # A step that keeps its processes: what they print goes on to the log after the step is over.
      # (Its own `<&0`: a list sent to the background would read /dev/null.)
      if [[ -e $VJ_RUN/keep-${VJ_I-} ]]; then vj_prefix "$1" <&0 & fi
      #@
      return "${x#"$2 "}"
    fi
    vj_log "$1" "$x"
  done
}

# vj_alive PGID: whether a process of the group still runs. A zombie does not (kill -0 counts it, and
# an init that is slow to reap orphans, or never does, would hold every step for the grace period).
vj_alive() {
  local f s stat
  [[ -r /proc/self/stat ]] || { kill -0 -- "-$1" 2>/dev/null; return; }
  for f in /proc/[0-9]*/stat; do
    read -r s 2>/dev/null <"$f" || continue
    read -ra stat <<<"${s##*) }"
    [[ ${stat[2]} != "$1" || ${stat[0]} == [ZX] ]] || return 0
  done
  return 1
}

# vj_reap PGID: TERM to a process group, then KILL to whatever is left of it after the grace period.
vj_reap() {
  local n=0
  kill -TERM -- "-$1" 2>/dev/null || return 0
  while vj_alive "$1" && ((n++ < VJ_GRACE * 10)); do sleep 0.1; done
  kill -KILL -- "-$1" 2>/dev/null || :
}

# vj_def ID HASH RETRIES TIMEOUT_S [INDEX_OF_NEEDED_STEP...]; HASH names the step's marker, "-" for none.
vj_def() {
  VJ_IDS+=("$1") VJ_HASH+=("$2") VJ_RETRY+=("$3") VJ_TIME+=("$4") VJ_NEEDS+=("${*:5}")
}

#@ keep
# A step whose spec asks to keep what its command leaves running (keep_processes): its runner leaves the
# attempt's group alone once it succeeds, and the exit trap ends it with the job.
vj_keep() {
  : >"$VJ_RUN/keep-$VJ_I"
}
#@

#@ sh
# A command field of the spec: the only spec text that bash interprets, in a shell of its own.
vj_sh() {
  echo "+ $1"
  bash -eo pipefail -c "$1"
}
#@

# vj_gpu_check COUNT MIB: nvidia-smi must list COUNT GPUs with at least MIB MiB each (awk exits 1 if not).
# $2+0: compare as numbers, so that a memory that is not one ("[N/A]") counts as 0.
vj_gpu_check() {
  nvidia-smi --query-gpu=name,memory.total --format=csv,noheader,nounits |
    awk -F, -v n="$1" -v m="$2" '{print "GPU", $0} $2+0 >= m {k++} END {exit k < n}'
}

#@ apt
vj_apt() {
  local p m=()
  for p; do
    [[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) == 'install ok installed' ]] || m+=("$p")
  done
  ((${#m[@]})) || return 0
  # At most one update per start, even when this step is retried.
  [[ -e $VJ_RUN/apt ]] || { apt-get update && : >"$VJ_RUN/apt"; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y "${m[@]}"
}
#@

#@ token
# vj_token VARIABLE: git gets the token from a credential helper that reads the variable, so the value
# is never in a URL, on argv or in the log.
# The empty helper first clears the helpers of the image's own git config (a `store` would write the
# token to disk).
vj_token() {
  export GIT_TERMINAL_PROMPT=0 GIT_CONFIG_COUNT=2 GIT_CONFIG_KEY_0=credential.helper GIT_CONFIG_VALUE_0=
  export GIT_CONFIG_KEY_1=credential.helper
  export GIT_CONFIG_VALUE_1="!f() { echo username=x-access-token; echo \"password=\$$1\"; }; f"
}
#@

#@ clone
# vj_clone URL WHAT [COMMIT]: fetch WHAT (a full commit SHA, else the ref) into the step's folder, the
# repo dir, and check out COMMIT (else what was fetched) detached; never a pull, so a restart finds the
# same code. An abbreviated COMMIT is found in the history of the ref: servers only give full SHAs.
vj_clone() {
  [[ -d .git ]] || git init -q
  git config remote.origin.url "$1"
  git fetch origin -- "$2"
  git checkout -q --detach "${3:-FETCH_HEAD}" --
  git log -1 --format='at %H %s'
}
#@

#@ pip
vj_pip() {
  python3 -m pip install "$@"
}
#@

#@ size
# vj_size PATH MIN_BYTES: a download (file or folder) must have at least that many bytes.
vj_size() {
  local n
  n=$(du -sbL -- "$1" | cut -f1)
  echo "$n bytes"
  ((n >= $2)) || { echo "want min_bytes $2"; return 1; }
}
#@

#@ got
# vj_got SOURCE FOLDER MIN_BYTES: what the copy into a folder brought, the source's own files as found in
# the folder (not whatever else it holds, a repo checkout), must have at least that many bytes.
vj_got() {
  local n
  n=$(cd -- "$2" && rclone lsf -R --files-only -- "$1" | tr '\n' '\0' | du -cbL --files0-from=- | tail -n1)
  n=${n%%[[:space:]]*}
  echo "$n bytes from $1"
  ((n >= $3)) || { echo "want min_bytes $3"; return 1; }
}
#@

#@ sha256
# From stdin: sha256sum escapes a file name with a backslash or newline (its line then starts with one).
vj_sha256() {
  local s
  s=$(sha256sum <"$1")
  echo "$s"
  [[ $s == "$2 "* ]] || { echo "want sha256 $2"; return 1; }
}
#@

#@ rclone url link
# The parent folder of $1 (parameter expansion: dirname in $(...) would lose trailing newlines).
vj_dir() {
  local d=${1%/*}
  if [[ $1 == */* && $d ]]; then mkdir -p -- "$d"; fi
}
#@

#@ link
vj_link() {
  vj_dir "$1"
  ln -sfn -- "$2" "$1"
}
#@

#@ rclone
# vj_rclone copy|copyto SOURCE DEST
vj_rclone() {
  vj_dir "$3"
  rclone "$1" -- "$2" "$3"
}
#@

#@ url
# vj_url URL FILE [TOKEN_VARIABLE]: a token goes in a header read from stdin, never on argv.
vj_url() {
  local h=
  vj_dir "$2"
  [[ -z ${3:-} ]] || h="Authorization: Bearer ${!3}"
  echo "$h" | curl -fsSL --retry 3 -H @- -o "$2.part" "$1"
  mv -f -- "$2.part" "$2"
}
#@

#@ wandb
vj_wandb() {
  mkdir -p -- "$2"
  wandb artifact get --root "$2" -- "$1"
}
#@
