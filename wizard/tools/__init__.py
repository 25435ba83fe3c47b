"""Adapters over the outside world (Docker, Helm, Kubernetes, files, processes): each external fact is computed here once."""

import sys

# httpx's own __init__ imports its command-line client whenever click, rich and pygments are
# installed (Textual brings them): ~45 ms, half of `import httpx`, paid by every check, doctor
# and connect run. We never run httpx's CLI; a None entry makes that optional import fail at
# once, and httpx falls back to a stub `main` (upstream made the import lazy: httpx2#947).
if "httpx" not in sys.modules:
    sys.modules.setdefault("httpx._main", None)  # type: ignore[assignment]
