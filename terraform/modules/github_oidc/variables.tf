################################################################################
# OIDC provider
################################################################################

variable "create_oidc_provider" {
  description = "Create the account's GitHub Actions OIDC provider (only one can exist per account)."
  type        = bool
  default     = true
}

variable "oidc_provider_arn" {
  description = "ARN of an existing GitHub Actions OIDC provider, when create_oidc_provider is false."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

################################################################################
# Deploy role
################################################################################

variable "role_name" {
  description = "Name of the deploy role."
  type        = string
}

variable "repository" {
  description = "GitHub repository allowed to assume the role, <org>/<repo>."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$", var.repository))
    error_message = "repository must be <org>/<repo>, e.g. acme/ml-platform."
  }
}

variable "environments" {
  description = "GitHub environments (protected, with required reviewers) whose jobs may assume the role."
  type        = list(string)
  default     = []
}

variable "branches" {
  description = "Protected branches whose jobs (without an environment) may assume the role."
  type        = list(string)
  default     = []
}

variable "ecr_repository_arn" {
  description = "ECR repository the role may push to."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the ECR repository."
  type        = string
}

variable "cluster_arn" {
  description = "EKS cluster the role may describe (its access entry is created by the eks module)."
  type        = string
}
