################################################################################
# Execution role: one least-privilege policy document per concern
################################################################################

locals {
  # Read-only actions behind run_aws_cli's default allowlist (CloudWatch Logs and CloudWatch
  # metrics/alarms), grouped by what IAM lets us scope them to. Keep in sync with
  # src/estat_aws_mcp/awscli/policy.json (tests/terraform checks both directions).
  aws_cli_log_group_actions = [
    "logs:DescribeLogGroups",
    "logs:DescribeLogStreams",
    "logs:DescribeMetricFilters",
    "logs:DescribeSubscriptionFilters",
    "logs:FilterLogEvents",
    "logs:GetLogEvents",
    "logs:StartQuery",
  ]
  # Logs Insights query handles and the metric APIs have no resource-level permissions in IAM.
  aws_cli_unscoped_actions = [
    "cloudwatch:DescribeAlarmsForMetric",
    "cloudwatch:GetMetricData",
    "cloudwatch:GetMetricStatistics",
    "cloudwatch:ListMetrics",
    "logs:DescribeQueries",
    "logs:GetQueryResults",
    "logs:StopQuery",
  ]
  aws_cli_alarm_actions = [
    "cloudwatch:DescribeAlarmHistory",
    "cloudwatch:DescribeAlarms",
  ]
  aws_cli_log_group_arns = coalesce(var.aws_cli_log_group_arns, ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*"])
  aws_cli_alarm_arns     = ["arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:*"]
}

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

# 1. Its own log group, nothing else.
data "aws_iam_policy_document" "logs" {
  statement {
    sid       = "WriteOwnLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${local.log_group_arn}:*"]
  }
}

resource "aws_iam_role_policy" "logs" {
  name   = "logs"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.logs.json
}

# 2. run_aws_cli's read-only CloudWatch Logs and metrics/alarms.
data "aws_iam_policy_document" "aws_cli_read" {
  count = var.enable_aws_cli_read_access ? 1 : 0

  statement {
    sid       = "ReadLogGroups"
    actions   = local.aws_cli_log_group_actions
    resources = local.aws_cli_log_group_arns
  }

  statement {
    sid       = "ReadAlarms"
    actions   = local.aws_cli_alarm_actions
    resources = local.aws_cli_alarm_arns
  }

  # trivy:ignore:AVD-AWS-0057 (see the resource below)
  statement {
    sid       = "ReadMetricsAndQueryResults"
    actions   = local.aws_cli_unscoped_actions
    resources = ["*"]
  }
}

# trivy:ignore:AVD-AWS-0057 These CloudWatch metric and Logs Insights query actions support no resource-level permissions; they are read-only.
resource "aws_iam_role_policy" "aws_cli_read" {
  count = var.enable_aws_cli_read_access ? 1 : 0

  name   = "aws-cli-read"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.aws_cli_read[0].json
}

# 3. The data bucket: only the dataset prefix and the Athena results prefix.
data "aws_iam_policy_document" "data_bucket_access" {
  count = local.data_enabled ? 1 : 0

  statement {
    sid       = "ListOwnPrefixes"
    actions   = ["s3:ListBucket"]
    resources = [local.data_bucket_arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values = [
        var.data_prefix,
        "${var.data_prefix}/*",
        local.athena_results_prefix,
        "${local.athena_results_prefix}/*",
      ]
    }
  }

  statement {
    sid       = "BucketLocation"
    actions   = ["s3:GetBucketLocation"]
    resources = [local.data_bucket_arn]
  }

  statement {
    sid = "ReadWriteOwnObjects"
    actions = [
      "s3:AbortMultipartUpload",
      "s3:DeleteObject",
      "s3:GetObject",
      "s3:ListMultipartUploadParts",
      "s3:PutObject",
    ]
    resources = [
      "${local.data_bucket_arn}/${var.data_prefix}/*",
      "${local.data_bucket_arn}/${local.athena_results_prefix}/*",
    ]
  }
}

resource "aws_iam_role_policy" "data_bucket" {
  count = local.data_enabled ? 1 : 0

  name   = "data-bucket"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.data_bucket_access[0].json
}

# 4. The Athena workgroup.
data "aws_iam_policy_document" "athena" {
  count = local.data_enabled ? 1 : 0

  statement {
    sid = "QueryInOwnWorkgroup"
    actions = [
      "athena:GetQueryExecution",
      "athena:GetQueryResults",
      "athena:GetWorkGroup",
      "athena:StartQueryExecution",
      "athena:StopQueryExecution",
    ]
    resources = [local.athena_workgroup_arn]
  }
}

resource "aws_iam_role_policy" "athena" {
  count = local.data_enabled ? 1 : 0

  name   = "athena"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.athena[0].json
}

# 5. The Glue database and its tables (Iceberg catalog; Athena reads through it too).
data "aws_iam_policy_document" "glue" {
  count = local.data_enabled ? 1 : 0

  statement {
    sid = "ReadWriteOwnDatabaseTables"
    actions = [
      "glue:BatchGetPartition",
      "glue:CreateTable",
      "glue:DeleteTable",
      "glue:GetDatabase",
      "glue:GetPartition",
      "glue:GetPartitions",
      "glue:GetTable",
      "glue:GetTables",
      "glue:UpdateTable",
    ]
    resources = [local.glue_catalog_arn, local.glue_database_arn, local.glue_tables_arn]
  }
}

resource "aws_iam_role_policy" "glue" {
  count = local.data_enabled ? 1 : 0

  name   = "glue"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.glue[0].json
}

# 6. The SSM parameters (appId, bearer token) and, when one is used, their KMS key.
data "aws_iam_policy_document" "ssm" {
  statement {
    sid       = "ReadOwnParameters"
    actions   = ["ssm:GetParameter"]
    resources = local.ssm_parameter_arns
  }

  dynamic "statement" {
    for_each = var.ssm_kms_key_arn == null ? [] : [var.ssm_kms_key_arn]
    content {
      sid       = "DecryptParametersThroughSsm"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["ssm.${local.region}.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role_policy" "ssm" {
  name   = "ssm-parameters"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.ssm.json
}
