"""Command line: `python -m ae_core train|evaluate|quality|sample|map|attributes|traverse|families`.

Every config field is an option, generated from TrainConfig and from the settings each model
family declares (ae_core.registry), so a new family's setting is reachable for free. A user's
mistake ends with one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import NoReturn

from ae_core import distributed
from ae_core.attribute_commands import add_attribute_commands
from ae_core.checkpoint import Checkpoint, CheckpointError, load_checkpoint
from ae_core.config import COMMON_SETTINGS, PRESETS, TrainConfig, resolve_preset
from ae_core.data import (
    EMBEDDED,
    SHARED_MNIST_DIR,
    DataError,
    Dataset,
    evaluation_set,
    load_dataset,
    load_set,
    model_kind,
)
from ae_core.device import pick_device
from ae_core.kinds import DEFAULT_KIND, KINDS, get_kind, say
from ae_core.mapping import MAP_SPLITS
from ae_core.own_images import checkpoint_info, is_own_images
from ae_core.projection import METHODS
from ae_core.registry import Setting, all_settings, families
from ae_core.saving import check_target, keep
from ae_core.train import (
    AfterTrainingReport,
    EpochReport,
    ReportProgress,
    after_training_message,
    prepare_data,
    train_model,
)

# OSError covers a missing folder, a full disk or a read-only --out as well as
# FileNotFoundError and PermissionError.
USER_ERRORS = (ValueError, DataError, CheckpointError, OSError)
MAX_SAMPLES = 1024  # `sample --n`: a grid of 32x32 digits
MAX_SCALE = 16  # `sample --scale`: pixels per digit pixel (a digit 448 pixels wide)
MAX_GRID_PIXELS = 64_000_000  # the PNG's pixels (1,024 digits at scale 8 are 51 M)


class OneLineParser(argparse.ArgumentParser):
    """argparse whose errors are one line on stderr (the usage block would bury them)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def model_settings() -> list[Setting]:
    """What every family has, then each family's own settings: one --option each."""
    return [*COMMON_SETTINGS, *all_settings().values()]


def _add_setting_options(parser: argparse.ArgumentParser) -> None:
    """One --option per model setting, its help from the declaration; defaults stay None so
    presets can fill them, and the family checks what it is given."""
    group = parser.add_argument_group("model settings (each family takes its own)")
    for setting in model_settings():
        flag = "--" + setting.name.replace("_", "-")
        owners = [name for name, model_class in families().items()
                  if setting in model_class.settings]
        default = setting.default
        shown = " ".join(map(str, default)) or "none" if isinstance(default, tuple) else default
        text = f"{setting.help}; default: {shown}" + (f"; {', '.join(owners)}" if owners else "")
        text = text.replace("%", "%%")  # argparse formats help with %
        if setting.kind is tuple:
            group.add_argument(flag, type=int, nargs="*", default=None, metavar="N", help=text)
        else:
            group.add_argument(flag, type=setting.kind, default=None, help=text)


def _add_config_options(parser: argparse.ArgumentParser, config_class: type) -> None:
    """One --option per dataclass field; defaults stay None so presets can fill them."""
    group = parser.add_argument_group(config_class.__name__)
    for spec in dataclasses.fields(config_class):
        flag = "--" + spec.name.replace("_", "-")
        default = spec.default
        if isinstance(default, tuple):
            group.add_argument(flag, type=int, nargs="*", default=None, metavar="N",
                               help=f"default: {' '.join(map(str, default)) or 'none'}")
        else:
            group.add_argument(flag, type=type(default), default=None,
                               help=f"default: {default}")


def _chosen_values(args: argparse.Namespace, names: list[str]) -> dict:
    """The options among `names` that the user gave."""
    return {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}


class ProgressBar:
    """One tqdm bar in percent on stderr, redrawn whenever told (callers throttle), with lines
    written above it: what `train` and `map` show while they work."""

    def __init__(self) -> None:
        self.bar = None

    def draw(self, fraction: float, message: str) -> None:
        from tqdm import tqdm

        if self.bar is None:
            self.bar = tqdm(total=100, leave=False, file=sys.stderr,
                            bar_format="{percentage:3.0f}%|{bar}| {desc} [{elapsed}<{remaining}]")
        # Drawn now, not when tqdm's own timer says: the caller throttles already, and an
        # epoch's last step must show before its line of losses is written above the bar.
        self.bar.set_description_str(message, refresh=False)
        self.bar.n = 100 * fraction
        self.bar.refresh()

    def write(self, line: str) -> None:
        if self.bar is not None:
            self.bar.write(line, file=sys.stderr)  # above the bar, which stays at the bottom
        else:
            print(line, file=sys.stderr)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class ProgressPrinter(ReportProgress):
    """One bar for the whole run, in percent, and one line of losses per epoch, on stderr."""

    def __init__(self) -> None:
        self.progress_bar = ProgressBar()
        super().__init__(self.progress_bar.draw, min_seconds=0.1)  # a terminal needs no more

    def on_epoch_end(self, model, report: EpochReport) -> None:
        train = " ".join(f"{k}={v:.4g}" for k, v in report.train.items())
        val = " ".join(f"{k}={v:.4g}" for k, v in report.val.items())
        extras = " ".join(f"{k}={v:.4g}" for k, v in report.extras.items())
        self.progress_bar.write(f"epoch {report.epoch}/{report.epochs} ({report.seconds:.1f}s) "
                                f"train: {train} | val: {val} {extras}".rstrip())

    def on_after_training_epoch(self, report: AfterTrainingReport) -> None:
        super().on_after_training_epoch(report)  # the bar
        if report.epoch:  # and a line per epoch of the fit (a VQ-VAE's code prior)
            self.progress_bar.write(after_training_message(report))

    def close(self) -> None:
        self.progress_bar.close()


def command_train(args: argparse.Namespace) -> int:
    if args.family not in families() and args.family not in PRESETS:
        raise ValueError(f"unknown model family {args.family!r}; valid families: "
                         f"{', '.join(families())}; presets: {', '.join(PRESETS)}")
    model_config, train_config = resolve_preset(
        args.family, _chosen_values(args, [setting.name for setting in model_settings()]),
        _chosen_values(args, [spec.name for spec in dataclasses.fields(TrainConfig)]))
    if is_own_images(train_config.dataset):  # recorded whole, so the model finds it again
        train_config = dataclasses.replace(train_config,
                                           dataset=str(Path(train_config.dataset).resolve()))
    out = Path(args.out)
    if out.suffix != ".safetensors":
        raise ValueError(f"--out {out} must end in .safetensors")
    # A folder that cannot be written or a full disk fails now, not after the training.
    check_target(out, model_config, args.overwrite)
    replace = out.exists()  # only what was there when the run began, and --overwrite said so
    # Under torchrun every process runs this command: one process group, one training, and
    # rank 0 alone reports and saves.
    with distributed.process_group(pick_device(train_config.device)) as world:
        if args.download and world.is_main:  # fetch the raw files into data/ once
            load_dataset(train_config.dataset, "train", download=True)
        distributed.barrier(world)
        printer = ProgressPrinter() if world.is_main else None
        try:
            result = train_model(model_config, train_config, [printer] if printer else [])
        finally:
            if printer is not None:
                printer.close()
    if not world.is_main:
        return 0  # rank 0 says how it went; another code would make torchrun stop it
    if result.stop_reason:
        print(f"training stopped: {result.stop_reason}", file=sys.stderr)
    if result.kept_best:
        print(f"the run blew up: {result.kept_best}", file=sys.stderr)
    if result.never_learned:
        print(f"warning: {result.never_learned}", file=sys.stderr)
    if not result.history:
        print("no epoch completed; nothing saved", file=sys.stderr)
        return 1
    if result.diverged and replace:
        print(f"the run {'never learned' if result.never_learned else 'diverged'}: {out} is "
              f"kept as it was, the new model goes beside it", file=sys.stderr)
        replace = False
    kept = keep(out, result.model, replace, train_config=train_config,
                metrics=result.final_metrics(),
                info={"preset": args.family, "dataset": train_config.dataset,
                      "epochs_completed": result.epochs_completed, "device": result.device,
                      "world_size": result.world_size,
                      **checkpoint_info(train_config.dataset),
                      **({"backend": result.backend} if result.backend else {}),
                      **({"best_epoch": result.best_epoch} if result.best_epoch else {})})
    if kept.note:
        print(kept.note, file=sys.stderr)
    if kept.path.parent != out.parent:  # the fallback: the model is safe, the command failed
        return 1
    processes = f" x {result.world_size} processes" if result.world_size > 1 else ""
    print(f"saved {kept.path} ({result.epochs_completed} epochs on {result.device}"
          f"{processes})")
    if result.after_training:  # what the family fitted after training, e.g. its code prior
        print("after training: " + " ".join(f"{name}={value:.4g}"
                                            for name, value in result.after_training.items()))
    return 1 if result.diverged else 0


def _training_digits(dataset: str, train_config: TrainConfig) -> Dataset | None:
    """The digits the model learned from (its training split, never the held-out ones), for
    the PCA baseline and the probes; None, with a note, when they cannot be read here."""
    if dataset == EMBEDDED:
        train_config = dataclasses.replace(train_config, dataset=EMBEDDED)
    try:
        return prepare_data(train_config)[0]
    except DataError as error:
        print(f"note: no PCA baseline or probes, the training digits are not available "
              f"({error})", file=sys.stderr)
        return None


def _add_onnx_options(parser: argparse.ArgumentParser) -> None:
    """A checkpoint, or your own model as an encoder and a decoder exported to ONNX."""
    parser.add_argument("checkpoint", nargs="?", default=None,
                        help="a *.safetensors checkpoint (or a kept ONNX pair, *.onnx.zip)")
    parser.add_argument("--encoder", default=None,
                        help="your own model's encoder, *.onnx (with --decoder)")
    parser.add_argument("--decoder", default=None,
                        help="your own model's decoder, *.onnx (with --encoder)")


def _load_model(args: argparse.Namespace) -> tuple[Checkpoint, str]:
    """The checkpoint or ONNX pair the arguments name, and its name for the output."""
    from ae_core.onnx_model import PAIR_SUFFIX, load_onnx_paths

    pair = (args.encoder, args.decoder)
    if args.checkpoint is not None and any(pair):
        raise ValueError("give a checkpoint or --encoder and --decoder, not both")
    if any(pair):
        if not all(pair):
            raise ValueError("--encoder and --decoder go together")
        checkpoint = load_onnx_paths(args.encoder, args.decoder)
        return checkpoint, checkpoint.info["name"]
    if args.checkpoint is None:
        raise ValueError("give a checkpoint, or --encoder E.onnx --decoder D.onnx")
    if args.checkpoint.endswith(PAIR_SUFFIX):
        return load_onnx_paths(args.checkpoint), Path(args.checkpoint).name.removesuffix(
            PAIR_SUFFIX)
    return load_checkpoint(args.checkpoint), Path(args.checkpoint).stem


def home_dataset(train_config: TrainConfig | None) -> str:
    """The dataset of the images a model of this kind is shown first (ae_core.kinds: the
    embedded digits for a digit model, Fashion-MNIST for a clothes model, the path of one's
    own images for a model trained on them)."""
    recorded_images_here(train_config)
    kind = model_kind(train_config)
    return kind.image_set(kind.home).dataset


def recorded_images_here(train_config: TrainConfig | None) -> None:
    """A one-line DataError where the model was trained on a path of one's own images that is
    not here (moved, or a temporary folder gone): --dataset names where they are now."""
    if train_config is None or train_config.kind in KINDS:
        return
    if not Path(train_config.dataset).exists():
        raise DataError(f"the images this model was trained on ({train_config.dataset}) are "
                        f"not here: give --dataset PATH")


def command_evaluate(args: argparse.Namespace) -> int:
    checkpoint, name = _load_model(args)
    train_config = checkpoint.train_config or TrainConfig()
    if args.dataset is None:  # the model's own images by default
        recorded_images_here(checkpoint.train_config)
    dataset = args.dataset or train_config.dataset
    test = evaluation_set(dataset, train_config.seed, train_config.val_fraction,
                          train_config.exclude_classes)
    if len(test) == 0:
        raise DataError(f"{dataset} holds no image this model did not train on (it kept no "
                        f"validation split): give --dataset with a test split")
    # PCA is fitted on the data the model learned from, never on the test digits.
    train = _training_digits(dataset, train_config)
    from ae_core.evaluate import evaluate_model  # sklearn loads here, not for `train`

    metrics = evaluate_model(checkpoint.model, test, train, probes=args.probes,
                             denoise_sigma=args.denoise_sigma)
    if args.json:
        print(json.dumps({"checkpoint": str(args.checkpoint or name), "dataset": test.name,
                          **metrics}))
        return 0
    print(f"{Path(args.checkpoint).name if args.checkpoint else name} "
          f"({checkpoint.model_config.family}, "
          f"latent {checkpoint.model_config.latent_dim}) on {test.name}, {len(test)} "
          f"{test.image_kind.plural}")
    for name, value in metrics.items():
        print(f"  {name:24s} {value:.5g}")
    return 0


def command_quality(args: argparse.Namespace) -> int:
    from ae_core.quality import load_test_set, quality_report
    from ae_core.quality_markdown import markdown_document, markdown_results

    # Each model is scored on its own kind's test set; this one is the digits' by default.
    test = load_test_set(args.dataset or get_kind(DEFAULT_KIND).image_set(
        get_kind(DEFAULT_KIND).test).dataset)
    report = quality_report(args.checkpoints, test, args.denoise_sigma, args.iw_samples,
                            progress=lambda name: print(f"scoring {name}", file=sys.stderr))
    if args.out is None:
        print(markdown_results(report), end="")
        return 0
    given = [f"--{name.replace('_', '-')} {getattr(args, name)}"
             for name in ("checkpoints", "dataset", "out") if getattr(args, name) is not None]
    command = " ".join(["python -m ae_core quality", *given])
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(markdown_document(report, command, args.checkpoints))
    print(f"wrote {out} ({len(report.rows)} models on {test.name}, {report.seconds:.0f} s)")
    return 0


def command_map(args: argparse.Namespace) -> int:
    from ae_core.mapping import check_outputs, map_dataset, map_images, write_map

    outputs = [Path(out) for out in args.out]
    check_outputs(outputs, args.dims)  # a wrong --out fails now, not after the encoding
    if args.points is not None and args.points < 1:
        raise ValueError(f"--points {args.points} must be at least 1")
    checkpoint, name = _load_model(args)
    dataset = map_images(args.dataset or home_dataset(checkpoint.train_config), args.split)
    bar = ProgressBar()

    def announce(step: str) -> None:  # a new step: the last one's bar goes
        bar.close()
        print(step, file=sys.stderr)

    started = time.perf_counter()
    try:
        dataset_map = map_dataset(
            checkpoint.model, dataset, args.projection, args.dims, args.points, args.seed,
            progress=lambda fraction: bar.draw(fraction, "encoding"), announce=announce)
    finally:
        bar.close()
    if dataset_map.projection.note:
        print(f"note: {dataset_map.projection.note}", file=sys.stderr)
    title = (f"{name} on {dataset_map.dataset}: {dataset_map.projection.name} of "
             f"{len(dataset_map):,} codes")
    write_map(dataset_map, outputs, args.codes, title)
    print(f"wrote {', '.join(map(str, outputs))} ({len(dataset_map):,} images of "
          f"{dataset_map.dataset}, {dataset_map.projection.name} to {args.dims}-D, "
          f"{time.perf_counter() - started:.1f} s)")
    return 0


def command_sample(args: argparse.Namespace) -> int:
    from ae_core.figures import grid_png
    from ae_core.sampling import FITTED, sample_digits

    out = Path(args.out)
    if out.suffix.lower() != ".png":
        raise ValueError(f"--out {out} must end in .png")
    # Bounded before anything is allocated: 100,000,000 samples or a scale of 100,000 ask
    # for terabytes; the grid's pixels are bounded too, once the number of classes is known.
    if not 1 <= args.n <= MAX_SAMPLES:
        raise ValueError(f"--n {args.n} must be in 1..{MAX_SAMPLES:,}")
    if not 1 <= args.scale <= MAX_SCALE:
        raise ValueError(f"--scale {args.scale} must be in 1..{MAX_SCALE}")
    checkpoint, _ = _load_model(args)
    model = checkpoint.model.eval()
    every_class = model.is_conditional and args.digit_class is None
    count = args.n * (model.config.num_classes if every_class else 1)
    pixels = count * 28 * 28 * args.scale**2
    if pixels > MAX_GRID_PIXELS:
        raise ValueError(f"{count:,} digits at --scale {args.scale} make a grid of "
                         f"{pixels / 1e6:,.0f} M pixels; at most {MAX_GRID_PIXELS / 1e6:.0f} M "
                         f"(fewer digits or a smaller scale)")
    codes, kind = None, get_kind(DEFAULT_KIND)
    if not model.has_prior:  # the Gaussian is fitted to the codes of its own kind's images
        from ae_core.latent import encode_dataset

        recorded_images_here(checkpoint.train_config)
        kind = model_kind(checkpoint.train_config)
        images = load_set(kind.home)
        codes = encode_dataset(model, images.float_images(), images.labels).codes
    samples = sample_digits(model, args.n, args.temperature, args.seed, codes,
                            args.digit_class, every_class,
                            columns=args.n if every_class else None)
    if samples.source == FITTED:  # in the kind's words: "real images" for your own
        print(f"note: {say(samples.note, kind)}", file=sys.stderr)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(grid_png(samples.images, columns=samples.columns, scale=args.scale))
    rows = -(-len(samples.images) // samples.columns)
    print(f"wrote {out} ({len(samples.images)} samples, {rows}x{samples.columns}, "
          f"{samples.source}, temperature {args.temperature:g}, seed {args.seed})")
    if samples.source != FITTED:  # which prior (a VQ-VAE's learned one, or independent codes)
        print(samples.note)
    return 0


def command_families(args: argparse.Namespace) -> int:
    for name, model_class in families().items():
        settings = ", ".join(setting.name for setting in model_class.settings) or "none"
        print(f"{name:16s} {model_class.description} (settings: {settings})")
    for name, preset in PRESETS.items():
        print(f"{name:16s} preset: {preset.description}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m ae_core", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train a model and save a checkpoint")
    train.add_argument("--family", default="ae", help="model family or preset "
                       "(see `python -m ae_core families`)")
    train.add_argument("--out", required=True, help="checkpoint path, *.safetensors")
    train.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    train.add_argument("--download", action="store_true",
                       help="allow downloading --dataset mnist/fashion-mnist with torchvision "
                            "when it is not found locally (needs a network)")
    _add_setting_options(train)
    _add_config_options(train, TrainConfig)
    train.set_defaults(handler=command_train)

    evaluate = commands.add_parser("evaluate", help="test metrics of a checkpoint")
    _add_onnx_options(evaluate)
    evaluate.add_argument("--dataset", default=None,
                          help=f"{EMBEDDED} (its validation split), mnist, fashion-mnist, a "
                               f"folder with the t10k idx files, or your own images (a folder "
                               f"of class subfolders, an .npz or a .zip: their test split); "
                               f"default: the dataset the model was trained on")
    evaluate.add_argument("--probes", action="store_true",
                          help="also linear-probe and k-NN accuracy of the codes")
    evaluate.add_argument("--denoise-sigma", type=float, default=None,
                          help="also PSNR before/after denoising at this Gaussian noise std")
    evaluate.add_argument("--json", action="store_true", help="one JSON line")
    evaluate.set_defaults(handler=command_evaluate)

    quality = commands.add_parser("quality", help="the quality table of a checkpoint folder "
                                  "on the MNIST test set, beside PCA and published figures")
    quality.add_argument("--checkpoints", default="checkpoints", help="folder of *.safetensors")
    quality.add_argument("--dataset", default=None,
                         help=f"folder with the t10k idx files, mnist / fashion-mnist, or your "
                              f"own images (a folder of class subfolders, an .npz or a .zip); "
                              f"default: mnist, which finds {SHARED_MNIST_DIR}; models of "
                              f"another kind of images are scored on their own kind's")
    quality.add_argument("--out", default=None,
                         help="write the whole Markdown page here (e.g. docs/quality.md); "
                              "without it the tables go to stdout")
    quality.add_argument("--denoise-sigma", type=float, default=0.5,
                         help="Gaussian noise std of the denoising column")
    quality.add_argument("--iw-samples", type=int, default=16,
                         help="importance samples per digit for a VAE's -log p(x); 0 skips it")
    quality.set_defaults(handler=command_quality)

    sample = commands.add_parser("sample", help="a PNG grid of new digits from a checkpoint's "
                                 "prior (or a Gaussian fitted to its codes when it has none)")
    _add_onnx_options(sample)
    sample.add_argument("--n", type=int, default=64,
                        help="how many digits (a conditional model without --class: per class)")
    sample.add_argument("--temperature", type=float, default=1.0,
                        help="scale of the prior's spread: 0 its mode, 1 the prior itself")
    sample.add_argument("--seed", type=int, default=0, help="the same seed, the same digits")
    sample.add_argument("--class", dest="digit_class", type=int, default=None,
                        help="a conditional model's class; without it, one row per class")
    sample.add_argument("--scale", type=int, default=3, help="pixels per digit pixel")
    sample.add_argument("--out", default="samples.png", help="where the PNG goes")
    sample.set_defaults(handler=command_sample)

    latent_map = commands.add_parser(
        "map", help="a latent map of a whole dataset (70,000 images too): codes in batches, "
                    "projected to 2-D or 3-D, as a CSV table and/or a PNG scatter")
    _add_onnx_options(latent_map)
    latent_map.add_argument("--dataset", default=None,
                            help=f"{EMBEDDED}, mnist, fashion-mnist, a folder of MNIST-format "
                                 f"idx files, or your own images (a folder of class subfolders, "
                                 f"an .npz or a .zip); default: the model's own images "
                                 f"({EMBEDDED} for digits, fashion-mnist for clothes, the "
                                 f"path it was trained on for your own images)")
    latent_map.add_argument("--split", choices=MAP_SPLITS, default=None,
                            help=f"train, test or all (both: 70,000 for MNIST and "
                                 f"Fashion-MNIST); default: test ({EMBEDDED}: its 5,000 "
                                 f"training digits)")
    latent_map.add_argument("--projection", choices=METHODS, default="pca",
                            help="pca (default: seconds even for 70,000), umap or tsne (minutes "
                                 "for tens of thousands)")
    latent_map.add_argument("--dims", type=int, choices=(2, 3), default=2,
                            help="axes of the map (a PNG is 2-D only)")
    latent_map.add_argument("--points", type=int, default=None,
                            help="map a seeded uniform sample of this many images (default: all)")
    latent_map.add_argument("--seed", type=int, default=0,
                            help="seed of the sample and of UMAP / t-SNE")
    latent_map.add_argument("--codes", action="store_true",
                            help="also write each image's code (z0, z1, ...) in the CSV")
    latent_map.add_argument("--out", nargs="+", required=True, metavar="FILE",
                            help="map.csv (index, label, class, error, coordinates) and/or "
                                 "map.png (a scatter coloured by class)")
    latent_map.set_defaults(handler=command_map)

    add_attribute_commands(commands)  # attributes, traverse (ae_core/attribute_commands.py)

    families = commands.add_parser("families", help="list model families and presets")
    families.set_defaults(handler=command_families)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except USER_ERRORS as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
