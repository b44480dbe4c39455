# Emulated AWS (moto, scripts/aws_emulator.py) with local state. The endpoint is not set here:
# export TF_VAR_aws_endpoint_url=<endpoint printed by aws_emulator.py start>.
name        = "ml-platform"
environment = "local"
region      = "eu-west-1"

az_count           = 3
single_nat_gateway = true

# Disposable: destroy must leave nothing behind.
kms_deletion_window_in_days     = 7
secrets_recovery_window_in_days = 0
ecr_force_delete                = true
log_retention_in_days           = 7

tls_mode         = "cert-manager"
# cert-manager mode needs a zone (DNS-01 answers only there); emulated: Terraform never calls
# Route53 in this mode, the id only appears in cert-manager's IAM policy.
route53_zone_ids = ["Z0LOCALEXAMPLEZONE000"]
service_hostname = "model-api.local.example.com"

github_repository   = "example-org/ml-platform"
github_environments = ["local"]

node_groups = {
  general = {
    instance_types = ["t3.medium"]
    min_size       = 1
    max_size       = 3
    desired_size   = 2
  }
}

# Emulator gaps (moto 5.2.5 answers 404 to these EKS APIs); real environments keep the defaults.
enable_cluster_addons = false # moto has no CreateAddon/DescribeAddon
enable_access_entries = false # moto has no CreateAccessEntry/AssociateAccessPolicy
enable_access_config  = false # moto drops accessConfig (authenticationMode), so every plan would replace the cluster
enable_node_groups    = false # moto invents remoteAccess {ec2SshKey = "eksKeypair"} on every node group, so each plan would replace it
