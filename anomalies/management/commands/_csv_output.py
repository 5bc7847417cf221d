"""The export commands' one way to write a CSV to a file or standard output."""

import os
import sys

from django.core.management.base import CommandError


def write_export(command, *, output: str | None, write, noun: str) -> None:
    """write(stream) -> rows written, to `output` (a path) or the command's standard output; a file that
    cannot be opened is exit 2, a reader that stops early (`| head`) is not an error of ours."""
    try:
        stream = open(output, "w", newline="", encoding="utf-8") if output else command.stdout  # noqa: SIM115
    except OSError as exc:
        raise CommandError(f"Cannot write {output}: {exc.strerror}.", returncode=2) from exc
    try:
        count = write(stream)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return
    finally:
        if output:
            stream.close()
    command.stderr.write(command.style.SUCCESS(f"{count:,} {noun} written to {output or 'standard output'}."))
