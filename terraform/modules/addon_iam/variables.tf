################################################################################
# IRSA roles
################################################################################

variable "name" {
  description = "Name prefix of the roles and policies (usually <platform>-<environment>)."
  type        = string
}

variable "oidc_provider_arn" {
  description = "ARN of the cluster's IAM OIDC provider."
  type        = string
}

variable "oidc_issuer_url" {
  description = "OIDC issuer URL of the cluster (https://oidc.eks...)."
  type        = string
}

variable "service_accounts" {
  description = "The one namespace/service account that may assume each add-on role. Keys are fixed: aws_load_balancer_controller, cluster_autoscaler, external_secrets, cert_manager."
  type = object({
    aws_load_balancer_controller = object({ namespace = string, name = string })
    cluster_autoscaler           = object({ namespace = string, name = string })
    external_secrets             = object({ namespace = string, name = string })
    cert_manager                 = object({ namespace = string, name = string })
  })
  default = {
    aws_load_balancer_controller = { namespace = "kube-system", name = "aws-load-balancer-controller" }
    cluster_autoscaler           = { namespace = "kube-system", name = "cluster-autoscaler" }
    external_secrets             = { namespace = "external-secrets", name = "external-secrets" }
    cert_manager                 = { namespace = "cert-manager", name = "cert-manager" }
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

################################################################################
# AWS Load Balancer Controller
################################################################################

################################################################################
# Cluster autoscaler
################################################################################

variable "cluster_name" {
  description = "EKS cluster name; the autoscaler may only scale groups tagged for it."
  type        = string
}

################################################################################
# External Secrets
################################################################################

variable "secrets_prefix" {
  description = "Secrets Manager name prefix External Secrets may read (e.g. ml-platform/local/)."
  type        = string

  validation {
    condition     = endswith(var.secrets_prefix, "/") && length(var.secrets_prefix) > 1
    error_message = "secrets_prefix must end with \"/\" so it cannot match a sibling prefix."
  }
}

variable "kms_key_arn" {
  description = "KMS key ARN the secrets are encrypted with."
  type        = string
}

variable "enable_acm_import" {
  description = "Let External Secrets import certificates into ACM (PushSecret, the cert-manager -> ACM option)."
  type        = bool
  default     = false
}

variable "acm_remote_key_prefix" {
  description = "Prefix of the external-secrets-remote-key tag of the certificates External Secrets may import and manage in ACM: the ACM ClusterSecretStore's spec.provider.aws.prefix (empty: <name>/)."
  type        = string
  default     = ""

  validation {
    # ACM tag values: letters, digits, spaces and _.:/=+-@ (ACM Tag data type).
    condition     = var.acm_remote_key_prefix == "" || can(regex("^[A-Za-z0-9_.:=+@-]+/$", var.acm_remote_key_prefix))
    error_message = "acm_remote_key_prefix must be empty or end with \"/\" (e.g. ml-platform-local/), using letters, digits and _.:=+@-."
  }
}

################################################################################
# cert-manager
################################################################################

variable "route53_zone_ids" {
  description = "Route53 hosted zone IDs cert-manager may answer DNS-01 challenges in."
  type        = list(string)
  default     = []
}
