import pytest

from ledger.settings import Settings
from ledger.system import open_system


@pytest.fixture
def system(db_url, tmp_path):
    """A ledger on the test's backend, its keys in the test's own data directory."""
    with open_system(Settings(database_url=db_url, data_dir=tmp_path)) as system:
        yield system
