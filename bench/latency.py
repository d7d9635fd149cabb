"""``python -m bench.latency --port P --upstream-port U --delay-ms D``: a TCP proxy on 127.0.0.1 that
delivers every chunk D ms after it arrived, in each direction (a database one network hop away), in a
process of its own so its work does not share the benchmark's interpreter. asyncio: one thread, and the
order of the chunks is kept."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time


async def _forward(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()

    async def deliver() -> None:
        while (item := await queue.get()) is not None:
            due, data = item
            pause = due - time.monotonic()
            if pause > 0:
                await asyncio.sleep(pause)
            writer.write(data)
            await writer.drain()
        writer.close()

    delivering = asyncio.create_task(deliver())
    with contextlib.suppress(OSError):
        while data := await reader.read(65536):
            queue.put_nowait((time.monotonic() + delay, data))
    queue.put_nowait(None)
    with contextlib.suppress(OSError):
        await delivering


async def _serve(port: int, upstream_port: int, delay: float) -> None:
    async def connected(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", upstream_port)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(
            _forward(client_reader, up_writer, delay), _forward(up_reader, client_writer, delay)
        )

    server = await asyncio.start_server(connected, "127.0.0.1", port)
    print(f"listening on 127.0.0.1:{port}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.latency", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream-port", type=int, default=5432)
    parser.add_argument("--delay-ms", type=float, default=1.0)
    args = parser.parse_args()
    asyncio.run(_serve(args.port, args.upstream_port, args.delay_ms / 1000))


if __name__ == "__main__":
    main()
