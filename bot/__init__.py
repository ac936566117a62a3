"""Entry points and channel adapters. Adapters translate; no business rule lives here."""
