"""Helpers for tests that start a server as its own process group."""
import os
import signal
import subprocess


def stop_group(proc: subprocess.Popen, log=None, timeout: float = 30) -> None:
    """SIGTERM the process group, SIGKILL it if it does not stop in time."""
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=timeout)
    if log is not None:
        log.close()
