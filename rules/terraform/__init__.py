"""Rules that read Terraform resources."""
