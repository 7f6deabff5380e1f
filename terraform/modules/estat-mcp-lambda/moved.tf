# Resources that moved into ../estat-mcp-common (shared with the ECS target) or under one
# for_each: existing deployments keep them, `terraform plan` shows moves, not replacements.

moved {
  from = aws_ecr_repository.this
  to   = module.common.aws_ecr_repository.this
}

moved {
  from = aws_ecr_lifecycle_policy.this
  to   = module.common.aws_ecr_lifecycle_policy.this
}

moved {
  from = aws_cloudwatch_log_group.this
  to   = module.common.aws_cloudwatch_log_group.this
}

moved {
  from = aws_s3_bucket.data
  to   = module.common.aws_s3_bucket.data
}

moved {
  from = aws_s3_bucket_public_access_block.data
  to   = module.common.aws_s3_bucket_public_access_block.data
}

moved {
  from = aws_s3_bucket_ownership_controls.data
  to   = module.common.aws_s3_bucket_ownership_controls.data
}

moved {
  from = aws_s3_bucket_server_side_encryption_configuration.data
  to   = module.common.aws_s3_bucket_server_side_encryption_configuration.data
}

moved {
  from = aws_s3_bucket_versioning.data
  to   = module.common.aws_s3_bucket_versioning.data
}

moved {
  from = aws_s3_bucket_lifecycle_configuration.data
  to   = module.common.aws_s3_bucket_lifecycle_configuration.data
}

moved {
  from = aws_s3_bucket_policy.data
  to   = module.common.aws_s3_bucket_policy.data
}

moved {
  from = aws_glue_catalog_database.this
  to   = module.common.aws_glue_catalog_database.this
}

moved {
  from = aws_athena_workgroup.this
  to   = module.common.aws_athena_workgroup.this
}

moved {
  from = aws_ssm_parameter.app_id
  to   = module.common.aws_ssm_parameter.app_id
}

moved {
  from = aws_ssm_parameter.auth_token
  to   = module.common.aws_ssm_parameter.auth_token
}

moved {
  from = aws_iam_role_policy.ssm
  to   = aws_iam_role_policy.this["ssm-parameters"]
}

moved {
  from = aws_iam_role_policy.aws_cli_read[0]
  to   = aws_iam_role_policy.this["aws-cli-read"]
}

moved {
  from = aws_iam_role_policy.data_bucket[0]
  to   = aws_iam_role_policy.this["data-bucket"]
}

moved {
  from = aws_iam_role_policy.athena[0]
  to   = aws_iam_role_policy.this["athena"]
}

moved {
  from = aws_iam_role_policy.glue[0]
  to   = aws_iam_role_policy.this["glue"]
}
