################################################################################
# Certificate
################################################################################

output "certificate_arn" {
  description = "ARN of the certificate (validated when wait_for_validation), or null when not created."
  value       = try(aws_acm_certificate_validation.this[0].certificate_arn, aws_acm_certificate.this[0].arn, null)
}

################################################################################
# DNS validation
################################################################################

output "validation_record_fqdns" {
  description = "FQDNs of the DNS validation records."
  value       = [for r in aws_route53_record.validation : r.fqdn]
}
