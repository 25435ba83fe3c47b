"""Authentication: a gateway that skips it is flagged before every install, like `plan` and `status` do."""

from __future__ import annotations

from wizard.checks.base import CheckContext, Outcome, check
from wizard.core.notices import AUTH_BYPASS_WARNING


@check("gateway.auth_bypass", "Gateway authenticates requests", timeout=0.5, field="gateway.auth_bypass")
def auth_bypass(context: CheckContext) -> Outcome:
    if context.profile.gateway.auth_bypass:
        return Outcome("warn", AUTH_BYPASS_WARNING, "set gateway.auth_bypass = false once troubleshooting is done")
    return Outcome("pass", "requests must carry a token GitLab issued")
