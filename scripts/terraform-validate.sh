#!/bin/sh
# `terraform validate` of every configuration that uses the AWS provider (terraform/, its dag-bucket
# module and the examples). Needs a machine that can install hashicorp/aws from the registry (or a
# provider mirror in the terraform CLI config); the test machines cannot, which is why this is a
# script and not a test (terraform/README.md, "What is checked here"). The provider-free module
# modules/dag-policies is validated and applied by the test suite itself.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
tf=${TERRAFORM:-terraform}
for dir in terraform terraform/modules/dag-bucket terraform/examples/dev terraform/examples/prod; do
  data=$(mktemp -d)
  echo "== $dir"
  TF_DATA_DIR=$data "$tf" -chdir="$root/$dir" init -backend=false -input=false -no-color >/dev/null
  TF_DATA_DIR=$data "$tf" -chdir="$root/$dir" validate -no-color
  rm -rf "$data"
done
