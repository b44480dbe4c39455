################################################################################
# VPC
################################################################################

output "vpc_id" {
  description = "ID of the VPC."
  value       = try(aws_vpc.this.id, null)
}

output "vpc_cidr" {
  description = "CIDR of the VPC."
  value       = try(aws_vpc.this.cidr_block, null)
}

################################################################################
# Subnets
################################################################################

output "private_subnet_ids" {
  description = "IDs of the private subnets, in availability zone order."
  value       = try(aws_subnet.private[*].id, [])
}

output "public_subnet_ids" {
  description = "IDs of the public subnets, in availability zone order."
  value       = try(aws_subnet.public[*].id, [])
}

################################################################################
# NAT gateways
################################################################################

output "nat_public_ips" {
  description = "Public IPs of the NAT gateways (egress addresses of the private subnets)."
  value       = try(aws_eip.nat[*].public_ip, [])
}

################################################################################
# Flow logs
################################################################################

output "flow_log_group_name" {
  description = "Name of the flow log group, or null when flow logs are off."
  value       = try(aws_cloudwatch_log_group.flow_logs[0].name, null)
}
