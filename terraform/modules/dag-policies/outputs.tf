output "ci_policy_json" {
  description = "The CI policy: publish, rollback and fsck --repair of ci_packages in environment, nothing else."
  value       = local.ci_policy_json
}

output "airflow_policy_json" {
  description = "Airflow's read-only policy: what dagctl sync and the DagctlBundle read in environment (and the live tree when airflow_read_live_tree)."
  value       = local.airflow_policy_json
}

output "airflow_trust_policy_json" {
  description = "Trust policy of Airflow's IRSA role: the named service accounts through the cluster's OIDC provider."
  value       = local.airflow_trust_policy_json
}

output "bucket_policy_json" {
  description = "The bucket policy: every request without TLS is denied (S3 itself refuses TLS below 1.2)."
  value       = local.bucket_policy_json
}

output "store" {
  description = "The dagctl store URL of the bucket (environments.<env>.store in dagctl.yaml)."
  value       = "s3://${var.bucket}${var.store_prefix == "" ? "" : "/${var.store_prefix}"}"
}
