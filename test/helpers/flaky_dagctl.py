"""Stands in for `dagctl` in the Action's tests: a dagctl that dies with an event in flight.

    python flaky_dagctl.py MODE LAUNCHES_FILE -- COMMAND...

Every start appends a line to LAUNCHES_FILE. On the first start only, MODE says how it dies:
  before  - reads the first event line and exits 137 before COMMAND sees it (nothing was sent)
  after   - hands the first event to COMMAND, waits for its answer (the run is started), then kills
            COMMAND and exits 137 without passing the answer on (the answer is lost)
  always  - every start dies like `before`
Any other start runs COMMAND in its place. Written for these tests.
"""
import os
import subprocess
import sys

mode, launches = sys.argv[1], sys.argv[2]
command = sys.argv[sys.argv.index("--") + 1 :]
with open(launches, "a") as f:
    f.write(f"{os.getpid()}\n")
with open(launches) as f:
    first = len(f.read().splitlines()) == 1

if mode == "always" or (first and mode == "before"):
    sys.stdin.readline()
    os._exit(137)
if first and mode == "after":
    child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    child.stdin.write(sys.stdin.readline())
    child.stdin.flush()
    child.stdout.readline()  # dagctl answered: the run exists; the answer goes nowhere
    child.kill()
    child.wait()
    os._exit(137)
sys.stdout.flush()
os.execvp(command[0], command)
