################################################################################
# OIDC provider
################################################################################

variable "create_oidc_provider" {
  description = "Create the account's GitHub Actions OIDC provider (only one per URL can exist per account; the creating environment owns it). false looks the existing one up by URL."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

################################################################################
# Trust: one role per GitHub environment
################################################################################

variable "name_prefix" {
  description = "Prefix of the role names: <prefix>-github-publish and <prefix>-github-deploy."
  type        = string
}

variable "repository" {
  description = "GitHub repository allowed to assume the roles, <org>/<repo>."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$", var.repository))
    error_message = "repository must be <org>/<repo>, e.g. acme/ml-platform."
  }
}

variable "publish_environment" {
  description = "The one GitHub environment whose jobs may assume the publish role."
  type        = string
}

variable "deploy_environment" {
  description = "The one GitHub environment (protected, with required reviewers) whose jobs may assume the deploy role."
  type        = string

  validation {
    condition     = var.deploy_environment != var.publish_environment
    error_message = "deploy_environment and publish_environment must differ."
  }
}

################################################################################
# Publish role (image job: ECR push only)
################################################################################

variable "ecr_repository_arn" {
  description = "ECR repository the publish role may push to."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the ECR repository (used only through ECR)."
  type        = string
}

variable "region" {
  description = "Region of the repository (kms:ViaService ecr.<region>.amazonaws.com)."
  type        = string
}

################################################################################
# Deploy role (deploy job: the cluster, through its Kubernetes group)
################################################################################

variable "cluster_arn" {
  description = "EKS cluster the deploy role may describe (its access entry is created by the eks module)."
  type        = string
}

variable "terraform_state_read" {
  description = "S3 bucket and key of the Terraform state the deploy role may read (platform outputs), or null."
  type = object({
    bucket = string
    key    = string
  })
  default = null
}
