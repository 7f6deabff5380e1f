################################################################################
# Execution role: the shared least-privilege policy documents (../estat-mcp-common/policies.tf),
# one inline policy per concern
################################################################################

data "aws_iam_policy_document" "assume_role" {
  statement {
    sid     = "LambdaAssumeRole"
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name                 = "${var.name}-function"
  description          = "Execution role of the ${var.name} Lambda function"
  assume_role_policy   = data.aws_iam_policy_document.assume_role.json
  max_session_duration = 3600

  tags = var.tags
}

# Its own log group, nothing else.
resource "aws_iam_role_policy" "logs" {
  name   = "logs"
  role   = aws_iam_role.this.id
  policy = module.common.log_write_policy_json
}

# ssm-parameters, aws-cli-read, data-bucket, athena, glue (each when enabled) and extra_policy_documents.
resource "aws_iam_role_policy" "this" {
  for_each = module.common.policy_documents

  name   = each.key
  role   = aws_iam_role.this.id
  policy = each.value
}
