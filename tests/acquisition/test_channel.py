"""A terminal channel: one request outstanding, priorities, timeouts with retries, matched replies."""

from __future__ import annotations

import asyncio

import pytest

from gridcare.acquisition.channel import Priority, RequestFailed, TerminalChannel


def test_priority_order_and_one_outstanding() -> None:
    async def scenario() -> list[str]:
        sent: list[str] = []
        channel: TerminalChannel

        async def send(frame: bytes) -> None:
            sent.append(frame.decode())
            seq = int(frame.decode().split(":")[1])
            asyncio.get_running_loop().call_later(0.01, channel.deliver, seq, f"reply{seq}")

        channel = TerminalChannel(send)
        futures = [
            channel.submit(lambda s: f"bulk1:{s}".encode(), Priority.BULK),
            channel.submit(lambda s: f"bulk2:{s}".encode(), Priority.BULK),
            channel.submit(lambda s: f"trip:{s}".encode(), Priority.CONTROL),
        ]
        channel.start()
        await asyncio.gather(*futures)
        await channel.close()
        return sent

    assert asyncio.run(scenario()) == ["trip:0", "bulk1:1", "bulk2:2"]


def test_timeout_retries_then_fails() -> None:
    async def scenario() -> tuple[int, str]:
        attempts = 0

        async def send(frame: bytes) -> None:
            nonlocal attempts
            attempts += 1

        channel = TerminalChannel(send)
        channel.start()
        future = channel.submit(lambda s: b"x", timeout_s=0.01, retries=2, label="F161", backoff_s=0.01)
        with pytest.raises(RequestFailed) as info:
            await future
        await channel.close()
        return attempts, info.value.reason

    assert asyncio.run(scenario()) == (3, "timeout")


def test_multi_frame_reply_and_unexpected_seq() -> None:
    async def scenario() -> tuple[int, bool]:
        channel: TerminalChannel

        async def send(frame: bytes) -> None:
            loop = asyncio.get_running_loop()
            loop.call_soon(channel.deliver, 0, "part1", False)
            loop.call_soon(channel.deliver, 0, "part2", True)

        channel = TerminalChannel(send)
        channel.start()
        frames = await channel.submit(lambda s: b"x")
        assert frames == ["part1", "part2"]
        stray = channel.deliver(5, "stray")
        await channel.close()
        return len(frames), stray

    assert asyncio.run(scenario()) == (2, False)


def test_closed_channel_fails_queued_requests_as_offline() -> None:
    async def scenario() -> str:
        async def send(frame: bytes) -> None:
            await asyncio.sleep(10)

        channel = TerminalChannel(send)
        queued = channel.submit(lambda s: b"x")
        await channel.close()
        with pytest.raises(RequestFailed) as info:
            await queued
        return info.value.reason

    assert asyncio.run(scenario()) == "offline"


def test_closing_fails_the_request_in_flight_too() -> None:
    """A terminal that disconnects while a request waits for its reply fails it (offline) at once: the
    caller (a day's collection) must not wait for ever."""

    async def scenario() -> str:
        async def send(frame: bytes) -> None:
            return None  # no reply comes

        channel = TerminalChannel(send)
        channel.start()
        in_flight = channel.submit(lambda s: f"read:{s}".encode(), Priority.BULK, timeout_s=60.0)
        queued = channel.submit(lambda s: f"next:{s}".encode(), Priority.BULK, timeout_s=60.0)
        await asyncio.sleep(0.05)
        await channel.close("offline")
        reasons = []
        for future in (in_flight, queued):
            with pytest.raises(RequestFailed) as err:
                await asyncio.wait_for(future, 1.0)
            reasons.append(err.value.reason)
        return ",".join(reasons)

    assert asyncio.run(scenario()) == "offline,offline"
