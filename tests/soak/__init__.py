"""The soak test (``make soak``): see ``tests/soak/soak.py``. Not collected by pytest."""
