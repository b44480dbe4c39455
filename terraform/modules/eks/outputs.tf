################################################################################
# Cluster
################################################################################

output "cluster_name" {
  description = "Name of the cluster."
  value       = try(aws_eks_cluster.this.name, null)
}

output "cluster_arn" {
  description = "ARN of the cluster."
  value       = try(aws_eks_cluster.this.arn, null)
}

output "cluster_endpoint" {
  description = "API server endpoint."
  value       = try(aws_eks_cluster.this.endpoint, null)
}

output "cluster_certificate_authority_data" {
  description = "Base64 CA bundle of the API server."
  value       = try(aws_eks_cluster.this.certificate_authority[0].data, null)
}

output "cluster_version" {
  description = "Kubernetes version of the control plane."
  value       = try(aws_eks_cluster.this.version, null)
}

output "cluster_security_group_id" {
  description = "Security group EKS created for the control plane and managed nodes."
  value       = try(aws_eks_cluster.this.vpc_config[0].cluster_security_group_id, null)
}

output "cluster_encryption_policy" {
  description = "The cluster role's KMS policy for envelope encryption of secrets (decoded)."
  value       = local.cluster_encryption_policy
}

output "cluster_iam_role_arn" {
  description = "ARN of the cluster's IAM role."
  value       = try(aws_iam_role.cluster.arn, null)
}

################################################################################
# Access entries
################################################################################

output "access_entry_principal_arns" {
  description = "Principal ARNs that have an access entry, by entry key."
  value       = { for k, v in aws_eks_access_entry.this : k => v.principal_arn }
}

################################################################################
# IRSA (IAM OIDC provider)
################################################################################

output "oidc_issuer_url" {
  description = "OIDC issuer URL of the cluster (https://...)."
  value       = try(aws_eks_cluster.this.identity[0].oidc[0].issuer, null)
}

output "oidc_provider_arn" {
  description = "ARN of the IAM OIDC provider used by IRSA roles."
  value       = try(aws_iam_openid_connect_provider.oidc.arn, null)
}

################################################################################
# Add-ons
################################################################################

output "ebs_csi_driver_role_arn" {
  description = "ARN of the EBS CSI driver's IRSA role, or null."
  value       = try(aws_iam_role.ebs_csi[0].arn, null)
}

output "ebs_csi_kms_policy" {
  description = "The EBS CSI role's KMS policy document (decoded), for tests and review."
  value       = local.ebs_csi_kms_policy
}

output "ebs_csi_assume_policy" {
  description = "The EBS CSI role's trust policy (decoded)."
  value       = local.ebs_csi_assume_policy
}

output "addon_versions" {
  description = "Installed managed add-ons and their versions."
  value = merge(
    { for k, v in aws_eks_addon.before_compute : k => v.addon_version },
    { for k, v in aws_eks_addon.after_compute : k => v.addon_version },
  )
}

################################################################################
# Node groups
################################################################################

output "node_iam_role_arn" {
  description = "ARN of the IAM role of the managed nodes."
  value       = try(aws_iam_role.node[0].arn, null)
}

output "node_group_names" {
  description = "Names of the managed node groups."
  value       = [for k, v in aws_eks_node_group.this : v.node_group_name]
}
