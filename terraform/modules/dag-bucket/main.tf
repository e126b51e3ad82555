# The DAG bucket of one dagctl environment, Airflow's read-only IRSA role and the CI policy.
# Every IAM document comes from ../dag-policies (no provider: the tests render it offline with
# the real terraform binary and evaluate the very strings used here).

data "aws_partition" "current" {}

locals {
  use_kms     = var.encryption == "SSE-KMS"
  kms_key_arn = local.use_kms ? coalesce(var.kms_key_arn, one(aws_kms_key.dags[*].arn)) : null
  name        = "${var.name_prefix}-${var.environment}"
}

module "policies" {
  source = "../dag-policies"

  bucket                   = var.bucket
  partition                = data.aws_partition.current.partition
  region                   = var.region
  store_prefix             = var.store_prefix
  environment              = var.environment
  ci_packages              = var.ci_packages
  kms_key_arn              = local.kms_key_arn
  airflow_read_live_tree   = var.airflow_read_live_tree
  oidc_provider_arn        = var.oidc_provider_arn
  kubernetes_namespace     = var.kubernetes_namespace
  airflow_service_accounts = var.airflow_service_accounts
}

resource "aws_kms_key" "dags" {
  count                   = local.use_kms && var.kms_key_arn == null ? 1 : 0
  description             = "dagctl DAG bucket ${var.bucket} (${var.environment})"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  tags                    = var.tags
}

resource "aws_kms_alias" "dags" {
  count         = length(aws_kms_key.dags)
  name          = "alias/${local.name}-dags"
  target_key_id = aws_kms_key.dags[0].key_id
}

resource "aws_s3_bucket" "dags" {
  bucket        = var.bucket
  force_destroy = var.force_destroy
  tags          = merge(var.tags, { "dagctl:environment" = var.environment })
}

resource "aws_s3_bucket_ownership_controls" "dags" {
  bucket = aws_s3_bucket.dags.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "dags" {
  bucket                  = aws_s3_bucket.dags.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "dags" {
  bucket = aws_s3_bucket.dags.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "dags" {
  bucket = aws_s3_bucket.dags.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = local.use_kms ? "aws:kms" : "AES256"
      kms_master_key_id = local.kms_key_arn
    }
    bucket_key_enabled = local.use_kms
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "dags" {
  bucket = aws_s3_bucket.dags.id
  # lifecycle rules on a versioned bucket need versioning configured first
  depends_on = [aws_s3_bucket_versioning.dags]

  rule {
    id     = "expire-noncurrent-versions"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }
    expiration {
      expired_object_delete_marker = true
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
}

resource "aws_s3_bucket_policy" "dags" {
  bucket = aws_s3_bucket.dags.id
  policy = module.policies.bucket_policy_json
  # the public access block must exist first, or S3 may refuse the policy call
  depends_on = [aws_s3_bucket_public_access_block.dags]
}

resource "aws_iam_role" "airflow" {
  name                 = "${local.name}-airflow"
  description          = "Airflow reads the dagctl store of ${var.environment} in s3://${var.bucket} (IRSA)"
  assume_role_policy   = module.policies.airflow_trust_policy_json
  max_session_duration = 3600
  tags                 = var.tags
}

resource "aws_iam_role_policy" "airflow" {
  name   = "dagctl-read-${var.environment}"
  role   = aws_iam_role.airflow.id
  policy = module.policies.airflow_policy_json
}

resource "aws_iam_policy" "ci" {
  name        = "${local.name}-ci"
  description = "dagctl publish of ${join(", ", var.ci_packages)} to ${var.environment} in s3://${var.bucket}"
  policy      = module.policies.ci_policy_json
  tags        = var.tags
}

resource "aws_iam_role_policy_attachment" "ci" {
  for_each   = toset(var.ci_role_names)
  role       = each.value
  policy_arn = aws_iam_policy.ci.arn
}
