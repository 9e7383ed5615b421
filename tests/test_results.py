import pytest

from labkit.results import ResultsStore


def test_append_and_load_round_trip(tmp_path):
    store = ResultsStore(tmp_path)
    store.append("00_baseline", [{"threads": 1, "p50_ms": 10.0}, {"threads": 2, "p50_ms": 6.0}], {"model": "m"}, run_id="a")
    store.append("00_baseline", [{"threads": 1, "p50_ms": 11.0}], {"model": "m"}, run_id="b")
    store.append("01_fusion", [{"p50_ms": 3.0}], {"model": "m"})
    frame = store.load()
    assert len(frame) == 4
    assert {"config.model", "env.torch", "env.cpu", "env.python"} <= set(frame.columns)
    latest = store.latest_run("00_baseline")
    assert list(latest["p50_ms"]) == [11.0] and list(latest["run_id"]) == ["b"]
    assert store.latest_run("99_missing").empty
    assert len(store.load("01_fusion")) == 1


def test_interrupted_write_loses_only_the_partial_line(tmp_path):
    store = ResultsStore(tmp_path)
    store.append("lab", [{"value": 1}], {})
    with open(store.path, "a") as fh:
        fh.write('{"lab": "lab", "value": 2, "conf')  # killed mid-write
    with pytest.warns(UserWarning, match="interrupted write"):
        frame = store.load()
    assert list(frame["value"]) == [1]
    store.append("lab", [{"value": 3}], {})  # the next run's rows are not glued to the partial line
    with pytest.warns(UserWarning, match=":2 is not complete"):
        assert list(store.load()["value"]) == [1, 3]
