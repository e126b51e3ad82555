import {airflowContract} from './airflow-suite.js'

// Airflow 3.3 (REST API v2, SimpleAuthManager tokens), started once for this file. The DataHub
// Action runs here only: its behaviour does not depend on the Airflow version.
airflowContract(3, {action: true})
