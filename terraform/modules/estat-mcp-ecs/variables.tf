################################################################################
# Naming and image
################################################################################

variable "name" {
  description = "Name of the deployment: cluster, service, load balancer, roles, log group, repository and workgroup names derive from it."
  type        = string
  default     = "estat-aws-mcp"

  validation {
    # 24 leaves room for the suffixes the module appends (load balancer and target group names are limited to 32).
    condition     = can(regex("^[a-z][a-z0-9-]{0,23}$", var.name))
    error_message = "name must be 1-24 characters of lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "tags" {
  description = "Tags added to every resource that supports them."
  type        = map(string)
  default     = {}
}

variable "image_uri" {
  description = "The container image, pinned by digest: <registry>/<repository>@sha256:<64 hex>. Required for every resource except the ECR repository (stage 1 of `make deploy`)."
  type        = string
  default     = null

  validation {
    condition     = var.image_uri == null || can(regex("^[a-z0-9.-]+(:[0-9]+)?/[a-z0-9._/-]+@sha256:[a-f0-9]{64}$", var.image_uri))
    error_message = "image_uri must be pinned by digest: <registry>/<repository>@sha256:<64 lowercase hex digits>."
  }
}

variable "architecture" {
  description = "Instruction set of the image and the tasks: arm64 (Graviton, cheaper) or x86_64."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture must be arm64 or x86_64."
  }
}

variable "create_ecr_repository" {
  description = "Create the ECR repository the image is pushed to. False: give an image of an existing repository in image_uri."
  type        = bool
  default     = true
}

variable "ecr_force_delete" {
  description = "Let `terraform destroy` delete the repository even when it still holds images."
  type        = bool
  default     = false
}

################################################################################
# Tasks and scaling
################################################################################

variable "cpu" {
  description = "Task CPU units (256 = 0.25 vCPU ... 4096 = 4 vCPU)."
  type        = number
  default     = 1024

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096], var.cpu)
    error_message = "cpu must be 256, 512, 1024, 2048 or 4096."
  }
}

variable "memory" {
  description = "Task memory in MiB; Fargate allows 512-2048 for 0.25 vCPU, 1024-4096 for 0.5, 2048-8192 for 1, 4096-16384 for 2 and 8192-30720 for 4 vCPU."
  type        = number
  default     = 2048
}

variable "min_capacity" {
  description = "Fewest running tasks (the service never scales to zero: an ALB target must answer)."
  type        = number
  default     = 1

  validation {
    condition     = var.min_capacity >= 1
    error_message = "min_capacity must be at least 1."
  }
}

variable "max_capacity" {
  description = "Most running tasks (the cost ceiling of the CPU-based autoscaling)."
  type        = number
  default     = 10
}

variable "cpu_target_percent" {
  description = "Average CPU utilisation of the service that the autoscaling keeps (target tracking)."
  type        = number
  default     = 60

  validation {
    condition     = var.cpu_target_percent >= 10 && var.cpu_target_percent <= 90
    error_message = "cpu_target_percent must be between 10 and 90."
  }
}

variable "health_check_grace_period_seconds" {
  description = "Seconds after a task starts during which the service ignores failed load balancer health checks."
  type        = number
  default     = 60
}

variable "deregistration_delay" {
  description = "Seconds the load balancer lets a draining task finish its requests (long e-Stat fetches included) before stopping it."
  type        = number
  default     = 300

  validation {
    condition     = var.deregistration_delay >= 0 && var.deregistration_delay <= 3600
    error_message = "deregistration_delay must be between 0 and 3600 seconds."
  }
}

variable "container_insights" {
  description = "Enable CloudWatch Container Insights on the cluster (per-task metrics, billed as custom metrics)."
  type        = bool
  default     = false
}

variable "log_level" {
  description = "ESTAT_MCP_LOG_LEVEL of the server."
  type        = string
  default     = "INFO"
}

variable "environment_variables" {
  description = "Extra environment variables for the container (never secrets: use SSM parameters). The module's own variables win on a name clash."
  type        = map(string)
  default     = {}
}

variable "log_retention_in_days" {
  description = "Retention of the service's log group."
  type        = number
  default     = 30
}

variable "log_kms_key_arn" {
  description = "Optional KMS key for the log group (its key policy must allow the CloudWatch Logs service)."
  type        = string
  default     = null
}

################################################################################
# Network and load balancer
################################################################################

variable "vpc_id" {
  description = "Existing VPC of the load balancer and the tasks."
  type        = string
}

variable "alb_subnet_ids" {
  description = "Subnets of the load balancer, in at least two Availability Zones (public subnets for an internet-facing one)."
  type        = list(string)

  validation {
    condition     = length(var.alb_subnet_ids) >= 2
    error_message = "An Application Load Balancer needs subnets in at least two Availability Zones."
  }
}

variable "task_subnet_ids" {
  description = "Subnets of the tasks (null: the load balancer's). Tasks reach e-Stat, ECR, SSM and CloudWatch over HTTPS: use private subnets with a NAT gateway (or VPC endpoints), or public subnets with assign_public_ip."
  type        = list(string)
  default     = null
}

variable "assign_public_ip" {
  description = "Give tasks a public IP (needed in public subnets without NAT; the tasks' security group still admits only the load balancer)."
  type        = bool
  default     = false
}

variable "certificate_arn" {
  description = "ACM certificate of the HTTPS listener (for the domain clients use; point its DNS record at the alb_dns_name output)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/.+$", var.certificate_arn))
    error_message = "certificate_arn must be an ACM certificate ARN."
  }
}

variable "ssl_policy" {
  description = "TLS policy of the HTTPS listener."
  type        = string
  default     = "ELBSecurityPolicy-TLS13-1-2-2021-06"
}

variable "internal" {
  description = "An internal load balancer (reachable only inside the VPC and connected networks) instead of an internet-facing one."
  type        = bool
  default     = false
}

variable "allowed_cidr_blocks" {
  description = "IPv4 ranges that may reach the load balancer on 443 (and 80, which only redirects)."
  type        = list(string)
  default     = ["0.0.0.0/0"]

  validation {
    condition     = length(var.allowed_cidr_blocks) > 0 && alltrue([for c in var.allowed_cidr_blocks : can(cidrhost(c, 0))])
    error_message = "allowed_cidr_blocks must list at least one IPv4 CIDR block."
  }
}

variable "idle_timeout" {
  description = "Seconds the load balancer keeps an idle connection open; a tool call that sends nothing for longer is cut (ALB maximum 4000)."
  type        = number
  default     = 900

  validation {
    condition     = var.idle_timeout >= 1 && var.idle_timeout <= 4000
    error_message = "idle_timeout must be between 1 and 4000 seconds."
  }
}

variable "deletion_protection" {
  description = "Protect the load balancer against deletion (terraform destroy then fails until it is turned off)."
  type        = bool
  default     = false
}

variable "access_logs_bucket" {
  description = "Existing S3 bucket for the load balancer's access logs (its policy must allow ELB log delivery). null: no access logs."
  type        = string
  default     = null
}

################################################################################
# Secrets, data stores and permissions (passed to ../estat-mcp-common, which validates them)
################################################################################

variable "app_id_ssm_parameter_name" {
  description = "SSM SecureString holding the e-Stat appId (ESTAT_APP_ID_SSM_PARAMETER). Its value never enters Terraform state."
  type        = string
  default     = "/estat-aws-mcp/estat-app-id"
}

variable "auth_token_ssm_parameter_name" {
  description = "SSM SecureString holding the bearer token clients send (Authorization: Bearer or X-API-Key). null only with another auth mode set through environment_variables: serve --http refuses an open public bind."
  type        = string
  default     = "/estat-aws-mcp/auth-token"
}

variable "ssm_kms_key_arn" {
  description = "Customer managed KMS key of the SecureString parameters (null: the AWS managed key)."
  type        = string
  default     = null
}

variable "enable_aws_data_backends" {
  description = "Store datasets in S3, query with Athena and register Iceberg tables in Glue. False: the embedded engines on the task's /tmp (lost when the task stops)."
  type        = bool
  default     = true
}

variable "data_bucket_force_destroy" {
  description = "Let `terraform destroy` delete the data bucket with its objects."
  type        = bool
  default     = false
}

variable "athena_force_destroy" {
  description = "Let `terraform destroy` delete the workgroup with its saved queries and history."
  type        = bool
  default     = true
}

variable "enable_aws_cli_read_access" {
  description = "Grant the read-only CloudWatch Logs and metrics/alarms actions that run_aws_cli's default allowlist uses."
  type        = bool
  default     = true
}

variable "aws_cli_extra_log_group_arns" {
  description = "Log groups run_aws_cli may read besides the service's own (ARN patterns). Empty: only its own."
  type        = list(string)
  default     = []
}

variable "aws_cli_account_wide_log_reads" {
  description = "Also grant the log reads IAM cannot scope to log groups (Logs Insights query results, log anomalies)."
  type        = bool
  default     = false
}

variable "extra_policy_documents" {
  description = "Extra IAM policy documents (name => JSON) for the task role. Names must be static; the JSON may be computed."
  type        = map(string)
  default     = {}
}
