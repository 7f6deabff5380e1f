terraform {
  required_version = ">= 1.11" # write-only arguments (value_wo)

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 6.28 is the first release with aws_lambda_permission.invoked_via_function_url, which the
      # public (NONE) Function URL needs since October 2025. The module's own tests run on 5.100
      # through a test-only override file: see README.md ("Provider versions").
      version = ">= 6.28"
    }
  }
}
