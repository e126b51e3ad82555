# The IAM documents of the DAG bucket, as JSON strings: the exact strings the dag-bucket module
# hands to the AWS provider (aws_iam_policy.policy, aws_iam_role.assume_role_policy,
# aws_s3_bucket_policy.policy). Keys dagctl uses (docs/store.md):
#
#   <root><env>/<package>/dags/<path>                  live tree (publish writes and deletes)
#   <root>_dagctl/<env>/<package>/blobs/<sha256>       written once, If-None-Match: *
#   <root>_dagctl/<env>/<package>/releases/<id>.json   written once, If-None-Match: *
#   <root>_dagctl/<env>/<package>/HEAD.json            If-None-Match: * (first), then If-Match: <etag>
#   <root>_dagctl/<env>/<package>/live.json            If-None-Match: * (first), then If-Match: <etag>

locals {
  root       = var.store_prefix == "" ? "" : "${var.store_prefix}/"
  bucket_arn = "arn:${var.partition}:s3:::${var.bucket}"
  meta       = "${local.root}_dagctl/${var.environment}/"
  live       = "${local.root}${var.environment}/"
  packages   = distinct(var.ci_packages)

  # the issuer's host and path, as the trust policy's condition keys name it
  oidc_issuer = element(split("oidc-provider/", var.oidc_provider_arn), 1)

  kms_via_s3 = { StringEquals = { "kms:ViaService" = "s3.${var.region}.amazonaws.com" } }

  ci_statements = concat(
    [
      {
        Sid       = "ListOwnPackages"
        Effect    = "Allow"
        Action    = "s3:ListBucket"
        Resource  = local.bucket_arn
        Condition = { StringLike = { "s3:prefix" = flatten([for p in local.packages : ["${local.meta}${p}/*", "${local.live}${p}/*"]]) } }
      },
      {
        Sid      = "ReadOwnPackages"
        Effect   = "Allow"
        Action   = "s3:GetObject"
        Resource = flatten([for p in local.packages : ["${local.bucket_arn}/${local.meta}${p}/*", "${local.bucket_arn}/${local.live}${p}/dags/*"]])
      },
      {
        # blobs and manifests are immutable: only ever created, never replaced
        Sid       = "CreateOwnReleaseObjects"
        Effect    = "Allow"
        Action    = "s3:PutObject"
        Resource  = [for p in local.packages : "${local.bucket_arn}/${local.meta}${p}/*"]
        Condition = { Null = { "s3:if-none-match" = "false" } }
      },
      {
        # HEAD and live.json move only by compare-and-swap
        Sid       = "SwapOwnPointers"
        Effect    = "Allow"
        Action    = "s3:PutObject"
        Resource  = flatten([for p in local.packages : ["${local.bucket_arn}/${local.meta}${p}/HEAD.json", "${local.bucket_arn}/${local.meta}${p}/live.json"]])
        Condition = { Null = { "s3:if-match" = "false" } }
      },
      {
        # the live tree: plain writes, server-side copies from the blobs, deletes of removed files
        Sid      = "WriteOwnLiveTree"
        Effect   = "Allow"
        Action   = ["s3:DeleteObject", "s3:PutObject"]
        Resource = [for p in local.packages : "${local.bucket_arn}/${local.live}${p}/dags/*"]
      },
    ],
    [for k in compact([var.kms_key_arn]) : {
      Sid       = "UseBucketKeyThroughS3"
      Effect    = "Allow"
      Action    = ["kms:Decrypt", "kms:GenerateDataKey"]
      Resource  = k
      Condition = local.kms_via_s3
    }],
  )

  airflow_statements = concat(
    [
      {
        Sid       = "ListEnvironment"
        Effect    = "Allow"
        Action    = "s3:ListBucket"
        Resource  = local.bucket_arn
        Condition = { StringLike = { "s3:prefix" = concat(["${local.meta}*"], var.airflow_read_live_tree ? ["${local.live}*"] : []) } }
      },
      {
        # what dagctl sync and the DagctlBundle read: HEAD, manifests, blobs (never live.json)
        Sid    = "ReadEnvironment"
        Effect = "Allow"
        Action = "s3:GetObject"
        Resource = concat(
          ["${local.bucket_arn}/${local.meta}*/HEAD.json", "${local.bucket_arn}/${local.meta}*/releases/*", "${local.bucket_arn}/${local.meta}*/blobs/*"],
          var.airflow_read_live_tree ? ["${local.bucket_arn}/${local.live}*"] : [],
        )
      },
    ],
    [for k in compact([var.kms_key_arn]) : {
      Sid       = "DecryptThroughS3"
      Effect    = "Allow"
      Action    = "kms:Decrypt"
      Resource  = k
      Condition = local.kms_via_s3
    }],
  )

  ci_policy_json      = jsonencode({ Version = "2012-10-17", Statement = local.ci_statements })
  airflow_policy_json = jsonencode({ Version = "2012-10-17", Statement = local.airflow_statements })

  airflow_trust_policy_json = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "AirflowServiceAccounts"
      Effect    = "Allow"
      Principal = { Federated = var.oidc_provider_arn }
      Action    = "sts:AssumeRoleWithWebIdentity"
      Condition = {
        StringEquals = {
          "${local.oidc_issuer}:aud" = "sts.amazonaws.com"
          "${local.oidc_issuer}:sub" = [for s in var.airflow_service_accounts : "system:serviceaccount:${var.kubernetes_namespace}:${s}"]
        }
      }
    }]
  })

  bucket_policy_json = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [local.bucket_arn, "${local.bucket_arn}/*"]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
    ]
  })
}
