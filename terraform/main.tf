data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

data "aws_availability_zones" "available" {
  #checkov:skip=CKV_AWS_394:Only the first az_count zones (sorted by name) are used, so a new zone does not change the choice; environments that must pin zones set availability_zones.
  count = length(var.availability_zones) == 0 ? 1 : 0

  state = "available"

  filter {
    name   = "opt-in-status"
    values = ["opt-in-not-required"]
  }
}

locals {
  prefix         = "${var.name}-${var.environment}"
  cluster_name   = local.prefix
  secrets_prefix = "${var.name}/${var.environment}/"
  account_id     = data.aws_caller_identity.current.account_id
  partition      = data.aws_partition.current.partition

  availability_zones = length(var.availability_zones) > 0 ? var.availability_zones : slice(
    data.aws_availability_zones.available[0].names, 0, var.az_count
  )

  tags = merge(var.tags, {
    "platform/name"        = var.name
    "platform/environment" = var.environment
    "platform/managed-by"  = "terraform"
  })
}

################################################################################
# KMS
################################################################################

locals {
  # The Auto Scaling service-linked role launches the managed node groups' instances, so it must
  # be able to use the key that encrypts their root volumes, or the instances never start
  # ("Client.InternalError: Client error on launch"). Its path and name are fixed by AWS
  # (https://docs.aws.amazon.com/autoscaling/ec2/userguide/autoscaling-service-linked-role.html).
  autoscaling_service_role_arn = "arn:${local.partition}:iam::${local.account_id}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"

  # A plain document (not aws_iam_policy_document) so `terraform test` asserts on its content.
  # The two Auto Scaling statements are those terraform-aws-modules/kms v4.2.0 writes for
  # key_service_roles_for_autoscaling (main.tf, KeyServiceRolesASG and
  # KeyServiceRolesASGPersistentVol), which terraform-aws-modules/eks v21.19.0 passes this role to
  # in its managed node group test (tests/eks-managed-node-group/main.tf, module "ebs_kms_key");
  # AWS documents the same in "Required AWS KMS key policy for use with encrypted volumes"
  # (https://docs.aws.amazon.com/autoscaling/ec2/userguide/key-policy-requirements-EBS-encryption.html).
  kms_key_policy = {
    Version = "2012-10-17"
    Statement = [
      {
        # AWS default key policy: IAM policies of this account decide (every role below that
        # is not a service-linked role gets key access through its own IAM policy).
        Sid       = "AccountAdministers"
        Effect    = "Allow"
        Principal = { AWS = "arn:${local.partition}:iam::${local.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*" # in a key policy "*" means this key
      },
      {
        Sid       = "CloudWatchLogsEncryptsPlatformLogs"
        Effect    = "Allow"
        Principal = { Service = "logs.${var.region}.amazonaws.com" }
        Action = [
          "kms:Encrypt*",
          "kms:Decrypt*",
          "kms:ReEncrypt*",
          "kms:GenerateDataKey*",
          "kms:Describe*",
        ]
        Resource = "*"
        Condition = {
          ArnLike = {
            "kms:EncryptionContext:aws:logs:arn" = "arn:${local.partition}:logs:${var.region}:${local.account_id}:log-group:*"
          }
        }
      },
      {
        Sid       = "AutoScalingUsesKeyForNodeVolumes"
        Effect    = "Allow"
        Principal = { AWS = local.autoscaling_service_role_arn }
        Action = [
          "kms:Encrypt",
          "kms:Decrypt",
          "kms:ReEncrypt*",
          "kms:GenerateDataKey*",
          "kms:DescribeKey",
        ]
        Resource = "*"
      },
      {
        Sid       = "AutoScalingAttachesEncryptedNodeVolumes"
        Effect    = "Allow"
        Principal = { AWS = local.autoscaling_service_role_arn }
        Action    = "kms:CreateGrant"
        Resource  = "*"
        Condition = {
          Bool = { "kms:GrantIsForAWSResource" = "true" }
        }
      },
    ]
  }
}

# KMS refuses a key policy that names a role that does not exist (MalformedPolicyDocument), and
# the Auto Scaling service-linked role only appears with the account's first Auto Scaling group.
# Only one environment per account may create it (create_autoscaling_service_linked_role).
resource "aws_iam_service_linked_role" "autoscaling" {
  count = var.create_autoscaling_service_linked_role ? 1 : 0

  aws_service_name = "autoscaling.amazonaws.com"
  description      = "Default Service-Linked Role enables access to AWS Services and Resources used or managed by Auto Scaling"
}

# One customer-managed key for the platform: Kubernetes secrets (envelope encryption),
# Secrets Manager, ECR, node volumes and the log groups.
resource "aws_kms_key" "this" {
  description             = "${local.prefix} platform key"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_deletion_window_in_days
  policy                  = jsonencode(local.kms_key_policy)

  depends_on = [aws_iam_service_linked_role.autoscaling]
}

resource "aws_kms_alias" "this" {
  name          = "alias/${local.prefix}"
  target_key_id = aws_kms_key.this.key_id
}

################################################################################
# Network
################################################################################

module "network" {
  source = "./modules/network"

  name               = local.prefix
  vpc_cidr           = var.vpc_cidr
  availability_zones = local.availability_zones
  cluster_name       = local.cluster_name

  enable_nat_gateway = var.enable_nat_gateway
  single_nat_gateway = var.single_nat_gateway

  enable_flow_logs            = var.enable_flow_logs
  flow_logs_retention_in_days = var.log_retention_in_days
  kms_key_arn                 = aws_kms_key.this.arn
}

################################################################################
# EKS
################################################################################

# The identity running Terraform (site.yml's infra stage). For an assumed role, its role ARN
# (issuer_arn), as terraform-aws-modules/eks v21 main.tf does for
# enable_cluster_creator_admin_permissions; EKS access entries want the role, not the session.
data "aws_iam_session_context" "current" {
  count = var.enable_access_entries && var.enable_cluster_creator_admin_permissions ? 1 : 0

  arn = data.aws_caller_identity.current.arn
}

locals {
  creator_arn = try(data.aws_iam_session_context.current[0].issuer_arn, null)
  admin_arns  = distinct(compact(concat(local.creator_arn == null ? [] : [local.creator_arn], var.cluster_admin_arns)))
}

module "eks" {
  source = "./modules/eks"

  cluster_name         = local.cluster_name
  kubernetes_version   = var.kubernetes_version
  upgrade_support_type = var.upgrade_support_type
  subnet_ids           = module.network.private_subnet_ids
  kms_key_arn          = aws_kms_key.this.arn

  endpoint_public_access       = var.cluster_endpoint_public_access
  endpoint_public_access_cidrs = var.cluster_endpoint_public_access_cidrs

  cluster_enabled_log_types     = var.cluster_enabled_log_types
  cluster_log_retention_in_days = var.log_retention_in_days
  enable_access_config          = var.enable_access_config

  enable_access_entries = var.enable_access_entries
  # Keys must be known at plan time: admins by position, the creator under its own key.
  access_entries = merge(
    { for i, arn in local.admin_arns : (arn == local.creator_arn ? "cluster-creator" : "admin-${i}") => {
      principal_arn = arn
      policy_name   = "AmazonEKSClusterAdminPolicy"
    } },
    # No EKS access policy: AmazonEKSEditPolicy covers neither the Namespace nor the custom
    # resources deploy.yml applies. The group is bound in-cluster by roles/platform_cluster.
    { github-deploy = {
      principal_arn     = module.github_oidc.deploy_role_arn
      kubernetes_groups = [var.deploy_kubernetes_group]
    } },
  )

  enable_cluster_addons  = var.enable_cluster_addons
  cluster_addons         = var.cluster_addons
  enable_ebs_csi_driver  = var.enable_ebs_csi_driver
  ebs_csi_driver_version = var.ebs_csi_driver_version

  node_groups = var.enable_node_groups ? var.node_groups : {}
}

################################################################################
# IAM for add-ons (IRSA)
################################################################################

module "addon_iam" {
  source = "./modules/addon_iam"

  name              = local.prefix
  cluster_name      = module.eks.cluster_name
  oidc_provider_arn = module.eks.oidc_provider_arn
  oidc_issuer_url   = module.eks.oidc_issuer_url
  service_accounts  = var.addon_service_accounts

  secrets_prefix = local.secrets_prefix
  kms_key_arn    = aws_kms_key.this.arn
  # cert-manager -> ACM: only when cert-manager issues the certificate.
  enable_acm_import = var.tls_mode == "cert-manager"

  route53_zone_ids = var.route53_zone_ids
}

################################################################################
# ECR
################################################################################

module "ecr" {
  source = "./modules/ecr"

  repository_name = "${var.name}/${var.ecr_repository_name}"
  kms_key_arn     = aws_kms_key.this.arn
  force_delete    = var.ecr_force_delete
}

################################################################################
# Secrets Manager
################################################################################

module "secrets" {
  source = "./modules/secrets"

  prefix                  = local.secrets_prefix
  kms_key_arn             = aws_kms_key.this.arn
  recovery_window_in_days = var.secrets_recovery_window_in_days
}

################################################################################
# GitHub Actions OIDC
################################################################################

module "github_oidc" {
  source = "./modules/github_oidc"

  create_oidc_provider = var.github_oidc_provider == "create"

  name_prefix          = local.prefix
  repository           = var.github_repository
  publish_environment  = var.github_publish_environment
  deploy_environment   = var.github_deploy_environment
  terraform_state_read = var.terraform_state_read

  ecr_repository_arn = module.ecr.repository_arn
  kms_key_arn        = aws_kms_key.this.arn
  region             = var.region
  # Built from the name so the role does not wait for the cluster.
  cluster_arn = "arn:${local.partition}:eks:${var.region}:${local.account_id}:cluster/${local.cluster_name}"
}

################################################################################
# ACM
################################################################################

module "acm" {
  source = "./modules/acm"

  # Switching acm -> cert-manager keeps the certificate while acm_certificate_retained is set,
  # so the listener never loses the certificate it serves (docs/secrets-and-tls.md, "Switching").
  create      = var.tls_mode == "acm" || var.acm_certificate_retained
  domain_name = var.service_hostname
  zone_id     = try(var.route53_zone_ids[0], null)
}
