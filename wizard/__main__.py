"""`python -m wizard` is the same as the `aigw-wizard` command."""

from wizard.cli import entry

entry()
