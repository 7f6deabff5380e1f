variable "region" {
  description = "AWS region to deploy to."
  type        = string
  default     = "ap-northeast-1"
}

variable "name" {
  description = "Name of the deployment (at most 24 characters: load balancer names are short)."
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

variable "vpc_id" {
  description = "Existing VPC."
  type        = string
}

variable "alb_subnet_ids" {
  description = "Subnets of the load balancer in two or more Availability Zones (public for an internet-facing one)."
  type        = list(string)
}

variable "task_subnet_ids" {
  description = "Subnets of the tasks (null: the load balancer's). Private subnets need a NAT gateway or VPC endpoints."
  type        = list(string)
  default     = null
}

variable "assign_public_ip" {
  description = "Public IPs for the tasks (public subnets without NAT); their security group still admits only the load balancer."
  type        = bool
  default     = false
}

variable "certificate_arn" {
  description = "ACM certificate of the HTTPS listener, for the domain clients will use."
  type        = string
}

variable "allowed_cidr_blocks" {
  description = "IPv4 ranges that may reach the load balancer."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "cpu" {
  description = "Task CPU units (1024 = 1 vCPU)."
  type        = number
  default     = 1024
}

variable "memory" {
  description = "Task memory in MiB."
  type        = number
  default     = 2048
}

variable "min_capacity" {
  description = "Fewest running tasks."
  type        = number
  default     = 1
}

variable "max_capacity" {
  description = "Most running tasks (CPU-based autoscaling)."
  type        = number
  default     = 10
}

variable "app_id_ssm_parameter_name" {
  description = "Existing SSM SecureString with the e-Stat appId."
  type        = string
  default     = "/estat-aws-mcp/estat-app-id"
}

variable "auth_token_ssm_parameter_name" {
  description = "Existing SSM SecureString with the bearer token clients must send."
  type        = string
  default     = "/estat-aws-mcp/auth-token"
}

variable "enable_aws_data_backends" {
  description = "S3 + Athena + Glue for datasets and SQL. false: the embedded engines on the task's /tmp (lost when a task stops)."
  type        = bool
  default     = true
}

variable "aws_cli_extra_log_group_arns" {
  description = "Log groups run_aws_cli may read besides the service's own (ARN patterns). Empty: only its own."
  type        = list(string)
  default     = []
}

variable "aws_cli_account_wide_log_reads" {
  description = "Also let run_aws_cli read Logs Insights query results and log anomalies, which IAM cannot limit to log groups (see docs/deployment.md)."
  type        = bool
  default     = false
}

variable "environment_variables" {
  description = "Extra settings for the container (names and values, never secrets)."
  type        = map(string)
  default     = {}
}

variable "extra_policy_documents" {
  description = "Extra IAM policy documents (name => JSON) for the task role."
  type        = map(string)
  default     = {}
}

variable "force_destroy" {
  description = "Let make destroy delete the repository's images, the data bucket's objects and Athena history."
  type        = bool
  default     = true
}
