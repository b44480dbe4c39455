################################################################################
# Platform
################################################################################

# The contract with the Ansible side (CONTRIBUTING.md, "Terraform output consumed by Ansible").
output "platform" {
  description = "Everything Ansible needs about the platform, as one object."
  value = {
    name               = var.name
    environment        = var.environment
    region             = var.region
    account_id         = local.account_id
    vpc_id             = module.network.vpc_id
    vpc_cidr           = module.network.vpc_cidr
    private_subnet_ids = module.network.private_subnet_ids
    public_subnet_ids  = module.network.public_subnet_ids
    cluster = {
      name                       = module.eks.cluster_name
      endpoint                   = module.eks.cluster_endpoint
      certificate_authority_data = module.eks.cluster_certificate_authority_data
      oidc_issuer_url            = module.eks.oidc_issuer_url
      oidc_provider_arn          = module.eks.oidc_provider_arn
      version                    = module.eks.cluster_version
    }
    addon_role_arns = {
      aws_load_balancer_controller = try(module.addon_iam.role_arns.aws_load_balancer_controller, null)
      cluster_autoscaler           = try(module.addon_iam.role_arns.cluster_autoscaler, null)
      external_secrets             = try(module.addon_iam.role_arns.external_secrets, null)
      cert_manager                 = try(module.addon_iam.role_arns.cert_manager, null)
    }
    ecr_repository_url = module.ecr.repository_url
    kms_key_arn        = aws_kms_key.this.arn
    secrets = {
      service_api_keys = try(module.secrets.secrets.service_api_keys, null)
      slack_webhooks   = try(module.secrets.secrets.slack_webhooks, null)
    }
    github_deploy_role_arn = module.github_oidc.deploy_role_arn
    acm_certificate_arn    = module.acm.certificate_arn
    route53_zone_ids       = var.route53_zone_ids
    secrets_prefix         = "${var.name}/${var.environment}/"

    # Additions to the documented contract.
    tls_mode                = var.tls_mode
    service_hostname        = var.service_hostname
    alert_email             = var.alert_email
    github_publish_role_arn = module.github_oidc.publish_role_arn
    # Bound in-cluster by roles/platform_cluster to what deploy.yml applies.
    deploy_kubernetes_group = var.deploy_kubernetes_group
    # The default StorageClass (roles/platform_cluster) provisions through this add-on's role.
    ebs_csi_driver_role_arn = module.eks.ebs_csi_driver_role_arn
    github_oidc_provider = {
      arn     = module.github_oidc.oidc_provider_arn
      created = module.github_oidc.oidc_provider_created
    }
  }
}

# Policy documents as data, for `terraform test` assertions and review (not secret).
output "policies" {
  description = "The key policy, trust and permission policies that decide whether the platform works and who can reach it."
  value = {
    kms_key              = local.kms_key_policy
    cluster_encryption   = module.eks.cluster_encryption_policy
    ebs_csi_kms          = module.eks.ebs_csi_kms_policy
    ebs_csi_trust        = module.eks.ebs_csi_assume_policy
    github_publish       = module.github_oidc.publish_policy
    github_publish_trust = module.github_oidc.publish_assume_policy
    github_deploy        = module.github_oidc.deploy_policy
    github_deploy_trust  = module.github_oidc.deploy_assume_policy
  }
}
