"""Address rules: normalising, tag routing, handle validation and readable random names."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

__all__ = ["ParsedAddress", "split_address", "handle_problem", "random_local_part", "RESERVED"]

# RFC 2142 role mailboxes and the usual system names: handing them to an agent would let it
# receive mail meant for the operator.
RESERVED = frozenset(
    """abuse admin administrator daemon ftp hostmaster info mailer-daemon marketing news noc
    nobody no-reply noreply postmaster root sales security support sysadmin system usenet uucp
    webmaster www""".split()
)
_HANDLE = re.compile(r"^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$")

_FIRST = """amber apple apricot aqua autumn azure banana basil berry birch bright brisk bronze
calm candy cedar cherry citrus clever cloud cobalt coral cosmic crimson crisp dapper dawn
desert dusky eager ember fancy fern fig frosty fuzzy gentle ginger glad golden grape hazel
honey indigo ivory jade jolly kiwi lemon lilac lime lucky lunar maple mango merry mint misty
mellow noble nutmeg ocean olive onyx orchid papaya peach pearl pepper plum polar quick quiet
rapid rosy ruby rustic saffron sage sandy silver snowy solar spicy sunny swift tangy teal
tidy topaz tulip velvet violet vivid walnut wild windy witty zesty""".split()
_SECOND = """badger beaver bison bobcat camel cheetah condor corgi coyote crane dingo dolphin
eagle egret falcon ferret finch flamingo fox gazelle gecko gibbon giraffe goose gopher heron
hippo hornet husky ibis iguana impala jackal jaguar koala lemur leopard llama lynx magpie
marmot marten meerkat mole moose narwhal newt ocelot orca osprey otter owl panda panther
parrot pelican penguin puffin puma quail rabbit raccoon raven robin salmon seal shark sloth
sparrow squid stork swan tapir tiger toucan turtle viper walrus weasel whale wolf wombat yak
zebra""".split()


@dataclass(frozen=True, slots=True)
class ParsedAddress:
    """An address split for routing: the mailbox it names (`local`, `domain`, lower-cased) and
    the +tag it was sent with."""

    local: str  # lower-cased, tag removed
    tag: str | None
    domain: str  # lower-cased

    @property
    def address(self) -> str:
        return f"{self.local}@{self.domain}"


def split_address(address: str) -> ParsedAddress | None:
    """`User+Tag@Example.COM` -> (`user`, `Tag`, `example.com`); None if not an address."""
    address = address.strip().strip("<>")
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain or len(address) > 320:
        return None
    base, plus, tag = local.partition("+")
    if not base:
        return None
    return ParsedAddress(base.lower(), tag if plus else None, domain.lower().rstrip("."))


def handle_problem(handle: str) -> str | None:
    """None if `handle` may be chosen; otherwise `invalid` or `reserved`."""
    if not _HANDLE.match(handle) or ".." in handle:
        return "invalid"
    if handle in RESERVED:
        return "reserved"
    return None


def random_local_part() -> str:
    """A readable random local part like `mango-panda-4821` (about 27 bits)."""
    return f"{secrets.choice(_FIRST)}-{secrets.choice(_SECOND)}-{secrets.randbelow(10000):04d}"
