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
from wizard.core.notices import AUTH_BYPASS_WARNING

# Each verb imports what it needs (pydantic, the engines, rich) when it runs: the wizard's
# first screen and `--help` never pay for them.

def cmd_tui(args: argparse.Namespace) -> int:
    return run_tui(getattr(args, "name", None))


def run_tui(profile: str | None) -> int:
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise CommandError("the wizard needs a terminal; for scripts use `aigw-wizard apply NAME --yes`")
    from screens.app import make_app  # Textual loads only for the TUI

    global _ran_tui
    _ran_tui = True

    app = make_app(profile=profile)
    # A dropped SSH session sends SIGHUP, whose default kills the process mid-write; exiting
    # through the app lets every save finish (each valid field is already on disk).
    signal.signal(signal.SIGHUP, lambda _signum, _frame: app.call_later(app.exit))
    app.run()
    return EXIT_OK


def cmd_profiles(args: argparse.Namespace) -> int:
    from wizard.core import store
    from wizard.core.outcomes import last_outcome
    from wizard.core.text import clean

    entries = store.list_profiles()
    # The picker's words for each row (`store.state_text`), with the reason a file is refused.
    states = [store.state_text(entry, last_outcome(entry.name)) + (f": {entry.error.message}" if entry.error else "")
              for entry in entries]
    if args.json:
        rows = [
            {
                "name": entry.name,
                "path": str(entry.path),
                "target": entry.profile.target if entry.profile else None,
                "modified": entry.modified.isoformat(timespec="seconds"),
                "ready": store.verdict(entry) == "ready",
                "state": state,
                "error": str(entry.error) if entry.error else None,
            }
            for entry, state in zip(entries, states, strict=True)
        ]
        print(json.dumps(rows, indent=2))  # JSON escapes every control character itself
        return EXIT_OK
    if not entries:
        print("No profiles yet. Run `aigw-wizard` to create one.")
        return EXIT_OK
    names = [clean(entry.name) for entry in entries]
    width = max(len(name) for name in names)
    for name, entry, state in zip(names, entries, states, strict=True):
        print(clean(f"{name:<{width}}  {store.target_word(entry):<6}  {entry.modified:%Y-%m-%d %H:%M}  {state}"))
    return EXIT_OK


def _problem_lines(ref: str) -> tuple[Path, list[str], bool]:
    """(the file, one line per problem naming the file and field, whether it loads at all)."""
    from wizard.core import store
    from wizard.core.text import clean

    try:
        path = store.resolve(ref)
        profile, found = store.problems_of(path)
    except store.ProfileError as error:
        raise CommandError(clean(str(error))) from None
    return path, [clean(f"{path}: {problem}") for problem in found], profile is not None


def cmd_show(args: argparse.Namespace) -> int:
    """The file as written (control characters made visible), then its problems on stderr."""
    from wizard.core import store
    from wizard.core.text import clean, clean_block

    try:
        path = store.resolve(args.profile)
        raw = store.read_raw(path)
        text = raw.decode("utf-8")
    except store.ProfileError as error:
        raise CommandError(clean(str(error))) from None
    except UnicodeDecodeError:
        raise CommandError(clean(f"{path}: is not UTF-8 text (binary file?)")) from None
    print(f"# {clean(str(path))}")
    print(clean_block(text), end="" if text.endswith("\n") else "\n")
    sys.stdout.flush()
    _path, lines, loads = _problem_lines(args.profile)
    if loads:
        return EXIT_OK
    for line in lines:
        print(line, file=sys.stderr)
    return EXIT_USAGE


def cmd_validate(args: argparse.Namespace) -> int:
    """Every problem, one line each, naming its field: invalid values first, then missing ones."""
    from wizard.core import store
    from wizard.core.files import loose_permissions
    from wizard.core.text import clean

    path, lines, _loads = _problem_lines(args.profile)
    for line in lines:
        print(line, file=sys.stderr)
    loose = loose_permissions(path)
    if loose:
        print(clean(f"warning: {loose}: others can change what gets installed (chmod 600, chown to you)"), file=sys.stderr)
    if lines:
        return EXIT_USAGE
    profile = store.load(path)
    print(clean(f"{path}: ready to apply ({profile.target})"))
    if profile.gateway.auth_bypass:
        print(f"warning: {AUTH_BYPASS_WARNING}", file=sys.stderr)
    return EXIT_OK


def cmd_plan(args: argparse.Namespace) -> int:
    from wizard.core.text import clean
    from wizard.install import plan
    from wizard.tools.resolve import describe, resolve_profile

    profile, name, _path = load_profile(args.profile, ready=True)
    if profile.target == "docker":  # the tag apply would run, found the way apply finds it
        profile, resolution = resolve_profile(profile)
        print(f"# {clean(describe(resolution))}", file=sys.stderr)
    steps = plan.build(profile, name)
    if profile.gateway.auth_bypass:
        print(f"warning: {AUTH_BYPASS_WARNING}", file=sys.stderr)
    if args.script:
        target = Path(args.script)
        try:
            plan.write_script(target, plan.script(steps, name))
        except OSError as error:
            raise CommandError(f"{target}: cannot write: {error.strerror}", EXIT_FAILED) from None
        print(clean(f"Wrote {target}"))
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
    from wizard.cli.connect import register as register_connect
    from wizard.cli.doctor import register as register_doctor
    from wizard.cli.install import register as register_install
    from wizard.cli.keys import register as register_keys

    return [register_check, register_install, register_keys, register_connect, register_doctor]


def entry() -> None:
    """`aigw-wizard` and `python -m wizard`: `main()`, then an exit without finalisation.

    By the time `main` returns, every verb has closed what it wrote (the journal and the
    last outcome are closed as the event stream ends; profiles and locks are written and
    released inside the verb), so the interpreter's teardown (module dicts, garbage,
    atexit) has nothing left to save: stdout and stderr are flushed and the process ends.
    Only when a non-daemon thread still runs (it would be joined) or after the TUI
    (Textual restores the terminal on its own exit path) does the normal exit happen.
    """
    code = main()
    if _ran_tui or any(thread.is_alive() and not thread.daemon for thread in _other_threads()):
        raise SystemExit(code)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BrokenPipeError:
            _quiet_stdout()
        except (OSError, ValueError):
            pass  # a closed or failing stream: the exit code still tells
    import os

    os._exit(code)


_ran_tui = False


def _other_threads() -> list[object]:
    import threading

    return [thread for thread in threading.enumerate() if thread is not threading.main_thread()]


def main(argv: Sequence[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else list(argv)
    try:
        return _dispatch(arguments)
    except CommandError as error:
        _say(str(error))
        return error.code
    except KeyboardInterrupt:
        _say("interrupted")
        return 130
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_OK
    except SystemExit:
        raise  # argparse's own usage errors and --help
    except Exception as error:  # the last resort: one line, never a traceback
        from wizard.core.errors import WizardError

        if isinstance(error, WizardError):
            _say(error.message)
            for remedy in error.remedies:
                _say(f"  {remedy}", prefix=False)
        elif isinstance(error, OSError) and error.strerror:
            where = f"{error.filename}: " if error.filename else ""
            _say(f"cannot use {where}{error.strerror}")
        else:
            _say(f"unexpected error: {type(error).__name__}: {error}")
        return EXIT_FAILED


def _dispatch(arguments: list[str]) -> int:
    if not arguments:  # the common case, straight to the wizard: no parsers to build
        return run_tui(None)
    args = build_parser().parse_args(arguments)
    return int(args.func(args))


def _say(message: str, *, prefix: bool = True) -> None:
    """An error for the user on stderr, every control character in it made visible."""
    from wizard.core.text import clean_block

    text = clean_block(message).strip("\n") or "failed"
    if prefix:
        text = f"aigw-wizard: {text}"
    try:
        print(text, file=sys.stderr)
    except (OSError, ValueError):
        pass  # stderr is gone too: the exit code still tells


def _quiet_stdout() -> None:
    # The reader went away (`| head`): make the interpreter's final flush harmless.
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
