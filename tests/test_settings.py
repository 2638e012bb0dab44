import pytest

from lifqa.errors import SettingsError
from lifqa.settings import make_settings


def test_defaults_are_valid():
    s = make_settings()
    assert s.mode.value == "hybrid+rerank" and s.k == 5


@pytest.mark.parametrize("values, message", [
    ({"k": 0}, "from 1 to 100"),
    ({"colour": "red"}, "unknown setting 'colour'. Valid settings:"),
    ({"fusion": "average"}, "'minmax', 'zscore' or 'rrf'"),
    ({"mode": "fast"}, "'bm25', 'dense', 'hybrid' or 'hybrid+rerank'"),
    ({"chunk_size": 200, "chunk_overlap": 300}, "must be smaller than chunk_size"),
])
def test_bad_settings_name_the_valid_values(values, message):
    with pytest.raises(SettingsError, match=message.replace("(", r"\(").replace("+", r"\+")):
        make_settings(**values)
