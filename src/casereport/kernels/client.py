"""The kernel client of forked runs: ready when the kernel answers, not after fixed waits.

Used by ``pipeline.forking.ForkKernelManager`` for forked and normally started kernels
alike; nothing here depends on how the kernel was started.
"""

from __future__ import annotations

import time
from queue import Empty

import zmq
import zmq.asyncio
from jupyter_client.asynchronous import AsyncKernelClient
from traitlets import default

# The client connects before a forked kernel has bound its ports (about 0.05 s later);
# ZeroMQ retries after RECONNECT_IVL, 100 ms by default: retry sooner.
RECONNECT_MS = 5
# How long a new client waits for the marker's idle status before falling back to
# jupyter_client's flush (0.2 s of IOPub silence).
MARKER_TIMEOUT = 10.0


def fast_reconnect_context() -> zmq.asyncio.Context:
    """A ZeroMQ context whose sockets retry a refused connection every ``RECONNECT_MS``."""
    ctx = zmq.asyncio.Context()
    ctx.setsockopt(zmq.RECONNECT_IVL, RECONNECT_MS)
    return ctx


class ForkKernelClient(AsyncKernelClient):  # type: ignore[misc]
    """``AsyncKernelClient`` whose readiness check ends when the kernel is ready.

    jupyter_client's ``wait_for_ready`` ends by waiting for 0.2 s of silence on IOPub, a
    fixed cost on every run. Here, once a ``kernel_info`` reply has arrived and IOPub
    carries messages (so the subscription is in place), one more ``kernel_info`` request is
    sent as a marker: the kernel publishes its ``idle`` status after everything it
    published before, so reading IOPub up to that status leaves it as empty as the fixed
    wait would, without waiting. Its sockets retry a refused connection every
    ``RECONNECT_MS`` (the kernel binds its ports a few hundredths of a second after the
    fork).
    """

    @default("context")
    def _context_default(self) -> zmq.asyncio.Context:
        self._created_context = True
        return fast_reconnect_context()

    async def wait_for_ready(self, timeout: float | None = None) -> None:  # type: ignore[override]
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while True:  # as jupyter_client: a reply on shell, then any message on IOPub
            self.kernel_info()
            try:
                reply = await self.shell_channel.get_msg(timeout=1)
            except Empty:
                reply = None
            if reply is not None and reply["msg_type"] == "kernel_info_reply":
                try:
                    await self.iopub_channel.get_msg(timeout=0.2)
                except Empty:
                    pass
                else:
                    self._handle_kernel_info_reply(reply)
                    break
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")
        marker = self.kernel_info()
        if not await self._drain_to_idle(marker, time.monotonic() + MARKER_TIMEOUT):
            while True:  # jupyter_client's flush
                try:
                    await self.iopub_channel.get_msg(timeout=0.2)
                except Empty:
                    break

    async def _drain_to_idle(self, marker: str, until: float) -> bool:
        """Read shell up to the marker's reply and IOPub up to its idle status."""
        for channel, done in (
            (self.shell_channel, lambda m: True),
            (self.iopub_channel, lambda m: m["msg_type"] == "status"
             and m["content"].get("execution_state") == "idle"),
        ):
            while True:
                try:
                    msg = await channel.get_msg(timeout=max(0.0, until - time.monotonic()))
                except Empty:
                    return False
                if msg.get("parent_header", {}).get("msg_id") == marker and done(msg):
                    break
        return True
