################################################################################
# Two roles, both assumed by ECS tasks of this account only:
# - the task execution role (ECS pulls the image, the awslogs driver writes the logs);
# - the task role (what the server itself calls): the same least-privilege documents as the
#   Lambda function's role, from ../estat-mcp-common/policies.tf.
################################################################################

locals {
  # <account>.dkr.ecr.<region>.amazonaws.com/<repository>@sha256:... -> [account, region, repository]
  image_ecr     = try(regex("^([0-9]{12})\\.dkr\\.ecr\\.([a-z0-9-]+)\\.amazonaws\\.com(?:\\.cn)?/([^@]+)@", var.image_uri), null)
  pull_from_ecr = var.create_ecr_repository || local.image_ecr != null
  pull_repository_arn = (
    var.create_ecr_repository ? module.common.repository_arn :
    local.image_ecr == null ? null : "arn:${module.common.partition}:ecr:${local.image_ecr[1]}:${local.image_ecr[0]}:repository/${local.image_ecr[2]}"
  )
}

data "aws_iam_policy_document" "assume_role" {
  statement {
    sid     = "EcsTasksOfThisAccount"
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [module.common.account_id]
    }
  }
}

resource "aws_iam_role" "execution" {
  name                 = "${var.name}-task-execution"
  description          = "ECS task execution role of ${var.name}: pulls the image, writes the logs"
  assume_role_policy   = data.aws_iam_policy_document.assume_role.json
  max_session_duration = 3600

  tags = var.tags
}

data "aws_iam_policy_document" "execution" {
  # Its own log group, nothing else (the shared log-writer document).
  source_policy_documents = [module.common.log_write_policy_json]

  dynamic "statement" {
    for_each = local.pull_from_ecr ? [1] : []
    content {
      sid       = "EcrLogin"
      actions   = ["ecr:GetAuthorizationToken"]
      resources = ["*"] # no resource-level permission exists for it
    }
  }

  dynamic "statement" {
    for_each = local.pull_from_ecr ? [local.pull_repository_arn] : []
    content {
      sid       = "PullOwnImage"
      actions   = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role_policy" "execution" {
  name   = "pull-image-write-logs"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}

resource "aws_iam_role" "task" {
  name                 = "${var.name}-task"
  description          = "Task role of ${var.name}: what the MCP server may call (same policies as the Lambda function's role)"
  assume_role_policy   = data.aws_iam_policy_document.assume_role.json
  max_session_duration = 3600

  tags = var.tags
}

# ssm-parameters, aws-cli-read, data-bucket, athena, glue (each when enabled) and extra_policy_documents.
resource "aws_iam_role_policy" "task" {
  for_each = module.common.policy_documents

  name   = each.key
  role   = aws_iam_role.task.id
  policy = each.value
}
