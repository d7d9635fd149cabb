"""The merchant console at /console: server-rendered pages over the public API (see docs/console.md)."""
