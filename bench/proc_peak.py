"""Runs a command and prints {"wall", "cpu", "peak_rss_mb", "peak_one_mb", "code"} as one JSON line.

cpu: user + system seconds of the command and every child it waited for (a loaded machine cannot
inflate it the way it inflates wall time). peak_rss_mb: the largest sum of the resident memory of
the whole process tree (the command and all its descendants, sampled every 50 ms from /proc), what
the machine must hold at once; peak_one_mb: the largest single process (getrusage). The command's
output goes to the file named by PROC_PEAK_LOG (or nowhere).
"""
import json
import os
import resource
import subprocess
import sys
import time


def tree_rss_kb(root):
    children = {}
    rss = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
            ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
            with open(f"/proc/{pid}/statm") as f:
                pages = int(f.read().split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(pid))
        rss[int(pid)] = pages * (os.sysconf("SC_PAGE_SIZE") // 1024)
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total


log = os.environ.get("PROC_PEAK_LOG")
out = open(log, "wb") if log else subprocess.DEVNULL
start = time.perf_counter()
proc = subprocess.Popen(sys.argv[1:], stdout=out, stderr=subprocess.STDOUT)
peak = 0
while proc.poll() is None:
    peak = max(peak, tree_rss_kb(proc.pid))
    time.sleep(0.05)
wall = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(
    json.dumps(
        {
            "wall": wall,
            "cpu": usage.ru_utime + usage.ru_stime,
            "peak_rss_mb": peak / 1024,
            "peak_one_mb": usage.ru_maxrss / 1024,
            "code": proc.returncode,
        }
    )
)
