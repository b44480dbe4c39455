terraform {
  required_version = ">= 1.11.0, < 2.0.0"

  # Local state for the emulated environment; the infra stage passes its path with
  # -backend-config=path=build/<inventory>/terraform/terraform.tfstate. Real environments replace
  # this block with S3 (envs/s3_backend_override.tf).
  backend "local" {}

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }
}
