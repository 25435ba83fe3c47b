"""The `connect` verb: set GitLab's Duo settings to this gateway over GraphQL.

Reads `duoSettings`, shows the change, asks (unless --yes), applies it with
`duoSettingsUpdate` and shows what GitLab holds afterwards. `--dry-run` prints the mutation
and sends nothing. The administrator's token comes from GITLAB_TOKEN only and is never
printed or saved. Exit 0 done (or nothing to do), 1 GitLab refused or failed, 2 usage.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from wizard.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, CommandError, load_profile

if TYPE_CHECKING:
    from wizard.doctor.connect import Change

Add = Callable[[str, Callable[[argparse.Namespace], int], str], argparse.ArgumentParser]


def register(add: Add) -> None:
    verb = add("connect", cmd_connect, "point GitLab at this gateway (Duo settings over GraphQL)")
    verb.add_argument("profile", help="NAME or path to a .toml")
    verb.add_argument("--dry-run", action="store_true", help="print the mutation; send nothing")
    verb.add_argument("--yes", action="store_true", help="apply without asking")
    verb.add_argument("--allow-http", action="store_true", help="send the token over plain HTTP to a non-loopback GitLab")


def _print_changes(title: str, changes: list[Change]) -> None:
    print(title)
    width = max((len(change.label) for change in changes), default=0)
    for change in changes:
        if change.changed:
            print(f"  → {change.label:<{width}}  {change.current}  ->  {change.wanted}")
        else:
            print(f"    {change.label:<{width}}  {change.wanted} (already set)")


def cmd_connect(args: argparse.Namespace) -> int:
    from wizard.doctor import connect
    from wizard.tools.gitlab import GitLabError, GraphQLErrors, TokenRefused, token_from_env

    profile, name, _path = load_profile(args.profile, ready=True)
    if args.dry_run:
        plan = connect.dry_run_plan(profile)
        print(f"Dry run: nothing is sent. This mutation would go to {profile.gitlab.url}/api/graphql:")
        print(plan.mutation())
        return EXIT_OK
    token = token_from_env()
    if not token:
        raise CommandError("GITLAB_TOKEN is not set: export an administrator's personal access token (scope api); it is never saved", EXIT_USAGE)
    try:
        with connect.open_client(profile, token, allow_http=args.allow_http) as client:
            plan = connect.read_plan(client, profile)
            _print_changes(f"GitLab at {profile.gitlab.url}, Duo settings for profile {name}:", plan.changes())
            if not plan.needed:
                print("GitLab already points at this gateway; nothing to change.")
                return EXIT_OK
            if not args.yes:
                if not sys.stdin.isatty():
                    raise CommandError("not a terminal: pass --yes to apply without asking", EXIT_USAGE)
                if input("Apply these settings? [y/N] ").strip().lower() not in ("y", "yes"):
                    print("Nothing changed.")
                    return EXIT_OK
            read_back = connect.apply_plan(client, plan)
    except GraphQLErrors as error:
        for line in error.errors:
            print(f"aigw-wizard: GitLab: {line}", file=sys.stderr)
        return EXIT_FAILED
    except GitLabError as error:
        print(f"aigw-wizard: {error.message}", file=sys.stderr)
        for remedy in error.remedies:
            print(f"  fix: {remedy}", file=sys.stderr)
        return EXIT_USAGE if isinstance(error, TokenRefused) else EXIT_FAILED
    after = connect.ConnectPlan(current=read_back, wanted=plan.wanted)
    print("GitLab now holds:")
    for change in after.changes():
        print(f"  {change.label}: {change.current}")
    problems = connect.read_back_matches(plan, read_back)
    for problem in problems:
        print(f"aigw-wizard: {problem}", file=sys.stderr)
    if problems:
        return EXIT_FAILED
    print("Next, on the GitLab host: sudo gitlab-rake gitlab:duo:verify_self_hosted_setup")
    return EXIT_OK
