#!/usr/bin/python3
"""Round-trip counter for the send benchmark: a TCP proxy between a client
and the SMTP sink that counts how often the client had to wait for the
server.

    turn_proxy.py SINK_HOST SINK_PORT DELAY_MS OUT_FILE

Prints the port it listens on (127.0.0.1), then serves until killed. For
each connection it appends "turns=N" to OUT_FILE when the connection ends.

A turn is client data that arrives after server data was passed to the
client since the client's previous data: the client received something and
answered, so it waited one round trip (the greeting and EHLO count as one,
each reply the client waits for counts one more). Bytes the client
pipelines without waiting arrive before the reply they overtake is
delivered, so they stay in the same turn. To make that hold even when the
sink answers faster than the client writes its pipelined pieces, server
data is held back DELAY_MS before it reaches the client: a client that does
not wait has long written everything by then. The count depends only on
what the client waits for, not on how it splits its writes or reads, so it
compares clients fairly whatever their I/O calls look like.
"""
import asyncio
import sys


async def pump(reader, writer, on_data, delay):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            if delay:
                await asyncio.sleep(delay)
            on_data()
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def main():
    sink_host, sink_port = sys.argv[1], int(sys.argv[2])
    delay = float(sys.argv[3]) / 1000
    out = sys.argv[4]

    async def handle(client_r, client_w):
        sink_r, sink_w = await asyncio.open_connection(sink_host, sink_port)
        state = {"turns": 0, "answered": False}

        def client_data():
            if state["answered"]:
                state["turns"] += 1
                state["answered"] = False

        def server_data():
            state["answered"] = True

        # client_data runs before the bytes go on; server_data after the
        # delay, just before the client can see them.
        await asyncio.gather(pump(client_r, sink_w, client_data, 0),
                             pump(sink_r, client_w, server_data, delay))
        with open(out, "a") as f:
            f.write(f"turns={state['turns']}\n")

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
