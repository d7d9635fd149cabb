"""Serve an app factory through promojobs' HTTP edge (api/edge.py), as ``promojobs serve`` does, with the
options the benchmark gives the uvicorn command line: ``python bench/serve_edge.py APP --host H --port P``.

The bare app stays on the plain uvicorn command line, so the ratio to it includes what the edge costs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    sys.path.insert(0, str(REPO))
    import uvicorn

    from promojobs.api.edge import server_config
    from promojobs.config import Settings

    parser = argparse.ArgumentParser()
    parser.add_argument("app")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    settings = Settings(host=args.host, port=args.port)
    uvicorn.Server(server_config(args.app, settings, log_level="warning", factory=True)).run()


if __name__ == "__main__":
    main()
