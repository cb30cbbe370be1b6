"""Kinds of images (ae_core.kinds): every registered kind's declaration holds together and its
images load as it says; a new kind (one file in ae_core/kinds/) is tested here for free."""

from __future__ import annotations

import pytest
import torch

from ae_core.config import TrainConfig
from ae_core.data import (
    Dataset,
    dataset_kind,
    load_embedded,
    load_idx_folder,
    load_set,
    model_kind,
    set_available,
)
from ae_core.kinds import (
    DEFAULT_KIND,
    KINDS,
    get_kind,
    image_set,
    kind_for_dataset,
    kind_name_for,
)

KIND_NAMES = list(KINDS)


@pytest.mark.parametrize("name", KIND_NAMES)
def test_a_kinds_declaration_holds_together(name):
    kind = get_kind(name)
    assert kind.name == name and kind.title and kind.noun and kind.plural
    assert len(kind.class_names) >= 2 and len(set(kind.class_names)) == len(kind.class_names)
    keys = [images.key for images in kind.sets]
    assert len(keys) == len(set(keys))
    assert kind.home in keys and kind.test in keys and set(kind.held_out) <= set(keys)
    assert kind.image_set(kind.test).part == "test"
    assert kind.partner in KINDS and kind.partner != name  # its out-of-distribution images
    assert kind.quick_train in kind.datasets
    for images in kind.sets:  # every set is found by its key, as pages and links name it
        assert image_set(images.key) == (kind, images)


@pytest.mark.parametrize("name", KIND_NAMES)
def test_a_kinds_datasets_and_configs_carry_its_name(name):
    kind = get_kind(name)
    for dataset in kind.datasets:
        assert kind_name_for(dataset) == name == dataset_kind(dataset)
        assert TrainConfig(dataset=dataset).kind == name
        for other in (other for other in KINDS if other != name):
            with pytest.raises(ValueError, match="does not match"):
                TrainConfig(dataset=dataset, kind=other)
    # A checkpoint saved before configs carried the kind: worked out from the dataset's name.
    old = TrainConfig.from_dict({"dataset": kind.quick_train})
    assert old.kind == name and model_kind(old) is kind
    for folder in kind.system_folders:  # its own folder, loaded by path: its class names
        assert kind_name_for(str(folder)) == name


@pytest.mark.parametrize("name", KIND_NAMES)
def test_a_kinds_images_load_with_its_class_names(name):
    kind = get_kind(name)
    available = [images.key for images in kind.sets if set_available(images.key)]
    if not available:
        pytest.skip(f"no image set of {name} on this machine")
    for key in available[:2]:  # the smaller sets first: a kind lists its test sets first
        images = load_set(key)
        assert images.kind == name and images.class_names == kind.class_names
        assert tuple(images.images.shape[1:]) == kind.shape and len(images) > 0
        assert int(images.labels.max()) < len(kind.class_names)
        assert kind_for_dataset(images) is kind


def test_an_unknown_kind_lists_the_registered_ones():
    with pytest.raises(ValueError, match="valid kinds: mnist, fashion-mnist"):
        get_kind("letters")


def test_a_model_with_no_record_of_its_images_knows_digits():
    assert model_kind(None).name == DEFAULT_KIND == "mnist"


def test_a_folder_of_idx_files_holds_the_kind_of_its_folder(tmp_path):
    """The two old definitions disagreed here: a Fashion-MNIST idx folder loaded by its path
    was called digits by one and clothes by the other; now it is the folder's kind, once."""
    fashion = get_kind("fashion-mnist")
    folder = next((folder for folder in fashion.system_folders if folder.is_dir()), None)
    if folder is None:
        pytest.skip("Debian's Fashion-MNIST is not installed")
    loaded = load_idx_folder(folder, "test")
    assert loaded.kind == "fashion-mnist" and loaded.class_names == fashion.class_names
    assert TrainConfig(dataset=str(folder)).kind == "fashion-mnist"
    # Any other folder of idx files holds digits, as it always did.
    assert kind_name_for(str(tmp_path)) == "mnist"


def test_a_folder_not_here_is_not_called_digits(tmp_path):
    """A checkpoint older than TrainConfig.kind names only its dataset's path; where that folder
    is gone, its kind is made from the class names it recorded, not digits by default."""
    from ae_core.data import model_kind

    gone = str(tmp_path / "letters")
    assert kind_name_for(gone) is None
    config = TrainConfig(dataset=gone)
    assert config.kind == gone
    kind = model_kind(config, ("a", "b"))
    assert kind.name == gone and kind.class_names == ("a", "b")


def test_ones_own_images_become_a_kind_of_their_own(tmp_path):
    """A dataset loaded from a path of one's own images (ae_core.own_images) is a kind made at
    run time: its class names, the plain nouns, its path's test split as its sets."""
    for letter in "ab":
        (tmp_path / letter).mkdir()
    source = str(tmp_path)
    assert kind_name_for(source) is None and TrainConfig(dataset=source).kind == source
    letters = Dataset(source, torch.zeros(4, 28, 28, dtype=torch.uint8),
                      torch.tensor([0, 1, 0, 1]), ("a", "b"))
    kind = kind_for_dataset(letters)
    assert kind.name == letters.kind == source and kind.class_names == ("a", "b")
    assert (kind.noun, kind.plural) == ("image", "images") and kind.partner == DEFAULT_KIND
    assert get_kind(source) is kind and kind_for_dataset(letters) is kind
    assert image_set(kind.home) == (kind, kind.image_set(kind.home))
    assert load_embedded().image_kind is get_kind("mnist")
