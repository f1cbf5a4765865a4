"""The claims and enrollment ledger: domain events, rules, and the service that records them."""
