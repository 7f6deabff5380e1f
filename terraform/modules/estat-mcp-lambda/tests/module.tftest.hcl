# Plan-time tests with a mocked provider: `terraform test` in the module folder (see README).

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
  image_uri = "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/estat-aws-mcp@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
}

run "defaults_are_iam_auth_with_every_data_store" {
  command = plan

  assert {
    condition     = aws_lambda_function_url.this.authorization_type == "AWS_IAM" && aws_lambda_function_url.this.invoke_mode == "BUFFERED"
    error_message = "the default URL must be AWS_IAM and BUFFERED"
  }
  assert {
    condition     = length(aws_lambda_permission.public_invoke_url) == 0 && length(aws_lambda_permission.public_invoke_function) == 0
    error_message = "an AWS_IAM URL must not carry public permissions"
  }
  assert {
    condition     = length(aws_lambda_permission.iam_invoke_url) == 0 && length(aws_lambda_permission.iam_invoke_function) == 0
    error_message = "no invoker_principals, no resource-policy grants"
  }
  assert {
    condition     = length(aws_s3_bucket.data) == 1 && length(aws_glue_catalog_database.this) == 1 && length(aws_athena_workgroup.this) == 1
    error_message = "the data stores are created by default"
  }
  assert {
    condition     = length(aws_ecr_repository.this) == 1 && aws_ecr_repository.this[0].image_tag_mutability == "IMMUTABLE" && aws_ecr_repository.this[0].image_scanning_configuration[0].scan_on_push
    error_message = "the repository must be immutable and scanned on push"
  }
  assert {
    condition     = tolist(aws_lambda_function.this.image_config[0].command) == tolist(["estat_aws_mcp.lambda_handler.handler"])
    error_message = "image_config must match the Dockerfile CMD"
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables["ESTAT_MCP_STORAGE_URI"] == "s3://estat-aws-mcp-data-123456789012-ap-northeast-1/estat"
    error_message = "the storage URI must point at the data prefix"
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables["ESTAT_MCP_SQL_ENGINE"] == "athena"
    error_message = "the data backends select Athena"
  }
  assert {
    condition     = !contains(keys(aws_lambda_function.this.environment[0].variables), "ESTAT_MCP_AUTH_TOKEN_SSM_PARAMETER")
    error_message = "no token parameter configured, no token variable"
  }
  assert {
    condition     = aws_cloudwatch_log_group.this.retention_in_days == 30 && aws_cloudwatch_log_group.this.name == "/aws/lambda/estat-aws-mcp"
    error_message = "the function's own log group with its retention"
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
}

run "least_privilege_statements" {
  command = plan

  variables {
    auth_token_ssm_parameter_name = "/estat-aws-mcp/auth-token"
  }

  # No statement of any execution-role policy uses a wildcard action.
  assert {
    condition = alltrue(flatten([
      for document in [data.aws_iam_policy_document.logs, data.aws_iam_policy_document.aws_cli_read[0], data.aws_iam_policy_document.data_bucket_access[0], data.aws_iam_policy_document.athena[0], data.aws_iam_policy_document.glue[0], data.aws_iam_policy_document.ssm] : [
        for statement in document.statement : [for action in statement.actions : !strcontains(action, "*")]
      ]
    ]))
    error_message = "wildcard action in an execution-role policy"
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
    error_message = "exactly one aws-cli-read statement needs a * resource"
  }
  assert {
    condition     = alltrue([for s in data.aws_iam_policy_document.aws_cli_read[0].statement : alltrue([for a in s.actions : can(regex("^(logs|cloudwatch):(Describe|Get|List|FilterLogEvents|TestMetricFilter)", a))])])
    error_message = "run_aws_cli's permissions must be reads of CloudWatch Logs and CloudWatch"
  }
  assert {
    condition     = one(data.aws_iam_policy_document.logs.statement).resources == toset(["arn:aws:logs:ap-northeast-1:123456789012:log-group:/aws/lambda/estat-aws-mcp:*"])
    error_message = "log writes only to the function's own log group"
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
}

run "public_url_declares_both_invoke_permissions" {
  command = plan

  variables {
    authorization_type            = "NONE"
    auth_token_ssm_parameter_name = "/estat-aws-mcp/auth-token"
  }

  assert {
    condition     = aws_lambda_permission.public_invoke_url[0].action == "lambda:InvokeFunctionUrl" && aws_lambda_permission.public_invoke_url[0].principal == "*" && aws_lambda_permission.public_invoke_url[0].function_url_auth_type == "NONE"
    error_message = "public URL: InvokeFunctionUrl for * with FunctionUrlAuthType NONE"
  }
  assert {
    condition     = aws_lambda_permission.public_invoke_function[0].action == "lambda:InvokeFunction" && aws_lambda_permission.public_invoke_function[0].principal == "*"
    error_message = "public URL: InvokeFunction for * (through the URL only)"
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables["ESTAT_MCP_AUTH_TOKEN_SSM_PARAMETER"] == "/estat-aws-mcp/auth-token"
    error_message = "the function must know where its bearer token is"
  }
}

run "iam_auth_with_invoker_principals" {
  command = plan

  variables {
    invoker_principals = ["210987654321", "arn:aws:iam::210987654321:role/caller"]
  }

  assert {
    condition     = length(aws_lambda_permission.iam_invoke_url) == 2 && length(aws_lambda_permission.iam_invoke_function) == 2
    error_message = "each invoker principal gets both invoke actions"
  }
  assert {
    condition     = alltrue([for p in aws_lambda_permission.iam_invoke_url : p.function_url_auth_type == "AWS_IAM"])
    error_message = "cross-account URL grants are bound to AWS_IAM"
  }
  assert {
    condition     = length(aws_lambda_permission.public_invoke_url) == 0
    error_message = "no public grant in AWS_IAM mode"
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
    condition     = length(aws_iam_role_policy.data_bucket) == 0 && length(aws_iam_role_policy.athena) == 0 && length(aws_iam_role_policy.glue) == 0 && length(aws_iam_role_policy.aws_cli_read) == 0
    error_message = "no permissions for resources that are off"
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables["ESTAT_MCP_SQL_ENGINE"] == "duckdb" && aws_lambda_function.this.environment[0].variables["ESTAT_MCP_STORAGE_URI"] == "/tmp/estat-data"
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
    condition     = length(aws_s3_bucket.data) == 0 && aws_lambda_function.this.environment[0].variables["ESTAT_MCP_STORAGE_URI"] == "s3://my-existing-bucket/team/estat"
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

run "cors_for_browser_clients" {
  command = plan

  variables {
    cors = { allow_origins = ["https://inspector.example.com"] }
  }

  assert {
    condition     = tolist(aws_lambda_function_url.this.cors[0].allow_origins) == tolist(["https://inspector.example.com"])
    error_message = "CORS origins come from the variable"
  }
  assert {
    condition     = contains(aws_lambda_function_url.this.cors[0].allow_headers, "mcp-protocol-version") && contains(aws_lambda_function_url.this.cors[0].allow_headers, "authorization")
    error_message = "the MCP and auth headers are allowed by default"
  }
}

run "rejects_cors_without_origins" {
  command = plan
  variables {
    cors = { allow_origins = [] }
  }
  expect_failures = [var.cors]
}

run "rejects_an_unknown_authorization_type" {
  command = plan
  variables {
    authorization_type = "PUBLIC"
  }
  expect_failures = [var.authorization_type]
}

run "rejects_an_image_by_tag" {
  command = plan
  variables {
    image_uri = "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/estat-aws-mcp:latest"
  }
  expect_failures = [var.image_uri]
}

run "rejects_an_unknown_architecture" {
  command = plan
  variables {
    architecture = "arm"
  }
  expect_failures = [var.architecture]
}

run "rejects_memory_and_timeout_out_of_range" {
  command = plan
  variables {
    memory_size = 64
    timeout     = 901
  }
  expect_failures = [var.memory_size, var.timeout]
}

run "rejects_zero_reserved_concurrency" {
  command = plan
  variables {
    reserved_concurrent_executions = 0
  }
  expect_failures = [var.reserved_concurrent_executions]
}

run "rejects_a_retention_cloudwatch_does_not_offer" {
  command = plan
  variables {
    log_retention_in_days = 10
  }
  expect_failures = [var.log_retention_in_days]
}

run "rejects_a_wildcard_invoker" {
  command = plan
  variables {
    invoker_principals = ["*"]
  }
  expect_failures = [var.invoker_principals]
}

run "rejects_a_bad_name_and_prefix" {
  command = plan
  variables {
    name        = "Estat_MCP"
    data_prefix = "/estat/"
  }
  expect_failures = [var.name, var.data_prefix]
}

run "requires_an_image_for_the_function" {
  command = plan
  variables {
    image_uri = null
  }
  expect_failures = [aws_lambda_function.this]
}

run "rejects_a_default_bucket_name_longer_than_s3_allows" {
  command = plan
  variables {
    name = "estat-aws-mcp-with-a-very-long-name-xyz"
  }
  expect_failures = [aws_s3_bucket.data]
}
