"""Law-enforcement and regulatory requests: intake, legal review, disclosure and closure."""
