# The root configuration `dagctl cluster up --profile prod` plans and applies:
#   terraform -chdir=terraform init
#   terraform -chdir=terraform plan -var-file=<env>.tfvars -out=<plan>
#   terraform -chdir=terraform apply <plan>
#   terraform -chdir=terraform output -json
# variables.tf is a copy of modules/dag-bucket/variables.tf (a test keeps them equal).

module "dag_bucket" {
  source = "./modules/dag-bucket"

  bucket                             = var.bucket
  region                             = var.region
  environment                        = var.environment
  store_prefix                       = var.store_prefix
  ci_packages                        = var.ci_packages
  ci_role_names                      = var.ci_role_names
  encryption                         = var.encryption
  kms_key_arn                        = var.kms_key_arn
  noncurrent_version_expiration_days = var.noncurrent_version_expiration_days
  force_destroy                      = var.force_destroy
  airflow_read_live_tree             = var.airflow_read_live_tree
  oidc_provider_arn                  = var.oidc_provider_arn
  kubernetes_namespace               = var.kubernetes_namespace
  airflow_service_accounts           = var.airflow_service_accounts
  name_prefix                        = var.name_prefix
  tags                               = var.tags
}
