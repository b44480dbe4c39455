# Offline tests with a mocked AWS provider: `terraform test` from terraform/.

mock_provider "aws" {
  source = "./tests/mocks/aws"
}

variables {
  environment = "local"
  # Both TLS modes need a hosted zone; the default mode is acm (tests/secrets_tls.tftest.hcl).
  route53_zone_ids = ["Z0123456789ABCDEFGHIJ"]
  service_hostname = "api.example.com" # the host of the mocked validation option
}

run "defaults_build_the_documented_platform" {
  command = apply

  assert {
    condition     = length(output.platform.private_subnet_ids) == 3 && length(output.platform.public_subnet_ids) == 3
    error_message = "The default network must span 3 availability zones."
  }

  assert {
    condition     = output.platform.secrets.service_api_keys.name == "ml-platform/local/service/api-keys"
    error_message = "The API keys secret must be named <name>/<environment>/service/api-keys."
  }

  assert {
    condition     = output.platform.secrets.slack_webhooks.name == "ml-platform/local/alerting/slack-webhooks"
    error_message = "The Slack secret must be named <name>/<environment>/alerting/slack-webhooks."
  }

  assert {
    condition     = output.platform.secrets_prefix == "ml-platform/local/"
    error_message = "secrets_prefix must be <name>/<environment>/."
  }

  assert {
    condition     = output.platform.acm_certificate_arn != null
    error_message = "The default tls_mode = acm requests an ACM certificate."
  }

  assert {
    condition = alltrue([for k in ["aws_load_balancer_controller", "cluster_autoscaler", "external_secrets", "cert_manager"] :
    output.platform.addon_role_arns[k] != null])
    error_message = "Every add-on needs its IRSA role."
  }

  assert {
    condition     = output.platform.cluster.name == "ml-platform-local" && output.platform.account_id == "123456789012"
    error_message = "The cluster is named <name>-<environment>."
  }
}

run "acm_mode_creates_a_certificate" {
  command = apply

  variables {
    tls_mode         = "acm"
    service_hostname = "api.example.com"
    route53_zone_ids = ["Z0123456789ABCDEFGHIJ"]
  }

  assert {
    condition     = output.platform.acm_certificate_arn != null
    error_message = "tls_mode = acm must create an ACM certificate."
  }

  assert {
    condition     = module.acm.validation_record_fqdns != null && length(module.acm.validation_record_fqdns) == 1
    error_message = "The certificate needs one DNS validation record in the zone."
  }
}

run "single_nat_gateway_and_two_azs" {
  command = plan

  variables {
    az_count           = 2
    single_nat_gateway = true
  }

  assert {
    condition     = length(module.network.private_subnet_ids) == 2
    error_message = "az_count = 2 must give two private subnets."
  }
}

run "rejects_a_bad_vpc_cidr" {
  command = plan

  variables {
    vpc_cidr = "10.0.0.0/33"
  }

  expect_failures = [var.vpc_cidr]
}

run "rejects_an_unsupported_kubernetes_version" {
  command = plan

  variables {
    kubernetes_version = "1.27"
  }

  expect_failures = [var.kubernetes_version]
}

run "rejects_min_size_above_max_size" {
  command = plan

  variables {
    node_groups = {
      general = {
        instance_types = ["m6i.large"]
        min_size       = 4
        max_size       = 2
        desired_size   = 3
      }
    }
  }

  expect_failures = [var.node_groups]
}

run "rejects_a_single_availability_zone" {
  command = plan

  variables {
    az_count = 1
  }

  expect_failures = [var.az_count]
}

run "rejects_acm_mode_without_a_zone" {
  command = plan

  variables {
    tls_mode         = "acm"
    route53_zone_ids = []
  }

  expect_failures = [var.service_hostname]
}

run "rejects_an_unknown_tls_mode" {
  command = plan

  variables {
    tls_mode = "self-signed"
  }

  expect_failures = [var.tls_mode]
}

run "rejects_a_malformed_github_repository" {
  command = plan

  variables {
    github_repository = "not-a-repo"
  }

  expect_failures = [var.github_repository]
}
