"""The Textual face of aigw-wizard: an app and one thin module per screen."""
