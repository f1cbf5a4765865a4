"""``ledger keys``: the personal-data keys (docs/privacy.md).

    ledger keys new --output FILE     a fresh key file (production: keep it in a secret store)
    ledger keys rotate [--file FILE]  a new active data key; the old ones stay to read old data
    ledger keys show                  key ids and fingerprints, checked against the database

No command prints a key: only fingerprints, which name a key without revealing it.
"""

import argparse
from pathlib import Path

from ledger.cli_common import where
from ledger.errors import KeysUnusable
from ledger.personal_data import (
    keyring_from,
    new_key_file_content,
    read_key_file,
    rotated,
    write_key_file,
)
from ledger.settings import Settings
from ledger.system import open_system


def keys_new(_: Settings, args: argparse.Namespace) -> None:
    if args.output.exists():
        raise KeysUnusable(f"{args.output} exists: a key file is never overwritten (its keys "
                           "may be the only way to read a ledger's personal data)",
                           field="output")
    write_key_file(args.output, new_key_file_content())
    print(f"wrote {args.output} (readable by its owner only); point LEDGER_KEY_FILE at it, "
          "or put its content in LEDGER_KEYS, and keep a copy where the database's backups "
          "are not")


def keys_rotate(settings: Settings, args: argparse.Namespace) -> None:
    path = args.file or settings.key_file or settings.data_dir / "keys.json"
    if settings.keys_json and args.file is None:
        raise KeysUnusable("the keys come from LEDGER_KEYS: rotate the key file they were "
                           "made from with --file FILE, then set LEDGER_KEYS to its content",
                           field="file")
    if not path.is_file():
        raise KeysUnusable(f"no key file at {path}", field="file")
    content = read_key_file(path)
    keyring_from(content, str(path))  # refuse to rotate a file that does not load
    newer = rotated(content)
    write_key_file(path, newer)
    print(f"{path}: data key {newer['active']} is now active; "
          f"{', '.join(k for k in newer['data_keys'] if k != newer['active'])} kept to read "
          "what they sealed. Restart every ledger process to seal with the new key.")


def keys_show(settings: Settings, _: argparse.Namespace) -> None:
    where(settings)
    with open_system(settings) as system:  # refuses keys that are not this ledger's
        keyring = system.keyring
    print(f"active data key: {keyring.active}")
    for name, fingerprint in sorted(keyring.fingerprints.items()):
        print(f"  {name}: fingerprint {fingerprint}")
    print("the database knows every one of these keys: it was sealed with them or accepts "
          "them now")


def add_parsers(commands: argparse._SubParsersAction) -> None:
    keys = commands.add_parser("keys", help="personal-data keys: new, rotate, show"
                               ).add_subparsers(required=True)
    new = keys.add_parser("new", help="write a fresh key file")
    new.add_argument("--output", type=Path, required=True, metavar="FILE")
    new.set_defaults(command=keys_new)
    rotate = keys.add_parser("rotate", help="add a data key and make it the active one")
    rotate.add_argument("--file", type=Path, metavar="FILE",
                        help="the key file (default: LEDGER_KEY_FILE, else the data "
                             "directory's keys.json)")
    rotate.set_defaults(command=keys_rotate)
    keys.add_parser("show", help="key ids and fingerprints").set_defaults(command=keys_show)
