output "service_url" {
  description = "https://<load balancer DNS name>/ (the certificate's domain should point there: use that name with clients)."
  value       = "https://${aws_lb.this.dns_name}/"
}

output "mcp_endpoint" {
  description = "The URL to give MCP clients (through the load balancer's DNS name; use your certificate's domain in its place)."
  value       = "https://${aws_lb.this.dns_name}/mcp"
}

output "alb_dns_name" {
  description = "DNS name of the load balancer: the target of your domain's CNAME or alias record."
  value       = aws_lb.this.dns_name
}

output "alb_zone_id" {
  description = "Hosted zone of the load balancer (for a Route 53 alias record)."
  value       = aws_lb.this.zone_id
}

output "alb_arn" {
  description = "Load balancer ARN."
  value       = aws_lb.this.arn
}

output "target_group_arn" {
  description = "Target group ARN."
  value       = aws_lb_target_group.this.arn
}

output "cluster_name" {
  description = "ECS cluster name."
  value       = aws_ecs_cluster.this.name
}

output "service_name" {
  description = "ECS service name."
  value       = aws_ecs_service.this.name
}

output "task_definition_arn" {
  description = "Task definition (family:revision) the service runs."
  value       = aws_ecs_task_definition.this.arn
}

output "image_uri" {
  description = "The image the tasks run (by digest)."
  value       = var.image_uri
}

output "task_role_arn" {
  description = "Task role ARN (what the server may call)."
  value       = aws_iam_role.task.arn
}

output "execution_role_arn" {
  description = "Task execution role ARN (image pull, logs)."
  value       = aws_iam_role.execution.arn
}

output "alb_security_group_id" {
  description = "Security group of the load balancer."
  value       = aws_security_group.alb.id
}

output "tasks_security_group_id" {
  description = "Security group of the tasks (admits only the load balancer)."
  value       = aws_security_group.tasks.id
}

output "log_group_name" {
  description = "CloudWatch Logs group of the tasks."
  value       = module.common.log_group_name
}

output "repository_url" {
  description = "ECR repository URL to push the image to (null when create_ecr_repository is false)."
  value       = module.common.repository_url
}

output "data_bucket_name" {
  description = "Data bucket (null when the AWS data backends are off)."
  value       = module.common.data_bucket_name
}

output "athena_workgroup_name" {
  description = "Athena workgroup (null when the AWS data backends are off)."
  value       = module.common.athena_workgroup_name
}

output "glue_database_name" {
  description = "Glue database of the Iceberg tables (null when the AWS data backends are off)."
  value       = module.common.glue_database_name
}

output "app_id_ssm_parameter_name" {
  description = "SSM parameter to put the e-Stat appId in."
  value       = var.app_id_ssm_parameter_name
}

output "auth_token_ssm_parameter_name" {
  description = "SSM parameter to put the bearer token in."
  value       = var.auth_token_ssm_parameter_name
}

output "region" {
  description = "Region of the deployment."
  value       = local.region
}

output "cursor_config" {
  description = "Ready-to-paste ~/.cursor/mcp.json (the bearer token read from the ESTAT_MCP_TOKEN environment variable)."
  value = jsonencode({
    mcpServers = {
      estat = merge(
        { url = "https://${aws_lb.this.dns_name}/mcp" },
        var.auth_token_ssm_parameter_name == null ? {} : { headers = { Authorization = "Bearer $${env:ESTAT_MCP_TOKEN}" } },
      )
    }
  })
}
