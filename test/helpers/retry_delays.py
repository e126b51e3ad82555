"""Retry delays Airflow's own TaskInstance.next_retry_datetime gives a task of a generated DAG file, for tries 1..4."""
import datetime, json, logging, runpy, sys, types
from airflow.models.taskinstance import TaskInstance
mod = runpy.run_path(sys.argv[1])
dag = next(v for v in mod.values() if getattr(v, "dag_id", None) == sys.argv[2] and hasattr(v, "get_task"))
task = dag.get_task(sys.argv[3])
end = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
out = []
for n in range(1, 5):
    ti = types.SimpleNamespace(task=task, try_number=n, end_date=end, dag_id=dag.dag_id, task_id=task.task_id,
        logical_date=end, execution_date=end, retry_delay_override=None, log=logging.getLogger("retry"))
    out.append((TaskInstance.next_retry_datetime(ti) - end).total_seconds())
print(json.dumps(out))
