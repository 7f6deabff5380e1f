# Plan-time tests with a mocked provider: `terraform test` in the module folder. The policy
# statements are checked here, in their single source; the Lambda and ECS modules' tests check
# that their roles attach these documents.

mock_provider "aws" {
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_region" {
    defaults = { name = "ap-northeast-1" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
}

variables {
  name           = "estat-aws-mcp"
  log_group_name = "/aws/lambda/estat-aws-mcp"
}

run "defaults_create_every_data_store_and_reference_the_parameters" {
  command = plan

  assert {
    condition     = length(aws_s3_bucket.data) == 1 && length(aws_glue_catalog_database.this) == 1 && length(aws_athena_workgroup.this) == 1
    error_message = "the data stores are created by default"
  }
  assert {
    condition     = length(aws_ecr_repository.this) == 1 && aws_ecr_repository.this[0].image_tag_mutability == "IMMUTABLE" && aws_ecr_repository.this[0].image_scanning_configuration[0].scan_on_push
    error_message = "the repository must be immutable and scanned on push"
  }
  assert {
    condition     = aws_athena_workgroup.this[0].configuration[0].enforce_workgroup_configuration
    error_message = "the workgroup must enforce its configuration"
  }
  assert {
    condition     = aws_s3_bucket_versioning.data[0].versioning_configuration[0].status == "Enabled"
    error_message = "the data bucket must be versioned"
  }
  assert {
    condition     = alltrue([aws_s3_bucket_public_access_block.data[0].block_public_acls, aws_s3_bucket_public_access_block.data[0].block_public_policy, aws_s3_bucket_public_access_block.data[0].ignore_public_acls, aws_s3_bucket_public_access_block.data[0].restrict_public_buckets])
    error_message = "public access must be blocked"
  }
  assert {
    condition     = one(data.aws_iam_policy_document.data_bucket[0].statement).effect == "Deny" && one(one(data.aws_iam_policy_document.data_bucket[0].statement).condition).variable == "aws:SecureTransport"
    error_message = "the bucket policy must deny non-TLS requests"
  }
  assert {
    condition     = length(aws_ssm_parameter.app_id) == 0 && length(aws_ssm_parameter.auth_token) == 0
    error_message = "parameters are referenced, not created, by default"
  }
  assert {
    condition     = aws_cloudwatch_log_group.this.retention_in_days == 30 && output.log_group_name == "/aws/lambda/estat-aws-mcp"
    error_message = "the server's own log group with its retention"
  }
  assert {
    condition = output.environment == {
      ESTAT_MCP_LOG_LEVEL              = "INFO"
      ESTAT_APP_ID_SSM_PARAMETER       = "/estat-aws-mcp/estat-app-id"
      ESTAT_MCP_STORAGE_URI            = "s3://estat-aws-mcp-data-123456789012-ap-northeast-1/estat"
      ESTAT_MCP_SQL_ENGINE             = "athena"
      ESTAT_MCP_ATHENA_WORKGROUP       = "estat-aws-mcp"
      ESTAT_MCP_ATHENA_DATABASE        = "estat_mcp"
      ESTAT_MCP_ATHENA_OUTPUT_LOCATION = "s3://estat-aws-mcp-data-123456789012-ap-northeast-1/estat-athena-results/"
      ESTAT_MCP_GLUE_DATABASE          = "estat_mcp"
    }
    error_message = "the environment names the data stores (and no token parameter unless configured)"
  }
  assert {
    condition     = keys(output.policy_documents) == ["athena", "aws-cli-read", "data-bucket", "glue", "ssm-parameters"]
    error_message = "one document per concern"
  }
}

run "least_privilege_statements" {
  command = plan

  variables {
    auth_token_ssm_parameter_name = "/estat-aws-mcp/auth-token"
  }

  # No statement of any policy uses a wildcard action.
  assert {
    condition = alltrue(flatten([
      for document in [data.aws_iam_policy_document.logs, data.aws_iam_policy_document.aws_cli_read[0], data.aws_iam_policy_document.data_bucket_access[0], data.aws_iam_policy_document.athena[0], data.aws_iam_policy_document.glue[0], data.aws_iam_policy_document.ssm] : [
        for statement in document.statement : [for action in statement.actions : !strcontains(action, "*")]
      ]
    ]))
    error_message = "wildcard action in a policy of the server's role"
  }
  # "*" resources only for the read actions IAM cannot scope.
  assert {
    condition = alltrue(flatten([
      for document in [data.aws_iam_policy_document.logs, data.aws_iam_policy_document.data_bucket_access[0], data.aws_iam_policy_document.athena[0], data.aws_iam_policy_document.glue[0], data.aws_iam_policy_document.ssm] : [
        for statement in document.statement : [for resource in statement.resources : resource != "*"]
      ]
    ]))
    error_message = "only run_aws_cli's unscoped reads may use a * resource"
  }
  assert {
    condition     = [for s in data.aws_iam_policy_document.aws_cli_read[0].statement : s.sid if contains(s.resources, "*")] == ["ReadWithoutResourceLevelPermissions"]
    error_message = "by default exactly one aws-cli-read statement needs a * resource"
  }
  assert {
    condition     = alltrue([for s in data.aws_iam_policy_document.aws_cli_read[0].statement : alltrue([for a in s.actions : can(regex("^(logs|cloudwatch):(Describe|Get|List|FilterLogEvents|TestMetricFilter)", a))])])
    error_message = "run_aws_cli's permissions must be reads of CloudWatch Logs and CloudWatch"
  }
  assert {
    condition = [for s in data.aws_iam_policy_document.aws_cli_read[0].statement : s.resources if s.sid == "ReadLogGroups"][0] == toset([
      "arn:aws:logs:ap-northeast-1:123456789012:log-group:/aws/lambda/estat-aws-mcp",
      "arn:aws:logs:ap-northeast-1:123456789012:log-group:/aws/lambda/estat-aws-mcp:*",
    ])
    error_message = "run_aws_cli reads only the server's own log group by default"
  }
  assert {
    condition     = length(setintersection(flatten([for s in data.aws_iam_policy_document.aws_cli_read[0].statement : s.actions]), ["logs:GetQueryResults", "logs:GetLogRecord", "logs:DescribeQueries", "logs:ListAnomalies", "logs:GetLogAnomalyDetector"])) == 0
    error_message = "no account-wide log content reads by default"
  }
  assert {
    condition     = one(data.aws_iam_policy_document.logs.statement).resources == toset(["arn:aws:logs:ap-northeast-1:123456789012:log-group:/aws/lambda/estat-aws-mcp:*"])
    error_message = "log writes only to the server's own log group"
  }
  assert {
    condition = [for s in data.aws_iam_policy_document.data_bucket_access[0].statement : s.resources if s.sid == "ReadWriteOwnObjects"][0] == toset([
      "arn:aws:s3:::estat-aws-mcp-data-123456789012-ap-northeast-1/estat/*",
      "arn:aws:s3:::estat-aws-mcp-data-123456789012-ap-northeast-1/estat-athena-results/*",
    ])
    error_message = "object access only under the data and Athena results prefixes"
  }
  assert {
    condition     = one(data.aws_iam_policy_document.athena[0].statement).resources == toset(["arn:aws:athena:ap-northeast-1:123456789012:workgroup/estat-aws-mcp"])
    error_message = "Athena only in its own workgroup"
  }
  assert {
    condition = one(data.aws_iam_policy_document.glue[0].statement).resources == toset([
      "arn:aws:glue:ap-northeast-1:123456789012:catalog",
      "arn:aws:glue:ap-northeast-1:123456789012:database/estat_mcp",
      "arn:aws:glue:ap-northeast-1:123456789012:table/estat_mcp/*",
    ])
    error_message = "Glue only on its database and its tables"
  }
  assert {
    condition = one(data.aws_iam_policy_document.ssm.statement).resources == toset([
      "arn:aws:ssm:ap-northeast-1:123456789012:parameter/estat-aws-mcp/estat-app-id",
      "arn:aws:ssm:ap-northeast-1:123456789012:parameter/estat-aws-mcp/auth-token",
    ])
    error_message = "SSM reads only of the two parameters"
  }
  assert {
    condition     = length(data.aws_iam_policy_document.ssm.statement) == 1
    error_message = "no KMS statement without a customer managed key"
  }
  assert {
    condition     = output.environment["ESTAT_MCP_AUTH_TOKEN_SSM_PARAMETER"] == "/estat-aws-mcp/auth-token"
    error_message = "the server must know where its bearer token is"
  }
}

run "other_log_groups_only_when_listed" {
  command = plan

  variables {
    aws_cli_extra_log_group_arns   = ["arn:aws:logs:ap-northeast-1:123456789012:log-group:/aws/lambda/other-fn:*"]
    aws_cli_account_wide_log_reads = true
  }

  assert {
    condition = [for s in data.aws_iam_policy_document.aws_cli_read[0].statement : s.resources if s.sid == "ReadLogGroups"][0] == toset([
      "arn:aws:logs:ap-northeast-1:123456789012:log-group:/aws/lambda/estat-aws-mcp",
      "arn:aws:logs:ap-northeast-1:123456789012:log-group:/aws/lambda/estat-aws-mcp:*",
      "arn:aws:logs:ap-northeast-1:123456789012:log-group:/aws/lambda/other-fn:*",
    ])
    error_message = "the listed log groups are added to the server's own"
  }
  assert {
    condition     = [for s in data.aws_iam_policy_document.aws_cli_read[0].statement : s.sid if contains(s.resources, "*")] == ["ReadQueryResultsOfAnyLogGroup", "ReadWithoutResourceLevelPermissions"]
    error_message = "the opt-in account-wide reads add exactly one * statement"
  }
  assert {
    condition     = contains([for s in data.aws_iam_policy_document.aws_cli_read[0].statement : s.sid], "ReadLogAnomalyDetectors")
    error_message = "the opt-in includes the anomaly detectors"
  }
}

run "optional_resources_off" {
  command = plan

  variables {
    create_ecr_repository      = false
    enable_aws_data_backends   = false
    enable_aws_cli_read_access = false
  }

  assert {
    condition     = length(aws_ecr_repository.this) == 0 && length(aws_ecr_lifecycle_policy.this) == 0
    error_message = "no repository when create_ecr_repository is false"
  }
  assert {
    condition     = length(aws_s3_bucket.data) == 0 && length(aws_glue_catalog_database.this) == 0 && length(aws_athena_workgroup.this) == 0
    error_message = "no data stores when the AWS data backends are off"
  }
  assert {
    condition     = keys(output.policy_documents) == ["ssm-parameters"]
    error_message = "no permissions for resources that are off"
  }
  assert {
    condition     = output.environment["ESTAT_MCP_SQL_ENGINE"] == "duckdb" && output.environment["ESTAT_MCP_STORAGE_URI"] == "/tmp/estat-data"
    error_message = "the embedded engines on /tmp when the data backends are off"
  }
  assert {
    condition     = output.repository_url == null && output.data_bucket_name == null
    error_message = "outputs of resources that are off are null"
  }
}

run "existing_bucket_and_created_parameters_with_a_kms_key" {
  command = plan

  variables {
    create_data_bucket              = false
    data_bucket_name                = "my-existing-bucket"
    data_prefix                     = "team/estat"
    create_app_id_ssm_parameter     = true
    auth_token_ssm_parameter_name   = "estat-token"
    create_auth_token_ssm_parameter = true
    ssm_kms_key_arn                 = "arn:aws:kms:ap-northeast-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  }

  assert {
    condition     = length(aws_s3_bucket.data) == 0 && output.storage_uri == "s3://my-existing-bucket/team/estat"
    error_message = "an existing bucket is used, not created"
  }
  assert {
    condition     = contains([for s in data.aws_iam_policy_document.data_bucket_access[0].statement : s.resources if s.sid == "ReadWriteOwnObjects"][0], "arn:aws:s3:::my-existing-bucket/team/estat/*")
    error_message = "permissions follow the existing bucket and prefix"
  }
  assert {
    condition     = aws_ssm_parameter.app_id[0].type == "SecureString" && aws_ssm_parameter.auth_token[0].type == "SecureString" && aws_ssm_parameter.app_id[0].key_id == var.ssm_kms_key_arn
    error_message = "created parameters are SecureStrings under the given key"
  }
  assert {
    condition     = aws_ssm_parameter.app_id[0].value_wo_version == 1 && aws_ssm_parameter.auth_token[0].value_wo_version == 1
    error_message = "the placeholder goes through the write-only value_wo (never stored), written once"
  }
  assert {
    condition     = [for s in data.aws_iam_policy_document.ssm.statement : s.resources if s.sid == "DecryptParametersThroughSsm"][0] == toset([var.ssm_kms_key_arn])
    error_message = "kms:Decrypt only on the parameters' key"
  }
  assert {
    condition     = contains([for s in data.aws_iam_policy_document.ssm.statement : s.resources if s.sid == "ReadOwnParameters"][0], "arn:aws:ssm:ap-northeast-1:123456789012:parameter/estat-token")
    error_message = "a parameter name without a leading slash still gets a valid ARN"
  }
}

run "rejects_a_bad_prefix_and_a_reused_policy_name" {
  command = plan
  variables {
    data_prefix            = "/estat/"
    extra_policy_documents = { "logs" = "{}" }
  }
  expect_failures = [var.data_prefix, var.extra_policy_documents]
}

run "rejects_a_log_group_pattern_that_is_not_an_arn_and_an_odd_retention" {
  command = plan
  variables {
    aws_cli_extra_log_group_arns = ["*"]
    log_retention_in_days        = 10
  }
  expect_failures = [var.aws_cli_extra_log_group_arns, var.log_retention_in_days]
}

run "rejects_a_default_bucket_name_longer_than_s3_allows" {
  command = plan
  variables {
    name = "estat-aws-mcp-with-a-very-long-name-xyz"
  }
  expect_failures = [aws_s3_bucket.data]
}
