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

  # IAM role names are at most 64 characters (IAM quotas: "Role name ... 64 characters"); the
  # longest name built from the prefix is "<name>-<environment>-aws-load-balancer-controller".
  # Checked here so the plan fails at once, naming both variables, instead of at CreateRole.
  validation {
    condition     = length("${var.name}-${var.environment}-aws-load-balancer-controller") <= 64
    error_message = "name and environment are too long together: IAM role \"${var.name}-${var.environment}-aws-load-balancer-controller\" would be ${length("${var.name}-${var.environment}-aws-load-balancer-controller")} characters, IAM allows 64. Keep length(name) + length(environment) <= 34."
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
  description = "Emulated AWS only: endpoint URL every AWS service is sent to (set TF_VAR_aws_endpoint_url from bin/aws-emulator). null for real AWS."
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

# Versions EKS accepts for new clusters on 2026-11-30, from the EKS version calendar
# (https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html, dates as listed on
# https://endoflife.date/amazon-eks): 1.32 extended support until 2027-03-23, 1.33 extended until
# 2027-07-29, 1.34 standard until 2026-12-02, 1.35 standard until 2027-03-27. 1.31 left extended
# support on 2026-11-26 and cannot be created any more. The default is the newest one in standard
# support. Keep this list and preflight_kubernetes_versions (playbooks/preflight.yml) equal.
variable "kubernetes_version" {
  description = "Kubernetes minor version of the cluster (the inventory's platform_kubernetes_version); add-on versions are resolved for it."
  type        = string
  default     = "1.35"

  validation {
    condition     = contains(["1.32", "1.33", "1.34", "1.35"], var.kubernetes_version)
    error_message = "kubernetes_version must be one of the EKS versions that accept new clusters: 1.32, 1.33, 1.34, 1.35."
  }
}

variable "upgrade_support_type" {
  description = "EKS upgrade policy: STANDARD (auto-upgraded at the end of standard support, no extended-support charge) or EXTENDED. null leaves it unset (emulated AWS only: moto does not store it)."
  type        = string
  default     = "STANDARD"

  validation {
    condition     = var.upgrade_support_type == null || contains(["STANDARD", "EXTENDED"], coalesce(var.upgrade_support_type, "STANDARD"))
    error_message = "upgrade_support_type must be STANDARD or EXTENDED."
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
    condition     = !var.cluster_endpoint_public_access || length(var.cluster_endpoint_public_access_cidrs) > 0
    error_message = "A public endpoint needs cluster_endpoint_public_access_cidrs (the CIDRs allowed to reach it)."
  }

  # Any /0 (0.0.0.0/0, 10.0.0.0/0, ...) is the whole internet.
  validation {
    condition     = alltrue([for c in var.cluster_endpoint_public_access_cidrs : !endswith(c, "/0")])
    error_message = "cluster_endpoint_public_access_cidrs must not contain a /0 (that is every address): ${join(", ", [for c in var.cluster_endpoint_public_access_cidrs : c if endswith(c, "/0")])}."
  }

  # EKS quota: at most 40 public access CIDRs per cluster.
  validation {
    condition     = length(var.cluster_endpoint_public_access_cidrs) <= 40
    error_message = "cluster_endpoint_public_access_cidrs may hold at most 40 CIDRs (EKS limit)."
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

variable "enable_cluster_creator_admin_permissions" {
  description = "Give the identity that runs Terraform (the one running site.yml; for an assumed role, the role) cluster-admin through an access entry, as terraform-aws-modules/eks v21 does. Turn off when admins are only managed through cluster_admin_arns."
  type        = bool
  default     = true
}

variable "cluster_admin_arns" {
  description = "More IAM role/user ARNs given cluster-admin through access entries (the creator is added by enable_cluster_creator_admin_permissions)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.cluster_admin_arns : can(regex("^arn:aws[a-z-]*:iam::\\d{12}:(role|user)/.+$", a))])
    error_message = "cluster_admin_arns must be IAM role or user ARNs (arn:aws:iam::<account>:role/<name>)."
  }
}

variable "deploy_kubernetes_group" {
  description = "Kubernetes group of the GitHub deploy role's access entry. No EKS access policy is associated: the platform binds this group to its own Role/ClusterRole (roles/platform_cluster)."
  type        = string
  default     = "ml-platform:deployers"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9:.-]{0,62}$", var.deploy_kubernetes_group)) && !startswith(var.deploy_kubernetes_group, "system:") && !startswith(var.deploy_kubernetes_group, "eks:")
    error_message = "deploy_kubernetes_group must be a group name like ml-platform:deployers, not starting with system: or eks: (EKS reserves those)."
  }
}

variable "enable_cluster_addons" {
  description = "Install the managed EKS add-ons in cluster_addons."
  type        = bool
  default     = true
}

variable "cluster_addons" {
  description = "Managed EKS add-ons. version null = the most recent version EKS lists for kubernetes_version (aws_eks_addon_version); a pinned version is checked against the cluster's Kubernetes version where the add-on follows it (kube-proxy). before_compute: installed before the node groups. aws-ebs-csi-driver is added by the eks module with its IRSA role."
  type = map(object({
    version              = optional(string)
    configuration_values = optional(string)
    before_compute       = optional(bool, false)
  }))
  default = {
    vpc-cni = {
      before_compute = true
      # Network policy enforcement by the VPC CNI's node agent.
      configuration_values = "{\"enableNetworkPolicy\":\"true\"}"
    }
    kube-proxy = {
      before_compute = true
    }
    eks-pod-identity-agent = {
      before_compute = true
    }
    coredns = {}
  }

  validation {
    condition     = alltrue([for k, v in var.cluster_addons : v.version == null || can(regex("^v\\d+\\.\\d+\\.\\d+-eksbuild\\.\\d+$", coalesce(v.version, "v0.0.0-eksbuild.0")))])
    error_message = "A pinned cluster_addons version must look like vX.Y.Z-eksbuild.N (or leave version unset to resolve it for kubernetes_version)."
  }

  validation {
    condition     = alltrue([for k, v in var.cluster_addons : v.configuration_values == null || can(jsondecode(v.configuration_values))])
    error_message = "cluster_addons configuration_values must be JSON."
  }

  validation {
    condition     = !contains(keys(var.cluster_addons), "aws-ebs-csi-driver")
    error_message = "aws-ebs-csi-driver is managed by enable_ebs_csi_driver (it needs its IRSA role); remove it from cluster_addons."
  }
}

variable "enable_ebs_csi_driver" {
  description = "Install the EBS CSI driver managed add-on with its IRSA role (AmazonEBSCSIDriverPolicy + use of the platform key); needs enable_cluster_addons for the add-on itself."
  type        = bool
  default     = true
}

variable "ebs_csi_driver_version" {
  description = "Pinned aws-ebs-csi-driver add-on version, or null for the most recent one for kubernetes_version."
  type        = string
  default     = null
}

variable "create_autoscaling_service_linked_role" {
  description = "Create AWSServiceRoleForAutoScaling before the platform key (its key policy names the role, and KMS refuses a policy naming a role that does not exist). true only in an account where the role does not exist yet; it is never needed twice per account."
  type        = bool
  default     = false
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
  description = "Days a destroyed secret can be restored; 0 deletes at once (environments that are destroyed and recreated: a secret in its recovery window blocks a new one of the same name)."
  type        = number
  default     = 30

  validation {
    condition     = var.secrets_recovery_window_in_days == 0 || (var.secrets_recovery_window_in_days >= 7 && var.secrets_recovery_window_in_days <= 30)
    error_message = "secrets_recovery_window_in_days must be 0 or 7-30 (Secrets Manager's range)."
  }
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

variable "github_publish_environment" {
  description = "The one GitHub environment whose jobs may assume the image publish role (ECR push only)."
  type        = string
  default     = "ecr-publish"

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{1,255}$", var.github_publish_environment))
    error_message = "github_publish_environment must be one GitHub environment name (letters, digits, . _ -)."
  }
}

variable "github_deploy_environment" {
  description = "The one GitHub environment (protected, with required reviewers) whose jobs may assume the deploy role."
  type        = string
  default     = "production"

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{1,255}$", var.github_deploy_environment))
    error_message = "github_deploy_environment must be one GitHub environment name (letters, digits, . _ -)."
  }

  validation {
    condition     = var.github_deploy_environment != var.github_publish_environment
    error_message = "github_deploy_environment and github_publish_environment must differ: the unreviewed image job must not get the deploy role."
  }
}

variable "github_oidc_provider" {
  description = "The account's GitHub Actions OIDC provider (one per URL per account): \"create\" in exactly one environment of the account (it is destroyed with that environment), \"existing\" everywhere else (looked up by URL, never destroyed)."
  type        = string
  default     = "existing"

  validation {
    condition     = contains(["create", "existing"], var.github_oidc_provider)
    error_message = "github_oidc_provider must be \"create\" or \"existing\"."
  }
}

variable "terraform_state_read" {
  description = "S3 location of this environment's Terraform state ({bucket, key}, as in envs/<env>.s3.tfbackend): the deploy role may read it to get the platform outputs. null = no state access."
  type = object({
    bucket = string
    key    = string
  })
  default = null
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
