"""The ``promojobs`` command's HTTP client: promotions and jobs on any server, over the public API."""
