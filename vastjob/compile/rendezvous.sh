#!/usr/bin/env bash
# The part of the onstart script only multi-node jobs carry: the rendezvous step and the run step's peer
# check, over the helper apply sends gzip+base64 in env entries VJ_MN000... (vastjob/compile/peers.py). Rendered
# like runtime.sh (comments, blank lines and indentation dropped); every character counts.

# vj_mn_py MODE...: the helper (joined from VJ_MN000, VJ_MN001, ...), handed the script's variables it reads.
vj_mn_py() {
  local i=0 k s=
  while printf -v k 'VJ_MN%03d' $i; [[ ${!k+x} ]]; do
    s+=${!k}
    i=$((i + 1))
  done
  VJ_RUN=$VJ_RUN VJ_PEER=$VJ_PEER VJ_RDV=$VJ_RDV python3 -c "$(base64 -d <<<"$s" | gunzip)" "$@"
}

# The last heartbeat's reply: the verdict v (run, ok, fail), ranks rank 0 has heard n, ranks done d.
vj_mn_read() {
  v=run n=0 d=0
  [[ ! -e $VJ_RUN/mn-verdict ]] || read -r v n d <"$VJ_RUN/mn-verdict" || :
}

# The rendezvous step: rank 0 serves on its eth0 address, the others look for it within the overlay's
# subnet; every rank then beats to rank 0 while its job script lives. Done once all have met.
vj_mn_meet() {
  local a v n d
  rm -f -- "$VJ_RUN"/mn-*
  if ((NODE_RANK)); then
    a=$(vj_mn_py find)
  else
    a=$(vj_mn_py ip)
    vj_mn_py serve "$a" </dev/null &>/dev/null &
  fi
  echo "rank $NODE_RANK of $NNODES; rank 0: ${a:-not found}"
  [[ $a ]] || return 1
  echo "$a" >"$VJ_RUN/master"
  MASTER_ADDR=$a vj_mn_py beat </dev/null &>/dev/null &
  while vj_mn_read; [[ $v == run ]] && ((n < NNODES)); do sleep 1; done
  echo "verdict $v, $n met"
  [[ $v != fail ]]
}

# vj_mn_run COMMAND: the command in a process group of its own, ended when the verdict turns to fail.
# Success is rank 0's to say: it waits (a peer timeout at most) for the others to be done, they for it.
vj_mn_run() {
  local c r=0 v n d t=0
  set -m
  vj_sh "$1" &
  c=$!
  set +m
  while kill -0 $c 2>/dev/null; do
    vj_mn_read
    if [[ $v == fail ]]; then
      echo "a node failed or went unheard: ending the run"
      kill -- -$c 2>/dev/null || :
      sleep 5
      kill -9 -- -$c 2>/dev/null || :
    fi
    sleep 1
  done
  wait $c || r=$?
  [[ $v != fail ]] || r=1
  ((r)) && v=fail || v=ok
  echo $v >"$VJ_RUN/mn-status"
  vj_mn_py ask $v >/dev/null
  ((r)) && return $r
  # Rank 0 stays until every peer is done and has heard its ok (d counts those), a peer timeout at most.
  while vj_mn_read; ((!NODE_RANK && d < NNODES && t++ < VJ_PEER)); do sleep 1; done
  ((NODE_RANK)) || { sleep 2; return 0; }
  while vj_mn_read; [[ $v == run ]]; do sleep 1; done
  [[ $v == ok ]]
}
