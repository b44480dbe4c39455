locals {
  secrets = {
    service_api_keys = {
      name        = "${var.prefix}service/api-keys"
      description = "API keys of the model API, JSON {\"keys\": [...]}; value set by Ansible."
    }
    slack_webhooks = {
      name        = "${var.prefix}alerting/slack-webhooks"
      description = "Alertmanager Slack webhooks, JSON {\"critical\", \"warning\", \"deployments\"}; value set by Ansible."
    }
  }
}

################################################################################
# Secrets
################################################################################

# Containers only: no aws_secretsmanager_secret_version here, so no value is ever in state.
resource "aws_secretsmanager_secret" "this" {
  for_each = local.secrets

  #checkov:skip=CKV2_AWS_57:Static third-party API keys and webhooks; rotated by hand through Ansible, no rotation Lambda can renew them.
  name                    = each.value.name
  description             = each.value.description
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.recovery_window_in_days

  tags = var.tags
}
