"""Third-party conformity assessment: sealed labels, vendor submissions, lab verdicts, the ledger."""
