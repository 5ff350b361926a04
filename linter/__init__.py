"""prodready: an offline production-readiness linter for Kubernetes manifests and Terraform."""

__version__ = "0.1.0"
