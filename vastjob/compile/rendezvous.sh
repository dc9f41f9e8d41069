#!/usr/bin/env bash
# The part of the onstart script only multi-node jobs carry: the rendezvous step and the run step's peer
# check, over the helper apply sends gzip+base64 in VASTJOB_PEERS (vastjob/compile/peers.py). Rendered like runtime.sh: comments, blank
# lines and indentation are dropped.

# vj_mn_py MODE...: the helper, handed the script's own variables it reads.
vj_mn_py() {
  VJ_RUN=$VJ_RUN VJ_PEER=$VJ_PEER VJ_RDV=$VJ_RDV python3 -c "$(base64 -d <<<"$VASTJOB_PEERS" | gunzip)" "$@"
}

# The last heartbeat's reply: VERDICT (run, ok, fail), how many ranks rank 0 has heard, how many are done.
vj_mn_read() {
  v=run n=0 d=0
  [[ ! -e $VJ_RUN/mn-verdict ]] || read -r v n d <"$VJ_RUN/mn-verdict" || :
}

# The rendezvous step: rank 0 serves on its eth0 address; the others look for it within the overlay's
# subnet. Every rank then beats to rank 0 until its job script ends; the step ends once all have met.
vj_mn_meet() {
  local a v n d
  rm -f -- "$VJ_RUN/mn-status" "$VJ_RUN/mn-verdict"
  if ((NODE_RANK)); then
    a=$(vj_mn_py find)
    [[ $a ]] || { echo "rank 0 of this job did not answer within ${VASTJOB_SUBNET:-?}"; return 1; }
  else
    a=$(vj_mn_py ip)
    vj_mn_py serve "$a" </dev/null &>/dev/null &
  fi
  echo "rank $NODE_RANK of $NNODES, rank 0 at $a"
  echo "$a" >"$VJ_RUN/master"
  MASTER_ADDR=$a vj_mn_py beat </dev/null &>/dev/null &
  while vj_mn_read; [[ $v == run ]] && ((n < NNODES)); do sleep 1; done
  [[ $v != fail ]] || { echo "a node failed or was not heard before all met"; return 1; }
  echo "all $NNODES nodes met"
}

# vj_mn_run COMMAND: the run step's command, ended at once when the verdict turns to fail. Success is
# rank 0's to say: rank 0 waits (a peer timeout at most) for the others to be done, the others for rank 0.
vj_mn_run() {
  local c r=0 v n d t=0
  set -m
  vj_sh "$1" &
  c=$!
  set +m
  while kill -0 "$c" 2>/dev/null; do
    vj_mn_read
    if [[ $v == fail ]]; then
      echo "a node failed or went unheard for ${VJ_PEER}s: ending the run"
      kill -TERM -- "-$c" 2>/dev/null
      sleep 5
      kill -KILL -- "-$c" 2>/dev/null
      r=1
      break
    fi
    sleep 1
  done
  wait "$c" || r=$?
  if ((r)); then
    echo fail >"$VJ_RUN/mn-status"
    vj_mn_py ask fail >/dev/null
    return "$r"
  fi
  echo ok >"$VJ_RUN/mn-status"
  vj_mn_py ask ok >/dev/null
  if ((NODE_RANK == 0)); then
    # Rank 0 stays until every peer is done (a peer timeout at most), so that each hears its ok.
    while vj_mn_read; ((d < NNODES && t < VJ_PEER)); do
      sleep 1
      t=$((t + 1))
    done
    sleep 2
    return 0
  fi
  while vj_mn_read; [[ $v == run ]]; do sleep 1; done
  [[ $v == ok ]] || { echo "this node is done, but the job failed elsewhere"; return 1; }
}
