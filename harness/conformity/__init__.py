"""Third-party conformity assessment: sealed labels, signed submissions, lab-signed verdicts, the ledger."""
