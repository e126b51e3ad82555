"""What a task's worker pays to get its DAG from a DAG file: CPU seconds of parsing FILE for DAG_ID
in a fresh process, after the imports a worker has loaded anyway (Airflow, the operators), with
`_AIRFLOW_PARSING_CONTEXT_DAG_ID` set as Airflow 2.11 and 3 set it when a task starts. Prints one
JSON line: {"cpu", "dags"} (dags: how many DAGs the parse built).

Usage: python task_start.py FILE DAG_ID
"""
import json
import os
import sys
import time
from pathlib import Path

path, dag_id = sys.argv[1], sys.argv[2]
try:
    import airflow.sdk  # noqa: F401
    from airflow.dag_processing.dagbag import BundleDagBag as Bag

    def parse():
        return Bag(dag_folder=path, bundle_path=Path(path).parent, safe_mode=True)
except ImportError:
    from airflow.models.dagbag import DagBag as Bag

    def parse():
        return Bag(dag_folder=path, include_examples=False, safe_mode=True)
try:
    from airflow.providers.standard.operators import bash, empty  # noqa: F401
except ImportError:
    from airflow.operators import bash, empty  # noqa: F401
from airflow.providers.cncf.kubernetes.operators import pod  # noqa: F401

os.environ["_AIRFLOW_PARSING_CONTEXT_DAG_ID"] = dag_id
t0 = time.process_time()
bag = parse()
cpu = time.process_time() - t0
if dag_id not in bag.dags:
    raise SystemExit(f"{dag_id} not built from {path}: {sorted(bag.import_errors.items())[:1]}")
sys.__stdout__.write(json.dumps({"cpu": cpu, "dags": len(bag.dags)}) + "\n")
