"""Rules that read Kubernetes objects."""
