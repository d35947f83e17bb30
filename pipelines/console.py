"""The consoles of the ``permits`` commands and their one way to fail: a
bilingual error line on standard error and exit code 2 (or ``code``).

``soft_wrap``: an error usually names a file; rich would otherwise break a
long path at the terminal's width, and the operator could not copy it."""
from __future__ import annotations

import typer
from rich.console import Console

console = Console()
err = Console(stderr=True)


def fail(msg: str, code: int = 2) -> None:
    err.print(f"[bold red]错误 / error:[/] {msg}", markup=True, highlight=False, soft_wrap=True)
    raise typer.Exit(code)
