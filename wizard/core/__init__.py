"""The core: the profile and everything known without touching the outside world."""
