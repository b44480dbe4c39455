data "aws_partition" "current" {}

locals {
  partition = data.aws_partition.current.partition

  # Add-ons the nodes need to become Ready go in before the node groups; the rest
  # (coredns) after, or they wait for schedulable nodes and time out.
  # The EBS CSI driver needs nodes for its controller, so it comes after compute.
  all_addons = merge(var.cluster_addons, var.enable_ebs_csi_driver ? {
    aws-ebs-csi-driver = {
      version              = var.ebs_csi_driver_version
      configuration_values = null
      before_compute       = false
    }
  } : {})
  addons                = var.enable_cluster_addons ? local.all_addons : {}
  addons_before_compute = { for k, v in local.addons : k => v if v.before_compute }
  addons_after_compute  = { for k, v in local.addons : k => v if !v.before_compute }

  # Pinned version, or the most recent one EKS lists for this Kubernetes version.
  addon_versions = { for k, v in local.addons : k => coalesce(v.version, try(data.aws_eks_addon_version.this[k].version, null)) }

  addon_service_account_roles = {
    aws-ebs-csi-driver = try(aws_iam_role.ebs_csi[0].arn, null)
  }
}

################################################################################
# Cluster
################################################################################

data "aws_iam_policy_document" "cluster_assume" {
  statement {
    actions = ["sts:AssumeRole", "sts:TagSession"]

    principals {
      type        = "Service"
      identifiers = ["eks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "cluster" {
  name               = "${var.cluster_name}-cluster"
  assume_role_policy = data.aws_iam_policy_document.cluster_assume.json

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "cluster" {
  for_each = toset([
    "AmazonEKSClusterPolicy",
    "AmazonEKSVPCResourceController",
  ])

  role       = aws_iam_role.cluster.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/${each.value}"
}

# Envelope encryption of Kubernetes secrets with the platform key: the cluster role uses the key.
# The same four actions terraform-aws-modules/eks v21.19.0 attaches to the cluster role
# (main.tf, aws_iam_policy.cluster_encryption, attach_encryption_policy defaults to true).
locals {
  cluster_encryption_policy = {
    Version = "2012-10-17"
    Statement = [{
      Sid      = "EnvelopeEncryptionOfSecrets"
      Effect   = "Allow"
      Action   = ["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"]
      Resource = var.kms_key_arn
    }]
  }
}

resource "aws_iam_role_policy" "cluster_encryption" {
  name   = "secrets-envelope-encryption"
  role   = aws_iam_role.cluster.id
  policy = jsonencode(local.cluster_encryption_policy)
}

# Created before the cluster so EKS does not create it without retention or encryption.
resource "aws_cloudwatch_log_group" "this" {
  count = length(var.cluster_enabled_log_types) > 0 ? 1 : 0

  name              = "/aws/eks/${var.cluster_name}/cluster"
  retention_in_days = var.cluster_log_retention_in_days
  kms_key_id        = var.kms_key_arn

  tags = var.tags
}

resource "aws_eks_cluster" "this" {
  #checkov:skip=CKV_AWS_37:All five log types are on by default (var.cluster_enabled_log_types, validated); checkov cannot resolve the variable through the module call.
  name     = var.cluster_name
  version  = var.kubernetes_version
  role_arn = aws_iam_role.cluster.arn

  enabled_cluster_log_types = var.cluster_enabled_log_types

  vpc_config {
    subnet_ids              = var.subnet_ids
    endpoint_private_access = true
    endpoint_public_access  = var.endpoint_public_access
    public_access_cidrs     = var.endpoint_public_access ? var.endpoint_public_access_cidrs : null
  }

  dynamic "access_config" {
    for_each = var.enable_access_config ? [1] : []

    content {
      # API only: access is managed by access entries, never by the aws-auth ConfigMap.
      authentication_mode                         = "API"
      bootstrap_cluster_creator_admin_permissions = false
    }
  }

  # STANDARD: EKS upgrades the cluster at the end of standard support instead of moving it to
  # paid extended support (https://docs.aws.amazon.com/eks/latest/userguide/view-upgrade-policy.html);
  # terraform-aws-modules/eks v21.19.0 sets it the same way (variables.tf upgrade_policy).
  dynamic "upgrade_policy" {
    for_each = var.upgrade_support_type == null ? [] : [var.upgrade_support_type]

    content {
      support_type = upgrade_policy.value
    }
  }

  encryption_config {
    resources = ["secrets"]

    provider {
      key_arn = var.kms_key_arn
    }
  }

  tags = var.tags

  depends_on = [
    aws_iam_role_policy_attachment.cluster,
    aws_iam_role_policy.cluster_encryption,
    aws_cloudwatch_log_group.this,
  ]
}

################################################################################
# Access entries
################################################################################

locals {
  access_entries = var.enable_access_entries ? var.access_entries : {}
}

resource "aws_eks_access_entry" "this" {
  for_each = local.access_entries

  cluster_name      = aws_eks_cluster.this.name
  principal_arn     = each.value.principal_arn
  kubernetes_groups = length(each.value.kubernetes_groups) > 0 ? each.value.kubernetes_groups : null
  type              = "STANDARD"

  tags = var.tags
}

resource "aws_eks_access_policy_association" "this" {
  for_each = { for k, v in local.access_entries : k => v if v.policy_name != null }

  cluster_name  = aws_eks_cluster.this.name
  principal_arn = aws_eks_access_entry.this[each.key].principal_arn
  policy_arn    = "arn:${local.partition}:eks::aws:cluster-access-policy/${each.value.policy_name}"

  access_scope {
    type       = length(each.value.namespaces) > 0 ? "namespace" : "cluster"
    namespaces = length(each.value.namespaces) > 0 ? each.value.namespaces : null
  }
}

################################################################################
# IRSA (IAM OIDC provider)
################################################################################

resource "aws_iam_openid_connect_provider" "oidc" {
  url            = aws_eks_cluster.this.identity[0].oidc[0].issuer
  client_id_list = ["sts.amazonaws.com"]
  # No thumbprint_list: IAM trusts the EKS issuer through its own CA store.

  tags = merge(var.tags, { Name = "${var.cluster_name}-irsa" })
}

################################################################################
# Add-ons
################################################################################

# The most recent add-on build EKS lists as compatible with the cluster's Kubernetes version
# (DescribeAddonVersions), as terraform-aws-modules/eks v21.19.0 resolves unpinned add-ons
# (main.tf, data "aws_eks_addon_version" "this"). Only read for add-ons without a pin.
data "aws_eks_addon_version" "this" {
  for_each = { for k, v in local.addons : k => v if v.version == null }

  addon_name         = each.key
  kubernetes_version = var.kubernetes_version
  most_recent        = true
}

resource "aws_eks_addon" "before_compute" {
  for_each = local.addons_before_compute

  cluster_name                = aws_eks_cluster.this.name
  addon_name                  = each.key
  addon_version               = local.addon_versions[each.key]
  service_account_role_arn    = lookup(local.addon_service_account_roles, each.key, null)
  configuration_values        = each.value.configuration_values
  resolve_conflicts_on_create = "OVERWRITE"
  resolve_conflicts_on_update = "OVERWRITE"

  tags = var.tags

  lifecycle {
    precondition {
      condition     = each.key != "kube-proxy" || startswith(local.addon_versions[each.key], "v${var.kubernetes_version}.")
      error_message = "kube-proxy ${local.addon_versions[each.key]} does not match Kubernetes ${var.kubernetes_version}; unpin it or pin it together with kubernetes_version."
    }
  }
}

resource "aws_eks_addon" "after_compute" {
  for_each = local.addons_after_compute

  cluster_name                = aws_eks_cluster.this.name
  addon_name                  = each.key
  addon_version               = local.addon_versions[each.key]
  service_account_role_arn    = lookup(local.addon_service_account_roles, each.key, null)
  configuration_values        = each.value.configuration_values
  resolve_conflicts_on_create = "OVERWRITE"
  resolve_conflicts_on_update = "OVERWRITE"

  tags = var.tags

  depends_on = [
    aws_eks_node_group.this,
    aws_iam_role_policy_attachment.ebs_csi,
    aws_iam_role_policy.ebs_csi_kms,
  ]
}

################################################################################
# EBS CSI driver (IRSA)
################################################################################

locals {
  oidc_issuer_host = replace(aws_eks_cluster.this.identity[0].oidc[0].issuer, "https://", "")

  # The add-on's controller service account (aws-ebs-csi-driver add-on:
  # kube-system/ebs-csi-controller-sa, https://docs.aws.amazon.com/eks/latest/userguide/ebs-csi.html).
  ebs_csi_assume_policy = {
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = "sts:AssumeRoleWithWebIdentity"
      Principal = { Federated = aws_iam_openid_connect_provider.oidc.arn }
      Condition = {
        StringEquals = {
          "${local.oidc_issuer_host}:sub" = "system:serviceaccount:kube-system:ebs-csi-controller-sa"
          "${local.oidc_issuer_host}:aud" = "sts.amazonaws.com"
        }
      }
    }]
  }

  # Volumes encrypted with the platform key: the policy AWS gives for a customer managed key
  # ("Create an Amazon EBS CSI driver IAM role", kms-key-for-encryption-on-ebs.json,
  # https://docs.aws.amazon.com/eks/latest/userguide/csi-iam-role.html), the same statements as
  # terraform-aws-modules/iam's EBS CSI policy for ebs_csi_kms_cmk_ids.
  ebs_csi_kms_policy = {
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "GrantsForAttachedVolumes"
        Effect   = "Allow"
        Action   = ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"]
        Resource = [var.kms_key_arn]
        Condition = {
          Bool = { "kms:GrantIsForAWSResource" = "true" }
        }
      },
      {
        Sid      = "EncryptVolumes"
        Effect   = "Allow"
        Action   = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]
        Resource = [var.kms_key_arn]
      },
    ]
  }
}

resource "aws_iam_role" "ebs_csi" {
  count = var.enable_ebs_csi_driver ? 1 : 0

  name                 = "${var.cluster_name}-ebs-csi-driver"
  description          = "IRSA role of kube-system/ebs-csi-controller-sa (aws-ebs-csi-driver add-on)"
  assume_role_policy   = jsonencode(local.ebs_csi_assume_policy)
  max_session_duration = 3600

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "ebs_csi" {
  count = var.enable_ebs_csi_driver ? 1 : 0

  role       = aws_iam_role.ebs_csi[0].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"
}

resource "aws_iam_role_policy" "ebs_csi_kms" {
  count = var.enable_ebs_csi_driver ? 1 : 0

  name   = "platform-key-for-volumes"
  role   = aws_iam_role.ebs_csi[0].id
  policy = jsonencode(local.ebs_csi_kms_policy)
}

################################################################################
# Node groups
################################################################################

data "aws_iam_policy_document" "node_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "node" {
  count = length(var.node_groups) > 0 ? 1 : 0

  name               = "${var.cluster_name}-node"
  assume_role_policy = data.aws_iam_policy_document.node_assume.json

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "node" {
  for_each = length(var.node_groups) > 0 ? toset([
    "AmazonEKSWorkerNodePolicy",
    "AmazonEKS_CNI_Policy",
    "AmazonEC2ContainerRegistryReadOnly",
    "AmazonSSMManagedInstanceCore",
  ]) : toset([])

  role       = aws_iam_role.node[0].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/${each.value}"
}

resource "aws_launch_template" "node" {
  for_each = var.node_groups

  name_prefix            = "${var.cluster_name}-${each.key}-"
  description            = "Nodes of ${var.cluster_name} node group ${each.key}"
  update_default_version = true

  # IMDSv2 only, and a hop limit of 1 so pods (one hop further) cannot read the node
  # role's credentials; add-ons get region and VPC ID passed explicitly instead.
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
    instance_metadata_tags      = "disabled"
  }

  block_device_mappings {
    device_name = "/dev/xvda"

    ebs {
      volume_size           = each.value.disk_size
      volume_type           = "gp3"
      encrypted             = true
      kms_key_id            = var.kms_key_arn
      delete_on_termination = true
    }
  }

  monitoring {
    enabled = true
  }

  tag_specifications {
    resource_type = "instance"
    tags          = merge(var.tags, { Name = "${var.cluster_name}-${each.key}" })
  }

  tag_specifications {
    resource_type = "volume"
    tags          = merge(var.tags, { Name = "${var.cluster_name}-${each.key}" })
  }

  tags = var.tags

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_eks_node_group" "this" {
  for_each = var.node_groups

  cluster_name    = aws_eks_cluster.this.name
  node_group_name = each.key
  node_role_arn   = aws_iam_role.node[0].arn
  subnet_ids      = var.subnet_ids
  version         = var.kubernetes_version

  instance_types = each.value.instance_types
  capacity_type  = each.value.capacity_type
  labels         = each.value.labels

  scaling_config {
    min_size     = each.value.min_size
    max_size     = each.value.max_size
    desired_size = each.value.desired_size
  }

  update_config {
    max_unavailable_percentage = 33
  }

  launch_template {
    id      = aws_launch_template.node[each.key].id
    version = aws_launch_template.node[each.key].latest_version
  }

  dynamic "taint" {
    for_each = each.value.taints

    content {
      key    = taint.value.key
      value  = taint.value.value
      effect = taint.value.effect
    }
  }

  # EKS copies these to the Auto Scaling group; cluster-autoscaler discovers the group by them.
  tags = merge(var.tags, {
    "k8s.io/cluster-autoscaler/enabled"             = "true"
    "k8s.io/cluster-autoscaler/${var.cluster_name}" = "owned"
  })

  lifecycle {
    # The cluster autoscaler owns the desired size once the group exists.
    ignore_changes = [scaling_config[0].desired_size]
  }

  depends_on = [
    aws_iam_role_policy_attachment.node,
    aws_eks_addon.before_compute,
  ]
}
