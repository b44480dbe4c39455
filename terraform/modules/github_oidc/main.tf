data "aws_partition" "current" {}

locals {
  partition = data.aws_partition.current.partition
  oidc_host = "token.actions.githubusercontent.com"
  oidc_url  = "https://${local.oidc_host}"
  oidc_provider_arn = (var.create_oidc_provider
    ? aws_iam_openid_connect_provider.this[0].arn
    : data.aws_iam_openid_connect_provider.existing[0].arn
  )

  # GitHub's sub claim for a job that names an environment:
  # repo:<org>/<repo>:environment:<env> ("About security hardening with OpenID Connect",
  # https://docs.github.com/en/actions/reference/security/oidc#example-subject-claims).
  publish_subject = "repo:${var.repository}:environment:${var.publish_environment}"
  deploy_subject  = "repo:${var.repository}:environment:${var.deploy_environment}"
}

################################################################################
# OIDC provider
################################################################################

# Only one provider per URL can exist in an account. The environment that creates it
# (create_oidc_provider) owns it and destroys it; every other environment looks it up.
resource "aws_iam_openid_connect_provider" "this" {
  count = var.create_oidc_provider ? 1 : 0

  url            = local.oidc_url
  client_id_list = ["sts.amazonaws.com"]
  # No thumbprint_list: IAM validates GitHub's issuer through its own CA store.

  tags = merge(var.tags, { Name = "github-actions" })
}

data "aws_iam_openid_connect_provider" "existing" {
  count = var.create_oidc_provider ? 0 : 1

  url = local.oidc_url
}

################################################################################
# Trust: one role per GitHub environment
################################################################################

locals {
  # Exact match, no wildcards: one environment of one repository per role.
  publish_assume_policy = {
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = "sts:AssumeRoleWithWebIdentity"
      Principal = { Federated = local.oidc_provider_arn }
      Condition = {
        StringEquals = {
          "${local.oidc_host}:aud" = "sts.amazonaws.com"
          "${local.oidc_host}:sub" = local.publish_subject
        }
      }
    }]
  }

  deploy_assume_policy = {
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = "sts:AssumeRoleWithWebIdentity"
      Principal = { Federated = local.oidc_provider_arn }
      Condition = {
        StringEquals = {
          "${local.oidc_host}:aud" = "sts.amazonaws.com"
          "${local.oidc_host}:sub" = local.deploy_subject
        }
      }
    }]
  }
}

################################################################################
# Publish role (image job: ECR push only)
################################################################################

locals {
  publish_policy = {
    Version = "2012-10-17"
    Statement = [
      {
        Sid = "EcrLogin"
        # GetAuthorizationToken has no resource-level permissions.
        Effect   = "Allow"
        Action   = "ecr:GetAuthorizationToken"
        Resource = "*"
      },
      {
        # The push actions of "Amazon ECR: allows pushing images to one repository"
        # (https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-push-iam.html).
        Sid    = "PushToRepository"
        Effect = "Allow"
        Action = [
          "ecr:BatchCheckLayerAvailability",
          "ecr:BatchGetImage",
          "ecr:CompleteLayerUpload",
          "ecr:DescribeImages",
          "ecr:DescribeImageScanFindings",
          "ecr:GetDownloadUrlForLayer",
          "ecr:InitiateLayerUpload",
          "ecr:PutImage",
          "ecr:UploadLayerPart",
        ]
        Resource = var.ecr_repository_arn
      },
      {
        # The platform key also encrypts secrets and volumes: usable only through ECR.
        Sid      = "EncryptImageLayersThroughEcr"
        Effect   = "Allow"
        Action   = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource = var.kms_key_arn
        Condition = {
          StringEquals = { "kms:ViaService" = "ecr.${var.region}.amazonaws.com" }
        }
      },
    ]
  }
}

resource "aws_iam_role" "publish" {
  name                 = "${var.name_prefix}-github-publish"
  description          = "GitHub Actions image publish role of ${var.repository} (environment ${var.publish_environment})"
  assume_role_policy   = jsonencode(local.publish_assume_policy)
  max_session_duration = 3600

  tags = var.tags
}

resource "aws_iam_role_policy" "publish" {
  name   = "publish"
  role   = aws_iam_role.publish.id
  policy = jsonencode(local.publish_policy)
}

################################################################################
# Deploy role (deploy job: the cluster, through its Kubernetes group)
################################################################################

locals {
  deploy_policy = {
    Version = "2012-10-17"
    Statement = concat(
      [{
        # The kubeconfig (eks_kubeconfig) reads the endpoint and CA; everything inside the
        # cluster is the Kubernetes group's RBAC (roles/platform_cluster).
        Sid      = "DescribeCluster"
        Effect   = "Allow"
        Action   = "eks:DescribeCluster"
        Resource = var.cluster_arn
      }],
      flatten([for state in(var.terraform_state_read == null ? [] : [var.terraform_state_read]) : [
        {
          # playbooks/platform_outputs.yml: `terraform init` lists the bucket, `terraform
          # output` reads the state (S3 backend permissions,
          # https://developer.hashicorp.com/terraform/language/backend/s3#permissions-required).
          Sid      = "ListStateBucket"
          Effect   = "Allow"
          Action   = "s3:ListBucket"
          Resource = "arn:${local.partition}:s3:::${state.bucket}"
          Condition = {
            StringLike = { "s3:prefix" = [state.key, "${state.key}.tflock"] }
          }
        },
        {
          Sid      = "ReadState"
          Effect   = "Allow"
          Action   = "s3:GetObject"
          Resource = "arn:${local.partition}:s3:::${state.bucket}/${state.key}"
        },
      ]]),
    )
  }
}

resource "aws_iam_role" "deploy" {
  name                 = "${var.name_prefix}-github-deploy"
  description          = "GitHub Actions deploy role of ${var.repository} (environment ${var.deploy_environment})"
  assume_role_policy   = jsonencode(local.deploy_assume_policy)
  max_session_duration = 3600

  tags = var.tags
}

resource "aws_iam_role_policy" "deploy" {
  name   = "deploy"
  role   = aws_iam_role.deploy.id
  policy = jsonencode(local.deploy_policy)
}
