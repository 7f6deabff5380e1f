# A public Function URL (authorization_type NONE) guarded by a bearer token that the function
# reads from SSM. Cursor and Claude Code connect with just the URL and an Authorization header.
module "estat_mcp" {
  source = "../../modules/estat-mcp-lambda"

  name         = var.name
  image_uri    = var.image_uri
  architecture = var.architecture

  reserved_concurrent_executions = var.reserved_concurrent_executions

  authorization_type            = var.authorization_type
  app_id_ssm_parameter_name     = var.app_id_ssm_parameter_name
  auth_token_ssm_parameter_name = var.auth_token_ssm_parameter_name

  enable_aws_data_backends = var.enable_aws_data_backends

  aws_cli_extra_log_group_arns   = var.aws_cli_extra_log_group_arns
  aws_cli_account_wide_log_reads = var.aws_cli_account_wide_log_reads

  ecr_force_delete          = var.force_destroy
  data_bucket_force_destroy = var.force_destroy
  athena_force_destroy      = var.force_destroy
}
