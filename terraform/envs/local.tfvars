# Emulated AWS (moto, bin/aws-emulator) with local state. The endpoint is not set here:
# export TF_VAR_aws_endpoint_url=<endpoint printed by bin/aws-emulator start>.
# name, environment, region, kubernetes_version, tls_mode and service_hostname are NOT set here:
# the inventory owns them and the infra stage passes them (-var); preflight fails when a var file
# sets one of them to another value than the inventory.

az_count           = 3
single_nat_gateway = true

# Disposable: destroy must leave nothing behind.
kms_deletion_window_in_days     = 7
secrets_recovery_window_in_days = 0
ecr_force_delete                = true
log_retention_in_days           = 7

# cert-manager mode needs a zone too (issue 21); Terraform never calls Route53 in that mode, the
# id only lands in IAM ARNs.
route53_zone_ids = ["Z0LOCALEXAMPLEZONE000"]

github_repository          = "example-org/ml-platform"
github_publish_environment = "ecr-publish"
github_deploy_environment  = "local"
# The emulated account is empty: this environment owns the GitHub OIDC provider.
github_oidc_provider = "create"

node_groups = {
  general = {
    instance_types = ["t3.medium"]
    min_size       = 1
    max_size       = 3
    desired_size   = 2
  }
}

# Emulator gaps (moto 5.2.5 answers 404 to these EKS APIs or drops these fields); real
# environments keep the defaults. docs/terraform.md lists what is therefore not exercised.
enable_cluster_addons = false # moto has no CreateAddon/DescribeAddon/DescribeAddonVersions (also skips the EBS CSI add-on; its IAM role is still created)
enable_access_entries = false # moto has no CreateAccessEntry/AssociateAccessPolicy (creator admin, deploy group)
enable_access_config  = false # moto drops accessConfig (authenticationMode), so every plan would replace the cluster
enable_node_groups    = false # moto invents remoteAccess {ec2SshKey = "eksKeypair"} on every node group, so each plan would replace it
upgrade_support_type  = null  # moto does not store upgradePolicy, so every plan would show a change
