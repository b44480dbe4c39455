################################################################################
# IRSA roles
################################################################################

output "role_arns" {
  description = "IRSA role ARN of each add-on."
  value       = { for k, v in aws_iam_role.addon : k => v.arn }
}

output "role_names" {
  description = "IRSA role name of each add-on."
  value       = { for k, v in aws_iam_role.addon : k => v.name }
}

output "policy_arns" {
  description = "ARN of each add-on's managed policy."
  value       = { for k, v in aws_iam_policy.addon : k => v.arn }
}

################################################################################
# External Secrets
################################################################################

output "acm_remote_key_prefix" {
  description = "Prefix of the external-secrets-remote-key tag External Secrets may import certificates under (the ACM store's spec.provider.aws.prefix), or null when ACM import is off."
  value       = var.enable_acm_import ? local.acm_remote_key_prefix : null
}
