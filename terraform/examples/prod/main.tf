# prod: SSE-KMS with a key the module creates (rotation on), 90 days of noncurrent versions, the
# CI policy attached to the CI job's OIDC role, Airflow's role trusted by the chart's pods only.
#   terraform -chdir=terraform/examples/prod init && terraform -chdir=terraform/examples/prod plan

terraform {
  required_version = ">= 1.5.0"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.70.0, < 7.0.0"
    }
  }
}

provider "aws" {
  region = "eu-west-1"
}

module "dags" {
  source = "../../modules/dag-bucket"

  bucket        = "acme-airflow-dags-prod"
  region        = "eu-west-1"
  environment   = "prod"
  ci_packages   = ["sales", "marketing"]
  ci_role_names = ["gitlab-ci-dags-prod"]

  encryption                         = "SSE-KMS"
  noncurrent_version_expiration_days = 90

  oidc_provider_arn        = "arn:aws:iam::444455556666:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLEPRODD4633E53DE1B71EXAMPLE"
  kubernetes_namespace     = "airflow"
  airflow_service_accounts = ["airflow-scheduler", "airflow-dag-processor", "airflow-triggerer", "airflow-worker"]

  tags = { team = "data-platform", environment = "prod" }
}
