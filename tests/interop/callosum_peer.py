"""A callosum 0.9 RPC peer as a 21.03 agent serves one: a ROUTER socket bound on loopback, with
functions for the interoperability tests. Prints the port on stdout, then serves until stdin
closes.

Functions: echo(*args, **kwargs) -> {"args": args, "kwargs": kwargs}; fail(msg) raises
ValueError(msg); sleep(seconds) sleeps and returns "slept"; cancel() raises CancelledError;
nothing() returns None; calls() -> the names of the functions called so far; gather_hwinfo()
as an agent with one healthy CUDA plugin answers it.
"""
import asyncio
import sys

import msgpack
from callosum.lower.zeromq import ZeroMQAddress, ZeroMQRPCTransport
from callosum.ordering import ExitOrderedAsyncScheduler
from callosum.rpc import Peer


def packb(v):
    return msgpack.packb(v, use_bin_type=True)


def unpackb(b):
    return msgpack.unpackb(b, raw=False, use_list=False)


async def main():
    called = []

    def function(name, impl):
        async def handler(request):
            called.append(name)
            body = request.body or {"args": (), "kwargs": {}}
            return await impl(*body["args"], **body["kwargs"])
        return handler

    async def echo(*args, **kwargs):
        return {"args": args, "kwargs": kwargs}

    async def fail(msg):
        raise ValueError(msg)

    async def sleep(seconds):
        await asyncio.sleep(seconds)
        return "slept"

    async def cancel():
        raise asyncio.CancelledError()

    async def nothing():
        return None

    async def calls():
        return list(called)

    async def gather_hwinfo():
        return {"cuda": {"status": "healthy", "status_info": None, "metadata": {"model": "A100"}}}

    port = int(sys.argv[1])
    peer = Peer(
        bind=ZeroMQAddress(f"tcp://127.0.0.1:{port}"),
        transport=ZeroMQRPCTransport,
        scheduler=ExitOrderedAsyncScheduler(),
        serializer=packb,
        deserializer=unpackb,
    )
    for name, impl in [("echo", echo), ("fail", fail), ("sleep", sleep), ("cancel", cancel),
                       ("nothing", nothing), ("calls", calls), ("gather_hwinfo", gather_hwinfo)]:
        peer.handle_function(name, function(name, impl))
    async with peer:
        print("ready", flush=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.read)


asyncio.run(main())
