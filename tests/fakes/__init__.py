"""Fakes of external services (the Telegram Bot API) for tests and benchmarks."""
