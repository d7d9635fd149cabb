"""The merchant console in a real headless browser."""
