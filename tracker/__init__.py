"""The register: domain, rules, ledger, persistence, workflows, reports and the command line."""
