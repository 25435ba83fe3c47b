"""`aigw-wizard`: the TUI by default, and headless verbs for scripts and SSH sessions.

Exit codes: 0 ok, 1 a check or run failed, 2 bad usage or an invalid profile.
Errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from wizard import __version__
from wizard.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, CommandError, load_profile

# Each verb imports what it needs (pydantic, the engines, rich) when it runs: the wizard's
# first screen and `--help` never pay for them.

def cmd_tui(args: argparse.Namespace) -> int:
    return run_tui(getattr(args, "name", None))


def run_tui(profile: str | None) -> int:
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise CommandError("the wizard needs a terminal; for scripts use `aigw-wizard apply NAME --yes`")
    from screens.app import make_app  # Textual loads only for the TUI

    app = make_app(profile=profile)
    # A dropped SSH session sends SIGHUP, whose default kills the process mid-write; exiting
    # through the app lets every save finish (each valid field is already on disk).
    signal.signal(signal.SIGHUP, lambda _signum, _frame: app.call_later(app.exit))
    app.run()
    return EXIT_OK


def cmd_profiles(args: argparse.Namespace) -> int:
    from wizard.core import store
    from wizard.core.profile import problems

    entries = store.list_profiles()
    if args.json:
        rows = [
            {
                "name": entry.name,
                "path": str(entry.path),
                "target": entry.profile.target if entry.profile else None,
                "modified": entry.modified.isoformat(timespec="seconds"),
                "ready": bool(entry.profile) and not problems(entry.profile),  # type: ignore[arg-type]
                "error": str(entry.error) if entry.error else None,
            }
            for entry in entries
        ]
        print(json.dumps(rows, indent=2))
        return EXIT_OK
    if not entries:
        print("No profiles yet. Run `aigw-wizard` to create one.")
        return EXIT_OK
    width = max(len(entry.name) for entry in entries)
    for entry in entries:
        if entry.profile is None:
            state = f"cannot be read: {entry.error.message if entry.error else ''}"
            target = "?"
        else:
            missing = problems(entry.profile)
            state = "ready" if not missing else f"incomplete ({len(missing)} to fill in)"
            target = entry.profile.target or "-"
        print(f"{entry.name:<{width}}  {target:<6}  {entry.modified:%Y-%m-%d %H:%M}  {state}")
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    _profile, _name, path = load_profile(args.profile)
    print(f"# {path}")
    print(path.read_text(encoding="utf-8"), end="")
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    from wizard.core.profile import problems

    profile, _name, path = load_profile(args.profile)
    found = problems(profile)
    for problem in found:
        print(f"{path}: {problem}", file=sys.stderr)
    if found:
        return EXIT_USAGE
    print(f"{path}: ready to apply ({profile.target})")
    if profile.gateway.auth_bypass:
        print("warning: gateway.auth_bypass is ON (AIGW_AUTH__BYPASS_EXTERNAL=true): troubleshooting only", file=sys.stderr)
    return EXIT_OK


def cmd_plan(args: argparse.Namespace) -> int:
    from wizard.install import plan
    profile, name, _path = load_profile(args.profile, ready=True)
    steps = plan.build(profile, name)
    if args.script:
        target = Path(args.script)
        try:
            plan.write_script(target, plan.script(steps, name))
        except OSError as error:
            raise CommandError(f"{target}: cannot write: {error.strerror}", EXIT_FAILED) from None
        print(f"Wrote {target}")
        return EXIT_OK
    print(plan.render(steps), end="")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aigw-wizard",
        description="Install the self-hosted GitLab AI gateway with Docker or Helm.",
    )
    parser.add_argument("--version", action="version", version=f"aigw-wizard {__version__}")
    parser.set_defaults(func=cmd_tui)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    def add(name: str, func: Callable[[argparse.Namespace], int], help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(func=func)
        return sub

    tui = add("tui", cmd_tui, "open the wizard (the default)")
    tui.add_argument("name", nargs="?", help="profile to open")
    profiles = add("profiles", cmd_profiles, "list saved profiles")
    profiles.add_argument("--json", action="store_true", help="machine-readable output")
    add("show", cmd_show, "print a profile").add_argument("profile", help="NAME or path to a .toml")
    add("validate", cmd_validate, "list every problem in a profile").add_argument(
        "profile", help="NAME or path to a .toml"
    )
    plan_parser = add("plan", cmd_plan, "print the equivalent manual commands")
    plan_parser.add_argument("profile", help="NAME or path to a .toml")
    plan_parser.add_argument("--script", metavar="FILE", help="write them as an executable script")
    for register in _extension_registrars():
        register(add)
    return parser


def _extension_registrars() -> list[Callable[..., None]]:
    """Verbs that live beside their engines; each module stays light to import."""
    from wizard.cli.checks import register as register_check
    from wizard.cli.install import register as register_install
    from wizard.cli.keys import register as register_keys

    return [register_check, register_install, register_keys]


def main(argv: Sequence[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else list(argv)
    try:
        if not arguments:  # the common case, straight to the wizard: no parsers to build
            return run_tui(None)
        args = build_parser().parse_args(arguments)
        return int(args.func(args))
    except CommandError as error:
        print(f"aigw-wizard: {error}", file=sys.stderr)
        return error.code
    except KeyboardInterrupt:
        print("aigw-wizard: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
