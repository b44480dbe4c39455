################################################################################
# OIDC provider
################################################################################

output "oidc_provider_arn" {
  description = "ARN of the GitHub Actions OIDC provider (created or given)."
  value       = local.oidc_provider_arn
}

################################################################################
# Deploy role
################################################################################

output "role_arn" {
  description = "ARN of the deploy role."
  value       = try(aws_iam_role.this.arn, null)
}

output "role_name" {
  description = "Name of the deploy role."
  value       = try(aws_iam_role.this.name, null)
}

output "subjects" {
  description = "The token sub claims the role trusts."
  value       = local.subjects
}
