import pytest

from labkit.report.results import ROW_KEYS, ResultsError, ResultsStore


def _row(**values):
    """A row with the shared keys (eager fp32 on one thread) plus ``values``."""
    return {"model": "m", "runtime": "eager", "precision": "fp32", "threads": 1, "variant": "eager fp32", **values}


def test_append_and_load_round_trip(tmp_path):
    store = ResultsStore(tmp_path)
    store.append("00_baseline", [_row(p50_ms=10.0), _row(threads=2, p50_ms=6.0)], {"model": "m"}, run_id="a")
    store.append("00_baseline", [_row(p50_ms=11.0)], {"model": "m"}, run_id="b")
    store.append("02_fusion", [_row(p50_ms=3.0, variant="eager fused")], {"model": "m"})
    frame = store.load()
    assert len(frame) == 4
    assert {"config.model", "env.torch", "env.cpu", "env.python"} <= set(frame.columns)
    latest = store.latest_run("00_baseline")
    assert list(latest["p50_ms"]) == [11.0] and list(latest["run_id"]) == ["b"]
    assert store.latest_run("99_missing").empty
    assert len(store.load("02_fusion")) == 1


def test_interrupted_write_loses_only_the_partial_line(tmp_path):
    store = ResultsStore(tmp_path)
    store.append("lab", [_row(value=1)], {})
    with open(store.path, "a") as fh:
        fh.write('{"lab": "lab", "value": 2, "conf')  # killed mid-write
    with pytest.warns(UserWarning, match="interrupted write"):
        frame = store.load()
    assert list(frame["value"]) == [1]
    store.append("lab", [_row(value=3)], {})  # the next run's rows are not glued to the partial line
    with pytest.warns(UserWarning, match=":2 is not complete"):
        assert list(store.load()["value"]) == [1, 3]


@pytest.mark.parametrize("change, message", [
    ({"runtime": None}, r"lacks \['runtime'\]"),
    ({"variant": ""}, r"lacks \['variant'\]"),
    ({"runtime": "executorch"}, "runtime 'executorch' is not one of"),
    ({"precision": "INT8"}, "precision 'INT8' is not one of"),
    ({"threads": 0}, "thread count ≥ 1"),
    ({"threads": [1, True]}, "thread count ≥ 1"),
    ({"threads": "2"}, "thread count ≥ 1"),
])
def test_every_row_has_the_shared_schema(tmp_path, change, message):
    store = ResultsStore(tmp_path)
    with pytest.raises(ResultsError, match=message):
        store.append("00_baseline", [_row(), _row(**change)], {})
    assert store.records() == []  # a bad row stops the whole append: nothing half-written
    written = store.append("00_baseline", [_row(threads=[1, 2])], {})
    assert all(written[0][key] for key in ROW_KEYS)
