"""Command line (placeholder until the CLI lands)."""


def main() -> None:
    raise SystemExit("feeds-kit CLI is being built")
