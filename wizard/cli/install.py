"""Headless verbs over the installers: apply, upgrade, status, uninstall, bundle.

Both targets share these; the profile's `target` picks the engine. SIGINT and SIGHUP
(an SSH session dropping) ask the installer to stop cleanly instead of killing it.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wizard.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, CommandError, load_profile
from wizard.core.notices import AUTH_BYPASS_WARNING
from wizard.core.text import clean, clean_block
from wizard.install.base import StatusReport

if TYPE_CHECKING:
    from wizard.core.profile import Profile

# Parsing a verb loads no engine, pydantic or rich: each verb imports what it runs.

Add = Callable[[str, Callable[[argparse.Namespace], int], str], argparse.ArgumentParser]


def register(add: Add) -> None:
    apply = add("apply", cmd_apply, "check, then install or update the gateway from a profile")
    apply.add_argument("profile", help="NAME or path to a .toml")
    apply.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    apply.add_argument("--skip-checks", action="store_true", help="do not run the preflight checks first")

    upgrade = add("upgrade", cmd_upgrade, "move to another image tag, rolling back on failure")
    upgrade.add_argument("profile", help="NAME or path to a .toml")
    which = upgrade.add_mutually_exclusive_group()
    which.add_argument("--tag", help="image tag to run")
    which.add_argument("--gitlab-version", metavar="X.Y.Z", help="GitLab version whose image to run")
    upgrade.add_argument("--archive", metavar="TARBALL", help="the docker save tarball holding the new image (air-gapped hosts)")
    upgrade.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")

    status = add("status", cmd_status, "show what runs, and how it differs from the profile")
    status.add_argument("profile", help="NAME or path to a .toml")
    status.add_argument("--json", action="store_true", help="machine-readable output")

    uninstall = add("uninstall", cmd_uninstall, "remove the gateway")
    uninstall.add_argument("profile", help="NAME or path to a .toml")
    uninstall.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    uninstall.add_argument("--remove-image", action="store_true", help="Docker: also remove the image")
    uninstall.add_argument("--purge", action="store_true", help="Helm: also the TLS secret and our namespace")

    bundle = add("bundle", cmd_bundle, "save the image (and chart) for an air-gapped host")
    bundle.add_argument("profile", help="NAME or path to a .toml")
    bundle.add_argument("directory", help="folder to write the bundle into")


@contextmanager
def cancel_on_signals() -> Iterator[threading.Event]:
    """Turn Ctrl-C and a hang-up into a cancel request the installer acts on."""
    cancel = threading.Event()
    previous: dict[int, Any] = {}

    def request_cancel(signum: int, _frame: object) -> None:
        if cancel.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt  # a second Ctrl-C: the user insists
        if not cancel.is_set():
            try:  # said at once; the engine stops at its next call (each answers within seconds)
                os.write(2, b"aigw-wizard: stopping: undoing what this run changed...\n")
            except OSError:
                pass  # the terminal is gone: the journal still records the rollback
        cancel.set()

    for signum in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
        previous[signum] = signal.signal(signum, request_cancel)
    try:
        yield cancel
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def confirm(question: str, assume_yes: bool) -> None:
    if assume_yes:
        return
    if not sys.stdin.isatty():
        raise CommandError("no terminal to confirm on: pass --yes to proceed")
    try:
        answer = input(f"{question} [y/N] ").strip().lower()
    except EOFError:
        answer = ""
    if answer not in ("y", "yes"):
        raise CommandError("nothing done", EXIT_FAILED)


def run_verb(profile: Profile, name: str, command: str, **options: Any) -> int:
    """Run one verb through `wizard.install.run.run` (the journal, the engine, one Result),
    printing its events; the exit code comes from the Result."""
    from wizard.cli.console import make_console, render_events  # rich loads only for long verbs
    from wizard.install.run import run

    console = make_console()
    with cancel_on_signals() as cancel:
        stream = run(profile, name, command, cancel, **options)
        try:
            render_events(stream, console)
        except OSError:
            # The terminal is gone (EPIPE, EIO after an SSH drop, ENOSPC): the run is not.
            # Closing cancels it; the engine rolls back or finishes, the journal records it.
            stream.close()
            _quiet_stdout()
            result = stream.result
            return EXIT_OK if result and result.ok else EXIT_FAILED
        finally:
            stream.close()
    result = stream.result
    try:
        console.print(f"Log: {clean(str(stream.log_path))}", style="dim", markup=False)
    except OSError:
        _quiet_stdout()
    return EXIT_OK if result and result.ok else EXIT_FAILED


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's last flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def run_preflight(profile: Profile, name: str) -> None:
    from wizard.checks import run_checks
    from wizard.cli.checks import print_results
    from wizard.cli.console import make_console

    results = print_results(run_checks(profile, name), make_console())
    if any(result.status == "fail" for result in results):
        raise CommandError("preflight checks failed: fix the rows marked FAIL, or pass --skip-checks", EXIT_FAILED)


def exclusive(verb: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Run a verb that changes an installation under the profile's lock (one run at a time)."""

    def locked(args: argparse.Namespace) -> int:
        from wizard.core import lock, store
        from wizard.core.files import loose_permissions

        try:
            path = store.resolve(args.profile)
        except store.ProfileError as error:
            raise CommandError(str(error)) from None
        loose = loose_permissions(path) if os.geteuid() == 0 else None
        if loose:
            print(clean(f"WARNING: {loose}: others decide what root installs (chown root, chmod 600)"), file=sys.stderr)
        with lock.hold(store.name_of(path), verb.__name__.removeprefix("cmd_")):
            return verb(args)

    return locked


@exclusive
def cmd_apply(args: argparse.Namespace) -> int:
    profile, name, _path = load_profile(args.profile, ready=True)
    return apply_profile(profile, name, args, command="apply")


def apply_profile(profile: Profile, name: str, args: argparse.Namespace, *, command: str) -> int:
    if not getattr(args, "skip_checks", False):
        run_preflight(profile, name)
    if profile.gateway.auth_bypass:
        print(f"WARNING: {AUTH_BYPASS_WARNING}", file=sys.stderr)
    if not args.yes:
        from wizard.install import plan
        from wizard.tools.resolve import describe, resolve_profile

        if profile.target == "docker":  # resolved once: run() then finds the tag pinned
            profile, resolution = resolve_profile(profile)
            print(clean(f"# {describe(resolution)}"))
        print(plan.render(plan.build(profile, name)))
    confirm(f"Install the AI gateway for profile {name} ({profile.target})?", args.yes)
    return run_verb(profile, name, command)


@exclusive
def cmd_upgrade(args: argparse.Namespace) -> int:
    from wizard.core import store
    from wizard.core.profile import validate_field

    profile, name, path = load_profile(args.profile, ready=True)
    if args.tag or args.gitlab_version:
        field, value = ("gateway.tag", args.tag) if args.tag else ("gitlab.version", args.gitlab_version)
        updated, error = validate_field(profile, field, value)
        if updated is None:
            raise CommandError(f"{field}: {error}")
        if args.gitlab_version:
            updated, _ = validate_field(updated, "gateway.tag", "")  # the version picks the tag again
        profile = updated  # type: ignore[assignment]
    if args.archive:
        archive = str(Path(args.archive).expanduser().absolute())  # as typed: relative to here
        updated, error = validate_field(profile, "gateway.image_archive", archive)
        if updated is None:
            raise CommandError(f"gateway.image_archive: {error}")
        profile = updated
    if profile.gateway.image_archive and profile.gateway.tag:
        refuse_archive_without(profile)
    args.skip_checks = True  # an upgrade keeps everything but the image; its rollback is the safety net
    code = apply_profile(profile, name, args, command="upgrade")
    if code == EXIT_OK:
        # Only the fields the upgrade changed, on top of the file as it is now (edits made
        # meanwhile survive); a file that no longer loads is left alone and the user told.
        try:
            changed = {"gitlab.version": profile.gitlab.version, "gateway.tag": profile.gateway.tag}
            if args.archive:
                changed["gateway.image_archive"] = profile.gateway.image_archive
            for field, value in changed.items():
                store.update_field(path, field, value, None)
        except (store.ProfileError, OSError) as error:
            raise CommandError(
                f"the gateway now runs {profile.image_tag}, but {path} could not be updated ({error}): "
                f"set gateway.tag = \"{profile.gateway.tag}\" and gitlab.version = \"{profile.gitlab.version}\" in it by hand",
                EXIT_FAILED,
            ) from None
    return code


def refuse_archive_without(profile: Profile) -> None:
    """An air-gapped upgrade loads its image from gateway.image_archive: refuse up front (not
    after stopping the gateway) when that tarball does not hold the image being moved to."""
    from wizard.core.errors import WizardError
    from wizard.tools import tags

    archive = profile.resolve(profile.gateway.image_archive)
    try:
        held = tags.archive_tags(archive, profile.image_repository)
    except WizardError as error:
        raise CommandError(f"gateway.image_archive: {clean(error.message)}") from None
    if profile.gateway.tag not in held:
        shown = ", ".join(clean(tag) for tag in held) or "no tag of this image"
        raise CommandError(
            f"gateway.image_archive: {clean(str(archive))} holds {shown}, not {clean(profile.image_ref)}: "
            "pass --archive TARBALL with a docker save of the new image (aigw-wizard bundle makes one "
            "on a connected host)"
        )


def cmd_status(args: argparse.Namespace) -> int:
    profile, name, _path = load_profile(args.profile)
    from wizard.install import installer_for

    resolution = None
    if profile.target == "docker":  # the tag the profile means now; a newer patch among local images
        from wizard.tools.resolve import resolve_profile

        # status only reads: it asks the engine (and the archive), never the registry on its own
        profile, resolution = resolve_profile(profile, check_newer=True, use_registry=False)
    report = installer_for(profile, name).status()
    annotate_status(report, profile, name, resolution)
    if profile.gateway.auth_bypass:
        report.warnings.append(AUTH_BYPASS_WARNING)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print_status(name, report)
    return EXIT_OK if report.ok else EXIT_FAILED


def annotate_status(report: StatusReport, profile: Profile, name: str, resolution: Any) -> None:
    from wizard.install import gitlab_side

    gitlab_side.annotate_status(report, profile, name, resolution)


def print_status(name: str, report: StatusReport) -> None:
    health = {True: "healthy", False: "unhealthy", None: "health unknown"}[report.healthy]
    # What the engine reports (labels, states, drifted values) is outside text: cleaned.
    print(clean(f"{name}: {report.state}" + (f", {health}" if report.installed else "")))
    if report.image:
        print(clean(f"  image: {report.image}"))
    for key, value in report.details.items():
        print(f"  {clean(str(key))}: {clean_block(str(value))}")
    if report.drift:
        print("  drift (running vs profile):")
        for drift in report.drift:
            print(clean(f"    {drift.field}: running {drift.actual!r}, profile says {drift.profile!r}"))
    for problem in report.problems:
        if problem not in report.state:  # an unreachable engine is already the state
            print(clean(f"  problem: {problem}"))
    for warning in report.warnings:
        print(clean(f"  WARNING: {warning}"))


@exclusive
def cmd_uninstall(args: argparse.Namespace) -> int:
    profile, name, _path = load_profile(args.profile)
    confirm(f"Remove the AI gateway of profile {name}?", args.yes)
    return run_verb(profile, name, "uninstall", remove_image=args.remove_image, purge=args.purge)


def cmd_bundle(args: argparse.Namespace) -> int:
    profile, name, _path = load_profile(args.profile, ready=True)
    from wizard.install.bundle import directory_problem

    directory = Path(args.directory)
    problem = directory_problem(directory)  # both targets: a bad path is one line, exit 2 (or 1)
    if problem is not None:
        raise CommandError(problem.message, EXIT_USAGE if problem.usage else EXIT_FAILED, problem.remedies)
    return run_verb(profile, name, "bundle", directory=directory)
