################################################################################
# Platform
################################################################################

variable "name" {
  description = "Platform name, the prefix of every resource and secret name."
  type        = string
  default     = "ml-platform"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,18}[a-z0-9]$", var.name))
    error_message = "name must be 3-20 characters: lower-case letters, digits and hyphens, starting with a letter."
  }
}

variable "environment" {
  description = "Environment name (local, aws-dev, ...); part of resource and secret names."
  type        = string
  default     = "local"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,14}[a-z0-9]$", var.environment))
    error_message = "environment must be 3-16 characters: lower-case letters, digits and hyphens, starting with a letter."
  }
}

variable "region" {
  description = "AWS region."
  type        = string
  default     = "eu-west-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-west-1."
  }
}

variable "aws_endpoint_url" {
  description = "Emulated AWS only: endpoint URL every AWS service is sent to (set TF_VAR_aws_endpoint_url from scripts/aws_emulator.py). null for real AWS."
  type        = string
  default     = null

  validation {
    condition     = var.aws_endpoint_url == null || can(regex("^https?://[^/]+/?$", var.aws_endpoint_url))
    error_message = "aws_endpoint_url must be a URL like http://127.0.0.1:4566, or null."
  }
}

variable "tags" {
  description = "Tags added to every resource (provider default_tags)."
  type        = map(string)
  default     = {}
}

################################################################################
# KMS
################################################################################

variable "kms_deletion_window_in_days" {
  description = "Days before a destroyed platform KMS key is deleted (7-30)."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_deletion_window_in_days >= 7 && var.kms_deletion_window_in_days <= 30
    error_message = "kms_deletion_window_in_days must be 7-30."
  }
}

################################################################################
# Network
################################################################################

variable "vpc_cidr" {
  description = "IPv4 CIDR of the VPC, /16 to /20."
  type        = string
  default     = "10.0.0.0/16"

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && can(regex("^(\\d{1,3}\\.){3}\\d{1,3}/(1[6-9]|20)$", var.vpc_cidr))
    error_message = "vpc_cidr must be an IPv4 CIDR with a prefix length from /16 to /20, e.g. 10.0.0.0/16."
  }
}

variable "az_count" {
  description = "Number of availability zones to use when availability_zones is empty (2-6)."
  type        = number
  default     = 3

  validation {
    condition     = var.az_count >= 2 && var.az_count <= 6 && floor(var.az_count) == var.az_count
    error_message = "az_count must be a whole number from 2 to 6; EKS needs at least 2 AZs."
  }
}

variable "availability_zones" {
  description = "Explicit availability zones (2-6); empty picks the first az_count of the region."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.availability_zones) == 0 || (length(var.availability_zones) >= 2 && length(var.availability_zones) <= 6)
    error_message = "availability_zones must be empty or list 2 to 6 zones."
  }
}

variable "enable_nat_gateway" {
  description = "Create NAT gateways for the private subnets' egress."
  type        = bool
  default     = true
}

variable "single_nat_gateway" {
  description = "One shared NAT gateway (cheaper) instead of one per AZ (survives an AZ outage)."
  type        = bool
  default     = false
}

variable "enable_flow_logs" {
  description = "Send VPC flow logs to CloudWatch."
  type        = bool
  default     = true
}

variable "log_retention_in_days" {
  description = "Retention of the flow log and control-plane log groups, in days."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_in_days)
    error_message = "log_retention_in_days must be a value CloudWatch accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, ...)."
  }
}

################################################################################
# EKS
################################################################################

variable "kubernetes_version" {
  description = "Kubernetes minor version of the cluster; update cluster_addons versions with it."
  type        = string
  default     = "1.33"

  validation {
    condition     = contains(["1.31", "1.32", "1.33", "1.34"], var.kubernetes_version)
    error_message = "kubernetes_version must be one of the supported EKS versions: 1.31, 1.32, 1.33, 1.34."
  }
}

variable "cluster_endpoint_public_access" {
  description = "Expose the API endpoint publicly, limited to cluster_endpoint_public_access_cidrs (private access is always on)."
  type        = bool
  default     = false
}

variable "cluster_endpoint_public_access_cidrs" {
  description = "CIDRs allowed to the public API endpoint."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.cluster_endpoint_public_access_cidrs : can(cidrhost(c, 0)) && can(regex("^(\\d{1,3}\\.){3}\\d{1,3}/\\d{1,2}$", c))])
    error_message = "cluster_endpoint_public_access_cidrs must hold IPv4 CIDRs such as 203.0.113.0/24."
  }

  validation {
    condition     = !var.cluster_endpoint_public_access || (length(var.cluster_endpoint_public_access_cidrs) > 0 && !contains(var.cluster_endpoint_public_access_cidrs, "0.0.0.0/0"))
    error_message = "A public endpoint needs cluster_endpoint_public_access_cidrs, and not 0.0.0.0/0."
  }
}

variable "cluster_enabled_log_types" {
  description = "Control-plane log types sent to CloudWatch."
  type        = list(string)
  default     = ["api", "audit", "authenticator", "controllerManager", "scheduler"]

  validation {
    condition     = alltrue([for t in var.cluster_enabled_log_types : contains(["api", "audit", "authenticator", "controllerManager", "scheduler"], t)])
    error_message = "cluster_enabled_log_types may only contain api, audit, authenticator, controllerManager, scheduler."
  }
}

variable "enable_access_config" {
  description = "Set the cluster authentication mode to API (access entries, no aws-auth ConfigMap)."
  type        = bool
  default     = true
}

variable "enable_access_entries" {
  description = "Create EKS access entries for cluster_admin_arns and the GitHub deploy role."
  type        = bool
  default     = true
}

variable "cluster_admin_arns" {
  description = "IAM role/user ARNs given cluster-admin through access entries."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.cluster_admin_arns : can(regex("^arn:aws[a-z-]*:iam::\\d{12}:(role|user)/.+$", a))])
    error_message = "cluster_admin_arns must be IAM role or user ARNs (arn:aws:iam::<account>:role/<name>)."
  }
}

variable "deploy_namespaces" {
  description = "Namespaces the GitHub deploy role may edit (access policy AmazonEKSEditPolicy)."
  type        = list(string)
  default     = ["model-api"]
}

variable "enable_cluster_addons" {
  description = "Install the managed EKS add-ons in cluster_addons."
  type        = bool
  default     = true
}

variable "cluster_addons" {
  description = "Managed EKS add-ons with pinned versions (for Kubernetes 1.33). before_compute: installed before the node groups."
  type = map(object({
    version              = string
    configuration_values = optional(string)
    before_compute       = optional(bool, false)
  }))
  default = {
    vpc-cni = {
      version        = "v1.19.5-eksbuild.3"
      before_compute = true
      # Network policy enforcement by the VPC CNI's node agent.
      configuration_values = "{\"enableNetworkPolicy\":\"true\"}"
    }
    kube-proxy = {
      version        = "v1.33.0-eksbuild.2"
      before_compute = true
    }
    eks-pod-identity-agent = {
      version        = "v1.3.7-eksbuild.2"
      before_compute = true
    }
    coredns = {
      version = "v1.12.1-eksbuild.2"
    }
  }

  validation {
    condition     = alltrue([for k, v in var.cluster_addons : can(regex("^v\\d+\\.\\d+\\.\\d+-eksbuild\\.\\d+$", v.version))])
    error_message = "Every cluster_addons version must be pinned as vX.Y.Z-eksbuild.N."
  }

  validation {
    condition     = alltrue([for k, v in var.cluster_addons : v.configuration_values == null || can(jsondecode(v.configuration_values))])
    error_message = "cluster_addons configuration_values must be JSON."
  }
}

variable "enable_node_groups" {
  description = "Create the managed node groups in node_groups."
  type        = bool
  default     = true
}

variable "node_groups" {
  description = "Managed node groups by name. desired_size applies at creation only; the cluster autoscaler owns it afterwards."
  type = map(object({
    instance_types = list(string)
    capacity_type  = optional(string, "ON_DEMAND")
    min_size       = number
    max_size       = number
    desired_size   = number
    disk_size      = optional(number, 50)
    labels         = optional(map(string), {})
    taints = optional(list(object({
      key    = string
      value  = optional(string)
      effect = string
    })), [])
  }))
  default = {
    general = {
      instance_types = ["m6i.large", "m6a.large"]
      min_size       = 2
      max_size       = 6
      desired_size   = 3
      labels         = { "platform/pool" = "general" }
    }
  }

  validation {
    condition     = alltrue([for k, g in var.node_groups : g.min_size >= 0 && g.min_size <= g.desired_size && g.desired_size <= g.max_size && g.max_size >= 1])
    error_message = "Every node group needs 0 <= min_size <= desired_size <= max_size and max_size >= 1."
  }

  validation {
    condition     = alltrue([for k, g in var.node_groups : contains(["ON_DEMAND", "SPOT"], g.capacity_type)])
    error_message = "node_groups capacity_type must be ON_DEMAND or SPOT."
  }

  validation {
    condition     = alltrue([for k, g in var.node_groups : length(g.instance_types) > 0])
    error_message = "Every node group needs at least one instance type."
  }

  validation {
    condition     = alltrue(flatten([for k, g in var.node_groups : [for t in g.taints : contains(["NO_SCHEDULE", "NO_EXECUTE", "PREFER_NO_SCHEDULE"], t.effect)]]))
    error_message = "node_groups taint effect must be NO_SCHEDULE, NO_EXECUTE or PREFER_NO_SCHEDULE."
  }

  validation {
    condition     = alltrue([for k, g in var.node_groups : can(regex("^[a-zA-Z0-9][a-zA-Z0-9_-]{0,62}$", k))])
    error_message = "node_groups names must be 1-63 letters, digits, - or _, starting with a letter or digit."
  }
}

################################################################################
# IAM for add-ons (IRSA)
################################################################################

variable "addon_service_accounts" {
  description = "The namespace and service account bound to each add-on's IRSA role."
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

variable "route53_zone_ids" {
  description = "Route53 hosted zones cert-manager may use for DNS-01; with tls_mode = acm the first holds the validation records."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for z in var.route53_zone_ids : can(regex("^Z[A-Z0-9]{1,31}$", z))])
    error_message = "route53_zone_ids must be hosted zone IDs such as Z0123456789ABCDEFGHIJ."
  }
}

################################################################################
# ECR
################################################################################

variable "ecr_repository_name" {
  description = "Image repository name under the platform name (<name>/<this>)."
  type        = string
  default     = "model-api"
}

variable "ecr_force_delete" {
  description = "Let destroy delete the repository while it holds images (disposable environments only)."
  type        = bool
  default     = false
}

################################################################################
# Secrets Manager
################################################################################

variable "secrets_recovery_window_in_days" {
  description = "Days a destroyed secret can be restored; 0 deletes at once (disposable environments)."
  type        = number
  default     = 30
}

################################################################################
# GitHub Actions OIDC
################################################################################

variable "github_repository" {
  description = "GitHub repository whose deploy jobs may assume the deploy role, <org>/<repo>."
  type        = string
  default     = "example-org/ml-platform"

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$", var.github_repository))
    error_message = "github_repository must be <org>/<repo>, e.g. acme/ml-platform."
  }
}

variable "github_environments" {
  description = "Protected GitHub environments whose jobs may assume the deploy role."
  type        = list(string)
  default     = ["production"]
}

variable "github_branches" {
  description = "Protected branches whose jobs (without an environment) may assume the deploy role."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.github_branches) > 0 || length(var.github_environments) > 0
    error_message = "Set github_environments or github_branches, or nothing can assume the deploy role."
  }
}

variable "github_oidc_provider_arn" {
  description = "Existing GitHub Actions OIDC provider of the account; null creates it (one per account)."
  type        = string
  default     = null
}

################################################################################
# ACM
################################################################################

variable "tls_mode" {
  # One default with platform_tls_mode (roles/platform_defaults) and docs/ADRs/0003-alb-tls.md:
  # acm works on a first real run with nothing in the cluster (Terraform requests and validates
  # the certificate; the load balancer controller finds it by host name).
  description = "Who issues the service's TLS certificate: \"acm\" (ACM, DNS-validated in Route53) or \"cert-manager\" (Let's Encrypt DNS-01, imported into ACM by External Secrets)."
  type        = string
  default     = "acm"

  validation {
    condition     = contains(["acm", "cert-manager"], var.tls_mode)
    error_message = "tls_mode must be \"acm\" or \"cert-manager\"."
  }
}

variable "service_hostname" {
  description = "Public host name of the model API (e.g. api.example.com)."
  type        = string
  default     = "model-api.example.com"

  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", var.service_hostname))
    error_message = "service_hostname must be a lower-case DNS name such as api.example.com."
  }

  validation {
    condition     = var.tls_mode != "acm" || (var.service_hostname != "" && length(var.route53_zone_ids) > 0)
    error_message = "tls_mode = \"acm\" needs route53_zone_ids (the first zone holds the validation records)."
  }

  validation {
    # DNS-01 answers in the given zones only (addon_iam grants ChangeResourceRecordSets there).
    condition     = var.tls_mode != "cert-manager" || (var.service_hostname != "" && length(var.route53_zone_ids) > 0)
    error_message = "tls_mode = \"cert-manager\" needs route53_zone_ids: cert-manager may answer DNS-01 challenges only in those zones."
  }
}

variable "acm_certificate_retained" {
  description = "Keep the ACM certificate Terraform requested (tls_mode = acm) when switching a running environment to cert-manager: the load balancer controller attaches every issued ACM certificate matching the host, so the listener uses it and ACM refuses to delete it (docs/secrets-and-tls.md)."
  type        = bool
  default     = false
}

variable "alert_email" {
  description = "Optional e-mail address for platform notifications (reserved; passed through to the platform output)."
  type        = string
  default     = null

  validation {
    condition     = var.alert_email == null || can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alert_email))
    error_message = "alert_email must look like an e-mail address (name@example.com)."
  }
}
