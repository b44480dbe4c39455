# Example real environment (replace the account-specific values). Remote state:
# envs/aws-dev.s3.tfbackend with envs/s3_backend_override.tf, both used by the infra stage
# (playbooks/infra.yml) for inventories/aws-dev (see docs/terraform.md).
# name, environment, region, kubernetes_version, tls_mode and service_hostname are NOT set here:
# inventories/aws-dev/group_vars/all/main.yml owns them and the infra stage passes them (-var);
# preflight fails, naming both values, when this file sets one of them differently.

vpc_cidr           = "10.20.0.0/16"
az_count           = 3
single_nat_gateway = true # dev: one NAT gateway; production keeps one per AZ

# EKS API: private endpoint for in-VPC runners and nodes; the public endpoint only for the stated
# egress CIDRs (office/VPN). GitHub-hosted runners are not listed (their address ranges are
# thousands of CIDRs, EKS allows 40): the deploy job runs on a runner with a listed egress or in
# the VPC (docs/terraform.md, "Reaching the API").
cluster_endpoint_public_access       = true
cluster_endpoint_public_access_cidrs = ["203.0.113.0/24"] # office / VPN egress
# The identity that runs site.yml gets cluster-admin automatically
# (enable_cluster_creator_admin_permissions); these are the other administrators.
cluster_admin_arns = ["arn:aws:iam::123456789012:role/platform-admins"]

# A new account has no AWSServiceRoleForAutoScaling until its first Auto Scaling group, and the
# platform key's policy names it: create it here once per account (false if it already exists).
create_autoscaling_service_linked_role = false

node_groups = {
  general = {
    instance_types = ["m6i.large", "m6a.large"]
    min_size       = 2
    max_size       = 6
    desired_size   = 3
    labels         = { "platform/pool" = "general" }
  }
}

route53_zone_ids = ["Z0123456789ABCDEFGHIJ"]

# Environments are recreated in dev: a deleted secret must not block its successor.
secrets_recovery_window_in_days = 0

github_repository = "example-org/ml-platform"
# One role per GitHub environment: image.yml (ecr-publish, no reviewers) can only push images;
# deploy.yml (production, required reviewers) can only reach the cluster.
github_publish_environment = "ecr-publish"
github_deploy_environment  = "production"
# The first environment of the account creates the GitHub OIDC provider; every other one says
# "existing" (it is looked up, and survives their destroy).
github_oidc_provider = "create"
# The deploy job reads the platform outputs from this state (same bucket/key as
# envs/aws-dev.s3.tfbackend).
terraform_state_read = {
  bucket = "acme-terraform-state-123456789012-eu-west-1"
  key    = "ml-platform/aws-dev/terraform.tfstate"
}

log_retention_in_days = 90
