################################################################################
# Repository
################################################################################

variable "repository_name" {
  description = "Name of the ECR repository (e.g. ml-platform/model-api)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$", var.repository_name)) && length(var.repository_name) <= 256
    error_message = "repository_name must be lower-case letters, digits and . _ - / separators (ECR naming rules)."
  }
}

variable "kms_key_arn" {
  description = "KMS key ARN that encrypts the images."
  type        = string
}

variable "force_delete" {
  description = "Delete the repository even when it still holds images (disposable environments only)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

################################################################################
# Lifecycle policy
################################################################################

variable "create_lifecycle_policy" {
  description = "Attach the lifecycle policy that expires untagged and old images."
  type        = bool
  default     = true
}

variable "max_image_count" {
  description = "Number of most recent images kept."
  type        = number
  default     = 50

  validation {
    condition     = var.max_image_count >= 5
    error_message = "max_image_count must be at least 5, or canary rollbacks lose their previous image."
  }
}

variable "untagged_image_expiry_days" {
  description = "Days after which untagged images expire."
  type        = number
  default     = 7
}
