"""Runs a command and prints {"wall": s, "cpu": s, "runq": s, "code": n}: the CPU time (user + system)
of the command and all its children, which a loaded CI runner cannot inflate the way it inflates wall
time, and `runq`, the time the command's main thread spent ready to run but waiting for a CPU
(/proc/PID/schedstat, read every millisecond until it exits: a lower bound). On a shared machine
wall ~ cpu of the main thread + runq + waiting for I/O and peers: runq is the part of wall time that
is the machine's load, not the command."""
import json
import resource
import subprocess
import sys
import time


def schedstat(pid):
    try:
        with open(f"/proc/{pid}/schedstat") as f:
            return int(f.read().split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return None


# RUSAGE_CHILDREN of this process is not zero at its start: `python3` may be a pyenv shim, which runs
# its own helpers before it execs Python, and their CPU (50-65 ms here) stays counted across the
# exec. The command's CPU is what the count grows by.
before = resource.getrusage(resource.RUSAGE_CHILDREN)
start = time.perf_counter()
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
runq = 0.0
while child.poll() is None:
    seen = schedstat(child.pid)
    if seen is not None:
        runq = seen
    time.sleep(0.001)
wall = time.perf_counter() - start
code = child.returncode
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = (usage.ru_utime - before.ru_utime) + (usage.ru_stime - before.ru_stime)
print(json.dumps({"wall": wall, "cpu": cpu, "runq": runq, "code": code}))
