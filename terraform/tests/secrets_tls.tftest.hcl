# Secrets and TLS (issue 21): the External Secrets ACM statements, the TLS default, the
# cert-manager zone requirement and the acm -> cert-manager switch. `terraform test` from terraform/.
#
# The addon_iam runs use the real AWS provider (aws_iam_policy_document is computed by the
# provider without any API call) with the account data overridden, so the policy JSON asserted
# here is the JSON IAM receives. The root runs use a mocked provider.
#
# What the statements must allow is what External Secrets' ACM provider calls (external-secrets
# v2.9.0, providers/v1/aws/certificatemanager/certificatemanager.go): tag:GetResources with the
# tag filters managed-by=external-secrets and external-secrets-remote-key=<prefix><remoteKey>;
# acm:ImportCertificate with exactly those two tags for a new certificate; acm:GetCertificate and
# acm:ImportCertificate (CertificateArn, no tags) for a re-import; acm:ListTagsForCertificate,
# acm:AddTagsToCertificate and acm:RemoveTagsFromCertificate for the PushSecret's own tags.

provider "aws" {
  region                      = "eu-west-1"
  access_key                  = "mock"
  secret_key                  = "mock"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
}

mock_provider "aws" {
  alias  = "mock"
  source = "./tests/mocks/aws"
}

override_data {
  target = data.aws_caller_identity.current
  values = {
    account_id = "123456789012"
    arn        = "arn:aws:sts::123456789012:assumed-role/platform-ci/site"
  }
}

override_data {
  target = data.aws_region.current
  values = {
    name = "eu-west-1"
  }
}

override_data {
  target = data.aws_partition.current
  values = {
    partition = "aws"
  }
}

variables {
  # addon_iam inputs (root runs set environment and the TLS inputs they need)
  name              = "ml-platform-local"
  cluster_name      = "ml-platform-local"
  oidc_provider_arn = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE"
  oidc_issuer_url   = "https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE"
  secrets_prefix    = "ml-platform/local/"
  kms_key_arn       = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  route53_zone_ids  = ["Z0123456789ABCDEFGHIJ"]
}

################################################################################
# External Secrets -> ACM (findings 1 and 3)
################################################################################

run "eso_acm_statements_match_the_provider_and_hold_the_tag_boundary" {
  command = plan

  module {
    source = "./modules/addon_iam"
  }

  variables {
    enable_acm_import = true
  }

  # Finding 1: ESO finds its certificates with the Resource Groups Tagging API.
  assert {
    condition = contains(flatten([for s in jsondecode(data.aws_iam_policy_document.external_secrets.json).Statement :
    flatten([s.Action]) if s.Sid == "FindPushedCertificates"]), "tag:GetResources")
    error_message = "ESO's ACM provider looks certificates up with tag:GetResources; the policy must grant it."
  }

  # Finding 1: a new import carries only ESO's own tags and must be allowed on those.
  assert {
    condition = one([for s in jsondecode(data.aws_iam_policy_document.external_secrets.json).Statement : s.Condition
      if s.Sid == "ImportNewCertificatesWithEsoTags"]) == {
      StringEquals                = { "aws:RequestTag/managed-by" = "external-secrets" }
      StringLike                  = { "aws:RequestTag/external-secrets-remote-key" = "ml-platform-local/*" }
      "ForAllValues:StringEquals" = { "aws:TagKeys" = ["managed-by", "external-secrets-remote-key"] }
    }
    error_message = "New imports must be allowed exactly with ESO's tags managed-by=external-secrets and external-secrets-remote-key=<platform prefix>*, and no other tag."
  }

  assert {
    condition = one([for s in jsondecode(data.aws_iam_policy_document.external_secrets.json).Statement : s.Action
    if s.Sid == "ImportNewCertificatesWithEsoTags"]) == "acm:ImportCertificate"
    error_message = "The request-tag statement may only import: tagging existing certificates must need their resource tags."
  }

  # Finding 3: everything on an existing certificate needs ESO's tags on that certificate.
  assert {
    condition = alltrue([for s in jsondecode(data.aws_iam_policy_document.external_secrets.json).Statement :
      s.Condition.StringEquals["aws:ResourceTag/managed-by"] == "external-secrets" &&
      s.Condition.StringLike["aws:ResourceTag/external-secrets-remote-key"] == "ml-platform-local/*"
    if contains(["ReimportAndReadOwnCertificates", "TagOwnCertificates"], s.Sid)])
    error_message = "Re-import, read and tag changes must require the certificate to carry managed-by=external-secrets and this platform's remote-key prefix."
  }

  assert {
    condition = one([for s in jsondecode(data.aws_iam_policy_document.external_secrets.json).Statement : s.Condition["ForAllValues:StringNotEquals"]
    if s.Sid == "TagOwnCertificates"]) == { "aws:TagKeys" = ["managed-by", "external-secrets-remote-key"] }
    error_message = "Tag changes must never add, change or remove the boundary tags managed-by and external-secrets-remote-key."
  }

  # No unused actions, and nothing outside the four statements.
  assert {
    condition = toset(flatten([for s in jsondecode(data.aws_iam_policy_document.external_secrets.json).Statement : flatten([s.Action])
      if startswith(flatten([s.Action])[0], "acm:") || startswith(flatten([s.Action])[0], "tag:")])) == toset([
      "tag:GetResources", "acm:ImportCertificate", "acm:GetCertificate", "acm:ListTagsForCertificate",
      "acm:AddTagsToCertificate", "acm:RemoveTagsFromCertificate",
    ])
    error_message = "The ACM statements must grant exactly what the provider calls for PushSecrets (no DeleteCertificate, DescribeCertificate, ListCertificates)."
  }

  assert {
    condition = alltrue([for s in jsondecode(data.aws_iam_policy_document.external_secrets.json).Statement :
      length(setintersection(toset(flatten([s.Action])), toset(["acm:ImportCertificate", "acm:AddTagsToCertificate", "acm:RemoveTagsFromCertificate", "acm:GetCertificate", "acm:ListTagsForCertificate"]))) == 0 ||
    can(s.Condition.StringEquals["aws:ResourceTag/managed-by"]) || s.Sid == "ImportNewCertificatesWithEsoTags"])
    error_message = "No statement may allow an ACM write or read on certificates without ESO's resource tags (except the tagged new import)."
  }

  assert {
    condition     = output.acm_remote_key_prefix == "ml-platform-local/"
    error_message = "The remote-key prefix defaults to <name>/, the ACM store's spec.provider.aws.prefix."
  }
}

run "no_acm_statements_without_acm_import" {
  command = plan

  module {
    source = "./modules/addon_iam"
  }

  assert {
    condition = length([for s in jsondecode(data.aws_iam_policy_document.external_secrets.json).Statement : s
    if anytrue([for a in flatten([s.Action]) : startswith(a, "acm:") || startswith(a, "tag:")])]) == 0
    error_message = "Without ACM import External Secrets gets no ACM or tagging permission."
  }
}

run "rejects_a_remote_key_prefix_without_a_slash" {
  command = plan

  module {
    source = "./modules/addon_iam"
  }

  variables {
    enable_acm_import     = true
    acm_remote_key_prefix = "ml-platform"
  }

  expect_failures = [var.acm_remote_key_prefix]
}

run "cert_manager_dns01_is_limited_to_the_given_zones" {
  command = plan

  module {
    source = "./modules/addon_iam"
  }

  assert {
    condition = one([for s in jsondecode(data.aws_iam_policy_document.cert_manager.json).Statement : s.Resource
    if s.Sid == "AnswerDns01Challenges"]) == "arn:aws:route53:::hostedzone/Z0123456789ABCDEFGHIJ"
    error_message = "cert-manager may change records only in the given zones."
  }
}

################################################################################
# TLS default, zones, switching (finding 5)
################################################################################

run "the_default_tls_mode_is_acm" {
  command = plan

  providers = {
    aws = aws.mock
  }

  variables {
    environment = "local"
  }

  assert {
    condition     = var.tls_mode == "acm" && length(module.acm.validation_record_fqdns) == 1
    error_message = "The TLS default is acm (one default in code and docs) and requests the certificate."
  }
}

run "cert_manager_mode_without_zones_is_rejected" {
  command = plan

  providers = {
    aws = aws.mock
  }

  variables {
    environment      = "local"
    tls_mode         = "cert-manager"
    route53_zone_ids = []
  }

  expect_failures = [var.service_hostname]
}

run "switching_to_cert_manager_keeps_the_certificate_while_retained" {
  command = plan

  providers = {
    aws = aws.mock
  }

  variables {
    environment              = "local"
    tls_mode                 = "cert-manager"
    acm_certificate_retained = true
  }

  assert {
    condition     = length(module.acm.validation_record_fqdns) == 1
    error_message = "With acm_certificate_retained the Terraform certificate the listener serves must stay."
  }
}

run "cert_manager_mode_drops_the_certificate_when_not_retained" {
  command = plan

  providers = {
    aws = aws.mock
  }

  variables {
    environment = "local"
    tls_mode    = "cert-manager"
  }

  assert {
    condition     = length(module.acm.validation_record_fqdns) == 0
    error_message = "cert-manager mode without acm_certificate_retained requests no ACM certificate."
  }
}
