variable "region" {
  description = "AWS region to deploy to."
  type        = string
  default     = "ap-northeast-1"
}

variable "name" {
  description = "Name of the deployment (function, table, user pool)."
  type        = string
  default     = "estat-aws-mcp"
}

variable "architecture" {
  description = "arm64 or x86_64 (make deploy builds the image for the same platform)."
  type        = string
  default     = "arm64"
}

variable "image_uri" {
  description = "Image pinned by digest (make deploy sets it after pushing; null only for stage 1)."
  type        = string
  default     = null
}

variable "app_id_ssm_parameter_name" {
  description = "Existing SSM SecureString with the e-Stat appId."
  type        = string
  default     = "/estat-aws-mcp/estat-app-id"
}

variable "public_url" {
  description = "The server's public base URL when a domain is in front of the function (CloudFront, an API), without the trailing slash. null (default): the Function URL. Written to an SSM parameter the function reads, in the same apply."
  type        = string
  default     = null

  validation {
    condition     = var.public_url == null || can(regex("^https://[^/?#]+(/[^?#]*[^/?#])?$", var.public_url))
    error_message = "public_url must be an https URL without a trailing slash, query or fragment."
  }
}

variable "cognito_domain_prefix" {
  description = "Prefix of the Cognito managed-login domain (<prefix>.auth.<region>.amazoncognito.com); globally unique per region and without the words aws, amazon or cognito. null: estat-mcp-<account id>."
  type        = string
  default     = null
}

variable "allow_self_sign_up" {
  description = "Let anyone with an email address create an account on the sign-in page. false (default): only administrators add users (README: adding users)."
  type        = bool
  default     = false
}

variable "access_token_validity_minutes" {
  description = "Lifetime of the access tokens clients send (5 to 1440 minutes)."
  type        = number
  default     = 60
}

variable "refresh_token_validity_days" {
  description = "Lifetime of refresh tokens, how long a client stays signed in without the sign-in page (1 to 3650 days)."
  type        = number
  default     = 30
}

variable "user_pool_deletion_protection" {
  description = "ACTIVE keeps the user pool (and its users) from being deleted by terraform destroy; INACTIVE allows it."
  type        = string
  default     = "INACTIVE"
}

variable "rate_limit_per_minute" {
  description = "Requests per caller (token subject) and minute to the MCP endpoint, counted in the state table across containers; 0 disables."
  type        = number
  default     = 120
}

variable "force_destroy" {
  description = "Let make destroy delete the repository's images, the data bucket's objects and Athena history."
  type        = bool
  default     = true
}

variable "enable_aws_data_backends" {
  description = "S3 + Athena + Glue for datasets and SQL. false: the embedded engines on the function's /tmp."
  type        = bool
  default     = true
}

variable "reserved_concurrent_executions" {
  description = "Concurrency cap of the function (cost and abuse ceiling); -1 for accounts that cannot reserve any."
  type        = number
  default     = 10
}

variable "aws_cli_extra_log_group_arns" {
  description = "Log groups run_aws_cli may read besides the function's own (ARN patterns). Empty: only its own."
  type        = list(string)
  default     = []
}

variable "aws_cli_account_wide_log_reads" {
  description = "Also let run_aws_cli read Logs Insights query results and log anomalies, which IAM cannot limit to log groups (see docs/deployment.md)."
  type        = bool
  default     = false
}
