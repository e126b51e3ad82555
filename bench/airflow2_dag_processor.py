"""Airflow 2.11's standalone DAG processor for one pass over DIR (`airflow dag-processor -n 1 -S DIR`),
run as the CLI runs it but without the CLI's refusal of SQLite: that refusal guards a scheduler and
a processor sharing one SQLite file, and the bench runs the processor alone. With SQLite, Airflow
2.11 parses with one process (it lowers [scheduler] parsing_processes to 1 itself).

Usage: python airflow2_dag_processor.py DIR (AIRFLOW__SCHEDULER__STANDALONE_DAG_PROCESSOR=True)
"""
import sys

from airflow.cli.commands import dag_processor_command
from airflow.dag_processing.manager import reload_configuration_for_dag_processing
from airflow.jobs.job import run_job


class Args:
    subdir = sys.argv[1]
    num_runs = 1
    do_pickle = False


runner = dag_processor_command._create_dag_processor_job_runner(Args)
reload_configuration_for_dag_processing()
run_job(job=runner.job, execute_callable=runner._execute)
