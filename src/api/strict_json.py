"""JSON request bodies decoded strictly, before Litestar's own lenient conversion.

Litestar converts request data with msgspec's lax rules, under which the
string "9.000" becomes the number 9. To an Indonesian clerk "9.000" is nine
thousand, so a quota typed that way must be refused, not shrunk. This hook
decodes each JSON body against the handler's declared type with the strict
rules first; Litestar's parse afterwards only ever sees bodies that passed.

JSON itself puts no bound on a number, and msgspec decodes any integer into a Python int;
the database's BIGINT columns do not hold them. An integer beyond I-JSON's interoperable
range (RFC 7493, section 2.2) is refused here, before it is recorded in a permanent event
that no projection could then store.
"""

import msgspec
from litestar import Request
from litestar.enums import RequestEncodingType

from api.problems import offending_field
from ledger.errors import InvalidInput

MAX_SAFE_INTEGER = 2**53 - 1
"""The largest integer every JSON parser reads exactly (RFC 7493): trillions of rupiah, and
still a fraction of what a BIGINT holds, so sums of a few of them fit too."""


async def decode_json_strictly(request: Request) -> None:
    data_field = request.route_handler.parsed_data_field
    if data_field is None:
        return
    media_type = getattr(data_field.kwarg_definition, "media_type", RequestEncodingType.JSON)
    if media_type != RequestEncodingType.JSON:
        return
    body = await request.body()
    try:
        msgspec.json.decode(body, type=data_field.annotation)
    except msgspec.ValidationError as error:
        raise InvalidInput(str(error), field=offending_field(str(error))) from None
    except msgspec.DecodeError:
        return  # not JSON at all: Litestar's own parse refuses it and says where
    _refuse_unsafe_integers(msgspec.json.decode(body))


def _refuse_unsafe_integers(body: object) -> None:
    fields = body.items() if isinstance(body, dict) else [(None, body)]
    for field, value in fields:
        if _has_unsafe_integer(value):
            raise InvalidInput(f"an integer is beyond {MAX_SAFE_INTEGER:,} (or below its negative)",
                               field=field)


def _has_unsafe_integer(value: object) -> bool:
    if isinstance(value, dict):
        return any(map(_has_unsafe_integer, value.values()))
    if isinstance(value, list):
        return any(map(_has_unsafe_integer, value))
    return type(value) is int and abs(value) > MAX_SAFE_INTEGER  # a bool is no number here
