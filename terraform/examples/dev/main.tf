# dev: a throwaway environment in a sandbox account. SSE-S3, short version history, and a
# bucket terraform may destroy with its objects.
#   terraform -chdir=terraform/examples/dev init && terraform -chdir=terraform/examples/dev apply

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

  bucket      = "acme-airflow-dags-dev"
  region      = "eu-west-1"
  environment = "dev"
  ci_packages = ["sales", "marketing"]

  encryption                         = "SSE-S3"
  noncurrent_version_expiration_days = 7
  force_destroy                      = true

  oidc_provider_arn    = "arn:aws:iam::111122223333:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLEDEV0D4633E53DE1B71EXAMPLE"
  kubernetes_namespace = "airflow"

  tags = { team = "data-platform", environment = "dev" }
}
