# Remote state for real AWS environments. Terraform reads *_override.tf files only in the
# root directory: copy this file to terraform/backend_override.tf, then
#   terraform -chdir=terraform init -backend-config=envs/aws-dev.s3.tfbackend
# The emulated environment (envs/local.tfvars) keeps local state and never uses this file.
terraform {
  backend "s3" {}
}
