import {airflowContract} from './airflow-suite.js'

// Airflow 2.11 (REST API v1, FAB Basic auth), started once for this file.
airflowContract(2)
