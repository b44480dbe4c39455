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

output "acm_import_tag" {
  description = "Tag a certificate pushed to ACM must carry, or null when ACM import is off."
  value       = var.enable_acm_import ? { key = var.acm_import_tag_key, value = local.acm_import_tag_value } : null
}
