"""Open Badges 3.0: each certificate as a signed verifiable credential, with its status."""
