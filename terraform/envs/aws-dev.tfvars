# Example real environment (replace the account-specific values). Remote state:
# envs/aws-dev.s3.tfbackend with envs/s3_backend_override.tf (see docs/terraform.md).
name        = "ml-platform"
environment = "aws-dev"
region      = "eu-west-1"

vpc_cidr           = "10.20.0.0/16"
az_count           = 3
single_nat_gateway = true # dev: one NAT gateway; production keeps one per AZ

kubernetes_version                   = "1.33"
cluster_endpoint_public_access       = true
cluster_endpoint_public_access_cidrs = ["203.0.113.0/24"] # office / VPN egress
cluster_admin_arns                   = ["arn:aws:iam::123456789012:role/platform-admins"]

node_groups = {
  general = {
    instance_types = ["m6i.large", "m6a.large"]
    min_size       = 2
    max_size       = 6
    desired_size   = 3
    labels         = { "platform/pool" = "general" }
  }
}

tls_mode         = "acm"
service_hostname = "model-api.dev.example.com"
route53_zone_ids = ["Z0123456789ABCDEFGHIJ"]

github_repository = "example-org/ml-platform"
# GitHub Environments allowed to assume the deploy role (.github/workflows: image push, deploy).
github_environments = ["production", "ecr-publish"]

log_retention_in_days = 90
