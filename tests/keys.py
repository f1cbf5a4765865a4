"""A keyring for tests that build the event store by hand (the system makes its own)."""

from ledger.personal_data import keyring_from, new_key_file_content

KEYRING = keyring_from(new_key_file_content(), "the tests' keys")
