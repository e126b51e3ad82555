"""A DAG-folder scanner for the sync tests: walks DIR in a tight loop until STOP_FILE exists.

Like Airflow's listing it drops what DIR/.airflowignore excludes (regexp rules, Airflow 2's
default; `.dagctl-sync` means the same as a glob) and follows symlinked folders, failing on a
folder reached twice. Each package folder is opened once per scan and walked through that file
descriptor (openat), so a scan reads one resolution of DIR/<package>: the thing sync's symlink swap
makes atomic. Every DAG file starts with `# release-tag: <tag> files=<n>`: a scan is correct when,
per package, every file has the same tag and there are exactly n of them.

Every package of EXPECTED must be present in every scan.

Prints one JSON line per violation as it happens, and a summary line at the end.
"""
import json
import os
import re
import sys

ROOT, STOP = sys.argv[1], sys.argv[2]
# packages every scan must see (comma-separated; empty: no check)
EXPECTED = [p for p in (sys.argv[3] if len(sys.argv) > 3 else "").split(",") if p]
TAG_RE = re.compile(rb"^# release-tag: (\S+) files=(\d+)")


def ignore_rules():
    try:
        with open(os.path.join(ROOT, ".airflowignore")) as f:
            return [re.compile(l.strip()) for l in f if l.strip() and not l.strip().startswith("#")]
    except FileNotFoundError:
        return []


def walk_fd(fd, rel, out, seen):
    st = os.fstat(fd)
    key = (st.st_dev, st.st_ino)
    if key in seen:
        raise RuntimeError(f"Detected recursive loop when walking DAG directory at {rel}")
    seen.add(key)
    for entry in os.scandir(fd):
        name = entry.name
        path = f"{rel}/{name}"
        if entry.is_dir(follow_symlinks=True):
            sub = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            try:
                walk_fd(sub, path, out, seen)
            finally:
                os.close(sub)
        elif name.endswith(".py"):
            f = os.open(name, os.O_RDONLY, dir_fd=fd)
            try:
                head = os.read(f, 200)
            finally:
                os.close(f)
            out.append((path, head))


def scan():
    rules = ignore_rules()
    seen = set()
    problems = []
    tags = {}
    root_fd = os.open(ROOT, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for entry in os.scandir(root_fd):
            name = entry.name
            if any(r.search(name) for r in rules) or not entry.is_dir(follow_symlinks=True):
                continue
            try:
                fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=root_fd)
            except FileNotFoundError:
                problems.append({"package": name, "problem": "vanished"})
                continue
            files = []
            try:
                walk_fd(fd, name, files, seen)
            except (FileNotFoundError, NotADirectoryError) as e:
                problems.append({"package": name, "problem": f"changed under the walk: {e}"})
                continue
            finally:
                os.close(fd)
            found = {}
            for path, head in files:
                m = TAG_RE.match(head)
                if not m:
                    problems.append({"package": name, "problem": f"incomplete file {path}: {head[:40]!r}"})
                    continue
                found.setdefault((m.group(1).decode(), int(m.group(2))), []).append(path)
            if len(found) > 1:
                problems.append({"package": name, "problem": f"mix of releases {sorted(k[0] for k in found)}"})
            for (tag, n), paths in found.items():
                if len(paths) != n:
                    problems.append({"package": name, "problem": f"release {tag}: {len(paths)} of {n} files"})
                tags.setdefault(name, set()).add(tag)
    finally:
        os.close(root_fd)
    for pkg in EXPECTED:
        if pkg not in tags:
            problems.append({"package": pkg, "problem": "missing from the scan"})
    return problems, tags


def main():
    scans = 0
    violations = 0
    seen_tags = {}
    while not os.path.exists(STOP):
        try:
            problems, tags = scan()
        except RuntimeError as e:
            problems, tags = [{"package": None, "problem": str(e)}], {}
        scans += 1
        for pkg, t in tags.items():
            seen_tags.setdefault(pkg, set()).update(t)
        for p in problems:
            violations += 1
            print(json.dumps({"violation": p, "scan": scans}), flush=True)
    print(json.dumps({"summary": {"scans": scans, "violations": violations, "tags": {k: sorted(v) for k, v in seen_tags.items()}}}), flush=True)


main()
