"""Regenerate the reference pages that are derived from the code.

    python docs/generate.py          # rewrite docs/cli.md and docs/issues.md
    python docs/generate.py --check  # exit 1 when either is stale (the test suite runs this)

docs/cli.md comes from the commands' own --help; docs/issues.md from the issue catalogue, so
neither can drift from what the tool does.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

import click

DOCS = Path(__file__).resolve().parent


def _walk(
    command: click.Command, ctx: click.Context
) -> list[tuple[click.Context, click.Command]]:
    found = [(ctx, command)]
    if isinstance(command, click.Group):
        for name in sorted(command.commands):
            sub = command.commands[name]
            if not sub.hidden:
                # Each context has its parent, as when a user runs the command, so the help
                # shows exactly what they see (the group's -h/--help included).
                found.extend(_walk(sub, click.Context(sub, info_name=name, parent=ctx)))
    return found


def cli_reference() -> str:
    from feeds_kit.cli import cli

    lines = [
        "# Command-line reference",
        "",
        "Generated from the commands' own help by `python docs/generate.py`; do not edit by hand.",
        "",
    ]
    root = click.Context(
        cli,
        info_name="feeds-kit",
        terminal_width=100,
        max_content_width=100,
        **cli.context_settings,
    )
    for ctx, command in _walk(cli, root):
        lines += [f"## {ctx.command_path}", "", "```", command.get_help(ctx).rstrip(), "```", ""]
    return "\n".join(lines)


def issue_reference() -> str:
    import feeds_kit
    from feeds_kit.issues import CATALOGUE

    # Import every module so each declares its issue types.
    for module in pkgutil.walk_packages(feeds_kit.__path__, "feeds_kit."):
        if module.name.startswith(("feeds_kit.cli", "feeds_kit.__main__")):
            continue
        importlib.import_module(module.name)
    lines = [
        "# Issue types",
        "",
        "Every finding feeds-kit reports locally has a stable code. Generated from the issue",
        "catalogue by `python docs/generate.py`; do not edit by hand. Amazon's own codes (from",
        "processing reports) are shown as Amazon sends them.",
        "",
        "| code | severity | what it means |",
        "| --- | --- | --- |",
    ]
    for code in sorted(CATALOGUE):
        entry = CATALOGUE[code]
        lines.append(f"| [`{code}`](#{code}) | {entry.severity.value} | {entry.title} |")
    lines.append("")
    for code in sorted(CATALOGUE):
        entry = CATALOGUE[code]
        lines += [f"## {code}", "", f"**{entry.title}** ({entry.severity.value})", ""]
        if entry.description:
            lines += [entry.description, ""]
        lines += [f"Message: `{entry.message}`", ""]
        if entry.hint:
            lines += [f"How to fix: {entry.hint}", ""]
    return "\n".join(lines)


PAGES = {"cli.md": cli_reference, "issues.md": issue_reference}


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for name, make in PAGES.items():
        target = DOCS / name
        text = make()
        if check:
            if not target.exists() or target.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            target.write_text(text, encoding="utf-8")
    if stale:
        print(f"stale: {', '.join(stale)}; run python docs/generate.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
