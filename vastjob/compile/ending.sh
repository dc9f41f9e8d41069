# The end of the onstart script (rendered after schedule.sh): outputs, the shutdown and its escalation, the
# exit trap, the watchdog and vj_main.

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
# log to `logs:`, in a folder per instance. `steps` holds the log's lines that time the steps (each start
# of the script, each step's start and end, as vj_attempts wrote them in its subshells), for a reader
# with no log; `dph_total` the $/h apply rented at.
vj_record() {
  local f=$VJ_STATE/result.json o=failed d=null i=${CONTAINER_ID:-local}
  [[ $VJ_END != success ]] || o=succeeded
  # A JSON number only (no leading zeros): anything else is reported as unknown.
  [[ ${VASTJOB_DPH_TOTAL:-} =~ ^(0|[1-9][0-9]*)(\.[0-9]+)?$ ]] && d=$VASTJOB_DPH_TOTAL
  printf '{"job":"%s","spec_hash":"%s","commit":"%s","instance_id":"%s","outcome":"%s","exit_code":%d,"reason":"%s","shutdown":"%s","dph_total":%s,"steps":%s}\n' \
    "$VJ_JOB" "$VJ_SPEC_HASH" "$VJ_COMMIT" "$i" "$o" "$1" "$VJ_WHY" "$2" "$d" \
    "[$(grep -E '\] (job .+, spec \S+|start, attempt [0-9]+|done|done before: skipped|failed, exit code [0-9]+)$' "$VJ_LOG" | sed 's/[\"]/\\&/g;s/.*/"&"/' | paste -sd,)]" >"$f"
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
  # Under a root of its own (tests, the local emulator) the machine is not the container: only a process
  # named by VASTJOB_INIT_PID is ended, and never every process.
  [[ ! $VJ_ROOT || ${VASTJOB_INIT_PID:-} ]] || return 0
  kill -TERM "$VJ_INIT" 2>/dev/null
  sleep "$VJ_GRACE"
  kill -KILL "$VJ_INIT" 2>/dev/null
  [[ $VJ_ROOT ]] || ((VJ_INIT != 1)) || kill -KILL -1
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
