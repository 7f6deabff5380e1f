locals {
  function_name  = var.name
  log_group_name = "/aws/lambda/${var.name}"
  # Never deployed: see aws_lambda_function.this.
  destroy_only_image_uri = "placeholder.invalid/image-uri-is-required@sha256:${format("%064d", 0)}"
  region                 = module.common.region
  # Lambda-only settings; the module's own variables win over environment_variables on a name clash.
  environment_variables = merge(var.environment_variables, module.common.environment, {
    ESTAT_MCP_DISPATCH = var.dispatch_mode
  })
}

################################################################################
# What the Lambda and ECS targets share: ECR repository, data stores, SSM parameters, the role's
# policy documents and the server's environment (../estat-mcp-common)
################################################################################

module "common" {
  source = "../estat-mcp-common"

  name                  = var.name
  tags                  = var.tags
  log_group_name        = local.log_group_name
  log_retention_in_days = var.log_retention_in_days
  log_kms_key_arn       = var.log_kms_key_arn
  log_level             = var.log_level

  create_ecr_repository = var.create_ecr_repository
  ecr_repository_name   = var.ecr_repository_name
  ecr_keep_images       = var.ecr_keep_images
  ecr_force_delete      = var.ecr_force_delete

  app_id_ssm_parameter_name       = var.app_id_ssm_parameter_name
  create_app_id_ssm_parameter     = var.create_app_id_ssm_parameter
  auth_token_ssm_parameter_name   = var.auth_token_ssm_parameter_name
  create_auth_token_ssm_parameter = var.create_auth_token_ssm_parameter
  ssm_kms_key_arn                 = var.ssm_kms_key_arn

  enable_aws_data_backends           = var.enable_aws_data_backends
  create_data_bucket                 = var.create_data_bucket
  data_bucket_name                   = var.data_bucket_name
  data_prefix                        = var.data_prefix
  data_bucket_force_destroy          = var.data_bucket_force_destroy
  noncurrent_version_expiration_days = var.noncurrent_version_expiration_days
  create_glue_database               = var.create_glue_database
  glue_database_name                 = var.glue_database_name
  create_athena_workgroup            = var.create_athena_workgroup
  athena_workgroup_name              = var.athena_workgroup_name
  athena_bytes_scanned_cutoff        = var.athena_bytes_scanned_cutoff
  athena_force_destroy               = var.athena_force_destroy

  enable_aws_cli_read_access     = var.enable_aws_cli_read_access
  aws_cli_extra_log_group_arns   = var.aws_cli_extra_log_group_arns
  aws_cli_account_wide_log_reads = var.aws_cli_account_wide_log_reads
  extra_policy_documents         = var.extra_policy_documents
}

################################################################################
# Function
################################################################################

# Justification: X-Ray is optional for an MCP server; the structured logs carry request id, method, tool and duration.
#trivy:ignore:AWS-0066
resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_117:No VPC: the function calls the public e-Stat API and AWS endpoints; a VPC would need a NAT gateway (about $33/month) for no protection gained.
  #checkov:skip=CKV_AWS_116:No DLQ: the function is invoked synchronously through its URL, where a DLQ never receives anything.
  #checkov:skip=CKV_AWS_173:The environment holds only names and settings; secrets are in SSM SecureString parameters read at run time.
  #checkov:skip=CKV_AWS_272:Code signing does not apply to container images (Lambda supports it for .zip packages only); the image is pinned by digest instead.
  #checkov:skip=CKV_AWS_50:X-Ray tracing is optional for an MCP server; the structured logs carry the request id, method, tool and duration.
  #checkov:skip=CKV_AWS_115:Reserved concurrency is set through reserved_concurrent_executions (default 10); -1 lifts the cap on purpose.
  function_name = local.function_name
  description   = "estat-aws-mcp: MCP server for e-Stat and a guarded AWS CLI"
  role          = aws_iam_role.this.arn
  package_type  = "Image"
  # Without image_uri only a destroy can run: the placeholder satisfies the provider's validation
  # (so `terraform plan -destroy` / `destroy` need no variables) and the precondition below stops
  # any create or update from using it.
  image_uri     = coalesce(var.image_uri, local.destroy_only_image_uri)
  architectures = [var.architecture]
  memory_size   = var.memory_size
  timeout       = var.timeout

  reserved_concurrent_executions = var.reserved_concurrent_executions

  # Same CMD as the Dockerfile: Lambda (and moto) report image_config, so leaving it empty is a perpetual diff.
  image_config {
    command = var.image_command
  }

  environment {
    variables = local.environment_variables
  }

  tags = var.tags

  # The log group (in module.common) exists with its retention before the first invocation could
  # create it; the role may write to it.
  depends_on = [terraform_data.log_group, aws_iam_role_policy.logs]

  lifecycle {
    precondition {
      condition     = var.image_uri != null
      error_message = "image_uri is required (pinned by digest). Only the ECR repository can be applied without it (stage 1 of make deploy)."
    }
  }
}

################################################################################
# Function URL and who may invoke it
################################################################################

resource "aws_lambda_function_url" "this" {
  #checkov:skip=CKV_AWS_258:authorization_type is validated NONE|AWS_IAM and defaults to AWS_IAM; NONE is the documented public mode, guarded by the bearer token in the function.
  function_name      = aws_lambda_function.this.function_name
  authorization_type = var.authorization_type
  invoke_mode        = "BUFFERED"

  dynamic "cors" {
    for_each = var.cors == null ? [] : [var.cors]
    content {
      allow_origins     = cors.value.allow_origins
      allow_methods     = cors.value.allow_methods
      allow_headers     = cors.value.allow_headers
      expose_headers    = cors.value.expose_headers
      allow_credentials = cors.value.allow_credentials
      max_age           = cors.value.max_age
    }
  }
}

# Declared explicitly (not left to the provider's create-time default) so that switching
# authorization_type in place adds or removes exactly these statements. Since October 2025 a
# Function URL call needs both lambda:InvokeFunctionUrl and lambda:InvokeFunction.
resource "aws_lambda_permission" "public_invoke_url" {
  count = var.authorization_type == "NONE" ? 1 : 0

  #checkov:skip=CKV_AWS_301:Public by design in NONE mode: the statement only admits calls through the URL (FunctionUrlAuthType NONE) and the function checks the bearer token.
  statement_id           = "estat-mcp-public-invoke-url"
  action                 = "lambda:InvokeFunctionUrl"
  function_name          = aws_lambda_function.this.function_name
  principal              = "*"
  function_url_auth_type = "NONE"
}

resource "aws_lambda_permission" "public_invoke_function" {
  count = var.authorization_type == "NONE" ? 1 : 0

  #checkov:skip=CKV_AWS_301:Public by design in NONE mode: lambda:InvokedViaFunctionUrl limits the statement to calls through the URL, never the Invoke API.
  statement_id             = "estat-mcp-public-invoke-function"
  action                   = "lambda:InvokeFunction"
  function_name            = aws_lambda_function.this.function_name
  principal                = "*"
  invoked_via_function_url = true # provider>=6.28
}

resource "aws_lambda_permission" "iam_invoke_url" {
  for_each = var.authorization_type == "AWS_IAM" ? toset(var.invoker_principals) : toset([])

  statement_id           = "estat-mcp-iam-invoke-url-${substr(sha256(each.value), 0, 12)}"
  action                 = "lambda:InvokeFunctionUrl"
  function_name          = aws_lambda_function.this.function_name
  principal              = each.value
  function_url_auth_type = "AWS_IAM"
}

resource "aws_lambda_permission" "iam_invoke_function" {
  for_each = var.authorization_type == "AWS_IAM" ? toset(var.invoker_principals) : toset([])

  statement_id             = "estat-mcp-iam-invoke-function-${substr(sha256(each.value), 0, 12)}"
  action                   = "lambda:InvokeFunction"
  function_name            = aws_lambda_function.this.function_name
  principal                = each.value
  invoked_via_function_url = true # provider>=6.28
}

# What the function waits for in module.common: its log group only. `depends_on = [module.common]` would
# also wait for everything else there, such as the data bucket's lifecycle rule, which the provider takes
# ~55 s to confirm.
resource "terraform_data" "log_group" {
  input = module.common.log_group_name
}
