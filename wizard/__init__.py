"""aigw-wizard core: profiles, plans, checks and installers. Never imports Textual."""

__version__ = "0.1.0"
