################################################################################
# Repository
################################################################################

output "repository_url" {
  description = "URL of the repository (<account>.dkr.ecr.<region>.amazonaws.com/<name>)."
  value       = try(aws_ecr_repository.this.repository_url, null)
}

output "repository_arn" {
  description = "ARN of the repository."
  value       = try(aws_ecr_repository.this.arn, null)
}

output "repository_name" {
  description = "Name of the repository."
  value       = try(aws_ecr_repository.this.name, null)
}

################################################################################
# Lifecycle policy
################################################################################

output "lifecycle_policy" {
  description = "The lifecycle policy JSON, or null when none is attached."
  value       = try(aws_ecr_lifecycle_policy.this[0].policy, null)
}
