################################################################################
# Certificate
################################################################################

resource "aws_acm_certificate" "this" {
  count = var.create ? 1 : 0

  domain_name               = var.domain_name
  subject_alternative_names = var.subject_alternative_names
  validation_method         = "DNS"
  key_algorithm             = "EC_prime256v1"

  options {
    certificate_transparency_logging_preference = "ENABLED"
  }

  tags = merge(var.tags, { Name = var.domain_name })

  lifecycle {
    create_before_destroy = true
  }
}

################################################################################
# DNS validation
################################################################################

resource "aws_route53_record" "validation" {
  # Keyed by the configured names, which are known at plan time; the validation options
  # themselves are only known once the certificate exists.
  for_each = var.create ? toset(concat([var.domain_name], var.subject_alternative_names)) : toset([])

  zone_id         = var.zone_id
  name            = one([for o in aws_acm_certificate.this[0].domain_validation_options : o.resource_record_name if o.domain_name == each.key])
  type            = one([for o in aws_acm_certificate.this[0].domain_validation_options : o.resource_record_type if o.domain_name == each.key])
  records         = [one([for o in aws_acm_certificate.this[0].domain_validation_options : o.resource_record_value if o.domain_name == each.key])]
  ttl             = 60
  allow_overwrite = true # a wildcard and its apex share one record
}

resource "aws_acm_certificate_validation" "this" {
  count = var.create && var.wait_for_validation ? 1 : 0

  certificate_arn         = aws_acm_certificate.this[0].arn
  validation_record_fqdns = [for r in aws_route53_record.validation : r.fqdn]
}
