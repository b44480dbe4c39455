locals {
  emulated = var.aws_endpoint_url != null
}

provider "aws" {
  region = var.region

  # Emulated AWS only (aws_endpoint_url set, e.g. TF_VAR_aws_endpoint_url from
  # bin/aws-emulator); credentials always come from the environment.
  skip_credentials_validation = local.emulated
  skip_metadata_api_check     = local.emulated
  skip_region_validation      = local.emulated
  s3_use_path_style           = local.emulated

  dynamic "endpoints" {
    for_each = local.emulated ? [var.aws_endpoint_url] : []

    content {
      acm            = endpoints.value
      autoscaling    = endpoints.value
      cloudwatchlogs = endpoints.value
      ec2            = endpoints.value
      ecr            = endpoints.value
      eks            = endpoints.value
      iam            = endpoints.value
      kms            = endpoints.value
      route53        = endpoints.value
      s3             = endpoints.value
      secretsmanager = endpoints.value
      sts            = endpoints.value
    }
  }

  default_tags {
    tags = local.tags
  }
}
