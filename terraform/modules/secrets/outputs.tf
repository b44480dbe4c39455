################################################################################
# Secrets
################################################################################

output "secrets" {
  description = "ARN and name of each secret container, by key (service_api_keys, slack_webhooks)."
  value       = { for k, v in aws_secretsmanager_secret.this : k => { arn = v.arn, name = v.name } }
}

output "prefix" {
  description = "Name prefix shared by the secrets."
  value       = var.prefix
}
