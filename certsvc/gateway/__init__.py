"""The gateway feed: CRLs, the allowlist and its change log, OCSP, push hooks."""
