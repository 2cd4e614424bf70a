"""The YAML config (schema, key paths, nearest keys, round trip) and the data sources it names."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from tfnas.app.config import load_config
from tfnas.app.config import parse_config
from tfnas.app.pipeline import build_oracle
from tfnas.app.pipeline import build_space
from tfnas.app.pipeline import search_kwargs
from tfnas.app.sources import load_data
from tfnas.errors import TfnasInputError
from tfnas.oracles import DEFAULT_ORACLE
from tfnas.oracles import ORACLES
from tfnas.oracles import get_oracle


def _write(tmp_path, text: str, name: str = "tfnas.yaml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_misspelt_key_names_its_path_and_the_nearest_key(tmp_path):
    path = _write(tmp_path, "data: {source: digits}\nsearch:\n  max_trails: 3\n")
    with pytest.raises(
        TfnasInputError, match=r"Unknown key 'search.max_trails' in tfnas.yaml; did you mean 'search.max_trials'\?"
    ):
        load_config(path)


def test_misspelt_section_names_the_nearest_section(tmp_path):
    with pytest.raises(TfnasInputError, match=r"Unknown key 'constraint' in tfnas.yaml; did you mean 'constraints'\?"):
        load_config(_write(tmp_path, "data: digits\nconstraint: {max_macs: 100}\n"))
    with pytest.raises(TfnasInputError, match=r"'constraints.max_mac'.*did you mean 'constraints.max_macs'"):
        load_config(_write(tmp_path, "data: digits\nconstraints: {max_mac: 100}\n"))


def test_wrong_type_names_the_path_and_the_expected_type(tmp_path):
    with pytest.raises(
        TfnasInputError, match=r"'search.epochs' in tfnas.yaml must be an integer. Received: search.epochs='many'"
    ):
        load_config(_write(tmp_path, "data: digits\nsearch: {epochs: many}\n"))
    with pytest.raises(TfnasInputError, match=r"'search.overwrite' .* must be true or false"):
        load_config(_write(tmp_path, "data: digits\nsearch: {overwrite: 1}\n"))
    with pytest.raises(TfnasInputError, match=r"'export.strip_names' .* must be true or false"):
        load_config(_write(tmp_path, "data: digits\nexport: {strip_names: 1}\n"))
    with pytest.raises(TfnasInputError, match=r"'export.quantization' .* must be one of .*Did you mean 'int8'"):
        load_config(_write(tmp_path, "data: digits\nexport: {quantization: int7}\n"))


def test_yaml_syntax_error_gives_file_and_line(tmp_path):
    path = _write(tmp_path, "data: {source: digits}\nsearch:\n  epochs: [1\n  seed: 2\n")
    with pytest.raises(TfnasInputError, match=r"YAML syntax error in .*tfnas.yaml at line 4"):
        load_config(path)


def test_missing_file_and_missing_data_section(tmp_path):
    with pytest.raises(TfnasInputError, match="No config file at"):
        load_config(str(tmp_path / "nope.yaml"))
    with pytest.raises(TfnasInputError, match="no 'data' section"):
        load_config(_write(tmp_path, "search: {epochs: 1}\n"))


def test_defaults_filled_and_yaml_round_trip(tmp_path):
    config = load_config(_write(tmp_path, "data: digits\nspace: mobilenet\nexport: {c_array: true}\n"))
    assert config.data["source"] == "digits" and config.space == {"name": "mobilenet"}
    assert config.search["max_trials"] == 20 and config.oracle["name"] is None
    assert search_kwargs(config)["oracle"] == DEFAULT_ORACLE == "pso"  # the search's default strategy
    assert config.compression is None and config.export["quantization"] == "int8" and config.export["c_array"] is True
    assert config.export["strip_names"] is False
    again = parse_config(yaml.safe_load(config.to_yaml()))
    assert again.to_dict() == config.to_dict()
    assert config.run_dir.endswith("tfnas_runs/search")


def test_oracle_names_come_from_the_registry_and_kwargs_are_checked():
    assert build_oracle({"name": "evolution"}) == "evolution"
    with pytest.raises(TfnasInputError, match=r"Unknown key 'oracle.name=evolutoin'.*did you mean 'oracle.name=evolution'"):
        build_oracle({"name": "evolutoin"})
    ORACLES["dummy_for_test"] = ORACLES["random"]  # a strategy added later is accepted without touching config.py
    try:
        assert build_oracle({"name": "dummy_for_test"}) == "dummy_for_test"
    finally:
        del ORACLES["dummy_for_test"]
    with pytest.raises(TfnasInputError, match=r"'oracle.populaton_size'.*did you mean 'oracle.population_size'"):
        build_oracle({"name": "evolution", "populaton_size": 4})
    spec = build_oracle({"name": "evolution", "population_size": 4})
    assert spec == {"name": "evolution", "population_size": 4}
    assert get_oracle(spec, objective="val_accuracy", max_trials=10).population_size == 4


def test_oracle_argument_values_are_input_errors():
    with pytest.raises(TfnasInputError, match=r"num_particles must be >= 2. Received: num_particles=1"):
        get_oracle(build_oracle({"name": "pso", "num_particles": 1}), objective="val_accuracy")
    with pytest.raises(TfnasInputError, match="Pass max_trials to the search"):
        get_oracle({"name": "pso", "max_trials": 3}, objective="val_accuracy", max_trials=10)


def test_space_ranges_and_reward_arguments(tmp_path):
    space = build_space({"name": "mobilenet", "kernel_sizes": [3]})
    assert space._ranges["kernel_sizes"] == (3,)
    with pytest.raises(TfnasInputError, match=r"'space.kernel_size'.*did you mean 'space.kernel_sizes'"):
        build_space({"name": "mobilenet", "kernel_size": [3]})
    config = load_config(_write(tmp_path, "data: digits\nreward: {name: mnasnet, target: 20000}\n"))
    assert type(search_kwargs(config)["reward"]).__name__ == "MnasNet"
    with pytest.raises(TfnasInputError, match=r"'reward.targt'.*did you mean 'reward.target'"):
        search_kwargs(load_config(_write(tmp_path, "data: digits\nreward: {name: mnasnet, targt: 1}\n")))


def test_npz_source_with_and_without_a_test_part(tmp_path):
    x, y = np.random.rand(40, 5).astype(np.float32), np.arange(40) % 2
    np.savez(tmp_path / "a.npz", x=x, y=y, x_test=x[:7], y_test=y[:7])
    (x_train, y_train), (x_test, y_test) = load_data({"source": "a.npz"}, str(tmp_path))
    np.testing.assert_array_equal(x_train, x)
    assert x_test.shape == (7, 5) and len(y_train) == 40
    np.savez(tmp_path / "b.npz", feats=x, labels=y)
    (x_train, _), (x_test, _) = load_data(
        {"source": "b.npz", "x_key": "feats", "y_key": "labels", "test_split": 0.25}, str(tmp_path)
    )
    assert len(x_train) == 30 and len(x_test) == 10
    with pytest.raises(TfnasInputError, match=r"has no array 'x' \(data.x_key\); it holds \['feats', 'labels'\]"):
        load_data({"source": "b.npz"}, str(tmp_path))


def test_npy_source(tmp_path):
    np.save(tmp_path / "x.npy", np.random.rand(20, 3, 1))
    np.save(tmp_path / "y.npy", np.arange(20) % 4)
    (x, y), (x_test, y_test) = load_data({"source": "x.npy", "y_file": "y.npy", "test_split": 0.2}, str(tmp_path))
    assert x.shape == (16, 3, 1) and x_test.shape == (4, 3, 1) and sorted(set(y_test)) == [0, 1, 2, 3]
    with pytest.raises(TfnasInputError, match="set data.y_file"):
        load_data({"source": "x.npy"}, str(tmp_path))
    with pytest.raises(TfnasInputError, match=r"No file at .*missing.npy.*data.y_file"):
        load_data({"source": "x.npy", "y_file": "missing.npy"}, str(tmp_path))


def test_csv_source_by_label_column(tmp_path):
    rows = ["a,target,b"] + [f"{i * 0.5},{i % 3},{i}" for i in range(30)]
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")
    (x, y), (x_test, y_test) = load_data({"source": "t.csv", "label_column": "target"}, str(tmp_path))
    assert x.shape[1] == 2 and x.dtype == np.float32 and y.dtype == np.int64
    assert len(x) + len(x_test) == 30 and set(np.concatenate([y, y_test])) == {0, 1, 2}
    row = np.concatenate([x, x_test])[np.argmax(np.concatenate([x, x_test])[:, 1])]
    np.testing.assert_allclose(row, [14.5, 29.0])  # the label column is dropped from the features
    with pytest.raises(
        TfnasInputError, match=r"has no column 'label' \(data.label_column\); its columns are \['a', 'target', 'b'\]"
    ):
        load_data({"source": "t.csv"}, str(tmp_path))


def test_image_folder_source(tmp_path):
    import tensorflow as tf

    for label, value in (("cat", 40), ("dog", 220)):
        (tmp_path / "imgs" / label).mkdir(parents=True)
        for i in range(4):
            image = tf.fill((6, 5, 3), tf.constant(value + i, tf.uint8))
            tf.io.write_file(str(tmp_path / "imgs" / label / f"{i}.png"), tf.io.encode_png(image))
    data = {"source": "imgs", "image_size": [4, 4], "color_mode": "grayscale", "test_split": 0.25}
    (x, y), (x_test, y_test) = load_data(data, str(tmp_path))
    assert x.shape == (6, 4, 4, 1) and x_test.shape == (2, 4, 4, 1)
    assert sorted(np.concatenate([y, y_test]).tolist()) == [0, 0, 0, 0, 1, 1, 1, 1]
    all_x, all_y = np.concatenate([x, x_test]), np.concatenate([y, y_test])
    assert all_x[all_y == 0].max() < 0.25 < 0.8 < all_x[all_y == 1].min()  # class from the folder, scaled to [0, 1]


def test_missing_and_unknown_sources(tmp_path):
    with pytest.raises(TfnasInputError, match=r"No data at .*nothing.npz"):
        load_data({"source": "nothing.npz"}, str(tmp_path))
    (tmp_path / "data.txt").write_text("1 2 3")
    with pytest.raises(TfnasInputError, match=r"must be a .npz, .npy or .csv file or an image folder"):
        load_data({"source": "data.txt"}, str(tmp_path))


def test_built_in_digits():
    (x, y), (x_test, y_test) = load_data({"source": "digits"})
    assert x.shape[1:] == (8, 8, 1) and len(x) + len(x_test) == 1797


def test_compression_target_is_checked_before_the_search():
    from tfnas.app.pipeline import search_kwargs

    config = parse_config({"data": "digits", "compression": {"target": {"max_macz": 8000}}})
    with pytest.raises(TfnasInputError, match="max_macz"):
        search_kwargs(config)
    good = parse_config({"data": "digits", "compression": {"channels": 0.5, "channel_steps": 1, "target": {"max_macs": 8000}}})
    assert search_kwargs(good)["constraints"] == {} and good.compression["target"] == {"max_macs": 8000}


def test_the_compression_section_builds_the_stages_of_the_keyword_form():
    from tfnas.app.pipeline import build_compression
    from tfnas.app.pipeline import search_kwargs
    from tfnas.compress import stages_from_kwargs

    config = parse_config({"data": "digits", "compression": {"prune": 0.5, "qat": True, "epochs": 5, "candidate": "best"}})
    kwargs = build_compression(config.compression)
    stages = kwargs.pop("stages")
    expected = stages_from_kwargs(prune=0.5, qat=True)
    assert [(type(s), s.get_config()) for s in stages] == [(type(s), s.get_config()) for s in expected]
    assert kwargs == {"epochs": 5, "batch_size": 32, "seed": 0}  # the shared options; None means compress's default
    for section, match in [({"prune": 1.5}, r"Received: sparsity=1\.5"), ({"epochs": 3}, "asks for no stage")]:
        with pytest.raises(TfnasInputError, match=match):  # before the search
            search_kwargs(parse_config({"data": "digits", "compression": section}))
