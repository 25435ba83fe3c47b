"""The wizard's state between screens, free of any UI: which steps exist (`steps`), what the
screens ask of the engines (`services`), and one profile being edited (`state`)."""

from wizard.session.services import (
    Engines,
    InstallerFor,
    RunChecks,
    connect_apply,
    connect_open,
    connect_read,
    doctor,
    gitlab_side,
    live_state,
    resolve_tag_locally,
    run_apply,
    run_holder,
    tag_words,
    tls_findings,
    tls_gate,
)
from wizard.session.state import WizardSession
from wizard.session.steps import (
    FORM_STEPS,
    STEPS,
    Step,
    field_text,
    get_step,
    step_of_field,
    steps_for,
)

__all__ = [
    "FORM_STEPS",
    "STEPS",
    "Engines",
    "InstallerFor",
    "RunChecks",
    "Step",
    "WizardSession",
    "connect_apply",
    "connect_open",
    "connect_read",
    "doctor",
    "field_text",
    "get_step",
    "gitlab_side",
    "live_state",
    "resolve_tag_locally",
    "run_apply",
    "run_holder",
    "step_of_field",
    "steps_for",
    "tag_words",
    "tls_findings",
    "tls_gate",
]
