terraform {
  required_version = ">= 1.11" # write-only arguments (value_wo) in ../estat-mcp-common

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100"
    }
  }
}
