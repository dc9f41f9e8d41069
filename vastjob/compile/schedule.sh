# The step scheduler of the onstart script (rendered after runtime.sh, before ending.sh): step mode,
# each step's attempts with backoff under a hard timeout, and the loop that starts what is ready.

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
