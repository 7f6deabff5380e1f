################################################################################
# Data bucket (optional): datasets, CSV/Parquet, Iceberg data and Athena results
################################################################################

# Justification: server access logs need a second bucket; the only writer is the function, whose API calls CloudTrail records.
#trivy:ignore:AWS-0089
resource "aws_s3_bucket" "data" {
  count = local.data_enabled && var.create_data_bucket ? 1 : 0

  #checkov:skip=CKV_AWS_144:Cross-region replication doubles storage cost for data that can be fetched again from e-Stat.
  #checkov:skip=CKV_AWS_145:SSE-S3 (AES256) encrypts at rest; the data is public statistics, so a CMK adds cost without confidentiality gain.
  #checkov:skip=CKV_AWS_18:Server access logging needs a second bucket; the only writer is the function, whose requests CloudTrail can record.
  #checkov:skip=CKV2_AWS_62:No consumer of event notifications exists for this bucket.
  bucket        = local.data_bucket_name
  force_destroy = var.data_bucket_force_destroy

  tags = var.tags

  lifecycle {
    precondition {
      condition     = length(local.data_bucket_name) <= 63
      error_message = "The default bucket name <name>-data-<account>-<region> is longer than 63 characters: set data_bucket_name."
    }
  }
}

resource "aws_s3_bucket_public_access_block" "data" {
  count = local.data_enabled && var.create_data_bucket ? 1 : 0

  bucket                  = aws_s3_bucket.data[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "data" {
  count = local.data_enabled && var.create_data_bucket ? 1 : 0

  bucket = aws_s3_bucket.data[0].id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

# Justification: SSE-S3 encrypts at rest; the data is public statistics, so a customer managed key adds cost and a key policy without confidentiality gain.
#trivy:ignore:AWS-0132
resource "aws_s3_bucket_server_side_encryption_configuration" "data" {
  count = local.data_enabled && var.create_data_bucket ? 1 : 0

  bucket = aws_s3_bucket.data[0].id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_versioning" "data" {
  count = local.data_enabled && var.create_data_bucket ? 1 : 0

  bucket = aws_s3_bucket.data[0].id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "data" {
  count = local.data_enabled && var.create_data_bucket ? 1 : 0

  bucket = aws_s3_bucket.data[0].id

  rule {
    id     = "expire-noncurrent-versions-and-stale-uploads"
    status = "Enabled"
    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.data]
}

data "aws_iam_policy_document" "data_bucket" {
  count = local.data_enabled && var.create_data_bucket ? 1 : 0

  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.data[0].arn,
      "${aws_s3_bucket.data[0].arn}/*",
    ]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "data" {
  count = local.data_enabled && var.create_data_bucket ? 1 : 0

  bucket = aws_s3_bucket.data[0].id
  policy = data.aws_iam_policy_document.data_bucket[0].json

  depends_on = [aws_s3_bucket_public_access_block.data]
}

################################################################################
# Glue database (the Iceberg namespace) and Athena workgroup (optional)
################################################################################

resource "aws_glue_catalog_database" "this" {
  count = local.data_enabled && var.create_glue_database ? 1 : 0

  name        = var.glue_database_name
  description = "Iceberg tables written by estat-aws-mcp (load_to_iceberg)"
  # Iceberg tables without an explicit location go under the data prefix.
  location_uri = "s3://${local.data_bucket_name}/${var.data_prefix}/iceberg/${var.glue_database_name}.db"

  tags = var.tags
}

resource "aws_athena_workgroup" "this" {
  count = local.data_enabled && var.create_athena_workgroup ? 1 : 0

  name          = local.athena_workgroup_name
  description   = "estat-aws-mcp queries (analyze_with_athena)"
  force_destroy = var.athena_force_destroy

  configuration {
    # Clients cannot override the results location, encryption or the scan limit.
    enforce_workgroup_configuration    = true
    publish_cloudwatch_metrics_enabled = true
    bytes_scanned_cutoff_per_query     = var.athena_bytes_scanned_cutoff

    result_configuration {
      output_location = local.athena_output_location
      encryption_configuration {
        encryption_option = "SSE_S3"
      }
    }
  }

  tags = var.tags
}
