################################################################################
# Certificate
################################################################################

variable "create" {
  description = "Create the certificate (the root sets this from tls_mode == \"acm\")."
  type        = bool
  default     = true
}

variable "domain_name" {
  description = "Host name the certificate is for (the service host)."
  type        = string
  default     = ""

  validation {
    condition     = var.domain_name == "" || can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", var.domain_name))
    error_message = "domain_name must be a lower-case DNS name such as api.example.com."
  }
}

variable "subject_alternative_names" {
  description = "Additional host names on the certificate."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

################################################################################
# DNS validation
################################################################################

variable "zone_id" {
  description = "Route53 hosted zone that holds the validation records."
  type        = string
  default     = null
}

variable "wait_for_validation" {
  description = "Wait until ACM has issued the certificate."
  type        = bool
  default     = true
}
