################################################################################
# Cluster
################################################################################

variable "cluster_name" {
  description = "Name of the EKS cluster."
  type        = string
}

variable "kubernetes_version" {
  description = "Kubernetes minor version of the control plane and node groups."
  type        = string
}

variable "upgrade_support_type" {
  description = "Upgrade policy support type (STANDARD or EXTENDED); null leaves it unset."
  type        = string
  default     = "STANDARD"
}

variable "subnet_ids" {
  description = "Private subnet IDs for the control plane ENIs and the nodes (at least 2 AZs)."
  type        = list(string)
}

variable "endpoint_public_access" {
  description = "Expose the API server endpoint publicly (private access is always on)."
  type        = bool
  default     = false
}

variable "endpoint_public_access_cidrs" {
  description = "CIDRs allowed to reach the public endpoint when endpoint_public_access is true."
  type        = list(string)
  default     = []
}

variable "cluster_enabled_log_types" {
  description = "Control-plane log types sent to CloudWatch."
  type        = list(string)
  default     = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
}

variable "cluster_log_retention_in_days" {
  description = "Retention of the control-plane log group, in days."
  type        = number
  default     = 365
}

variable "kms_key_arn" {
  description = "KMS key ARN for Kubernetes secrets envelope encryption, node volumes and the log group."
  type        = string
}

variable "enable_access_config" {
  description = "Set the cluster's authentication mode to API (access entries only)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

################################################################################
# Access entries
################################################################################

variable "enable_access_entries" {
  description = "Create the access entries in access_entries."
  type        = bool
  default     = true
}

variable "access_entries" {
  description = "IAM principals given cluster access: an EKS access policy name (e.g. AmazonEKSClusterAdminPolicy), cluster-wide or limited to namespaces, and/or Kubernetes groups bound by in-cluster RBAC. Keys must be static."
  type = map(object({
    principal_arn     = string
    policy_name       = optional(string)
    namespaces        = optional(list(string), [])
    kubernetes_groups = optional(list(string), [])
  }))
  default = {}
}

################################################################################
# IRSA (IAM OIDC provider)
################################################################################

################################################################################
# Add-ons
################################################################################

variable "enable_cluster_addons" {
  description = "Install the managed EKS add-ons in cluster_addons."
  type        = bool
  default     = true
}

variable "cluster_addons" {
  description = "Managed EKS add-ons by name: a pinned version or null (most recent for kubernetes_version), optional JSON configuration."
  type = map(object({
    version              = optional(string)
    configuration_values = optional(string)
    before_compute       = optional(bool, false)
  }))
  default = {}
}

variable "enable_ebs_csi_driver" {
  description = "Create the EBS CSI driver's IRSA role, and its add-on when enable_cluster_addons."
  type        = bool
  default     = true
}

variable "ebs_csi_driver_version" {
  description = "Pinned aws-ebs-csi-driver version, or null for the most recent one for kubernetes_version."
  type        = string
  default     = null
}

################################################################################
# Node groups
################################################################################

variable "node_groups" {
  description = "Managed node groups by name. desired_size only applies at creation; the cluster autoscaler owns it afterwards."
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
  default = {}
}
