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

data "aws_iam_policy_document" "kms" {
  #checkov:skip=CKV_AWS_109:Key policy: "*" is this key, and the account root statement delegates key access to IAM policies (AWS default key policy).
  #checkov:skip=CKV_AWS_111:Key policy: "*" is this key; write access is limited to the account (IAM) and CloudWatch Logs for this account's log groups.
  #checkov:skip=CKV_AWS_356:Key policy: a key policy's Resource "*" can only mean the key it is attached to.
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"] # in a key policy "*" means this key

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid = "CloudWatchLogsEncryptsPlatformLogs"
    actions = [
      "kms:Encrypt*",
      "kms:Decrypt*",
      "kms:ReEncrypt*",
      "kms:GenerateDataKey*",
      "kms:Describe*",
    ]
    resources = ["*"] # in a key policy "*" means this key

    principals {
      type        = "Service"
      identifiers = ["logs.${var.region}.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${var.region}:${local.account_id}:log-group:*"]
    }
  }
}

# One customer-managed key for the platform: Kubernetes secrets (envelope encryption),
# Secrets Manager, ECR, node volumes and the log groups.
resource "aws_kms_key" "this" {
  description             = "${local.prefix} platform key"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_deletion_window_in_days
  policy                  = data.aws_iam_policy_document.kms.json
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

module "eks" {
  source = "./modules/eks"

  cluster_name       = local.cluster_name
  kubernetes_version = var.kubernetes_version
  subnet_ids         = module.network.private_subnet_ids
  kms_key_arn        = aws_kms_key.this.arn

  endpoint_public_access       = var.cluster_endpoint_public_access
  endpoint_public_access_cidrs = var.cluster_endpoint_public_access_cidrs

  cluster_enabled_log_types     = var.cluster_enabled_log_types
  cluster_log_retention_in_days = var.log_retention_in_days
  enable_access_config          = var.enable_access_config

  enable_access_entries = var.enable_access_entries
  access_entries = merge(
    { for i, arn in var.cluster_admin_arns : "admin-${i}" => {
      principal_arn = arn
      policy_name   = "AmazonEKSClusterAdminPolicy"
    } },
    { github-deploy = {
      principal_arn = module.github_oidc.role_arn
      policy_name   = "AmazonEKSEditPolicy"
      namespaces    = var.deploy_namespaces
    } },
  )

  enable_cluster_addons = var.enable_cluster_addons
  cluster_addons        = var.cluster_addons

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

  create_oidc_provider = var.github_oidc_provider_arn == null
  oidc_provider_arn    = var.github_oidc_provider_arn

  role_name    = "${local.prefix}-github-deploy"
  repository   = var.github_repository
  environments = var.github_environments
  branches     = var.github_branches

  ecr_repository_arn = module.ecr.repository_arn
  kms_key_arn        = aws_kms_key.this.arn
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
