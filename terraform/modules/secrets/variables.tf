################################################################################
# Secrets
################################################################################

variable "prefix" {
  description = "Name prefix of the secrets, <platform>/<environment>/ (ends with /)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_+=.@-]+/[A-Za-z0-9_+=.@-]+/$", var.prefix))
    error_message = "prefix must look like <platform>/<environment>/ (ending with /)."
  }
}

variable "kms_key_arn" {
  description = "KMS key ARN that encrypts the secret values."
  type        = string
}

variable "recovery_window_in_days" {
  description = "Days a deleted secret can be restored; 0 deletes at once (disposable environments)."
  type        = number
  default     = 30

  validation {
    condition     = var.recovery_window_in_days == 0 || (var.recovery_window_in_days >= 7 && var.recovery_window_in_days <= 30)
    error_message = "recovery_window_in_days must be 0 or 7-30 (Secrets Manager's range)."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
