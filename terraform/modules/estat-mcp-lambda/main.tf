data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  account_id = data.aws_caller_identity.current.account_id

  function_name  = var.name
  log_group_name = "/aws/lambda/${var.name}"
  log_group_arn  = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${local.log_group_name}"

  repository_name = coalesce(var.ecr_repository_name, var.name)

  data_enabled     = var.enable_aws_data_backends
  data_bucket_name = local.data_enabled ? coalesce(var.data_bucket_name, "${var.name}-data-${local.account_id}-${local.region}") : null
  data_bucket_arn  = local.data_enabled ? "arn:${local.partition}:s3:::${local.data_bucket_name}" : null
  storage_uri      = local.data_enabled ? "s3://${local.data_bucket_name}/${var.data_prefix}" : "/tmp/estat-data"
  # Athena results live beside the datasets, under a prefix of their own.
  athena_results_prefix  = "${var.data_prefix}-athena-results"
  athena_output_location = local.data_enabled ? "s3://${local.data_bucket_name}/${local.athena_results_prefix}/" : null
  athena_workgroup_name  = coalesce(var.athena_workgroup_name, var.name)
  athena_workgroup_arn   = "arn:${local.partition}:athena:${local.region}:${local.account_id}:workgroup/${local.athena_workgroup_name}"
  glue_catalog_arn       = "arn:${local.partition}:glue:${local.region}:${local.account_id}:catalog"
  glue_database_arn      = "arn:${local.partition}:glue:${local.region}:${local.account_id}:database/${var.glue_database_name}"
  glue_tables_arn        = "arn:${local.partition}:glue:${local.region}:${local.account_id}:table/${var.glue_database_name}/*"
  ssm_parameter_names    = compact([var.app_id_ssm_parameter_name, var.auth_token_ssm_parameter_name])
  ssm_parameter_arn_stem = "arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter"
  ssm_parameter_arns     = [for n in local.ssm_parameter_names : "${local.ssm_parameter_arn_stem}${startswith(n, "/") ? "" : "/"}${n}"]
  placeholder_ssm_value  = "placeholder: set with aws ssm put-parameter --overwrite"
  image_config_command   = var.image_command
  reserved_concurrency   = var.reserved_concurrent_executions
  module_environment_vars = merge(
    {
      ESTAT_MCP_DISPATCH         = var.dispatch_mode
      ESTAT_MCP_LOG_LEVEL        = var.log_level
      ESTAT_APP_ID_SSM_PARAMETER = var.app_id_ssm_parameter_name
      ESTAT_MCP_STORAGE_URI      = local.storage_uri
      ESTAT_MCP_SQL_ENGINE       = local.data_enabled ? "athena" : "duckdb"
    },
    var.auth_token_ssm_parameter_name == null ? {} : {
      ESTAT_MCP_AUTH_TOKEN_SSM_PARAMETER = var.auth_token_ssm_parameter_name
    },
    local.data_enabled ? {
      ESTAT_MCP_ATHENA_WORKGROUP       = local.athena_workgroup_name
      ESTAT_MCP_ATHENA_DATABASE        = var.glue_database_name
      ESTAT_MCP_ATHENA_OUTPUT_LOCATION = local.athena_output_location
      ESTAT_MCP_GLUE_DATABASE          = var.glue_database_name
    } : {},
  )
  environment_variables = merge(var.environment_variables, local.module_environment_vars)
}

################################################################################
# ECR repository (stage 1 of the deployment: it must exist before the image)
################################################################################

# Justification: AES256 (ECR's default) protects an image built from public source; a customer managed key adds cost for no confidentiality gain.
#trivy:ignore:AWS-0033
resource "aws_ecr_repository" "this" {
  count = var.create_ecr_repository ? 1 : 0

  #checkov:skip=CKV_AWS_136:AES256 (ECR's default encryption) protects a public-source image; a CMK adds cost and a key policy to manage for no confidentiality gain.
  name                 = local.repository_name
  image_tag_mutability = "IMMUTABLE"
  force_delete         = var.ecr_force_delete

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "AES256"
  }

  tags = var.tags
}

resource "aws_ecr_lifecycle_policy" "this" {
  count = var.create_ecr_repository ? 1 : 0

  repository = aws_ecr_repository.this[0].name
  policy = jsonencode({
    rules = [
      {
        rulePriority = 1
        description  = "Expire untagged images after one day"
        selection = {
          tagStatus   = "untagged"
          countType   = "sinceImagePushed"
          countUnit   = "days"
          countNumber = 1
        }
        action = { type = "expire" }
      },
      {
        rulePriority = 2
        description  = "Keep the last ${var.ecr_keep_images} images"
        selection = {
          tagStatus   = "any"
          countType   = "imageCountMoreThan"
          countNumber = var.ecr_keep_images
        }
        action = { type = "expire" }
      },
    ]
  })
}

################################################################################
# Logs
################################################################################

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_338:Retention is a variable (default 30 days): request logs hold no secrets and a year of them is cost without use for most deployments.
  #checkov:skip=CKV_AWS_158:KMS is optional through log_kms_key_arn; CloudWatch Logs encrypts at rest by default.
  name              = local.log_group_name
  retention_in_days = var.log_retention_in_days
  kms_key_id        = var.log_kms_key_arn

  tags = var.tags
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
  image_uri     = var.image_uri
  architectures = [var.architecture]
  memory_size   = var.memory_size
  timeout       = var.timeout

  reserved_concurrent_executions = local.reserved_concurrency

  # Same CMD as the Dockerfile: Lambda (and moto) report image_config, so leaving it empty is a perpetual diff.
  image_config {
    command = local.image_config_command
  }

  environment {
    variables = local.environment_variables
  }

  tags = var.tags

  # The log group exists (with its retention) before the first invocation could create it.
  depends_on = [aws_cloudwatch_log_group.this, aws_iam_role_policy.logs]

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
