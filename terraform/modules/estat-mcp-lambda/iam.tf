################################################################################
# Execution role: one least-privilege policy document per concern
################################################################################

locals {
  # IAM actions behind run_aws_cli's default allowlist (src/estat_aws_mcp/awscli/policy.json:
  # read-only CloudWatch Logs and CloudWatch metrics/alarms), grouped by what IAM lets us scope
  # them to. tests/terraform checks that the deployed role grants exactly the allowlist's actions.
  aws_cli_log_group_actions = [
    "logs:DescribeFieldIndexes",
    "logs:DescribeIndexPolicies",
    "logs:DescribeLogStreams",
    "logs:DescribeMetricFilters",
    "logs:DescribeSubscriptionFilters",
    "logs:FilterLogEvents",
    "logs:GetDataProtectionPolicy",
    "logs:GetLogEvents",
    "logs:GetLogGroupFields",
    "logs:ListTagsLogGroup",
  ]
  aws_cli_anomaly_detector_actions = [
    "logs:GetLogAnomalyDetector",
    "logs:ListAnomalies",
  ]
  aws_cli_alarm_actions = [
    "cloudwatch:DescribeAlarmHistory",
    "cloudwatch:DescribeAlarms",
  ]
  aws_cli_dashboard_actions     = ["cloudwatch:GetDashboard"]
  aws_cli_insight_rule_actions  = ["cloudwatch:GetInsightRuleReport"]
  aws_cli_metric_stream_actions = ["cloudwatch:GetMetricStream"]
  # Listing/describe calls, Logs Insights results and the metric APIs have no resource-level
  # permissions in IAM (or span several resource types): they need "*". All are read-only.
  aws_cli_unscoped_actions = [
    "cloudwatch:DescribeAlarmsForMetric",
    "cloudwatch:DescribeAnomalyDetectors",
    "cloudwatch:DescribeInsightRules",
    "cloudwatch:GetMetricData",
    "cloudwatch:GetMetricStatistics",
    "cloudwatch:ListDashboards",
    "cloudwatch:ListManagedInsightRules",
    "cloudwatch:ListMetricStreams",
    "cloudwatch:ListMetrics",
    "cloudwatch:ListTagsForResource",
    "logs:DescribeAccountPolicies",
    "logs:DescribeDestinations",
    "logs:DescribeExportTasks",
    "logs:DescribeLogGroups",
    "logs:DescribeQueries",
    "logs:DescribeQueryDefinitions",
    "logs:DescribeResourcePolicies",
    "logs:GetLogRecord",
    "logs:GetQueryResults",
    "logs:ListLogAnomalyDetectors",
    "logs:ListLogGroups",
    "logs:ListTagsForResource",
    "logs:TestMetricFilter",
  ]
  aws_cli_log_group_arns = coalesce(var.aws_cli_log_group_arns, ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*"])
  aws_cli_arn_stem       = "arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}"
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
    sid       = "ReadLogAnomalyDetectors"
    actions   = local.aws_cli_anomaly_detector_actions
    resources = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:anomaly-detector:*"]
  }

  statement {
    sid       = "ReadAlarms"
    actions   = local.aws_cli_alarm_actions
    resources = ["${local.aws_cli_arn_stem}:alarm:*"]
  }

  statement {
    sid       = "ReadDashboards"
    actions   = local.aws_cli_dashboard_actions
    resources = ["arn:${local.partition}:cloudwatch::${local.account_id}:dashboard/*"]
  }

  statement {
    sid       = "ReadInsightRules"
    actions   = local.aws_cli_insight_rule_actions
    resources = ["${local.aws_cli_arn_stem}:insight-rule/*"]
  }

  statement {
    sid       = "ReadMetricStreams"
    actions   = local.aws_cli_metric_stream_actions
    resources = ["${local.aws_cli_arn_stem}:metric-stream/*"]
  }

  statement {
    sid       = "ReadWithoutResourceLevelPermissions"
    actions   = local.aws_cli_unscoped_actions
    resources = ["*"]
  }
}

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
