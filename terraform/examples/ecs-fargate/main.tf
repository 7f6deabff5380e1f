# The same image as the Lambda examples, in its HTTP mode on ECS Fargate behind an Application Load
# Balancer (HTTPS; HTTP redirects), in an existing VPC. Clients send the bearer token from SSM.
module "estat_mcp" {
  source = "../../modules/estat-mcp-ecs"

  name         = var.name
  image_uri    = var.image_uri
  architecture = var.architecture
  cpu          = var.cpu
  memory       = var.memory
  min_capacity = var.min_capacity
  max_capacity = var.max_capacity

  vpc_id              = var.vpc_id
  alb_subnet_ids      = var.alb_subnet_ids
  task_subnet_ids     = var.task_subnet_ids
  assign_public_ip    = var.assign_public_ip
  certificate_arn     = var.certificate_arn
  allowed_cidr_blocks = var.allowed_cidr_blocks

  app_id_ssm_parameter_name     = var.app_id_ssm_parameter_name
  auth_token_ssm_parameter_name = var.auth_token_ssm_parameter_name

  enable_aws_data_backends       = var.enable_aws_data_backends
  aws_cli_extra_log_group_arns   = var.aws_cli_extra_log_group_arns
  aws_cli_account_wide_log_reads = var.aws_cli_account_wide_log_reads

  # Add-ons (for example an auth mode) set extra settings and grant their own resources.
  environment_variables  = var.environment_variables
  extra_policy_documents = var.extra_policy_documents

  ecr_force_delete          = var.force_destroy
  data_bucket_force_destroy = var.force_destroy
  athena_force_destroy      = var.force_destroy
}
