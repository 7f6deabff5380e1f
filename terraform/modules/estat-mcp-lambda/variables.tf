################################################################################
# Naming
################################################################################

variable "name" {
  description = "Name of the deployment: function, role, log group, repository and workgroup names derive from it."
  type        = string
  default     = "estat-aws-mcp"

  validation {
    # 40 leaves room for the suffixes the module appends (role name limit is 64).
    condition     = can(regex("^[a-z][a-z0-9-]{0,39}$", var.name))
    error_message = "name must be 1-40 characters of lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "tags" {
  description = "Tags added to every resource that supports them."
  type        = map(string)
  default     = {}
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
}

variable "ecr_force_delete" {
  description = "Let `terraform destroy` delete the repository even when it still holds images."
  type        = bool
  default     = false
}

variable "image_uri" {
  description = "The function's image, pinned by digest: <registry>/<repository>@sha256:<64 hex>. Required for every resource except the ECR repository (stage 1 of `make deploy` creates the repository before any image exists)."
  type        = string
  default     = null

  validation {
    condition     = var.image_uri == null || can(regex("^[a-z0-9.-]+(:[0-9]+)?/[a-z0-9._/-]+@sha256:[a-f0-9]{64}$", var.image_uri))
    error_message = "image_uri must be pinned by digest: <registry>/<repository>@sha256:<64 lowercase hex digits> (tags are mutable; a digest makes each push a visible change)."
  }
}

variable "image_command" {
  description = "The image's CMD (the Lambda handler). Set explicitly so that the function's image_config matches the Dockerfile."
  type        = list(string)
  default     = ["estat_aws_mcp.lambda_handler.handler"]

  validation {
    condition     = length(var.image_command) > 0
    error_message = "image_command must name the handler."
  }
}

################################################################################
# Function
################################################################################

variable "architecture" {
  description = "Instruction set of the image and the function: arm64 (cheaper per GB-second) or x86_64."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture must be arm64 or x86_64."
  }
}

variable "memory_size" {
  description = "Function memory in MB (CPU scales with it)."
  type        = number
  default     = 1024

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240 && floor(var.memory_size) == var.memory_size
    error_message = "memory_size must be a whole number of MB between 128 and 10240."
  }
}

variable "timeout" {
  description = "Function timeout in seconds. Clients' read timeouts should be at least this."
  type        = number
  default     = 120

  validation {
    condition     = var.timeout >= 3 && var.timeout <= 900 && floor(var.timeout) == var.timeout
    error_message = "timeout must be a whole number of seconds between 3 and 900."
  }
}

variable "reserved_concurrent_executions" {
  description = "Concurrency reserved for (and capping) the function: a cost and abuse ceiling. -1 removes the cap."
  type        = number
  default     = 10

  validation {
    condition     = var.reserved_concurrent_executions == -1 || (var.reserved_concurrent_executions >= 1 && var.reserved_concurrent_executions <= 1000)
    error_message = "reserved_concurrent_executions must be -1 (no reservation) or between 1 and 1000 (0 would disable the function)."
  }
}

variable "dispatch_mode" {
  description = "ESTAT_MCP_DISPATCH: inprocess (fast, default) or stdio (the adapter's child process per request)."
  type        = string
  default     = "inprocess"

  validation {
    condition     = contains(["inprocess", "stdio"], var.dispatch_mode)
    error_message = "dispatch_mode must be inprocess or stdio."
  }
}

variable "log_level" {
  description = "ESTAT_MCP_LOG_LEVEL of the function."
  type        = string
  default     = "INFO"
}

variable "environment_variables" {
  description = "Extra environment variables for the function (never secrets: use the SSM parameters). The module's own variables win on a name clash."
  type        = map(string)
  default     = {}
}

variable "log_retention_in_days" {
  description = "Retention of the function's log group."
  type        = number
  default     = 30
}

variable "log_kms_key_arn" {
  description = "Optional KMS key for the log group (its key policy must allow the CloudWatch Logs service)."
  type        = string
  default     = null
}

################################################################################
# Function URL
################################################################################

variable "authorization_type" {
  description = "Function URL auth: AWS_IAM (SigV4-signed callers only) or NONE (public; protect it with the bearer token)."
  type        = string
  default     = "AWS_IAM"

  validation {
    condition     = contains(["NONE", "AWS_IAM"], var.authorization_type)
    error_message = "authorization_type must be NONE or AWS_IAM."
  }
}

variable "invoker_principals" {
  description = "For AWS_IAM: extra principals (account ids or role/user ARNs, e.g. another account) granted both invoke actions in the function's resource policy. Same-account callers only need an identity policy (see the iam-auth example)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for p in var.invoker_principals : can(regex("^([0-9]{12}|arn:aws[a-z-]*:iam::[0-9]{12}:(root|role/.+|user/.+))$", p))])
    error_message = "invoker_principals must be 12-digit account ids or IAM role/user/root ARNs (never \"*\")."
  }
}

variable "cors" {
  description = "CORS of the Function URL (null: none; MCP desktop clients do not need it, browser-based ones do)."
  type = object({
    allow_origins     = list(string)
    allow_methods     = optional(list(string), ["GET", "POST"])
    allow_headers     = optional(list(string), ["content-type", "accept", "authorization", "mcp-protocol-version", "mcp-session-id", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256"])
    expose_headers    = optional(list(string), ["mcp-session-id"])
    allow_credentials = optional(bool, false)
    max_age           = optional(number, 3600)
  })
  default = null

  validation {
    condition     = var.cors == null || try(length(var.cors.allow_origins) > 0, false)
    error_message = "cors.allow_origins must list at least one origin."
  }
}

################################################################################
# Secrets (SSM SecureString parameters)
################################################################################

variable "app_id_ssm_parameter_name" {
  description = "SSM SecureString holding the e-Stat appId (ESTAT_APP_ID_SSM_PARAMETER). Its value never enters Terraform state."
  type        = string
  default     = "/estat-aws-mcp/estat-app-id"
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
}

################################################################################
# Data: S3 storage, Glue catalog, Athena
# (passed to ../estat-mcp-common, which validates them, like the secrets and ECR settings above)
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
}

variable "data_prefix" {
  description = "Key prefix of the datasets inside the bucket (the function can only touch this prefix and the Athena results prefix)."
  type        = string
  default     = "estat"
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
}
