# A Function URL that only SigV4-signed callers can reach (authorization_type AWS_IAM). Clients
# sign with mcp-proxy-for-aws or the project's SigV4 client helper; no bearer token is needed.
module "estat_mcp" {
  source = "../../modules/estat-mcp-lambda"

  name         = var.name
  image_uri    = var.image_uri
  architecture = var.architecture

  reserved_concurrent_executions = var.reserved_concurrent_executions

  authorization_type        = var.authorization_type
  app_id_ssm_parameter_name = var.app_id_ssm_parameter_name

  enable_aws_data_backends = var.enable_aws_data_backends

  aws_cli_extra_log_group_arns   = var.aws_cli_extra_log_group_arns
  aws_cli_account_wide_log_reads = var.aws_cli_account_wide_log_reads

  ecr_force_delete          = var.force_destroy
  data_bucket_force_destroy = var.force_destroy
  athena_force_destroy      = var.force_destroy
}

# What a caller in this account needs: since October 2025 a Function URL call is authorised for
# lambda:InvokeFunctionUrl AND lambda:InvokeFunction. Attach it to your own role or user.
data "aws_iam_policy_document" "invoke" {
  statement {
    sid       = "InvokeEstatMcpUrl"
    actions   = ["lambda:InvokeFunctionUrl"]
    resources = [module.estat_mcp.function_arn]
    condition {
      test     = "StringEquals"
      variable = "lambda:FunctionUrlAuthType"
      values   = ["AWS_IAM"]
    }
  }

  statement {
    sid       = "InvokeEstatMcpFunctionThroughUrl"
    actions   = ["lambda:InvokeFunction"]
    resources = [module.estat_mcp.function_arn]
    condition {
      test     = "Bool"
      variable = "lambda:InvokedViaFunctionUrl"
      values   = ["true"]
    }
  }
}

resource "aws_iam_policy" "invoke" {
  name        = "${var.name}-invoke"
  description = "Call the ${var.name} MCP server through its AWS_IAM Function URL"
  policy      = data.aws_iam_policy_document.invoke.json
}

resource "aws_iam_role_policy_attachment" "invoke" {
  for_each = toset(var.caller_role_names)

  role       = each.value
  policy_arn = aws_iam_policy.invoke.arn
}
