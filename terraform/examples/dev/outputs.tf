# The same outputs as the module, for `terraform output -json` (test/fixtures/terraform/dev-output.json).

output "bucket" {
  description = "Name of the DAG bucket."
  value       = module.dags.bucket
}

output "store" {
  description = "The dagctl store URL: environments.<env>.store in dagctl.yaml (s3://<bucket>[/<store_prefix>])."
  value       = module.dags.store
}

output "region" {
  description = "Region of the bucket: environments.<env>.s3.region."
  value       = module.dags.region
}

output "environment" {
  description = "The dagctl environment the bucket and policies serve."
  value       = module.dags.environment
}

output "airflow_role_arn" {
  description = "ARN of Airflow's read-only IRSA role: the eks.amazonaws.com/role-arn annotation of the service accounts in airflow_service_accounts."
  value       = module.dags.airflow_role_arn
}

output "ci_policy_arn" {
  description = "ARN of the CI policy (publish of ci_packages): attach it to the CI job's role (ci_role_names does so)."
  value       = module.dags.ci_policy_arn
}

output "ci_policy_json" {
  description = "The CI policy document, as sent to IAM."
  value       = module.dags.ci_policy_json
}

output "airflow_policy_json" {
  description = "Airflow's role policy document, as sent to IAM."
  value       = module.dags.airflow_policy_json
}

output "kms_key_arn" {
  description = "ARN of the KMS key of the bucket (environments.<env>.s3.kms_key_id with sse: aws:kms); null with SSE-S3."
  value       = module.dags.kms_key_arn
}

output "sse" {
  description = "The value for environments.<env>.s3.sse in dagctl.yaml: AES256 (SSE-S3) or aws:kms."
  value       = module.dags.sse
}

output "kubernetes_namespace" {
  description = "Namespace of the service accounts Airflow's role trusts."
  value       = module.dags.kubernetes_namespace
}

output "airflow_service_accounts" {
  description = "Service accounts (in kubernetes_namespace) that may assume airflow_role_arn: annotate exactly these."
  value       = module.dags.airflow_service_accounts
}
