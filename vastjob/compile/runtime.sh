#!/usr/bin/env bash
# The fixed part of every onstart script vastjob renders: logging, retries, resume markers, the step
# scheduler, the watchdog and the shutdown trap. The generated part after it defines the job's steps
# (vj_sN functions plus one vj_def line each) and calls vj_main.
#
# Rendering keeps only what a job uses: a line `#@ NAME...` starts a section that is dropped unless a
# step calls one of vj_NAME... (`#@` alone ends it). Comments, blank lines and indentation are dropped
# too: the whole script must fit, gzip+base64, in Vast's 4048-character onstart field.
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

# Step mode: each attempt runs the script again (under `timeout`) to run one step function, in the
# base folder (the repo dir, or the workdir without a repo).
vj_step() {
  export VASTJOB_STEP=${VJ_IDS[$1]} VJ_I=$1
  # timeout gave this attempt a process group of its own; if the main script is killed outright (a
  # container stop that sends SIGKILL to onstart's group), this guard ends the attempt's group too.
  (while sleep 2 && kill -0 $$; do kill -0 "$VJ_MAIN" || kill -9 0; done) &>/dev/null &
  mkdir -p -- "$VJ_BASE"
  cd -- "$VJ_BASE"
  # The step is over when its function returns, not when its output ends (a daemon it started may hold
  # that open): a last line, one no command can guess, carries the exit code. As a job of its own, the
  # function keeps errexit (in a `||` list bash would switch it off).
  local e="vj-end-$RANDOM$RANDOM$RANDOM"
  {
    r=0
    "vj_s$1" </dev/null 2>&1 &
    wait $! || r=$?
    echo "$e $r"
  } | vj_prefix "$VASTJOB_STEP" "$e"
}

# In the background: the attempts of step $1, with exponential backoff; its exit code is the step's.
vj_attempts() {
  local i=$1 a=0 r d
  # Stopped by vj_stop: end the attempt (timeout passes the signal on to the attempt's process group) or
  # the backoff sleep, which would outlive the script. $! is set as each starts, before a trap can run;
  # `: &` makes it a child of this runner from the start (else it names one of the main script's).
  : &
  trap 'vj_reap $!; kill $! 2>/dev/null; exit 143' TERM
  trap : PIPE
  while :; do
    a=$((a + 1))
    vj_log "${VJ_IDS[i]}" "start, attempt $a"
    # timeout runs the attempt in a process group of its own.
    timeout -k "$VJ_GRACE" "${VJ_TIME[i]}" bash "$VJ_SELF" __step "$i" &
    r=0
    wait $! || r=$?
    # Hard: what the attempt left in its group (daemons, a command that ignores TERM after its timeout)
    # ends with it, so no attempt runs beside its retry or holds the job open; unless the spec keeps it.
    #@ keep
    if ((r == 0)) && [[ -e $VJ_RUN/keep-$i ]]; then
      echo $! >>"$VJ_RUN/kept"
    else
      #@
      vj_reap $!
      #@ keep
    fi
    #@
    ((r && a <= VJ_RETRY[i])) || break
    d=$((VJ_BACKOFF << (a - 1)))
    ((d < 600)) || d=600
    vj_log "${VJ_IDS[i]}" "exit code $r, retry in ${d}s"
    sleep $d &
    wait $!
  done
  if ((r)); then
    vj_log "${VJ_IDS[i]}" "failed, exit code $r"
  else
    [[ ${VJ_HASH[i]} == - ]] || : >"$VJ_STATE/markers/${VJ_HASH[i]}"
    vj_log "${VJ_IDS[i]}" "done"
  fi
  return $r
}

# The runners of the steps still running: each ends its attempt's process group, and starts no other.
vj_stop() {
  local i
  for i in "${!VJ_ST[@]}"; do
    [[ ${VJ_ST[i]} == r ]] || continue
    VJ_ST[i]=s
    kill "${VJ_PID[i]}" 2>/dev/null || :
  done
  # Each runner ends its attempt's group within the grace period: none outlives the script.
  for i in "${!VJ_ST[@]}"; do
    [[ ${VJ_ST[i]} != s ]] || wait "${VJ_PID[i]}" 2>/dev/null || :
  done
}

# Start each step whose needs are done (skipping one with a marker), then wait for one to end. Steps
# are defined in a runnable order, so one pass in order also starts whatever a skipped step unblocks.
vj_schedule() {
  local i j go live r n=0
  for i in "${!VJ_IDS[@]}"; do VJ_ST[i]=p; done
  while :; do
    for i in "${!VJ_IDS[@]}"; do
      go=${VJ_ST[i]}
      for j in ${VJ_NEEDS[i]}; do [[ ${VJ_ST[j]} == d ]] || go=; done
      [[ $go == p ]] || continue
      if [[ ${VJ_HASH[i]} != - && -e $VJ_STATE/markers/${VJ_HASH[i]} ]]; then
        vj_log "${VJ_IDS[i]}" "done before: skipped"
        VJ_ST[i]=d
      else
        vj_attempts "$i" &
        VJ_PID[i]=$! VJ_ST[i]=r n=$((n + 1))
      fi
    done
    ((n)) || return 0
    wait -n || :
    # A runner that is no longer running has ended, however it ended (even killed, or unable to write
    # its marker on a full disk): its exit code decides, so no step is waited for forever.
    live=$'\n'$(jobs -rp)$'\n'
    for i in "${!VJ_IDS[@]}"; do
      [[ ${VJ_ST[i]} == r && $live != *$'\n'${VJ_PID[i]}$'\n'* ]] || continue
      r=0
      wait "${VJ_PID[i]}" || r=$?
      n=$((n - 1)) VJ_ST[i]=d
      if ((r)); then
        VJ_ST[i]=f
        vj_stop
        return 1
      fi
    done
  done
}

#@ push
# vj_push NAME RETRIES TIMEOUT_S SRC DEST: copy an output off the instance with rclone. Each attempt is
# bounded by `timeout`, so an upload delays the shutdown by at most (RETRIES + 1) times TIMEOUT_S plus the
# backoff: it never keeps the instance billing without bound. In the background, started so that a
# TERM trap of the caller can end it at once.
vj_push() {
  local a=0 v=copyto r t=output:$1
  [[ -e $4 ]] || { vj_log "$t" "nothing at $4 to upload"; return 1; }
  [[ ! -d $4 && $5 != */ ]] || v=copy
  command -v rclone >/dev/null || timeout 300 apt-get install -y rclone &>/dev/null
  while :; do
    a=$((a + 1)) r=0
    timeout -k 10 "$3" rclone -q "$v" -- "$4" "$5" &>"$VJ_RUN/up-$1" &
    wait $! || r=$?
    vj_prefix "$t" <"$VJ_RUN/up-$1"
    ((r)) || { vj_log "$t" "uploaded to $5"; return 0; }
    vj_log "$t" "upload attempt $a failed, exit code $r"
    ((a <= $2)) || return 1
    sleep $((VJ_BACKOFF * a)) &
    wait $!
  done
}

# In the exit path, before the shutdown: end the periodic syncs, then upload the outputs this ending
# wants. A required one that fails turns a success into a failure (on_failure's shutdown applies).
vj_leave() {
  kill "${VJ_SYNC[@]}" 2>/dev/null
  wait "${VJ_SYNC[@]}" 2>/dev/null
  (cd -- "$VJ_BASE" 2>/dev/null && vj_outputs "$VJ_END") && return
  [[ $VJ_END != success ]] || { VJ_END=failure VJ_WHY="a required output was not uploaded"; vj_log vastjob "$VJ_WHY"; }
}

# vj_record EXIT_CODE ACTION: the job's result as JSON, kept beside the markers and uploaded with the
# log (which has each step's start and end) to `logs:`, in a folder per instance.
vj_record() {
  local f=$VJ_STATE/result.json o=failed d=null i=${CONTAINER_ID:-local}
  [[ $VJ_END != success ]] || o=succeeded
  [[ ${VASTJOB_DPH_TOTAL:-} =~ ^[0-9]+(\.[0-9]+)?$ ]] && d=$VASTJOB_DPH_TOTAL
  printf '{"job":"%s","spec_hash":"%s","commit":"%s","instance_id":"%s","outcome":"%s","exit_code":%d,"reason":"%s","shutdown":"%s","dph_total":%s}\n' \
    "$VJ_JOB" "$VJ_SPEC_HASH" "$VJ_COMMIT" "$i" "$o" "$1" "$VJ_WHY" "$2" "$d" >"$f"
  [[ -z $VJ_LOGS ]] && return
  vj_push log 2 300 "$VJ_LOG" "$VJ_LOGS/$i/job.log"
  vj_push result 2 60 "$f" "$VJ_LOGS/$i/result.json"
}
#@

#@ every
# vj_every SECONDS NAME...: in the background, sync an output every SECONDS while the job runs.
vj_every() {
  : &
  trap 'kill $! 2>/dev/null; exit' TERM
  while :; do
    sleep "$1" &
    wait $!
    cd -- "$VJ_BASE" 2>/dev/null && vj_push "${@:2}" || :
  done
}
#@

# vj_api METHOD BODY: one request by which this instance stops or destroys itself; the key never reaches
# argv. Accepted only on a 2xx whose answer says {"success": true}; errors are printed, and the answer
# when it says anything else. Every status is explicit: in the EXIT trap a bare `return` would give back
# the status the trap started with (0 after a success), not the request's.
vj_api() {
  local o
  # Some images lack curl; without it the job could not end its own billing.
  command -v curl >/dev/null || { apt-get update && apt-get install -y curl; } >/dev/null
  o=$(echo "Authorization: Bearer $CONTAINER_API_KEY" | curl -fsS -m 30 -X "$1" -H @- \
    -H 'Content-Type: application/json' -d "$2" "$VJ_API/api/v0/instances/$CONTAINER_ID/") || return 1
  [[ ${o//[[:space:]]/} == *'"success":true'* ]] || { echo "$o"; return 1; }
}

#@ keep
# The groups of the steps that keep their processes (keep_processes) end with the job.
vj_unkeep() {
  local g
  [[ -s $VJ_RUN/kept ]] || return 0
  while read -r g; do vj_reap "$g"; done <"$VJ_RUN/kept"
}
#@

# vj_shutdown ACTION: apply stop or destroy (keep: nothing) until the API accepts, escalating when it
# keeps refusing: VJ_TRIES requests with backoff, as many of the other verb (a stop ends the GPU's
# billing too, a destroy all of it), then the container itself is ended. Bounded: it always returns.
vj_shutdown() {
  local a=$1 b d n
  [[ $a != keep ]] || return 0
  for a in "$a" "$([[ $a == stop ]] && echo destroy || echo stop)"; do
    d=$VJ_BACKOFF
    for ((n = 1; n <= VJ_TRIES; n++)); do
      b='{}'
      [[ $a != stop ]] || b='{"state": "stopped"}'
      if vj_api "$([[ $a == stop ]] && echo PUT || echo DELETE)" "$b" 2>&1 | vj_prefix vastjob; then
        vj_log vastjob "$a request accepted"
        return 0
      fi
      vj_log vastjob "$a request failed, retry in ${d}s"
      sleep "$d"
      d=$((d < 150 ? d * 2 : 300))
    done
  done
  vj_kill_init
}

# The last resort: end the container, whose exit ends the GPU's billing. PID 1 ignores the signals it
# has no handler for; then every other process is ended, so an init that waits on them (sshd) exits.
vj_kill_init() {
  vj_log vastjob "shutdown refused every time: ending the container (PID $VJ_INIT)"
  kill -TERM "$VJ_INIT" 2>/dev/null
  sleep "$VJ_GRACE"
  kill -KILL "$VJ_INIT" 2>/dev/null
  ((VJ_INIT != 1)) || kill -KILL -1
}

# The EXIT trap: stop what still runs, then apply shutdown.on_success or on_failure. After a signal
# (Vast stopping the container) nothing is applied: the next start resumes from the markers.
vj_exit() {
  local r=$? a=$VJ_ON_FAILURE
  trap - EXIT TERM INT HUP USR1
  set +eu
  vj_stop
  #@ keep
  vj_unkeep
  #@
  kill "${VJ_DOG:-}" 2>/dev/null
  wait "${VJ_DOG:-}" 2>/dev/null
  #@ push
  # Outputs leave the instance before its shutdown (the section is kept only for a job that has any).
  [[ $VJ_END == signal ]] || vj_leave
  #@
  [[ $VJ_END != success ]] || a=$VJ_ON_SUCCESS
  [[ $VJ_END != signal ]] || a=keep
  vj_log vastjob "job $VJ_END, exit code $r: $a"
  #@ push
  [[ $VJ_END == signal ]] || vj_record "$r" "$a"
  #@
  [[ $CONTAINER_API_KEY && $CONTAINER_ID ]] || a=keep
  vj_shutdown "$a"
  exit $r
}

# The watchdog: signals the script with USR1 once max_runtime has passed, counting every start: the
# time used is written under the root every VJ_BEAT seconds (a SIGKILL loses at most that) and when
# the watchdog is stopped, in a file of this spec's own.
vj_watchdog() {
  local f=$VJ_STATE/runtime-$VJ_SPEC_HASH u=0 left
  [[ ! -s $f ]] || [[ ! $(<"$f") =~ ^[0-9]+$ ]] || u=${BASH_REMATCH[0]}
  ((u < VJ_MAX_RUNTIME)) || u=$VJ_MAX_RUNTIME
  SECONDS=0
  : &
  trap 'kill $! 2>/dev/null; echo $((u + SECONDS)) >"$f.new" && mv -f -- "$f.new" "$f"; exit' TERM
  while left=$((VJ_MAX_RUNTIME - u - SECONDS)); ((left > 0)); do
    sleep $((left < VJ_BEAT ? left : VJ_BEAT)) &
    wait $!
    echo $((u + SECONDS)) >"$f.new" && mv -f -- "$f.new" "$f"
  done
  vj_log vastjob "$((u + SECONDS)) s used over every start"
  kill -USR1 $$
}

vj_main() {
  trap : PIPE
  if [[ ${1:-} == __step ]]; then
    vj_step "$2"
    return
  fi
  # The traps first: a failure from here on (a disk that cannot be written) still ends the billing.
  trap vj_exit EXIT
  trap 'VJ_END=signal; exit 143' TERM INT HUP
  trap 'vj_log vastjob "max_runtime reached"; exit 124' USR1
  rm -rf -- "$VJ_RUN"
  mkdir -p "$VJ_RUN" "$VJ_STATE/markers" "${VJ_LOG%/*}"
  vj_log vastjob "job $VJ_JOB, spec $VJ_SPEC_HASH"
  export VJ_MAIN=$$
  if ((VJ_MAX_RUNTIME)); then
    vj_watchdog &
    VJ_DOG=$!
  fi
  #@ every
  vj_syncs
  #@
  vj_schedule
  VJ_END=success
}
