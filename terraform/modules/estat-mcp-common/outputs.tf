output "repository_url" {
  description = "ECR repository URL to push the image to (null when create_ecr_repository is false)."
  value       = try(aws_ecr_repository.this[0].repository_url, null)
}

output "repository_arn" {
  description = "ECR repository ARN (null when create_ecr_repository is false)."
  value       = try(aws_ecr_repository.this[0].arn, null)
}

output "log_group_name" {
  description = "The server's log group (created here)."
  value       = aws_cloudwatch_log_group.this.name
}

output "log_write_policy_json" {
  description = "Policy document: write to the server's own log group (CreateLogStream, PutLogEvents), nothing else."
  value       = data.aws_iam_policy_document.logs.json
}

output "policy_documents" {
  description = "Policy documents (name => JSON) of the role the server runs as: ssm-parameters, aws-cli-read, data-bucket, athena, glue (each when enabled) and extra_policy_documents. Keys depend only on the switches."
  value       = local.policy_documents
}

output "environment" {
  description = "The server's settings (ESTAT_* environment variables) that follow from these resources."
  value       = local.environment
}

output "data_bucket_name" {
  description = "Data bucket (null when the AWS data backends are off)."
  value       = local.data_bucket_name
}

output "storage_uri" {
  description = "ESTAT_MCP_STORAGE_URI of the server."
  value       = local.storage_uri
}

output "athena_workgroup_name" {
  description = "Athena workgroup (null when the AWS data backends are off)."
  value       = local.data_enabled ? local.athena_workgroup_name : null
}

output "glue_database_name" {
  description = "Glue database of the Iceberg tables (null when the AWS data backends are off)."
  value       = local.data_enabled ? var.glue_database_name : null
}

output "region" {
  description = "Region of the deployment."
  value       = local.region
}

output "account_id" {
  description = "Account of the deployment."
  value       = local.account_id
}

output "partition" {
  description = "Partition of the deployment (aws, aws-cn, aws-us-gov)."
  value       = local.partition
}
