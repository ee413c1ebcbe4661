"""The embedded store: one directory, atomic generations (see layout.py)."""
