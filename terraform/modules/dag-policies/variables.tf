variable "bucket" {
  description = "Name of the DAG bucket the documents grant access to."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket))
    error_message = "bucket must be an S3 bucket name (3-63 characters: lower-case letters, digits, dots, hyphens)."
  }
}

variable "partition" {
  description = "AWS partition of the ARNs (aws, aws-cn, aws-us-gov)."
  type        = string
  default     = "aws"
  validation {
    condition     = contains(["aws", "aws-cn", "aws-us-gov"], var.partition)
    error_message = "partition must be aws, aws-cn or aws-us-gov."
  }
}

variable "region" {
  description = "Region of the bucket: the KMS statements only allow use of the key through S3 in this region (kms:ViaService)."
  type        = string
  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-west-1."
  }
}

variable "store_prefix" {
  description = "Key prefix of the dagctl store inside the bucket, without leading or trailing slash (\"\" for the bucket's root): the store is s3://<bucket>/<store_prefix>."
  type        = string
  default     = ""
  validation {
    condition     = var.store_prefix == "" || can(regex("^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$", var.store_prefix))
    error_message = "store_prefix must be \"\" or slash-separated segments of letters, digits, _ . - (no leading or trailing slash, no wildcard)."
  }
}

variable "environment" {
  description = "The dagctl environment (environments.<env> in dagctl.yaml) whose keys the documents cover: _dagctl/<env>/ and <env>/."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9_-]{0,31}$", var.environment))
    error_message = "environment must be a dagctl environment name: lower-case letters, digits, _ and -, starting with a letter, at most 32 characters."
  }
}

variable "ci_packages" {
  description = "The dagctl packages the CI policy may publish (write _dagctl/<env>/<package>/ and <env>/<package>/dags/ for each)."
  type        = list(string)
  validation {
    condition     = length(var.ci_packages) > 0 && alltrue([for p in var.ci_packages : can(regex("^[a-z][a-z0-9_]{0,62}$", p))])
    error_message = "ci_packages must name at least one package, each a dagctl package name: lower-case letters, digits and _, starting with a letter."
  }
}

variable "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the bucket (SSE-KMS), or null for SSE-S3: with a key, the policies allow exactly the KMS calls S3 makes for their reads and writes."
  type        = string
  default     = null
  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.kms_key_arn))
    error_message = "kms_key_arn must be null or a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>; not an alias)."
  }
}

variable "airflow_read_live_tree" {
  description = "Whether Airflow's role may also read the live tree <env>/ (for an `aws s3 sync` sidecar or Airflow's S3DagBundle). dagctl sync and the DagctlBundle read only _dagctl/<env>/."
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
  description = "Kubernetes namespace of Airflow's service accounts."
  type        = string
  default     = "airflow"
  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.kubernetes_namespace))
    error_message = "kubernetes_namespace must be a Kubernetes namespace name (RFC 1123 label)."
  }
}

variable "airflow_service_accounts" {
  description = "Names of the Kubernetes service accounts (in kubernetes_namespace) that may assume Airflow's role: those of the pods that read DAGs (the official chart names them <release>-<component>)."
  type        = list(string)
  validation {
    condition     = length(var.airflow_service_accounts) > 0 && alltrue([for s in var.airflow_service_accounts : can(regex("^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$", s))])
    error_message = "airflow_service_accounts must name at least one service account, each a Kubernetes object name (no wildcard)."
  }
}
