"""What the ast engine recognises as a DAG: the qualified names of DAG, dag and asset.

Derived, not guessed: every public import path of Airflow's DAG class and its dag/asset
decorators, as the managed venvs export them (Airflow 3.3.2 and 2.11.2 with
apache-airflow-providers-common-compat 1.23.0, python/requirements/airflow-3.txt and airflow-2.txt).
test/helpers/derive_dag_paths.py finds them (a path counts when importing it gives the very object
of the canonical path; private modules, tests and examples are left out) and
test/contract/dag-paths.test.ts runs it in both venvs and fails when these sets differ from the
union of its answers, so a new Airflow or compat provider pin cannot leave them stale.
Regenerate: `$(dagctl python setup --airflow 3) test/helpers/derive_dag_paths.py` (and --airflow 2).
"""

DAG_CLASSES = {
    "airflow.DAG",
    "airflow.models.DAG",
    "airflow.models.dag.DAG",  # Airflow 2's definition; on 3 an alias of airflow.sdk.DAG
    "airflow.providers.common.compat.sdk.DAG",  # the compat provider: the same file runs on 2 and 3
    "airflow.sdk.DAG",
    "airflow.sdk.definitions.dag.DAG",
}
DAG_DECORATORS = {
    "airflow.decorators.dag",  # on Airflow 3 a deprecated alias of airflow.sdk.dag
    "airflow.models.dag.dag",
    "airflow.providers.common.compat.sdk.dag",
    "airflow.sdk.dag",
    "airflow.sdk.definitions.dag.dag",
    "airflow.sdk.definitions.decorators.dag",
}
# Airflow 3 assets: every @asset(...) / @asset.multi(...) function is a DAG of its own, with the
# asset's name (default: the function name) or, for multi, the function name as its id.
ASSET_DECORATORS = {"airflow.sdk.asset", "airflow.sdk.definitions.asset.decorators.asset"}
ASSET_MULTI_DECORATORS = {f"{q}.multi" for q in ASSET_DECORATORS}
