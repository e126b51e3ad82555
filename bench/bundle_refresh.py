"""One refresh of a DAG bundle, timed: the driver of bench/bundle.bench.ts (run in the Airflow 3 venv).

    python bundle_refresh.py dagctl|s3 STEP BUCKET PREFIX ENDPOINT

`dagctl` is DagctlBundle on package `bench` (env dev) of s3://BUCKET/PREFIX; `s3` is the amazon
provider's S3DagBundle on the same package's live tree (s3://BUCKET/PREFIX/dev/bench/dags/), what a
user of an object store has otherwise. STEP `cold` starts from an empty local folder. Prints JSON.
"""

import json
import sys
import time

kind, step, bucket, prefix, endpoint = sys.argv[1:6]
if kind == "dagctl":
    from dagctl_airflow import DagctlBundle

    bundle = DagctlBundle(name="bench_dagctl", store=f"s3://{bucket}/{prefix}", env="dev", package="bench", s3_endpoint=endpoint)
    t0 = time.perf_counter()
    bundle.initialize()  # the DAG processor's first call; a refresh after that
    seconds = time.perf_counter() - t0
    version = bundle.get_current_version().version
else:
    from airflow.providers.amazon.aws.bundles.s3 import S3DagBundle

    bundle = S3DagBundle(name="bench_s3", bucket_name=bucket, prefix=f"{prefix}/dev/bench/dags")
    bundle.s3_dags_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    bundle.refresh()
    seconds = time.perf_counter() - t0
    version = None
files = sum(1 for p in bundle.path.rglob("*.py"))
print(json.dumps({"seconds": seconds, "files": files, "version": version}))
