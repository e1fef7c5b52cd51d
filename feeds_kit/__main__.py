"""``python -m feeds_kit`` runs the command line."""

from feeds_kit.cli import main

if __name__ == "__main__":
    main()
