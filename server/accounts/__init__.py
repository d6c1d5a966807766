"""Accounts: people who log in, their roles, passwords, sessions and the login record."""
