"""What certsvc serves gateways: CRLs, the allowlist and its change log, OCSP, webhooks."""
