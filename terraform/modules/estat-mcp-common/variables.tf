################################################################################
# Naming (the target modules validate their own name rules)
################################################################################

variable "name" {
  description = "Name of the deployment: the repository, bucket and workgroup names derive from it."
  type        = string
}

variable "tags" {
  description = "Tags added to every resource that supports them."
  type        = map(string)
  default     = {}
}

variable "log_group_name" {
  description = "The server's own CloudWatch Logs group (the target chooses the name, this module creates it): the role writes to it and run_aws_cli may read it."
  type        = string
}

variable "log_retention_in_days" {
  description = "Retention of the server's log group."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_in_days)
    error_message = "log_retention_in_days must be one of the values CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)."
  }
}

variable "log_kms_key_arn" {
  description = "Optional KMS key for the log group (its key policy must allow the CloudWatch Logs service)."
  type        = string
  default     = null
}

variable "log_level" {
  description = "ESTAT_MCP_LOG_LEVEL of the server."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "log_level must be DEBUG, INFO, WARNING or ERROR."
  }
}

################################################################################
# Container image (ECR)
################################################################################

variable "create_ecr_repository" {
  description = "Create the ECR repository the image is pushed to. Set false to use an existing repository (give its URL in image_uri)."
  type        = bool
  default     = true
}

variable "ecr_repository_name" {
  description = "Name of the ECR repository (default: var.name)."
  type        = string
  default     = null
}

variable "ecr_keep_images" {
  description = "How many tagged images the repository keeps; older ones expire (untagged images expire after one day)."
  type        = number
  default     = 10

  validation {
    condition     = var.ecr_keep_images >= 1 && var.ecr_keep_images <= 1000
    error_message = "ecr_keep_images must be between 1 and 1000."
  }
}

variable "ecr_force_delete" {
  description = "Let `terraform destroy` delete the repository even when it still holds images."
  type        = bool
  default     = false
}

################################################################################
# Secrets (SSM SecureString parameters)
################################################################################

variable "app_id_ssm_parameter_name" {
  description = "SSM SecureString holding the e-Stat appId (ESTAT_APP_ID_SSM_PARAMETER). Its value never enters Terraform state."
  type        = string
  default     = "/estat-aws-mcp/estat-app-id"

  validation {
    condition     = can(regex("^/?[a-zA-Z0-9_.\\-/]{1,1000}$", var.app_id_ssm_parameter_name))
    error_message = "app_id_ssm_parameter_name must be a valid SSM parameter name."
  }
}

variable "create_app_id_ssm_parameter" {
  description = "Create the appId parameter with a placeholder value that you then overwrite with `aws ssm put-parameter --overwrite` (Terraform ignores later value changes). False: the parameter already exists (recommended; `make deploy` checks it)."
  type        = bool
  default     = false
}

variable "auth_token_ssm_parameter_name" {
  description = "SSM SecureString holding the bearer token that a NONE-auth URL requires (ESTAT_MCP_AUTH_TOKEN_SSM_PARAMETER). null: no token."
  type        = string
  default     = null

  validation {
    condition     = var.auth_token_ssm_parameter_name == null || can(regex("^/?[a-zA-Z0-9_.\\-/]{1,1000}$", var.auth_token_ssm_parameter_name))
    error_message = "auth_token_ssm_parameter_name must be a valid SSM parameter name."
  }
}

variable "create_auth_token_ssm_parameter" {
  description = "Create the bearer-token parameter with a placeholder value (see create_app_id_ssm_parameter)."
  type        = bool
  default     = false
}

variable "ssm_kms_key_arn" {
  description = "Customer managed KMS key of the SecureString parameters (null: the AWS managed key alias/aws/ssm, which needs no extra grant)."
  type        = string
  default     = null

  validation {
    condition     = var.ssm_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.ssm_kms_key_arn))
    error_message = "ssm_kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)."
  }
}

################################################################################
# Data: S3 storage, Glue catalog, Athena
################################################################################

variable "enable_aws_data_backends" {
  description = "Store datasets in S3, query with Athena and register Iceberg tables in Glue. False: the embedded engines on the function's /tmp (ephemeral)."
  type        = bool
  default     = true
}

variable "create_data_bucket" {
  description = "Create the data bucket (encrypted, versioned, private, TLS-only). False: use data_bucket_name."
  type        = bool
  default     = true
}

variable "data_bucket_name" {
  description = "Existing bucket when create_data_bucket is false; name of the new bucket otherwise (default: <name>-data-<account id>-<region>)."
  type        = string
  default     = null

  validation {
    condition     = var.data_bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.data_bucket_name))
    error_message = "data_bucket_name must be a valid S3 bucket name."
  }
}

variable "data_prefix" {
  description = "Key prefix of the datasets inside the bucket (the function can only touch this prefix and the Athena results prefix)."
  type        = string
  default     = "estat"

  validation {
    condition     = can(regex("^[a-zA-Z0-9][a-zA-Z0-9_.-]*(/[a-zA-Z0-9][a-zA-Z0-9_.-]*)*$", var.data_prefix))
    error_message = "data_prefix must be one or more path segments without leading/trailing slashes (e.g. estat or team/estat)."
  }
}

variable "data_bucket_force_destroy" {
  description = "Let `terraform destroy` delete the data bucket with its objects."
  type        = bool
  default     = false
}

variable "noncurrent_version_expiration_days" {
  description = "Days after which overwritten object versions in the data bucket expire."
  type        = number
  default     = 30

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1
    error_message = "noncurrent_version_expiration_days must be at least 1."
  }
}

variable "create_glue_database" {
  description = "Create the Glue database (the Iceberg namespace Athena queries)."
  type        = bool
  default     = true
}

variable "glue_database_name" {
  description = "Glue database for the Iceberg tables (created or existing)."
  type        = string
  default     = "estat_mcp"

  validation {
    condition     = can(regex("^[a-z0-9_]{1,255}$", var.glue_database_name))
    error_message = "glue_database_name must be lowercase letters, digits and underscores (Athena's rule)."
  }
}

variable "create_athena_workgroup" {
  description = "Create the Athena workgroup (results location and limits enforced)."
  type        = bool
  default     = true
}

variable "athena_workgroup_name" {
  description = "Athena workgroup (created or existing; default: var.name)."
  type        = string
  default     = null
}

variable "athena_bytes_scanned_cutoff" {
  description = "Per-query scan limit of the workgroup in bytes (the cost ceiling of one query; Athena bills $5 per TB scanned)."
  type        = number
  default     = 10737418240

  validation {
    condition     = var.athena_bytes_scanned_cutoff >= 10485760
    error_message = "athena_bytes_scanned_cutoff must be at least 10 MB (Athena's minimum)."
  }
}

variable "athena_force_destroy" {
  description = "Let `terraform destroy` delete the workgroup with its saved queries and history."
  type        = bool
  default     = true
}

################################################################################
# Permissions: run_aws_cli read access and extra policies
################################################################################

variable "enable_aws_cli_read_access" {
  description = "Grant the read-only CloudWatch Logs and metrics/alarms actions that run_aws_cli's default allowlist uses."
  type        = bool
  default     = true
}

variable "aws_cli_extra_log_group_arns" {
  description = "Log groups run_aws_cli may read besides the server's own (ARN patterns, e.g. arn:aws:logs:<region>:<account>:log-group:/aws/lambda/other-fn:*). Empty: only its own log group."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.aws_cli_extra_log_group_arns : can(regex("^arn:aws[a-z-]*:logs:[a-z0-9-]+:[0-9]{12}:log-group:.+$", a))])
    error_message = "aws_cli_extra_log_group_arns must be log group ARNs (wildcards allowed after log-group:)."
  }
}

variable "aws_cli_account_wide_log_reads" {
  description = "Also grant the log reads IAM cannot scope to log groups: Logs Insights query results (DescribeQueries, GetQueryResults, GetLogRecord) and log anomaly detectors (GetLogAnomalyDetector, ListAnomalies). They can reveal any log group's content, so they are off by default."
  type        = bool
  default     = false
}

variable "extra_policy_documents" {
  description = "Extra IAM policy documents (name => JSON) for the role the server runs as, e.g. a DynamoDB table of an add-on. Names must be static; the JSON may be computed."
  type        = map(string)
  default     = {}

  validation {
    condition     = length(setintersection(keys(var.extra_policy_documents), ["logs", "ssm-parameters", "aws-cli-read", "data-bucket", "athena", "glue"])) == 0
    error_message = "extra_policy_documents must not reuse the module's own policy names (logs, ssm-parameters, aws-cli-read, data-bucket, athena, glue)."
  }
}
