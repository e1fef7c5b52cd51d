"""Amazon's regions, their endpoints, and the marketplaces in each.

Facts from ``spapi-facts.md`` §5.4/§5.5 (Amazon's endpoint and marketplace-id pages; currencies
corroborated by a third-party table, IE and ZA from ISO 4217). The per-seller truth is the Sellers
API (``getMarketplaceParticipations``); this table is what can be checked offline.
"""

from __future__ import annotations

from dataclasses import dataclass

from feeds_kit.errors import UsageError


@dataclass(frozen=True, slots=True)
class Region:
    """An SP-API region: code (``na``/``eu``/``fe``), hosts, AWS region for optional SigV4."""

    code: str
    name: str
    endpoint: str
    sandbox_endpoint: str
    aws_region: str


@dataclass(frozen=True, slots=True)
class Marketplace:
    """A marketplace: Amazon's id, the country code Amazon uses, region, currency, language."""

    id: str
    code: str
    country: str
    region: str
    currency: str
    language_tag: str
    domain: str

    @property
    def currency_decimals(self) -> int:
        """Decimals a price may carry in this marketplace's currency (JPY has none)."""
        return CURRENCY_DECIMALS.get(self.currency, 2)


REGIONS: dict[str, Region] = {
    r.code: r
    for r in (
        Region(
            "na",
            "North America",
            "https://sellingpartnerapi-na.amazon.com",
            "https://sandbox.sellingpartnerapi-na.amazon.com",
            "us-east-1",
        ),
        Region(
            "eu",
            "Europe",
            "https://sellingpartnerapi-eu.amazon.com",
            "https://sandbox.sellingpartnerapi-eu.amazon.com",
            "eu-west-1",
        ),
        Region(
            "fe",
            "Far East",
            "https://sellingpartnerapi-fe.amazon.com",
            "https://sandbox.sellingpartnerapi-fe.amazon.com",
            "us-west-2",
        ),
    )
}

#: Login with Amazon token endpoint (the same for every region).
LWA_TOKEN_URL = "https://api.amazon.com/auth/o2/token"

#: ISO 4217 minor units for the marketplace currencies that differ from 2.
CURRENCY_DECIMALS: dict[str, int] = {"JPY": 0}

_M = Marketplace
MARKETPLACES: tuple[Marketplace, ...] = (
    _M("A2EUQ1WTGCTBG2", "CA", "Canada", "na", "CAD", "en_CA", "amazon.ca"),
    _M("ATVPDKIKX0DER", "US", "United States", "na", "USD", "en_US", "amazon.com"),
    _M("A1AM78C64UM0Y8", "MX", "Mexico", "na", "MXN", "es_MX", "amazon.com.mx"),
    _M("A2Q3Y263D00KWC", "BR", "Brazil", "na", "BRL", "pt_BR", "amazon.com.br"),
    _M("A28R8C7NBKEWEA", "IE", "Ireland", "eu", "EUR", "en_IE", "amazon.ie"),
    _M("A1RKKUPIHCS9HS", "ES", "Spain", "eu", "EUR", "es_ES", "amazon.es"),
    _M("A1F83G8C2ARO7P", "UK", "United Kingdom", "eu", "GBP", "en_GB", "amazon.co.uk"),
    _M("A13V1IB3VIYZZH", "FR", "France", "eu", "EUR", "fr_FR", "amazon.fr"),
    _M("AMEN7PMS3EDWL", "BE", "Belgium", "eu", "EUR", "fr_BE", "amazon.com.be"),
    _M("A1805IZSGTT6HS", "NL", "Netherlands", "eu", "EUR", "nl_NL", "amazon.nl"),
    _M("A1PA6795UKMFR9", "DE", "Germany", "eu", "EUR", "de_DE", "amazon.de"),
    _M("APJ6JRA9NG5V4", "IT", "Italy", "eu", "EUR", "it_IT", "amazon.it"),
    _M("A2NODRKZP88ZB9", "SE", "Sweden", "eu", "SEK", "sv_SE", "amazon.se"),
    _M("AE08WJ6YKNBMC", "ZA", "South Africa", "eu", "ZAR", "en_ZA", "amazon.co.za"),
    _M("A1C3SOZRARQ6R3", "PL", "Poland", "eu", "PLN", "pl_PL", "amazon.pl"),
    _M("ARBP9OOSHTCHU", "EG", "Egypt", "eu", "EGP", "en_AE", "amazon.eg"),
    _M("A33AVAJ2PDY3EV", "TR", "Turkey", "eu", "TRY", "tr_TR", "amazon.com.tr"),
    _M("A17E79C6D8DWNP", "SA", "Saudi Arabia", "eu", "SAR", "en_AE", "amazon.sa"),
    _M("A2VIGQ35RCS4UG", "AE", "United Arab Emirates", "eu", "AED", "en_AE", "amazon.ae"),
    _M("A21TJRUUN4KGV", "IN", "India", "eu", "INR", "en_IN", "amazon.in"),
    _M("A19VAU5U5O7RUS", "SG", "Singapore", "fe", "SGD", "en_SG", "amazon.sg"),
    _M("A39IBJ37TRP1C6", "AU", "Australia", "fe", "AUD", "en_AU", "amazon.com.au"),
    _M("A1VC38T7YXB528", "JP", "Japan", "fe", "JPY", "ja_JP", "amazon.co.jp"),
)

BY_ID: dict[str, Marketplace] = {m.id: m for m in MARKETPLACES}
BY_CODE: dict[str, Marketplace] = {m.code: m for m in MARKETPLACES}
# Older Amazon material (and ISO 3166) says GB for the United Kingdom.
_ALIASES: dict[str, Marketplace] = {"GB": BY_CODE["UK"]}
for _m in MARKETPLACES:
    _ALIASES[_m.domain.upper()] = _m
    _ALIASES[_m.country.upper()] = _m


def find_marketplace(text: str | None) -> Marketplace | None:
    """The marketplace a seller means by ``text``: an id, a code (``DE``, ``GB``), a domain
    (``amazon.de``) or a country name, in any case; ``None`` when nothing matches."""
    if text is None:
        return None
    key = str(text).strip()
    if not key:
        return None
    if key in BY_ID:
        return BY_ID[key]
    upper = key.upper()
    return BY_ID.get(upper) or BY_CODE.get(upper) or _ALIASES.get(upper)


def get_marketplace(text: str) -> Marketplace:
    """Like :func:`find_marketplace` but raises :class:`UsageError` naming the known codes."""
    found = find_marketplace(text)
    if found is None:
        codes = ", ".join(m.code for m in MARKETPLACES)
        raise UsageError(f"Unknown marketplace {text!r}: use a code ({codes}) or a marketplace id.")
    return found


def get_region(code: str) -> Region:
    """The region for ``na``/``eu``/``fe`` (any case); :class:`UsageError` otherwise."""
    region = REGIONS.get(str(code).strip().lower())
    if region is None:
        raise UsageError(f"Unknown region {code!r}: use na, eu or fe.")
    return region
