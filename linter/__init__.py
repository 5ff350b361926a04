"""prodready: an offline production-readiness linter for Kubernetes manifests and Terraform."""

__version__ = "0.1.0"
DEFAULT_MAX_FILE_SIZE_MB = 50  # files larger than this are reported (PR001), not read
