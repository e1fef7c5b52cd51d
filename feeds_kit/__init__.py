"""feeds-kit: spreadsheets to Amazon SP-API ``JSON_LISTINGS_FEED`` and back to the failing rows.

The library is the product; the ``feeds-kit`` command line is a thin shell over it.
"""

import logging

__version__ = "0.1.0"

# A library never configures logging for its host; the CLI adds handlers when asked.
logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = ["__version__"]
