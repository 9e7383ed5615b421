"""labkit.model.training_sets (offline digits, image folders, leakage-free split), labkit.deploy.ondevice (training)."""

import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from labkit.deploy import ondevice
from labkit.deploy.ondevice import ExecuTorchTrainer, WithLoss, training_program
from labkit.errors import LabkitError
from labkit.model.training_sets import DatasetError, digits, image_folder, stratified_split


def test_digits_are_real_and_offline():
    data = digits()
    assert len(data) == 1797 and data.images[0].shape == (8, 8, 3) and data.images[0].dtype == np.uint8
    assert data.class_names == tuple("0123456789") and set(data.counts().values()) <= set(range(170, 190))
    assert max(int(img.max()) for img in data.images) == 255 and "scikit-learn" in data.source


def test_split_is_stratified_disjoint_and_deterministic():
    labels = digits().labels
    train, test = stratified_split(labels, 0.2, seed=3)
    assert not set(train) & set(test) and len(train) + len(test) == len(labels)
    for label in range(10):
        share = (labels[test] == label).sum() / (labels == label).sum()
        assert 0.18 < share < 0.22
    again = stratified_split(labels, 0.2, seed=3)
    assert np.array_equal(train, again[0]) and not np.array_equal(test, stratified_split(labels, 0.2, seed=4)[1])
    with pytest.raises(DatasetError, match="at least 2"):
        stratified_split(np.array([0, 0, 1]))
    with pytest.raises(DatasetError, match="between 0 and 1"):
        stratified_split(labels, 1.5)


def test_image_folder_reads_the_imagenette_layout(tmp_path):
    """The online datasets arrive as class folders; a tiny fixture in that layout, made from the digits."""
    data = digits()
    for label in (3, 7):
        folder = tmp_path / f"digit_{label}"
        folder.mkdir()
        for k, index in enumerate(np.flatnonzero(data.labels == label)[:3]):
            Image.fromarray(data.images[index]).save(folder / f"{k}.png")
    (tmp_path / "digit_7" / "notes.txt").write_text("not an image")
    found = image_folder(tmp_path)
    assert found.class_names == ("digit_3", "digit_7") and list(found.labels) == [0, 0, 0, 1, 1, 1]
    assert np.array_equal(found.images[0], data.images[np.flatnonzero(data.labels == 3)[0]])
    assert len(image_folder(tmp_path, max_per_class=1)) == 2
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="has no images"):
        image_folder(tmp_path)
    with pytest.raises(DatasetError, match="no dataset folder"):
        image_folder(tmp_path / "missing")


def test_executorch_training_matches_eager_sgd():
    torch.manual_seed(0)
    head = torch.nn.Linear(32, 4)
    x, y = torch.randn(8, 32), torch.randint(0, 4, (8,))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the training API warns that it is experimental
        program = training_program(WithLoss(head), (x, y))
        trainer = ExecuTorchTrainer(program, lr=0.05)
        with pytest.raises(LabkitError, match="after the first step"):
            trainer.parameters()
        eager = WithLoss(torch.nn.Linear(32, 4))
        eager.module.load_state_dict(head.state_dict())
        optimizer = torch.optim.SGD(eager.parameters(), lr=0.05)
        runtime_losses, eager_losses = [], []
        for _ in range(6):
            runtime_losses.append(trainer.step(x, y))
            optimizer.zero_grad()
            loss, _ = eager(x, y)
            loss.backward()
            optimizer.step()
            eager_losses.append(float(loss))
        assert np.allclose(runtime_losses, eager_losses, atol=1e-5) and runtime_losses[-1] < runtime_losses[0]
        params = trainer.parameters()
        assert set(params) == {"module.weight", "module.bias"}
        assert float((params["module.weight"] - eager.module.weight).abs().max()) < 1e-5
        with pytest.raises(LabkitError, match="fixed batch shape"):
            trainer.step(torch.randn(3, 32), torch.randint(0, 4, (3,)))
    with pytest.raises(ValueError, match="positive"):
        ExecuTorchTrainer(program, lr=0)


@pytest.mark.parametrize("name", sorted(ondevice.UNIT_NAMES))
def test_backbone_units_compute_what_the_classifier_sees(name):
    from labkit.model.models import load_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = load_model(name, pretrained=False).module.eval()
    units, pool = ondevice.backbone_units(name, net)
    assert [n for n, _ in units] == ondevice.backbone_unit_names(name)
    backbone = torch.nn.Sequential(*[u for _, u in units], pool, torch.nn.Flatten()).eval()
    classifier = net.fc if name == "resnet18" else net.classifier
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.allclose(classifier(backbone(x)), net(x), rtol=1e-5, atol=1e-5)


def test_backbone_units_refuse_an_unknown_model():
    with pytest.raises(LabkitError, match="no backbone units"):
        ondevice.backbone_unit_names("resnet50")
