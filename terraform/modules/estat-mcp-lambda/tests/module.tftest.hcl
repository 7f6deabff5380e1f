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
    condition     = output.log_group_name == "/aws/lambda/estat-aws-mcp"
    error_message = "the function's own log group with its retention"
  }
}

run "role_attaches_the_shared_policy_documents" {
  command = plan

  variables {
    auth_token_ssm_parameter_name = "/estat-aws-mcp/auth-token"
    extra_policy_documents        = { "oauth-table" = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }

  # The statements themselves are tested in ../estat-mcp-common/tests (their single source).
  assert {
    condition     = keys(aws_iam_role_policy.this) == ["athena", "aws-cli-read", "data-bucket", "glue", "oauth-table", "ssm-parameters"]
    error_message = "one inline policy per shared document, extra documents included"
  }
  assert {
    condition     = alltrue([for name, policy in aws_iam_role_policy.this : policy.name == name && policy.policy == module.common.policy_documents[name]])
    error_message = "each inline policy is the shared document of its name"
  }
  assert {
    condition     = aws_iam_role_policy.logs.policy == module.common.log_write_policy_json
    error_message = "the log policy is the shared log-writer document"
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables["ESTAT_MCP_DISPATCH"] == "inprocess" && aws_lambda_function.this.environment[0].variables["ESTAT_MCP_LOG_LEVEL"] == "INFO"
    error_message = "the function's environment adds the Lambda-only dispatch mode to the shared settings"
  }
}

run "extra_environment_never_overrides_the_module_settings" {
  command = plan

  variables {
    environment_variables = { ESTAT_MCP_AUTH_MODE = "oauth", ESTAT_MCP_SQL_ENGINE = "duckdb" }
  }

  assert {
    condition     = aws_lambda_function.this.environment[0].variables["ESTAT_MCP_AUTH_MODE"] == "oauth" && aws_lambda_function.this.environment[0].variables["ESTAT_MCP_SQL_ENGINE"] == "athena"
    error_message = "extra variables are added; the module's own win on a clash"
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
    condition     = keys(aws_iam_role_policy.this) == ["ssm-parameters"]
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

run "rejects_a_wildcard_invoker" {
  command = plan
  variables {
    invoker_principals = ["*"]
  }
  expect_failures = [var.invoker_principals]
}

run "rejects_a_bad_name" {
  command = plan
  variables {
    name = "Estat_MCP"
  }
  expect_failures = [var.name]
}

run "requires_an_image_for_the_function" {
  command = plan
  variables {
    image_uri = null
  }
  expect_failures = [aws_lambda_function.this]
}
