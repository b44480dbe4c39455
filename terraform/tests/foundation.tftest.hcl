# Issue 14: the documents that decide whether a real account works - key policy, trust and
# permission policies - asserted on their content (plain jsonencode'd documents, so the mock
# provider does not replace them). Run from terraform/: `terraform test`.

mock_provider "aws" {
  source = "./tests/mocks/aws"
}

variables {
  environment      = "local"
  tls_mode         = "cert-manager" # ACM is covered by platform/secrets_tls tests
  route53_zone_ids = ["Z0123456789ABCDEFGHIJ"]
}

run "autoscaling_service_role_can_use_the_platform_key" {
  command = plan

  # AWS: "Required AWS KMS key policy for use with encrypted volumes" (Auto Scaling user guide);
  # terraform-aws-modules/kms v4.2.0 KeyServiceRolesASG / KeyServiceRolesASGPersistentVol.
  assert {
    condition = length([for st in output.policies.kms_key.Statement : st
      if st.Principal == { AWS = "arn:aws:iam::123456789012:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling" }
      && st.Effect == "Allow"
      && length(setsubtract(["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"], flatten([st.Action]))) == 0
    ]) == 1
    error_message = "The key policy must let AWSServiceRoleForAutoScaling encrypt, decrypt, re-encrypt, generate data keys and describe the key (node root volumes)."
  }

  assert {
    condition = length([for st in output.policies.kms_key.Statement : st
      if st.Principal == { AWS = "arn:aws:iam::123456789012:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling" }
      && flatten([st.Action]) == ["kms:CreateGrant"]
      && try(st.Condition.Bool["kms:GrantIsForAWSResource"], "") == "true"
    ]) == 1
    error_message = "The key policy must let AWSServiceRoleForAutoScaling create grants for AWS resources (attaching the encrypted volumes)."
  }

  assert {
    condition     = length(aws_iam_service_linked_role.autoscaling) == 0
    error_message = "The service-linked role is only created where create_autoscaling_service_linked_role says so."
  }
}

run "cluster_role_can_use_the_key_for_secrets" {
  command = apply

  assert {
    condition = one(output.policies.cluster_encryption.Statement).Resource == output.platform.kms_key_arn && toset(one(output.policies.cluster_encryption.Statement).Action) == toset(
    ["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"])
    error_message = "The cluster role needs Encrypt, Decrypt, ListGrants and DescribeKey on the platform key (secrets envelope encryption)."
  }
}

run "a_new_account_gets_the_autoscaling_service_linked_role" {
  command = plan

  variables {
    create_autoscaling_service_linked_role = true
  }

  assert {
    condition     = aws_iam_service_linked_role.autoscaling[0].aws_service_name == "autoscaling.amazonaws.com"
    error_message = "create_autoscaling_service_linked_role must create AWSServiceRoleForAutoScaling."
  }
}

run "ebs_csi_driver_role_and_add_on_exist" {
  command = apply

  assert {
    condition     = output.platform.ebs_csi_driver_role_arn != null
    error_message = "The EBS CSI driver needs its IRSA role."
  }

  assert {
    condition     = contains(keys(module.eks.addon_versions), "aws-ebs-csi-driver")
    error_message = "The aws-ebs-csi-driver managed add-on must be installed."
  }

  assert {
    condition = alltrue([for k in ["vpc-cni", "kube-proxy", "coredns", "eks-pod-identity-agent", "aws-ebs-csi-driver"] :
    module.eks.addon_versions[k] == "v1.35.3-eksbuild.13"])
    error_message = "Unpinned add-ons take the version aws_eks_addon_version resolves for the cluster version."
  }

  assert {
    condition = one(output.policies.ebs_csi_trust.Statement).Condition.StringEquals == {
      "oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:sub" = "system:serviceaccount:kube-system:ebs-csi-controller-sa"
      "oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:aud" = "sts.amazonaws.com"
    }
    error_message = "Only kube-system/ebs-csi-controller-sa may assume the EBS CSI role."
  }

  assert {
    condition = alltrue([for st in output.policies.ebs_csi_kms.Statement : st.Resource == [output.platform.kms_key_arn]]) && length([
      for st in output.policies.ebs_csi_kms.Statement : st
      if contains(st.Action, "kms:CreateGrant") && try(st.Condition.Bool["kms:GrantIsForAWSResource"], "") == "true"
    ]) == 1 && length([for st in output.policies.ebs_csi_kms.Statement : st if contains(st.Action, "kms:GenerateDataKey*")]) == 1
    error_message = "The EBS CSI role must use the platform key (and only it) for encrypted volumes: grants for AWS resources and data keys."
  }
}

run "publish_role_pushes_images_and_cannot_reach_eks" {
  command = plan

  assert {
    condition     = length([for st in output.policies.github_publish.Statement : st if anytrue([for a in flatten([st.Action]) : startswith(a, "eks:") || a == "*" || startswith(a, "s3:")])]) == 0
    error_message = "The publish role must not hold any EKS (or state) permission."
  }

  assert {
    condition     = length([for st in output.policies.github_publish.Statement : st if contains(flatten([st.Action]), "ecr:PutImage")]) == 1
    error_message = "The publish role must be able to push images."
  }

  assert {
    condition = alltrue([for st in output.policies.github_publish.Statement :
    try(st.Condition.StringEquals["kms:ViaService"], "") == "ecr.eu-west-1.amazonaws.com" if anytrue([for a in flatten([st.Action]) : startswith(a, "kms:")])])
    error_message = "The publish role may use the platform key only through ECR (kms:ViaService)."
  }

  assert {
    condition     = length([for st in output.policies.github_deploy.Statement : st if anytrue([for a in flatten([st.Action]) : startswith(a, "ecr:") || startswith(a, "kms:")])]) == 0
    error_message = "The deploy role must not push images or use the key."
  }
}

run "each_role_trusts_only_its_own_environment" {
  command = plan

  variables {
    github_repository          = "acme/ml-platform"
    github_publish_environment = "ecr-publish"
    github_deploy_environment  = "production"
  }

  assert {
    condition = one(output.policies.github_deploy_trust.Statement).Condition == {
      StringEquals = {
        "token.actions.githubusercontent.com:aud" = "sts.amazonaws.com"
        "token.actions.githubusercontent.com:sub" = "repo:acme/ml-platform:environment:production"
      }
    }
    error_message = "The deploy role's trust must name exactly repo:acme/ml-platform:environment:production."
  }

  assert {
    condition = one(output.policies.github_publish_trust.Statement).Condition == {
      StringEquals = {
        "token.actions.githubusercontent.com:aud" = "sts.amazonaws.com"
        "token.actions.githubusercontent.com:sub" = "repo:acme/ml-platform:environment:ecr-publish"
      }
    }
    error_message = "The publish role's trust must name exactly repo:acme/ml-platform:environment:ecr-publish."
  }
}

run "deploy_role_reads_only_its_state" {
  command = plan

  variables {
    terraform_state_read = { bucket = "acme-tf-state", key = "ml-platform/local/terraform.tfstate" }
  }

  assert {
    condition = [for st in output.policies.github_deploy.Statement : st.Resource if contains(flatten([st.Action]), "s3:GetObject")] == [
    "arn:aws:s3:::acme-tf-state/ml-platform/local/terraform.tfstate"]
    error_message = "The deploy role may read exactly its environment's state object."
  }
}

run "rejects_one_environment_for_both_roles" {
  command = plan

  variables {
    github_publish_environment = "production"
    github_deploy_environment  = "production"
  }

  expect_failures = [var.github_deploy_environment]
}

run "existing_oidc_provider_is_looked_up_not_created" {
  command = plan

  variables {
    github_oidc_provider = "existing"
  }

  assert {
    condition     = length(module.github_oidc.oidc_provider_arn) > 0 && !output.platform.github_oidc_provider.created
    error_message = "With github_oidc_provider = existing the provider is looked up, not created (and never destroyed)."
  }
}

run "rejects_names_too_long_for_iam" {
  command = plan

  variables {
    name        = "ml-platform-serving"
    environment = "production-eu-w1"
  }

  expect_failures = [var.environment]
}

run "rejects_a_public_endpoint_open_to_a_slash_zero" {
  command = plan

  variables {
    cluster_endpoint_public_access       = true
    cluster_endpoint_public_access_cidrs = ["203.0.113.0/24", "10.0.0.0/0"]
  }

  expect_failures = [var.cluster_endpoint_public_access_cidrs]
}

run "rejects_kubernetes_1_31" {
  command = plan

  variables {
    kubernetes_version = "1.31"
  }

  expect_failures = [var.kubernetes_version]
}

run "default_cluster_is_in_standard_support_with_an_upgrade_policy" {
  command = plan

  assert {
    condition     = var.kubernetes_version == "1.35" && var.upgrade_support_type == "STANDARD"
    error_message = "The default must be a version in standard support (1.35 until 2027-03-27) with upgrade_policy STANDARD."
  }
}

run "creator_and_admins_get_cluster_admin_and_deploy_gets_its_group" {
  command = apply

  variables {
    cluster_admin_arns = ["arn:aws:iam::123456789012:role/platform-admins"]
  }

  assert {
    condition = module.eks.access_entry_principal_arns == {
      cluster-creator = "arn:aws:iam::123456789012:role/platform-ci"
      admin-1         = "arn:aws:iam::123456789012:role/platform-admins"
      github-deploy   = output.platform.github_deploy_role_arn
    }
    error_message = "The identity running Terraform, the listed admins and the deploy role need access entries."
  }
}
