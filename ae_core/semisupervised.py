"""Few labels (tutorial 000's semi-supervised use of an autoencoder): an encoder pretrained
without labels, fine-tuned with a linear classifier on a handful of labelled digits, against
the very same network trained from scratch on those digits alone."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn

from ae_core.data import Dataset
from ae_core.models import Autoencoder, build_model


@dataclass
class FewLabelsResult:
    labelled: int  # digits with a label, all classes together
    pretrained_accuracy: float  # on the test digits
    scratch_accuracy: float


class _Classifier(nn.Module):
    """An autoencoder's encoder (its deterministic code, `embed`) and a linear layer on top."""

    def __init__(self, model: Autoencoder, classes: int) -> None:
        super().__init__()
        self.model = model
        self.head = nn.Linear(model.latent_dim, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.model.embed(x))


def labelled_subset(train: Dataset, per_class: int, seed: int = 0) -> Dataset:
    """`per_class` digits of every class, drawn with `seed`: the only labels either net sees."""
    generator = torch.Generator().manual_seed(seed)
    picks = []
    for label in train.labels.unique():
        members = torch.nonzero(train.labels == label)[:, 0]
        picks.append(members[torch.randperm(len(members), generator=generator)[:per_class]])
    return train.subset(torch.cat(picks), f"{train.name}-{per_class}-per-class")


def _train_and_score(net: _Classifier, labelled: Dataset, test: Dataset, steps: int,
                     lr: float) -> float:
    images, labels = labelled.float_images(), labelled.labels
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    net.train()
    for _ in range(steps):  # full batch: a few hundred digits at most
        optimizer.zero_grad()
        nn.functional.cross_entropy(net(images), labels).backward()
        optimizer.step()
    net.eval()
    with torch.inference_mode():
        predicted = net(test.float_images()).argmax(dim=1)
    return float((predicted == test.labels).float().mean())


def few_labels(model: Autoencoder, train: Dataset, test: Dataset, per_class: int = 10,
               steps: int = 300, lr: float = 1e-3, seed: int = 0) -> FewLabelsResult:
    """Test accuracy of `model`'s encoder fine-tuned on `per_class` labels per class, and of the
    same architecture from a fresh initialisation trained on the same digits."""
    if model.is_conditional:
        raise ValueError(f"a {model.config.family} model reads the label to encode a digit: "
                         f"it cannot be asked to find it")
    labelled = labelled_subset(train, per_class, seed)
    classes = int(train.labels.max()) + 1
    torch.manual_seed(seed)
    pretrained = _Classifier(copy.deepcopy(model).float().cpu(), classes)
    torch.manual_seed(seed)
    scratch = _Classifier(build_model(model.config), classes)
    return FewLabelsResult(len(labelled),
                           _train_and_score(pretrained, labelled, test, steps, lr),
                           _train_and_score(scratch, labelled, test, steps, lr))


@dataclass
class FrozenProbeResult:
    labelled: int  # digits with a label, all classes together
    codes_accuracy: float  # a linear layer on the model's frozen codes, on the test digits
    pixels_accuracy: float  # the same linear layer on the pixels


def _probe_accuracy(train_features: torch.Tensor, labels: torch.Tensor,
                    test_features: torch.Tensor, test_labels: torch.Tensor, classes: int,
                    steps: int, lr: float) -> float:
    """A linear classifier on standardised (N, F) features, full-batch Adam."""
    mean, std = train_features.mean(0), train_features.std(0).clamp(min=1e-6)
    head = nn.Linear(train_features.shape[1], classes)
    optimizer = torch.optim.Adam(head.parameters(), lr=lr)
    inputs = (train_features - mean) / std
    for _ in range(steps):
        optimizer.zero_grad()
        nn.functional.cross_entropy(head(inputs), labels).backward()
        optimizer.step()
    with torch.inference_mode():
        predicted = head((test_features - mean) / std).argmax(dim=1)
    return float((predicted == test_labels).float().mean())


def frozen_probe(model: Autoencoder, train: Dataset, test: Dataset, per_class: int = 10,
                 steps: int = 300, lr: float = 1e-2, seed: int = 0) -> FrozenProbeResult:
    """For a model that cannot be fine-tuned (`is_trainable` False, an ONNX pair): test
    accuracy of a linear layer on its frozen codes (`embed`) of `per_class` labels per class,
    against the same layer on the pixels of the same digits."""
    labelled = labelled_subset(train, per_class, seed)
    classes = int(train.labels.max()) + 1
    images, test_images = labelled.float_images(), test.float_images()
    with torch.inference_mode():
        codes, test_codes = model.embed(images).float(), model.embed(test_images).float()
    torch.manual_seed(seed)
    on_codes = _probe_accuracy(codes.clone(), labelled.labels, test_codes.clone(), test.labels,
                               classes, steps, lr)
    torch.manual_seed(seed)
    on_pixels = _probe_accuracy(images.flatten(1), labelled.labels, test_images.flatten(1),
                                test.labels, classes, steps, lr)
    return FrozenProbeResult(len(labelled), on_codes, on_pixels)
