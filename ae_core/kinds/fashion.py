"""Fashion-MNIST's clothes (Xiao et al. 2017): 70,000 28x28 pictures of ten kinds of garment."""

from pathlib import Path

from ae_core.kinds import ImageKind, ImageSet, register

FASHION = register(ImageKind(
    name="fashion-mnist",
    title="Fashion-MNIST",
    class_names=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                 "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
    noun="garment",
    plural="clothes",
    sets=(
        ImageSet("fashion-test", "Fashion-MNIST test set (10,000)", "fashion-mnist", "test"),
        ImageSet("fashion-all", "Fashion-MNIST, all 70,000 (train + test)", "fashion-mnist",
                 "all"),
    ),
    home="fashion-test",
    test="fashion-test",
    held_out=("fashion-test",),
    quick_train="fashion-mnist",
    partner="mnist",
    datasets=("fashion-mnist",),
    torchvision_folder="FashionMNIST",
    system_folders=(Path("/usr/share/datasets/fashion-mnist"),),  # Debian's dataset package
    download="FashionMNIST",
    hard_to_catch="A class much like another (a shirt beside T-shirts and pullovers) is hard "
                  "to catch: the model rebuilds it from its look-alikes.",
))
