"""Adapters over the outside world (Docker, Helm, Kubernetes, files, processes): each external fact is computed here once."""
