"""What the ast engine recognises as a DAG: the qualified names of DAG, dag and asset."""

DAG_CLASSES = {
    "airflow.DAG",
    "airflow.models.DAG",
    "airflow.models.dag.DAG",
    "airflow.sdk.DAG",
    "airflow.sdk.definitions.dag.DAG",
}
DAG_DECORATORS = {
    "airflow.decorators.dag",
    "airflow.models.dag.dag",
    "airflow.sdk.dag",
    "airflow.sdk.definitions.dag.dag",
}
# Airflow 3 assets: every @asset(...) / @asset.multi(...) function is a DAG of its own, with the
# asset's name (default: the function name) or, for multi, the function name as its id.
ASSET_DECORATORS = {"airflow.sdk.asset", "airflow.sdk.definitions.asset.decorators.asset"}
ASSET_MULTI_DECORATORS = {f"{q}.multi" for q in ASSET_DECORATORS}
