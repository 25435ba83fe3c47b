"""A fake Kubernetes API server and kubeconfig writer for tests (see server.py)."""

from tests.fakekube.kubeconfig import write_kubeconfig
from tests.fakekube.server import ApiError, FakeKube, Request, resource_for

__all__ = ["ApiError", "FakeKube", "Request", "resource_for", "write_kubeconfig"]
