################################################################################
# VPC
################################################################################

variable "name" {
  description = "Name prefix of every resource in the network (usually <platform>-<environment>)."
  type        = string
}

variable "vpc_cidr" {
  description = "IPv4 CIDR of the VPC, /16 to /20."
  type        = string
  default     = "10.0.0.0/16"

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && try(tonumber(split("/", var.vpc_cidr)[1]) >= 16 && tonumber(split("/", var.vpc_cidr)[1]) <= 20, false)
    error_message = "vpc_cidr must be an IPv4 CIDR with a prefix length from /16 to /20, e.g. 10.0.0.0/16."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

################################################################################
# Subnets
################################################################################

variable "availability_zones" {
  description = "Availability zones to spread subnets over (2 to 6); one public and one private subnet each."
  type        = list(string)

  validation {
    condition     = length(var.availability_zones) >= 2 && length(var.availability_zones) <= 6
    error_message = "availability_zones must list 2 to 6 zones; EKS needs subnets in at least 2."
  }
}

variable "cluster_name" {
  description = "EKS cluster name, used in the kubernetes.io/cluster/<name> discovery tag on subnets."
  type        = string
}

################################################################################
# NAT gateways
################################################################################

variable "enable_nat_gateway" {
  description = "Create NAT gateways so private subnets reach the internet."
  type        = bool
  default     = true
}

variable "single_nat_gateway" {
  description = "One NAT gateway shared by all AZs (cheaper) instead of one per AZ (survives an AZ failure)."
  type        = bool
  default     = false
}

################################################################################
# Flow logs
################################################################################

variable "enable_flow_logs" {
  description = "Send VPC flow logs (all traffic) to a CloudWatch log group."
  type        = bool
  default     = true
}

variable "flow_logs_retention_in_days" {
  description = "Retention of the flow log group, in days."
  type        = number
  default     = 365
}

variable "kms_key_arn" {
  description = "KMS key ARN that encrypts the flow log group (null: CloudWatch's own key)."
  type        = string
  default     = null
}
