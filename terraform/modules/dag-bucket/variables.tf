variable "bucket" {
  description = "Name of the DAG bucket to create (globally unique)."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket)) && !strcontains(var.bucket, "..")
    error_message = "bucket must be an S3 bucket name: 3-63 characters of lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit."
  }
}

variable "region" {
  description = "AWS region of the bucket (the provider's region): reported as the region output for environments.<env>.s3.region."
  type        = string
  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-west-1."
  }
}

variable "environment" {
  description = "The dagctl environment this bucket serves (environments.<env> in dagctl.yaml): the IAM documents cover _dagctl/<env>/ and <env>/ only."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9_-]{0,31}$", var.environment))
    error_message = "environment must be a dagctl environment name: lower-case letters, digits, _ and -, starting with a letter, at most 32 characters."
  }
}

variable "store_prefix" {
  description = "Key prefix of the dagctl store inside the bucket, without leading or trailing slash (\"\" for the bucket's root)."
  type        = string
  default     = ""
  validation {
    condition     = var.store_prefix == "" || can(regex("^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$", var.store_prefix))
    error_message = "store_prefix must be \"\" or slash-separated segments of letters, digits, _ . - (no leading or trailing slash, no wildcard)."
  }
}

variable "ci_packages" {
  description = "The dagctl packages CI may publish to this environment: the CI policy writes only _dagctl/<env>/<package>/ and <env>/<package>/dags/ of these."
  type        = list(string)
  validation {
    condition     = length(var.ci_packages) > 0 && alltrue([for p in var.ci_packages : can(regex("^[a-z][a-z0-9_]{0,62}$", p))])
    error_message = "ci_packages must name at least one package, each a dagctl package name: lower-case letters, digits and _, starting with a letter."
  }
}

variable "ci_role_names" {
  description = "Names of existing IAM roles (e.g. the CI job's OIDC role) to attach the CI policy to. Empty: attach ci_policy_arn yourself."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for r in var.ci_role_names : can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", r))])
    error_message = "ci_role_names must be IAM role names (not ARNs)."
  }
}

variable "encryption" {
  description = "Default encryption of the bucket: \"SSE-S3\" (AES256, S3-managed keys) or \"SSE-KMS\" (a customer managed KMS key: kms_key_arn, or one this module creates)."
  type        = string
  default     = "SSE-S3"
  validation {
    condition     = contains(["SSE-S3", "SSE-KMS"], var.encryption)
    error_message = "encryption must be \"SSE-S3\" or \"SSE-KMS\"."
  }
}

variable "kms_key_arn" {
  description = "With encryption = \"SSE-KMS\": the ARN of an existing KMS key to use; null makes the module create one (rotation on). Ignored with SSE-S3."
  type        = string
  default     = null
  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.kms_key_arn))
    error_message = "kms_key_arn must be null or a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>; not an alias)."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Days after which a noncurrent object version (an overwritten live file, an old HEAD) is deleted. dagctl's history is its releases, not versions: versioning is a defence, so this bounds its cost."
  type        = number
  default     = 30
  validation {
    condition     = var.noncurrent_version_expiration_days >= 1 && var.noncurrent_version_expiration_days <= 3650 && floor(var.noncurrent_version_expiration_days) == var.noncurrent_version_expiration_days
    error_message = "noncurrent_version_expiration_days must be a whole number of days between 1 and 3650."
  }
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete a bucket that still holds objects (every release). Keep false outside throwaway environments."
  type        = bool
  default     = false
}

variable "airflow_read_live_tree" {
  description = "Whether Airflow's role may also read the live tree <env>/ (an `aws s3 sync` sidecar, Airflow's S3DagBundle). dagctl sync and the DagctlBundle need only _dagctl/<env>/."
  type        = bool
  default     = true
}

variable "oidc_provider_arn" {
  description = "ARN of the EKS cluster's IAM OIDC provider (arn:aws:iam::<account>:oidc-provider/oidc.eks.<region>.amazonaws.com/id/<id>), trusted by Airflow's IRSA role."
  type        = string
  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/.+$", var.oidc_provider_arn))
    error_message = "oidc_provider_arn must be an IAM OIDC provider ARN (arn:aws:iam::<account>:oidc-provider/<issuer host and path>)."
  }
}

variable "kubernetes_namespace" {
  description = "Kubernetes namespace Airflow runs in (its service accounts assume the role)."
  type        = string
  default     = "airflow"
  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.kubernetes_namespace))
    error_message = "kubernetes_namespace must be a Kubernetes namespace name (RFC 1123 label)."
  }
}

variable "airflow_service_accounts" {
  description = "Service accounts (in kubernetes_namespace) allowed to assume Airflow's role: the pods that read DAGs. The official chart names them <release>-<component>; the defaults are for the release name airflow."
  type        = list(string)
  default     = ["airflow-scheduler", "airflow-dag-processor", "airflow-triggerer", "airflow-worker"]
  validation {
    condition     = length(var.airflow_service_accounts) > 0 && alltrue([for s in var.airflow_service_accounts : can(regex("^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$", s))])
    error_message = "airflow_service_accounts must name at least one service account, each a Kubernetes object name (no wildcard)."
  }
}

variable "name_prefix" {
  description = "Prefix of the IAM role, policy and KMS alias names this module creates (followed by -<environment>-...)."
  type        = string
  default     = "dagctl"
  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,32}$", var.name_prefix))
    error_message = "name_prefix must be 1-32 characters valid in IAM names (letters, digits, +=,.@_-)."
  }
}

variable "tags" {
  description = "Tags for every resource the module creates."
  type        = map(string)
  default     = {}
}
