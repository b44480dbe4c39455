################################################################################
# OIDC provider
################################################################################

output "oidc_provider_arn" {
  description = "ARN of the GitHub Actions OIDC provider (created or looked up)."
  value       = local.oidc_provider_arn
}

output "oidc_provider_created" {
  description = "Whether this environment created (and owns) the OIDC provider."
  value       = var.create_oidc_provider
}

################################################################################
# Trust: one role per GitHub environment
################################################################################

output "publish_assume_policy" {
  description = "Trust policy of the publish role (decoded)."
  value       = local.publish_assume_policy
}

output "deploy_assume_policy" {
  description = "Trust policy of the deploy role (decoded)."
  value       = local.deploy_assume_policy
}

################################################################################
# Publish role (image job: ECR push only)
################################################################################

output "publish_role_arn" {
  description = "ARN of the image publish role."
  value       = try(aws_iam_role.publish.arn, null)
}

output "publish_policy" {
  description = "Permissions of the publish role (decoded)."
  value       = local.publish_policy
}

################################################################################
# Deploy role (deploy job: the cluster, through its Kubernetes group)
################################################################################

output "deploy_role_arn" {
  description = "ARN of the deploy role."
  value       = try(aws_iam_role.deploy.arn, null)
}

output "deploy_policy" {
  description = "Permissions of the deploy role (decoded)."
  value       = local.deploy_policy
}
