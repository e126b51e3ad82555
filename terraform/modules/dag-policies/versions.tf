# No provider on purpose: this module only computes documents, so `terraform init` and `apply`
# run it anywhere (the tests render it with the real terraform binary, offline).
terraform {
  required_version = ">= 1.5.0"
}
