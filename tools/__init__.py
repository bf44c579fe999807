"""Project scripts that are not part of the tracker: the lock files (lockfiles.py)."""
