"""JSON request bodies decoded strictly, before Litestar's own lenient conversion.

Litestar converts request data with msgspec's lax rules, under which the
string "9.000" becomes the number 9. To an Indonesian clerk "9.000" is nine
thousand, so a quota typed that way must be refused, not shrunk. This hook
decodes each JSON body against the handler's declared type with the strict
rules first; Litestar's parse afterwards only ever sees bodies that passed.
"""

import msgspec
from litestar import Request
from litestar.enums import RequestEncodingType

from api.problems import offending_field
from ledger.errors import InvalidInput


async def decode_json_strictly(request: Request) -> None:
    data_field = request.route_handler.parsed_data_field
    if data_field is None:
        return
    media_type = getattr(data_field.kwarg_definition, "media_type", RequestEncodingType.JSON)
    if media_type != RequestEncodingType.JSON:
        return
    try:
        msgspec.json.decode(await request.body(), type=data_field.annotation)
    except msgspec.ValidationError as error:
        raise InvalidInput(str(error), field=offending_field(str(error))) from None
    except msgspec.DecodeError:
        return  # not JSON at all: Litestar's own parse refuses it and says where
