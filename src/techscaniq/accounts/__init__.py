"""People and access: accounts, organizations and roles, sign-in sessions, API keys, the audit log."""
