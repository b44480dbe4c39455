data "aws_partition" "current" {}
data "aws_caller_identity" "current" {}
data "aws_region" "current" {}

locals {
  partition  = data.aws_partition.current.partition
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.name
  # Condition keys of IRSA trust policies are "<issuer host/path>:sub" and ":aud".
  oidc_issuer = replace(var.oidc_issuer_url, "https://", "")

  service_accounts = tomap(var.service_accounts)
  # Prefix of ESO's external-secrets-remote-key tag: the ACM ClusterSecretStore's
  # spec.provider.aws.prefix (platform_secrets role), so the tag marks this platform's imports.
  acm_remote_key_prefix = coalesce(var.acm_remote_key_prefix, "${var.name}/")

  policies = {
    aws_load_balancer_controller = data.aws_iam_policy_document.aws_load_balancer_controller.json
    cluster_autoscaler           = data.aws_iam_policy_document.cluster_autoscaler.json
    external_secrets             = data.aws_iam_policy_document.external_secrets.json
    cert_manager                 = data.aws_iam_policy_document.cert_manager.json
  }
}

################################################################################
# IRSA roles
################################################################################

data "aws_iam_policy_document" "assume" {
  for_each = local.service_accounts

  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [var.oidc_provider_arn]
    }

    # Exactly one service account in one namespace may assume the role.
    condition {
      test     = "StringEquals"
      variable = "${local.oidc_issuer}:sub"
      values   = ["system:serviceaccount:${each.value.namespace}:${each.value.name}"]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_issuer}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "addon" {
  for_each = local.service_accounts

  name                 = "${var.name}-${replace(each.key, "_", "-")}"
  description          = "IRSA role of ${each.value.namespace}/${each.value.name}"
  assume_role_policy   = data.aws_iam_policy_document.assume[each.key].json
  max_session_duration = 3600

  tags = var.tags
}

resource "aws_iam_policy" "addon" {
  for_each = local.service_accounts

  name        = "${var.name}-${replace(each.key, "_", "-")}"
  description = "Permissions of ${each.value.namespace}/${each.value.name}"
  policy      = local.policies[each.key]

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "addon" {
  for_each = local.service_accounts

  role       = aws_iam_role.addon[each.key].name
  policy_arn = aws_iam_policy.addon[each.key].arn
}

################################################################################
# AWS Load Balancer Controller
################################################################################

# Mirrors upstream docs/install/iam_policy.json of kubernetes-sigs/aws-load-balancer-controller
# (v2.13 line), statement by statement, with the partition made explicit. "*" resources are
# upstream's: Describe*/Get* calls and creations whose ARN does not exist before the call have
# no resource-level permissions; creations are limited by request-tag conditions instead.
data "aws_iam_policy_document" "aws_load_balancer_controller" {
  #checkov:skip=CKV_AWS_111:Upstream controller policy: creations (security groups, load balancers, target groups) have no ARN before the call; they are bounded by the elbv2.k8s.aws/cluster request-tag conditions.
  #checkov:skip=CKV_AWS_356:Upstream controller policy: "*" only on Describe/Get and creation calls without resource-level permissions (see the comment above).
  statement {
    sid       = "CreateElbServiceLinkedRole"
    actions   = ["iam:CreateServiceLinkedRole"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "iam:AWSServiceName"
      values   = ["elasticloadbalancing.amazonaws.com"]
    }
  }

  statement {
    sid = "Describe"
    actions = [
      "ec2:DescribeAccountAttributes",
      "ec2:DescribeAddresses",
      "ec2:DescribeAvailabilityZones",
      "ec2:DescribeInternetGateways",
      "ec2:DescribeVpcs",
      "ec2:DescribeVpcPeeringConnections",
      "ec2:DescribeSubnets",
      "ec2:DescribeSecurityGroups",
      "ec2:DescribeInstances",
      "ec2:DescribeNetworkInterfaces",
      "ec2:DescribeTags",
      "ec2:GetCoipPoolUsage",
      "ec2:DescribeCoipPools",
      "ec2:GetSecurityGroupsForVpc",
      "ec2:DescribeIpamPools",
      "ec2:DescribeRouteTables",
      "elasticloadbalancing:DescribeLoadBalancers",
      "elasticloadbalancing:DescribeLoadBalancerAttributes",
      "elasticloadbalancing:DescribeListeners",
      "elasticloadbalancing:DescribeListenerCertificates",
      "elasticloadbalancing:DescribeSSLPolicies",
      "elasticloadbalancing:DescribeRules",
      "elasticloadbalancing:DescribeTargetGroups",
      "elasticloadbalancing:DescribeTargetGroupAttributes",
      "elasticloadbalancing:DescribeTargetHealth",
      "elasticloadbalancing:DescribeTags",
      "elasticloadbalancing:DescribeTrustStores",
      "elasticloadbalancing:DescribeListenerAttributes",
      "elasticloadbalancing:DescribeCapacityReservation",
    ]
    resources = ["*"]
  }

  statement {
    sid = "IntegrationsReadAndAssociate"
    actions = [
      "cognito-idp:DescribeUserPoolClient",
      "acm:ListCertificates",
      "acm:DescribeCertificate",
      "iam:ListServerCertificates",
      "iam:GetServerCertificate",
      "waf-regional:GetWebACL",
      "waf-regional:GetWebACLForResource",
      "waf-regional:AssociateWebACL",
      "waf-regional:DisassociateWebACL",
      "wafv2:GetWebACL",
      "wafv2:GetWebACLForResource",
      "wafv2:AssociateWebACL",
      "wafv2:DisassociateWebACL",
      "shield:GetSubscriptionState",
      "shield:DescribeProtection",
      "shield:CreateProtection",
      "shield:DeleteProtection",
    ]
    resources = ["*"]
  }

  statement {
    sid = "SecurityGroupIngress"
    actions = [
      "ec2:AuthorizeSecurityGroupIngress",
      "ec2:RevokeSecurityGroupIngress",
    ]
    resources = ["*"]
  }

  statement {
    sid       = "CreateSecurityGroup"
    actions   = ["ec2:CreateSecurityGroup"]
    resources = ["*"]
  }

  statement {
    sid       = "TagNewSecurityGroup"
    actions   = ["ec2:CreateTags"]
    resources = ["arn:${local.partition}:ec2:*:*:security-group/*"]

    condition {
      test     = "StringEquals"
      variable = "ec2:CreateAction"
      values   = ["CreateSecurityGroup"]
    }

    condition {
      test     = "Null"
      variable = "aws:RequestTag/elbv2.k8s.aws/cluster"
      values   = ["false"]
    }
  }

  statement {
    sid = "TagOwnSecurityGroups"
    actions = [
      "ec2:CreateTags",
      "ec2:DeleteTags",
    ]
    resources = ["arn:${local.partition}:ec2:*:*:security-group/*"]

    condition {
      test     = "Null"
      variable = "aws:RequestTag/elbv2.k8s.aws/cluster"
      values   = ["true"]
    }

    condition {
      test     = "Null"
      variable = "aws:ResourceTag/elbv2.k8s.aws/cluster"
      values   = ["false"]
    }
  }

  statement {
    sid = "ManageOwnSecurityGroups"
    actions = [
      "ec2:AuthorizeSecurityGroupIngress",
      "ec2:RevokeSecurityGroupIngress",
      "ec2:DeleteSecurityGroup",
    ]
    resources = ["*"]

    condition {
      test     = "Null"
      variable = "aws:ResourceTag/elbv2.k8s.aws/cluster"
      values   = ["false"]
    }
  }

  statement {
    sid = "CreateTaggedLoadBalancers"
    actions = [
      "elasticloadbalancing:CreateLoadBalancer",
      "elasticloadbalancing:CreateTargetGroup",
    ]
    resources = ["*"]

    condition {
      test     = "Null"
      variable = "aws:RequestTag/elbv2.k8s.aws/cluster"
      values   = ["false"]
    }
  }

  statement {
    sid = "ListenersAndRules"
    actions = [
      "elasticloadbalancing:CreateListener",
      "elasticloadbalancing:DeleteListener",
      "elasticloadbalancing:CreateRule",
      "elasticloadbalancing:DeleteRule",
    ]
    resources = ["*"]
  }

  statement {
    sid = "TagOwnLoadBalancers"
    actions = [
      "elasticloadbalancing:AddTags",
      "elasticloadbalancing:RemoveTags",
    ]
    resources = [
      "arn:${local.partition}:elasticloadbalancing:*:*:targetgroup/*/*",
      "arn:${local.partition}:elasticloadbalancing:*:*:loadbalancer/net/*/*",
      "arn:${local.partition}:elasticloadbalancing:*:*:loadbalancer/app/*/*",
    ]

    condition {
      test     = "Null"
      variable = "aws:RequestTag/elbv2.k8s.aws/cluster"
      values   = ["true"]
    }

    condition {
      test     = "Null"
      variable = "aws:ResourceTag/elbv2.k8s.aws/cluster"
      values   = ["false"]
    }
  }

  statement {
    sid = "TagListenersAndRules"
    actions = [
      "elasticloadbalancing:AddTags",
      "elasticloadbalancing:RemoveTags",
    ]
    resources = [
      "arn:${local.partition}:elasticloadbalancing:*:*:listener/net/*/*/*",
      "arn:${local.partition}:elasticloadbalancing:*:*:listener/app/*/*/*",
      "arn:${local.partition}:elasticloadbalancing:*:*:listener-rule/net/*/*/*",
      "arn:${local.partition}:elasticloadbalancing:*:*:listener-rule/app/*/*/*",
    ]
  }

  statement {
    sid = "ModifyOwnLoadBalancers"
    actions = [
      "elasticloadbalancing:ModifyLoadBalancerAttributes",
      "elasticloadbalancing:SetIpAddressType",
      "elasticloadbalancing:SetSecurityGroups",
      "elasticloadbalancing:SetSubnets",
      "elasticloadbalancing:DeleteLoadBalancer",
      "elasticloadbalancing:ModifyTargetGroup",
      "elasticloadbalancing:ModifyTargetGroupAttributes",
      "elasticloadbalancing:DeleteTargetGroup",
      "elasticloadbalancing:ModifyListenerAttributes",
      "elasticloadbalancing:ModifyCapacityReservation",
      "elasticloadbalancing:ModifyIpPools",
    ]
    resources = ["*"]

    condition {
      test     = "Null"
      variable = "aws:ResourceTag/elbv2.k8s.aws/cluster"
      values   = ["false"]
    }
  }

  statement {
    sid     = "TagOnCreate"
    actions = ["elasticloadbalancing:AddTags"]
    resources = [
      "arn:${local.partition}:elasticloadbalancing:*:*:targetgroup/*/*",
      "arn:${local.partition}:elasticloadbalancing:*:*:loadbalancer/net/*/*",
      "arn:${local.partition}:elasticloadbalancing:*:*:loadbalancer/app/*/*",
    ]

    condition {
      test     = "StringEquals"
      variable = "elasticloadbalancing:CreateAction"
      values   = ["CreateTargetGroup", "CreateLoadBalancer"]
    }

    condition {
      test     = "Null"
      variable = "aws:RequestTag/elbv2.k8s.aws/cluster"
      values   = ["false"]
    }
  }

  statement {
    sid = "RegisterTargets"
    actions = [
      "elasticloadbalancing:RegisterTargets",
      "elasticloadbalancing:DeregisterTargets",
    ]
    resources = ["arn:${local.partition}:elasticloadbalancing:*:*:targetgroup/*/*"]
  }

  statement {
    sid = "ListenerSettings"
    actions = [
      "elasticloadbalancing:SetWebAcl",
      "elasticloadbalancing:ModifyListener",
      "elasticloadbalancing:AddListenerCertificates",
      "elasticloadbalancing:RemoveListenerCertificates",
      "elasticloadbalancing:ModifyRule",
      "elasticloadbalancing:SetRulePriorities",
    ]
    resources = ["*"]
  }
}

################################################################################
# Cluster autoscaler
################################################################################

data "aws_iam_policy_document" "cluster_autoscaler" {
  statement {
    sid = "Describe"
    # Describe/Get calls have no resource-level permissions.
    actions = [
      "autoscaling:DescribeAutoScalingGroups",
      "autoscaling:DescribeAutoScalingInstances",
      "autoscaling:DescribeLaunchConfigurations",
      "autoscaling:DescribeScalingActivities",
      "autoscaling:DescribeTags",
      "ec2:DescribeImages",
      "ec2:DescribeInstanceTypes",
      "ec2:DescribeLaunchTemplateVersions",
      "ec2:GetInstanceTypesFromInstanceRequirements",
    ]
    resources = ["*"]
  }

  statement {
    sid       = "DescribeOwnNodegroups"
    actions   = ["eks:DescribeNodegroup"]
    resources = ["arn:${local.partition}:eks:${local.region}:${local.account_id}:nodegroup/${var.cluster_name}/*/*"]
  }

  statement {
    sid = "ScaleOwnGroups"
    actions = [
      "autoscaling:SetDesiredCapacity",
      "autoscaling:TerminateInstanceInAutoScalingGroup",
    ]
    resources = ["arn:${local.partition}:autoscaling:${local.region}:${local.account_id}:autoScalingGroup:*:autoScalingGroupName/*"]

    # EKS tags the Auto Scaling group of every managed node group with these.
    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/k8s.io/cluster-autoscaler/${var.cluster_name}"
      values   = ["owned"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/k8s.io/cluster-autoscaler/enabled"
      values   = ["true"]
    }
  }
}

################################################################################
# External Secrets
################################################################################

data "aws_iam_policy_document" "external_secrets" {
  statement {
    sid = "ReadPlatformSecrets"
    actions = [
      "secretsmanager:GetSecretValue",
      "secretsmanager:DescribeSecret",
      "secretsmanager:GetResourcePolicy",
      "secretsmanager:ListSecretVersionIds",
    ]
    resources = ["arn:${local.partition}:secretsmanager:${local.region}:${local.account_id}:secret:${var.secrets_prefix}*"]
  }

  statement {
    sid       = "DecryptPlatformSecrets"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${local.region}.amazonaws.com"]
    }
  }

  # cert-manager -> ACM: a PushSecret through External Secrets' ACM provider imports the
  # certificate cert-manager issued. These statements are exactly the calls that provider makes
  # (external-secrets v2.9.0, providers/v1/aws/certificatemanager/certificatemanager.go):
  #   findCertificateARN  -> tag:GetResources (ResourceTypeFilters acm:certificate, TagFilters
  #                          managed-by=external-secrets and external-secrets-remote-key=<key>)
  #   importNewCertificate -> acm:ImportCertificate with exactly the tags managed-by and
  #                          external-secrets-remote-key (<store prefix><remoteKey>)
  #   reimportCertificate -> acm:GetCertificate, then acm:ImportCertificate with CertificateArn
  #                          and no tags (ACM refuses tags on a re-import)
  #   syncTags            -> acm:ListTagsForCertificate, acm:RemoveTagsFromCertificate and
  #                          acm:AddTagsToCertificate for the PushSecret's own (non-reserved) tags
  # The boundary is the pair of tags ESO itself sets at import time: the store's prefix makes the
  # remote-key tag ours. DeleteCertificate (deletionPolicy Delete), DescribeCertificate and
  # ExportCertificate (ExternalSecret reads) are not used by the platform and not granted.
  dynamic "statement" {
    for_each = var.enable_acm_import ? [1] : []

    content {
      sid = "FindPushedCertificates"
      # The Resource Groups Tagging API has no resource-level permissions.
      actions   = ["tag:GetResources"]
      resources = ["*"]
    }
  }

  dynamic "statement" {
    for_each = var.enable_acm_import ? [1] : []

    content {
      sid       = "ImportNewCertificatesWithEsoTags"
      actions   = ["acm:ImportCertificate"]
      resources = ["arn:${local.partition}:acm:${local.region}:${local.account_id}:certificate/*"]

      condition {
        test     = "StringEquals"
        variable = "aws:RequestTag/managed-by"
        values   = ["external-secrets"]
      }

      condition {
        test     = "StringLike"
        variable = "aws:RequestTag/external-secrets-remote-key"
        values   = ["${local.acm_remote_key_prefix}*"]
      }

      # Exactly ESO's two tags and nothing else on the request.
      condition {
        test     = "ForAllValues:StringEquals"
        variable = "aws:TagKeys"
        values   = ["managed-by", "external-secrets-remote-key"]
      }
    }
  }

  # Everything on an existing certificate (re-import, read, tag changes) needs ESO's tags on
  # that certificate: one statement body, so both statements hold the same boundary.
  dynamic "statement" {
    for_each = var.enable_acm_import ? {
      ReimportAndReadOwnCertificates = ["acm:ImportCertificate", "acm:GetCertificate", "acm:ListTagsForCertificate"]
      TagOwnCertificates             = ["acm:AddTagsToCertificate", "acm:RemoveTagsFromCertificate"]
    } : {}

    content {
      sid       = statement.key
      actions   = statement.value
      resources = ["arn:${local.partition}:acm:${local.region}:${local.account_id}:certificate/*"]

      condition {
        test     = "StringEquals"
        variable = "aws:ResourceTag/managed-by"
        values   = ["external-secrets"]
      }

      condition {
        test     = "StringLike"
        variable = "aws:ResourceTag/external-secrets-remote-key"
        values   = ["${local.acm_remote_key_prefix}*"]
      }

      # The boundary tags themselves can never be added, changed or removed.
      dynamic "condition" {
        for_each = statement.key == "TagOwnCertificates" ? [1] : []

        content {
          test     = "ForAllValues:StringNotEquals"
          variable = "aws:TagKeys"
          values   = ["managed-by", "external-secrets-remote-key"]
        }
      }
    }
  }
}

################################################################################
# cert-manager
################################################################################

data "aws_iam_policy_document" "cert_manager" {
  statement {
    sid       = "ReadChanges"
    actions   = ["route53:GetChange"]
    resources = ["arn:${local.partition}:route53:::change/*"]
  }

  statement {
    sid = "FindZones"
    # ListHostedZonesByName has no resource-level permissions.
    actions   = ["route53:ListHostedZonesByName"]
    resources = ["*"]
  }

  dynamic "statement" {
    for_each = length(var.route53_zone_ids) > 0 ? [1] : []

    content {
      sid       = "ReadGivenZones"
      actions   = ["route53:ListResourceRecordSets"]
      resources = [for id in var.route53_zone_ids : "arn:${local.partition}:route53:::hostedzone/${id}"]
    }
  }

  dynamic "statement" {
    for_each = length(var.route53_zone_ids) > 0 ? [1] : []

    content {
      sid       = "AnswerDns01Challenges"
      actions   = ["route53:ChangeResourceRecordSets"]
      resources = [for id in var.route53_zone_ids : "arn:${local.partition}:route53:::hostedzone/${id}"]

      condition {
        test     = "ForAllValues:StringEquals"
        variable = "route53:ChangeResourceRecordSetsRecordTypes"
        values   = ["TXT"]
      }

      condition {
        test     = "ForAllValues:StringLike"
        variable = "route53:ChangeResourceRecordSetsNormalizedRecordNames"
        values   = ["_acme-challenge.*"]
      }
    }
  }
}
