################################################################################
# The least-privilege policy documents of the role the server runs as, one per concern. The
# Lambda module attaches them to its execution role; the ECS module attaches "logs" to the task
# execution role (the awslogs driver writes the logs) and the others to the task role.
################################################################################

locals {
  # IAM actions behind run_aws_cli's default allowlist (src/estat_aws_mcp/awscli/policy.json:
  # read-only CloudWatch Logs and CloudWatch metrics/alarms), grouped by what IAM lets us scope
  # them to. tests/terraform checks that the deployed role grants exactly the allowlist's actions (the
  # account-wide log reads included when aws_cli_account_wide_log_reads is true).
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
  # Reads that IAM cannot limit to log groups although they return log content: Logs Insights
  # results of any query in the account (found with DescribeQueries) and the log samples of any
  # anomaly detector. Off by default (aws_cli_account_wide_log_reads).
  aws_cli_anomaly_detector_actions = [
    "logs:GetLogAnomalyDetector",
    "logs:ListAnomalies",
  ]
  aws_cli_account_wide_log_content_actions = [
    "logs:DescribeQueries",
    "logs:GetLogRecord",
    "logs:GetQueryResults",
  ]
  aws_cli_alarm_actions = [
    "cloudwatch:DescribeAlarmHistory",
    "cloudwatch:DescribeAlarms",
  ]
  aws_cli_dashboard_actions     = ["cloudwatch:GetDashboard"]
  aws_cli_insight_rule_actions  = ["cloudwatch:GetInsightRuleReport"]
  aws_cli_metric_stream_actions = ["cloudwatch:GetMetricStream"]
  # Listing/describe calls and the metric APIs have no resource-level permissions in IAM (or span
  # several resource types): they need "*". All are read-only and return metadata or metrics (IAM
  # cannot narrow GetMetricData to the server's own metrics), never log content.
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
    "logs:DescribeQueryDefinitions",
    "logs:DescribeResourcePolicies",
    "logs:ListLogAnomalyDetectors",
    "logs:ListLogGroups",
    "logs:ListTagsForResource",
    "logs:TestMetricFilter",
  ]
  # The server's own log group by default; others only when listed in aws_cli_extra_log_group_arns.
  aws_cli_log_group_arns = distinct(concat([local.log_group_arn, "${local.log_group_arn}:*"], var.aws_cli_extra_log_group_arns))
  aws_cli_arn_stem       = "arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}"
  aws_cli_account_wide_statements = [
    {
      sid       = "ReadLogAnomalyDetectors"
      actions   = local.aws_cli_anomaly_detector_actions
      resources = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:anomaly-detector:*"]
    },
    {
      sid       = "ReadQueryResultsOfAnyLogGroup"
      actions   = local.aws_cli_account_wide_log_content_actions
      resources = ["*"]
    },
  ]
}

# Write to its own log group, nothing else.
data "aws_iam_policy_document" "logs" {
  statement {
    sid       = "WriteOwnLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${local.log_group_arn}:*"]
  }
}

data "aws_iam_policy_document" "aws_cli_read" {
  count = var.enable_aws_cli_read_access ? 1 : 0

  statement {
    sid       = "ReadLogGroups"
    actions   = local.aws_cli_log_group_actions
    resources = local.aws_cli_log_group_arns
  }

  # Only with aws_cli_account_wide_log_reads (see the locals above).
  dynamic "statement" {
    for_each = var.aws_cli_account_wide_log_reads ? local.aws_cli_account_wide_statements : []
    content {
      sid       = statement.value.sid
      actions   = statement.value.actions
      resources = statement.value.resources
    }
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

locals {
  # Keys are fixed by the switches alone (never by computed values): targets for_each over them.
  policy_documents = merge(
    { "ssm-parameters" = data.aws_iam_policy_document.ssm.json },
    var.enable_aws_cli_read_access ? { "aws-cli-read" = data.aws_iam_policy_document.aws_cli_read[0].json } : {},
    local.data_enabled ? {
      "data-bucket" = data.aws_iam_policy_document.data_bucket_access[0].json
      "athena"      = data.aws_iam_policy_document.athena[0].json
      "glue"        = data.aws_iam_policy_document.glue[0].json
    } : {},
    var.extra_policy_documents,
  )
}
