"""The helper every node of a multi-node job runs (stdlib Python only): rank 0's responder and everyone's
heartbeat, which find rank 0 on the overlay and make a failure anywhere the failure of the whole job.

It travels inside the onstart script as one single-quoted bash word, so it holds no single quote; full-line
comments, docstrings and blank lines are dropped when it is rendered. Modes (argv[1]):
  ip                   print this node's eth0 address (no iproute2 needed: an ioctl on a UDP socket)
  serve ADDR           rank 0: answer heartbeats on ADDR:PORT+1 and keep the verdict, while the job lives
  find                 print rank 0's address: the host of the overlay subnet that answers with the nonce
  ask STATUS           one heartbeat (STATUS: run, ok or fail); print the reply "VERDICT SEEN DONE"
  beat                 every second, ask with the status in $VJ_RUN/mn-status; write the verdict to
                       $VJ_RUN/mn-verdict ("fail" once rank 0 has been unheard for the peer timeout)
A heartbeat is the line "NONCE RANK STATUS"; a line with another nonce gets no answer, so two jobs on one
overlay never meet. The verdict is "ok" once rank 0 succeeded, "fail" once any rank failed, went unheard
for the peer timeout or was not seen within the rendezvous timeout, and "run" otherwise.
"""

import fcntl
import ipaddress
import os
import socket
import struct
import sys
import threading
import time

ENV = os.environ
NONCE = ENV.get("VASTJOB_NONCE", "")
RANK = int(ENV.get("NODE_RANK", "0"))
NNODES = int(ENV.get("NNODES", "1"))
PORT = int(ENV.get("MASTER_PORT", "29500")) + 1
PEER = float(ENV.get("VJ_PEER", "30"))
RDV = float(ENV.get("VJ_RDV", "600"))
RUN = ENV.get("VJ_RUN", ".")
MAIN = int(ENV.get("VJ_MAIN", "0"))


def my_ip() -> str:
    """eth0's IPv4 address (the emulator names it in VASTJOB_ETH0)."""
    if ENV.get("VASTJOB_ETH0"):
        return ENV["VASTJOB_ETH0"]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    packed = fcntl.ioctl(s.fileno(), 0x8915, struct.pack("256s", b"eth0"))
    return socket.inet_ntoa(packed[20:24])


def alive() -> bool:
    """Whether the job script that started this helper still runs."""
    try:
        os.kill(MAIN, 0)
    except OSError:
        return False
    return True


def ask(addr: str, status: str, wait: float = 3.0) -> str:
    """One heartbeat to the responder at addr; its reply, or an empty string."""
    try:
        with socket.create_connection((addr, PORT), timeout=wait) as c:
            c.sendall(f"{NONCE} {RANK} {status}\n".encode())
            reply = c.makefile().readline().split()
    except OSError:
        return ""
    if len(reply) == 4 and reply[0] == NONCE:
        return " ".join(reply[1:])
    return ""


def serve(addr: str) -> None:
    """Rank 0: answer heartbeats and keep the verdict until the job script ends."""
    os.setpgrp()  # its own group: what ends the step leaves it; a container stop ends it
    start, verdict, lock = time.monotonic(), ["run"], threading.Lock()
    seen: dict[int, tuple[float, str]] = {}
    ok_at: list[float] = []

    def answer(conn: socket.socket) -> None:
        # One thread per heartbeat: a slow or silent peer never holds up the others.
        with conn:
            conn.settimeout(2.0)
            try:
                words = conn.makefile().readline().split()
                if len(words) != 3 or words[0] != NONCE:
                    return  # another job on this overlay, or not a heartbeat: no answer
                with lock:
                    seen[int(words[1])] = (time.monotonic(), words[2])
                    judge(verdict, seen, time.monotonic() - start)
                    # Done: ranks that succeeded and have been told the job did (heard since rank 0's ok).
                    if verdict[0] == "ok" and not ok_at:
                        ok_at.append(seen[0][0])  # the heartbeat that said rank 0 succeeded
                    done = sum(1 for t, s in seen.values() if s == "ok" and ok_at and t >= ok_at[0])
                    reply = f"{NONCE} {verdict[0]} {len(seen)} {done}\n"
                conn.sendall(reply.encode())
            except (OSError, ValueError):
                return

    server = socket.create_server((addr, PORT))
    server.settimeout(1.0)
    while alive():
        try:
            conn, _ = server.accept()
        except TimeoutError:
            with lock:
                judge(verdict, seen, time.monotonic() - start)
            continue
        threading.Thread(target=answer, args=(conn,), daemon=True).start()


def judge(verdict: list[str], seen: dict[int, tuple[float, str]], age: float) -> None:
    """The verdict from what the heartbeats said: rank 0 decides success; anything else may fail it."""
    now = time.monotonic()
    if verdict[0] != "run":
        return
    if seen.get(0, (0, ""))[1] == "ok":
        verdict[0] = "ok"
    else:
        unheard = any(s == "fail" or (s != "ok" and now - t > PEER) for t, s in seen.values())
        if unheard or (len(seen) < NNODES and age > RDV):
            verdict[0] = "fail"


def find() -> str:
    """Rank 0's address: each host of the overlay subnet is asked, in parallel, until one answers."""
    hosts = list(ipaddress.ip_network(ENV["VASTJOB_SUBNET"], strict=False).hosts())[:1024]
    found: list[str] = []

    def probe(host: str) -> None:
        if ask(host, "run", 1.0):
            found.append(host)

    end = time.monotonic() + RDV
    while not found and time.monotonic() < end:
        threads = [threading.Thread(target=probe, args=(str(h),)) for h in hosts]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if not found:
            time.sleep(1.0)
    return found[0] if found else ""


def beat() -> None:
    """Heartbeats to rank 0 while the job script lives; the last reply lands in RUN/mn-verdict."""
    os.setpgrp()
    master, heard, told_ok = ENV["MASTER_ADDR"], time.monotonic(), False
    while True:
        running = alive()
        try:
            with open(f"{RUN}/mn-status") as f:
                status = f.read().strip()
        except OSError:
            status = "run"
        # A job script that ended without saying how failed on its way (a step, or a signal).
        reply = ask(master, status if running or status in ("ok", "fail") else "fail")
        if not running:
            return
        if reply:
            heard, told_ok = time.monotonic(), told_ok or reply.startswith("ok ")
        elif told_ok:
            reply = "ok 0 0"  # rank 0 said the job succeeded: that stands, even once it is gone
        else:
            reply = "fail 0 0" if time.monotonic() - heard > PEER else "run 0 0"
        with open(f"{RUN}/mn-verdict.new", "w") as f:
            f.write(reply + "\n")
        os.replace(f"{RUN}/mn-verdict.new", f"{RUN}/mn-verdict")
        time.sleep(1.0)


def main() -> None:
    """Run one mode (see the module's docstring)."""
    mode = sys.argv[1]
    if mode == "ip":
        print(my_ip())
    elif mode == "serve":
        serve(sys.argv[2])
    elif mode == "find":
        print(find())
    elif mode == "ask":
        print(ask(ENV["MASTER_ADDR"], sys.argv[2]))
    elif mode == "beat":
        beat()


if __name__ == "__main__":
    main()
