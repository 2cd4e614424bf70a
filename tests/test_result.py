"""`SearchResult` read back from a real run directory (trials driven without training)."""

import yaml

from tfnas.oracles import RandomOracle
from tfnas.result import SearchResult
from tfnas.testing.oracle_contract import drive
from tfnas.testing.oracle_contract import make_tuner


def _bucketed_accuracy(values):
    # Few distinct accuracies, so ties between a cheap and a dear model are certain.
    return 0.5 + 0.1 * min(values["units"] // 16, 3)


def test_front_best_and_dict_from_disk(tmp_path):
    tuner = make_tuner(RandomOracle(max_trials=12, seed=4), str(tmp_path))
    drive(tuner, accuracy=_bucketed_accuracy)
    result = SearchResult.load(tuner.project_dir)
    assert len(result.completed) == 12
    points = {c.trial_id: (c.metrics["val_accuracy"], c.metrics["macs"]) for c in result.completed}

    def dominated(a):
        return any(b[0] >= a[0] and b[1] <= a[1] and b != a for b in points.values())

    assert {c.trial_id for c in result.pareto} == {i for i, p in points.items() if not dominated(p)}
    macs = [c.metrics["macs"] for c in result.pareto]
    assert macs == sorted(macs)
    best_accuracy = max(p[0] for p in points.values())
    assert result.best.metrics["val_accuracy"] == best_accuracy
    assert result.best.trial_id in {c.trial_id for c in result.pareto}, "a tie must go to the cheaper model"
    dumped = yaml.safe_load(yaml.safe_dump(result.to_dict()))
    assert dumped["best"] == result.best.trial_id and len(dumped["trials"]) == 12


def test_summary_prints_the_front(tmp_path):
    tuner = make_tuner(RandomOracle(max_trials=4, seed=0, constraints={"max_macs": 900}), str(tmp_path))
    drive(tuner)
    lines = []
    SearchResult.load(tuner.project_dir).summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "4 trained" in text and "max_macs" in text and "Pareto front" in text
