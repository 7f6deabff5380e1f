################################################################################
# What every compute target of estat-aws-mcp shares (the Lambda module and the ECS module call it):
# the ECR repository, the server's log group, the data stores, the optional SSM parameters, the
# least-privilege policy documents of the role the server runs as (policies.tf) and the server's
# environment.
################################################################################

data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  account_id = data.aws_caller_identity.current.account_id

  log_group_arn = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${var.log_group_name}"

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

  # The settings the server reads (src/estat_aws_mcp/settings.py); the targets add their own.
  environment = merge(
    {
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
# The server's log group (created before the function or the tasks could create it)
################################################################################

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_338:Retention is a variable (default 30 days): request logs hold no secrets and a year of them is cost without use for most deployments.
  #checkov:skip=CKV_AWS_158:KMS is optional through log_kms_key_arn; CloudWatch Logs encrypts at rest by default.
  name              = var.log_group_name
  retention_in_days = var.log_retention_in_days
  kms_key_id        = var.log_kms_key_arn

  tags = var.tags
}
