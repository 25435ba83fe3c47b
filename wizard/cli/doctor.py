"""The `doctor` verb: why Duo does not work with the installed gateway, finding by finding.

Exit 0 when nothing failed (warnings never fail), 1 when something did, 2 for a bad profile.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable

from wizard.cli.common import EXIT_FAILED, EXIT_OK, load_profile

Add = Callable[[str, Callable[[argparse.Namespace], int], str], argparse.ArgumentParser]


def register(add: Add) -> None:
    verb = add("doctor", cmd_doctor, "diagnose the installed gateway (reach to GitLab, keys, logs)")
    verb.add_argument("profile", help="NAME or path to a .toml")
    verb.add_argument("--json", action="store_true", help='print {"findings": [...], "ok": bool}')


def cmd_doctor(args: argparse.Namespace) -> int:
    from wizard.doctor import failed, run_doctor

    profile, name, _path = load_profile(args.profile)
    findings = run_doctor(profile, name)
    ok = not failed(findings)
    if args.json:
        print(json.dumps({"findings": [finding.to_dict() for finding in findings], "ok": ok}, indent=2))
        return EXIT_OK if ok else EXIT_FAILED
    for finding in findings:
        print(f"{finding.status.upper():<4}  {finding.title}: {finding.detail}")
        if finding.status != "pass" and finding.remedy:
            print(f"      fix: {finding.remedy}" + (f" (field: {finding.field})" if finding.field else ""))
    counts = {status: sum(f.status == status for f in findings) for status in ("fail", "warn", "pass")}
    print(f"{counts['fail']} failed, {counts['warn']} warnings, {counts['pass']} passed")
    return EXIT_OK if ok else EXIT_FAILED
