"""Words several layers say alike (a check, `plan`, `status`, the installers)."""

from __future__ import annotations

AUTH_BYPASS_WARNING = (
    "gateway.auth_bypass is ON: AIGW_AUTH__BYPASS_EXTERNAL=true makes the gateway skip "
    "authentication; turn it off as soon as troubleshooting is done"
)
