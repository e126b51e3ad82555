"""The ast engine over many files: reading, the per-file result cache, worker processes, and the
rule that needs every file (duplicate-dag-id)."""

import json
import os
import sys

from . import ignores as inline
from .analyze import analyze
from .loaders import loader_of, name_specs
from .rules import finding

def relative(path, root, _prefixes={}):
    prefix = _prefixes.get(root)
    if prefix is None:
        prefix = _prefixes[root] = root.rstrip(os.sep) + os.sep
    # the common case, cheaply: a normalised absolute path inside root
    rel = path[len(prefix) :] if path.startswith(prefix) and os.sep + "." not in path else os.path.relpath(path, root)
    return rel.replace(os.sep, "/") if os.sep != "/" else rel


def analyze_chunk(args):
    items, package, airflow_version, own_modules = args
    return [analyze(source, rel, package, airflow_version, own_modules, given) for rel, source, given in items]


def in_processes(work, items, workers):
    """work(share) over `items` split in `workers` shares (every workers-th item), in this process
    and workers - 1 forked children, which inherit their share through fork (nothing is pickled on
    the way in) and send back work's list marshalled through a pipe: without the multiprocessing
    module, whose import, pool and pickling cost 30-40 ms before the first file is parsed. A child
    that fails (or a fork refused) costs only time: its share is done here, where an exception is
    raised as it would be without workers. The results come back in the order of `items`."""
    import marshal

    shares = [items[w::workers] for w in range(workers)]
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    children = []  # (share index, pid, read end)
    for w in range(1, workers):
        read_end, write_end = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            os.close(read_end)
            os.close(write_end)
            break
        if pid == 0:  # the child: its share, then out without running any of the parent's exit code
            code = 1
            try:
                os.close(read_end)
                data = marshal.dumps(work(shares[w]))
                with os.fdopen(write_end, "wb") as out:
                    out.write(data)
                code = 0
            finally:
                os._exit(code)
        os.close(write_end)
        children.append((w, pid, read_end))
    done = {0: work(shares[0])}
    for w, pid, read_end in children:
        with os.fdopen(read_end, "rb") as fh:
            data = fh.read()
        _, status = os.waitpid(pid, 0)
        if status == 0:
            try:
                done[w] = marshal.loads(data)
            except (EOFError, ValueError, TypeError):
                pass
    out = [None] * len(items)
    for w in range(workers):
        out[w::workers] = done[w] if w in done else work(shares[w])
    return out


def own_modules(dags_folder, package):
    """Top-level module names of the package's DAG folder (`helpers` for helpers.py, `common` for a
    folder of .py files): in Airflow they import as `<package>.<name>`, never bare."""
    if not dags_folder:
        return frozenset()
    names = set()
    try:
        entries = list(os.scandir(dags_folder))
    except OSError:
        return frozenset()
    for e in entries:
        if e.name.startswith((".", "__")):
            continue
        if e.name.endswith(".py") and e.is_file():
            names.add(e.name[:-3])
        elif e.is_dir() and e.name.isidentifier():
            try:
                if any(n.endswith(".py") for n in os.listdir(e.path)):
                    names.add(e.name)
            except OSError:
                pass
    names.discard(package)
    return frozenset(n for n in names if n.isidentifier())


def read_file(path, rel):
    """(bytes, None), or (None, a finding) when the file cannot be read."""
    try:
        with open(path, "rb") as fh:
            return fh.read(), None
    except OSError as e:
        return None, finding(rel, 0, 0, "syntax-error", f"cannot read the file: {e.strerror}", "Check the file exists and is readable.")


def engine_digest(_memo=[]):
    """Hash of the ast engine's modules (every .py of this package but the Airflow engine's):
    a changed rule never reuses an old result."""
    if not _memo:
        import hashlib

        h = hashlib.sha1()
        here = os.path.dirname(os.path.abspath(__file__))
        for name in sorted(os.listdir(here)):
            if name.endswith(".py"):
                with open(os.path.join(here, name), "rb") as fh:
                    h.update(name.encode() + b"\0" + fh.read())
        _memo.append(h.hexdigest())
    return _memo[0]


class ResultCache:
    """Per-file results keyed by content hash, so an unchanged file is not parsed again.
    One JSON file per (package root, package, target version, Python, the engine's code); any trouble
    reading or writing it only costs a cold run."""

    MAX_ENTRIES = 20000

    def __init__(self, cache_dir, root, package, airflow_version, modules=frozenset()):
        import hashlib

        self.hashlib = hashlib
        script = engine_digest()
        # the package's own module names change what an import means (own-module-import)
        key = "\0".join((root, package, str(airflow_version), sys.version, script, ",".join(sorted(modules))))
        self.path = os.path.join(cache_dir, hashlib.sha1(key.encode()).hexdigest()[:20] + ".json")
        self.entries = {}
        self.dirty = False
        try:
            with open(self.path, "rb") as fh:
                self.entries = json.load(fh)
        except (OSError, ValueError):
            self.entries = {}

    def digest(self, source):
        return self.hashlib.sha1(source).hexdigest()

    def get(self, rel, digest):
        entry = self.entries.get(rel)
        if entry and entry[0] == digest:
            return entry[1], entry[2]
        return None

    def put(self, rel, digest, result):
        self.entries[rel] = [digest, result[0], result[1]]
        self.dirty = True

    def save(self):
        if not self.dirty:
            return
        if len(self.entries) > self.MAX_ENTRIES:
            self.entries = {}
        tmp = f"{self.path}.{os.getpid()}.tmp"
        try:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            with open(tmp, "w") as fh:
                json.dump(self.entries, fh, separators=(",", ":"))
            os.replace(tmp, self.path)
        except OSError:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def runnable_now():
    """The tasks ready to run at this instant, this process included (the 4th field of
    /proc/loadavg, "running/total"), or None where there is no /proc (macOS)."""
    try:
        with open("/proc/loadavg") as fh:
            return int(fh.read().split()[3].split("/")[0])
    except (OSError, ValueError, IndexError):
        return None


def is_busy(cores, load_1min, runnable):
    """Is the machine already busy with other work, so that worker processes would only add their
    own overhead? The load average says so first, but it lags a minute behind: a shared CI machine
    whose other job has just ended still averages busy while its cores sit idle, and validate ran
    on one of them. So the tasks runnable at this instant (beside this process) must agree, where
    the system tells them (runnable None: the average alone decides, as before)."""
    if load_1min < cores:
        return False
    return runnable is None or runnable - 1 >= cores


def machine_busy(cores):
    if not hasattr(os, "getloadavg"):
        return False
    return is_busy(cores, os.getloadavg()[0], runnable_now())


def run_ast_engine(request):
    root = request["root"]
    package = request["package"]
    airflow_version = int(request.get("airflow_version", 3))
    options = request.get("options") or {}
    modules = own_modules(request.get("dags_folder"), package)
    cache = ResultCache(options["ast_cache_dir"], root, package, airflow_version, modules) if options.get("cache", True) and options.get("ast_cache_dir") else None

    # the cores this process may use (a CI container often gets fewer than the host has), unless
    # options.workers or DAGCTL_VALIDATE_WORKERS says otherwise (1: no worker processes)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    workers = 1 if machine_busy(cores) else min(cores, 4)
    try:
        workers = int(options.get("workers") or os.environ.get("DAGCTL_VALIDATE_WORKERS") or workers)
    except ValueError:
        pass
    # Parsing is CPU-bound: past a few hundred files to parse, fork workers (cheap on Linux).
    forking = workers > 1 and sys.platform.startswith("linux")
    settings = (package, airflow_version, modules)

    def prepare(path):
        """(rel, bytes or None, the file's result when known already, its ignore comments, its
        loader's names and spans when it is a loader's module, its cache digest)"""
        rel = relative(path, root)
        source, problem = read_file(path, rel)
        if source is None:
            return rel, None, ([], [problem]), None, None, None, None
        found = inline.scan(source) or None
        # a loader's module: what its names mean is in its loader (part of the result, so of the key)
        given, spans = loader_of(path, source) or (None, None)
        digest = cache.digest(source + (json.dumps(given, sort_keys=True).encode() if given is not None else b"")) if cache else None
        return rel, source, cache.get(rel, digest) if cache else None, found, given, spans, digest

    def check(paths):
        """prepare and analyze, with what the parent needs back (the bytes stay here)"""
        out = []
        for path in paths:
            rel, source, result, found, given, spans, digest = prepare(path)
            fresh = result is None
            if fresh:
                result = analyze(source, rel, *settings, given)
            out.append((rel, result, fresh, found, spans, digest))
        return out

    if forking and len(request["files"]) >= 200 and not (cache and cache.entries):
        # every file will be parsed (no cache, or an empty one: a fresh CI job): the workers also
        # read theirs, so that no core waits while this process reads them all
        checked = in_processes(check, request["files"], workers)
    else:
        prepared = [prepare(path) for path in request["files"]]
        todo = [(rel, source, given) for rel, source, result, _, given, _, _ in prepared if result is None]
        fresh = iter(in_processes(lambda items: analyze_chunk((items, *settings)), todo, workers) if forking and len(todo) >= 200 else analyze_chunk((todo, *settings)))
        checked = [(rel, next(fresh) if result is None else result, result is None, found, spans, digest) for rel, _, result, found, _, spans, digest in prepared]

    results = []  # (dags, findings) in request order
    ignores = {}  # rel -> {line: [rules]} of `# dagctl: ignore[...]` comments
    module_spans = {}  # rel of a loader's module -> [(first line, DAG id, spec)]
    for rel, result, fresh, found, spans, digest in checked:
        results.append(result)
        if found:
            ignores[rel] = found
        if spans is not None:
            module_spans[rel] = spans
        if fresh and cache and digest is not None:
            cache.put(rel, digest, result)
    if cache:
        cache.save()

    dags = []
    findings = []
    for file_dags, file_findings in results:
        dags.extend(file_dags)
        findings.extend(dict(f) for f in file_findings)
    # a finding in a loader's module names the spec its DAG came from (the file to change)
    if module_spans:
        name_specs(findings, module_spans)

    # Files validated before under the same fingerprint (publish: unchanged since HEAD's release),
    # known only by the DAGs they define and their ignore comments: the cross-file rule runs over
    # them too, so a new DAG id that collides with an unchanged file's is still found.
    known = request.get("known") or {}
    known_dags = [
        {"dag_id": d[0], "file": rel, "line": d[1], "column": d[2], "known": True}
        for rel, record in known.items()
        for d in record.get("dags", ())
    ]

    # duplicate-dag-id: across files only (within one file Airflow keeps the last one, and
    # alternatives in if/else branches are a common, valid style).
    first = {}
    for dag in sorted(dags + known_dags if known_dags else dags, key=lambda d: (d["file"], d["line"])):
        seen = first.get(dag["dag_id"])
        if seen is None:
            first[dag["dag_id"]] = dag
        elif seen["file"] != dag["file"]:
            if dag.get("known"):
                # on a known file, its own ignore comments apply (protocol.handle sees only the
                # validated files' comments)
                rules = (known[dag["file"]].get("ignores") or {}).get(str(dag["line"]))
                if rules and "duplicate-dag-id" in rules:
                    continue
            findings.append(
                finding(
                    dag["file"],
                    dag["line"],
                    dag["column"],
                    "duplicate-dag-id",
                    f"DAG id '{dag['dag_id']}' is defined twice: {seen['file']}:{seen['line']} and {dag['file']}:{dag['line']}",
                    "Give one of them another id; Airflow keeps only one and reports an import error for the other.",
                )
            )
    answer = {"engine": "ast", "dags": [{"dag_id": d["dag_id"], "file": d["file"], "line": d["line"]} for d in dags], "findings": findings}
    if request.get("records"):
        # what a later run needs to reuse this one's result for an unchanged file (see "known")
        records = {rel: {"dags": []} for rel in (relative(p, root) for p in request["files"])}
        for d in dags:
            records[d["file"]]["dags"].append([d["dag_id"], d["line"], d["column"]])
        for rel, found in ignores.items():
            records[rel]["ignores"] = {str(line): rules for line, rules in found.items()}
        answer["records"] = records
    # applied by protocol.handle to the final findings (also the Airflow engine's), then dropped
    answer["ignores"] = ignores
    return answer
