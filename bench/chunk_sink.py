#!/usr/bin/python3
"""A discarding SMTP sink that offers CHUNKING and BINARYMIME (RFC 3030),
for the attachment benchmark (bench/run-attach-bench): Postfix's smtp-sink
has no CHUNKING, and a real Postfix offers no BINARYMIME.

    chunk_sink.py OUT_FILE

Prints the port it listens on (127.0.0.1), then serves until killed. It
advertises PIPELINING, 8BITMIME, CHUNKING and BINARYMIME, accepts every
MAIL and RCPT, takes DATA (up to the lone dot) and BDAT chunks (exactly the
announced count of bytes, however they arrive), and when a connection ends
appends one line to OUT_FILE:

    messages=M wire_in=BYTES body=BYTES bdat_chunks=C

wire_in is every byte the client sent on the connection (commands
included): the bytes on the wire. body is the message content taken by DATA
(dot-stuffing and the final dot not counted) or BDAT.

Replies to pipelined commands are written in order as each command is
parsed, so a client that pipelines is never held up by the sink.
"""
import asyncio
import sys

EHLO = (b"250-sink.example\r\n250-PIPELINING\r\n250-8BITMIME\r\n"
        b"250-CHUNKING\r\n250-BINARYMIME\r\n250 SIZE 0\r\n")


class Conn:
    def __init__(self, reader, writer):
        self.r, self.w = reader, writer
        self.buf = bytearray()
        self.wire_in = 0
        self.body = 0
        self.messages = 0
        self.chunks = 0
        self.eof = False

    async def fill(self):
        data = await self.r.read(262144)
        if not data:
            self.eof = True
            return False
        self.wire_in += len(data)
        self.buf += data
        return True

    async def line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                out = bytes(self.buf[:i])
                del self.buf[:i + 2]
                return out
            if not await self.fill():
                return None

    async def take(self, n):
        """Discard exactly n bytes of chunk data."""
        while n:
            if not self.buf and not await self.fill():
                return False
            k = min(n, len(self.buf))
            del self.buf[:k]
            n -= k
            self.body += k
        return True

    async def data(self):
        """Take a DATA body up to the lone dot. The end is searched for in
        what arrived, keeping only the last 4 bytes (a terminator may
        straddle reads): never line by line and never a growing buffer, so
        taking DATA costs the sink no more than BDAT and the wall times
        compare the clients."""
        self.w.write(b"354 go ahead\r\n")
        while len(self.buf) < 3:
            if not await self.fill():
                return False
        if self.buf[:3] == b".\r\n":  # empty message
            del self.buf[:3]
        else:
            body = stuffed = 0
            if self.buf[:2] == b"..":
                stuffed += 1
            while True:
                end = self.buf.find(b"\r\n.\r\n")
                if end >= 0:
                    body += end + 2
                    stuffed += self.buf.count(b"\r\n..", 0, end + 2)
                    del self.buf[:end + 5]
                    break
                if len(self.buf) > 4:
                    cut = len(self.buf) - 4
                    # a "\r\n.." starting before cut is counted now
                    stuffed += self.buf.count(b"\r\n..", 0, cut + 3)
                    body += cut
                    del self.buf[:cut]
                if not await self.fill():
                    return False
            self.body += body - stuffed  # dot-stuffing is not content
        self.messages += 1
        self.w.write(b"250 2.0.0 queued\r\n")
        return True

    async def serve(self):
        self.w.write(b"220 sink.example ESMTP\r\n")
        while True:
            ln = await self.line()
            if ln is None:
                return
            verb = ln.split(b" ", 1)[0].upper()
            if verb in (b"EHLO", b"HELO"):
                self.w.write(EHLO)
            elif verb in (b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                self.w.write(b"250 2.0.0 ok\r\n")
            elif verb == b"DATA":
                if not await self.data():
                    return
            elif verb == b"BDAT":
                parts = ln.split()
                try:
                    n = int(parts[1])
                except (IndexError, ValueError):
                    self.w.write(b"501 5.5.4 BDAT needs a size\r\n")
                    continue
                if not await self.take(n):
                    return
                self.chunks += 1
                last = len(parts) > 2 and parts[2].upper() == b"LAST"
                if last:
                    self.messages += 1
                self.w.write(b"250 2.0.0 %s\r\n" % (b"queued" if last else b"chunk ok"))
            elif verb == b"QUIT":
                self.w.write(b"221 2.0.0 bye\r\n")
                await self.w.drain()
                return
            else:
                self.w.write(b"502 5.5.2 unknown command\r\n")
            await self.w.drain()


async def main():
    out = sys.argv[1]

    async def handle(reader, writer):
        c = Conn(reader, writer)
        try:
            await c.serve()
        except ConnectionError:
            pass
        finally:
            writer.close()
            with open(out, "a") as f:
                f.write(f"messages={c.messages} wire_in={c.wire_in} body={c.body} "
                        f"bdat_chunks={c.chunks}\n")

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
