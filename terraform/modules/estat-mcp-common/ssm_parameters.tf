################################################################################
# SSM SecureString parameters (optional creation)
#
# Values never enter Terraform state: the module either references parameters that you created
# with `aws ssm put-parameter` (the default), or creates them with a non-secret placeholder,
# written through the write-only value_wo (so Terraform neither stores nor reads the value back),
# that you overwrite with `aws ssm put-parameter --overwrite`. The function reads them at run time.
################################################################################

resource "aws_ssm_parameter" "app_id" {
  count = var.create_app_id_ssm_parameter ? 1 : 0

  #checkov:skip=CKV_AWS_337:A customer managed key is optional (ssm_kms_key_arn); the AWS managed key needs no key policy and encrypts the value at rest.
  name             = var.app_id_ssm_parameter_name
  description      = "e-Stat appId for estat-aws-mcp (set with aws ssm put-parameter --overwrite)"
  type             = "SecureString"
  key_id           = var.ssm_kms_key_arn
  value_wo         = local.placeholder_ssm_value
  value_wo_version = 1
  tags             = var.tags
}

resource "aws_ssm_parameter" "auth_token" {
  count = var.create_auth_token_ssm_parameter && var.auth_token_ssm_parameter_name != null ? 1 : 0

  #checkov:skip=CKV_AWS_337:A customer managed key is optional (ssm_kms_key_arn); the AWS managed key needs no key policy and encrypts the value at rest.
  name             = var.auth_token_ssm_parameter_name
  description      = "Bearer token of the estat-aws-mcp Function URL (set with aws ssm put-parameter --overwrite)"
  type             = "SecureString"
  key_id           = var.ssm_kms_key_arn
  value_wo         = local.placeholder_ssm_value
  value_wo_version = 1
  tags             = var.tags
}
