"""The `keys` verb: where a profile's JWT keys are and their fingerprints; `--rotate` replaces them.

Never prints key text: paths and SHA-256 fingerprints of the public keys only.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable

from wizard.cli.common import EXIT_FAILED, EXIT_OK, CommandError, load_profile

Add = Callable[[str, Callable[[argparse.Namespace], int], str], argparse.ArgumentParser]


def register(add: Add) -> None:
    verb = add("keys", cmd_keys, "show a profile's JWT key files and fingerprints, or rotate them")
    verb.add_argument("profile", help="NAME of a saved profile")
    verb.add_argument("--rotate", action="store_true", help="replace every key with a new one")
    verb.add_argument("--json", action="store_true", help="machine-readable output")


def cmd_keys(args: argparse.Namespace) -> int:
    from wizard.core.errors import WizardError
    from wizard.tools import keys

    profile, name, _path = load_profile(args.profile)
    release = profile.release
    try:
        found = keys.rotate_keys(name) if args.rotate else keys.describe_keys(name)
    except WizardError as error:
        remedy = f" ({error.remedy})" if error.remedy else ""
        raise CommandError(f"{error.message}{remedy}", EXIT_FAILED) from None
    needed = release.key_variables if release else ()
    if args.json:
        document = {
            "profile": name,
            "folder": str(found.folder),
            "needed": list(needed),
            "rotated": bool(args.rotate),
            "keys": [
                {"variable": key.variable, "path": str(key.path), "fingerprint": key.fingerprint}
                for key in found.keys
            ],
        }
        print(json.dumps(document, indent=2))
        return EXIT_OK
    if release is None:
        print(f"{name}: no gateway version yet (set gitlab.version or gateway.tag)")
    elif not needed:
        print(f"{name}: gateway {release.version} needs no JWT keys (they start with 18.0)")
    if not found.keys:
        print(f"No keys yet in {found.folder}: they are made on the first apply of an 18.0+ gateway.")
        return EXIT_OK
    print(f"Key folder: {found.folder}")
    width = max(len(key.variable) for key in found.keys)
    for key in found.keys:
        mark = "" if key.variable in needed or not needed else "  (not read by this release)"
        print(f"  {key.variable:<{width}}  {key.path.name:<28}  {key.fingerprint}{mark}")
    if args.rotate:
        print("Rotated: apply the profile again so the gateway uses the new keys.")
    return EXIT_OK
