variable "region" {
  description = "AWS region to deploy to."
  type        = string
  default     = "ap-northeast-1"
}

variable "name" {
  description = "Name of the deployment."
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

variable "caller_role_names" {
  description = "IAM roles in this account that get the example caller policy (both invoke actions on this function's URL)."
  type        = list(string)
  default     = []
}

variable "authorization_type" {
  description = "Function URL auth. This example is the SigV4 (AWS_IAM) one; NONE is accepted so that a deployment can be switched in place."
  type        = string
  default     = "AWS_IAM"
}

variable "force_destroy" {
  description = "Let make destroy delete the repository's images, the data bucket's objects and Athena history."
  type        = bool
  default     = true
}

variable "enable_aws_data_backends" {
  description = "S3 + Athena + Glue for datasets and SQL. false: the embedded engines on the function's /tmp (nothing persists between containers)."
  type        = bool
  default     = true
}

variable "reserved_concurrent_executions" {
  description = "Concurrency cap of the function (cost and abuse ceiling). New accounts with a concurrency quota of 10 cannot reserve any: use -1 there (make deploy checks)."
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
