"""docs/quality.md as Markdown: the tables of a QualityReport (ae_core.quality measures it),
the published figures it is compared with, and the shipped files.

The acceptance targets of the shipped models are tests (tests/test_shipped.py), not text here.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

from ae_core.checkpoint import list_checkpoints, read_metadata
from ae_core.quality import DENOISE_SIGMA, IW_SAMPLES, QualityReport

# (source, model and settings, published figure on the MNIST test set, our closest row)
REFERENCES = (
    ("pytorch/examples, `vae/main.py` (https://github.com/pytorch/examples/tree/main/vae)",
     "VAE 784-400-20-400-784, ReLU, Adam 1e-3, batch 128, **10 epochs on all 60,000 "
     "digits**, BCE summed over grey-level pixels + KL",
     "test loss (negative ELBO, 1 sample) **about 105.6 nats** (the figure quoted in issue 6; "
     "a port of the example says \"around 104\")",
     "`vae_20`: −ELBO column"),
    ("Hinton & Salakhutdinov 2006, *Science* 313:504, fig. 2",
     "deep AE 784-1000-500-250-**30** with RBM pre-training, then fine-tuning; 60,000 "
     "training digits",
     "average squared error per image **3.00**; logistic PCA 8.01; **PCA with 30 components "
     "13.87**",
     "`ae_32` and PCA-32: squared error / image"),
)


def markdown_references() -> str:
    lines = ["| source | model and settings | published figure (MNIST test set) | ours |",
             "|---|---|---|---|"]
    lines += ["| " + " | ".join(row) + " |" for row in REFERENCES]
    return "\n".join(lines) + "\n"


REFERENCE_NOTES = """\
How to read the comparison:

- The references trained on all 60,000 MNIST training digits; the shipped models saw the
  4,500 digits of the embedded set's training split (500 held out for validation), 13 times
  fewer. On the same test set this costs generalisation: read our figures as what a
  classroom laptop gets in minutes, not a state of the art.
- Squared error per image = 784 x the MSE per pixel (pixels in [0, 1]), the unit of Hinton &
  Salakhutdinov's figure 2. Their deep AE had 30 code units, ours 32.
- The negative ELBO and the importance-weighted -log p(x) use BCE on grey levels, like
  pytorch/examples; that "likelihood" is not a normalised density for non-binary pixels
  (Loaiza-Ganem & Cunningham 2019), so these nats compare only with other grey-level BCE
  figures, never with the ~80-90 nats of papers on binarised MNIST.
- PCA is fitted on the same training digits as the model, with as many components as the
  code has numbers. A VQ-VAE's code is discrete (its information is positions x log2 of the
  codebook size bits), so PCA with as many real numbers is not a like-for-like baseline there.
- A conditional VAE's code is meant to hold style, not class (the decoder is given the
  label), so a low probe accuracy on its codes is what it is supposed to show.
"""


def _number(value: float | None, decimals: int = 4, percent: bool = False) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:.1%}" if percent else f"{value:.{decimals}f}"


def markdown_tables(report: QualityReport) -> str:
    """The reconstruction table, the likelihood/codes table and the PCA baselines."""
    lines = [
        "### Reconstruction",
        "",
        "| model | family | code | trained on | MSE / pixel | PSNR (dB) | squared error / "
        "image | PCA same size: MSE / pixel | MSE ratio to PCA | PSNR at noise σ "
        f"{report.rows[0].metrics.get('denoise_sigma', DENOISE_SIGMA) if report.rows else ''}"
        ": input → output (dB) |",
        "|---|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in report.rows:
        m = row.metrics
        denoise = (f"{m['noisy_psnr_db']:.2f} → {m['denoised_psnr_db']:.2f}"
                   if "denoised_psnr_db" in m else "–")
        lines.append(
            f"| `{row.name}` | {row.family} | {row.code_size} | {row.trained_on} | "
            f"{_number(m.get('mse_per_pixel'), 5)} | {_number(m.get('psnr_db'), 2)} | "
            f"{_number(m.get('squared_error_per_image'), 2)} | "
            f"{_number(m.get('pca_mse_per_pixel'), 5)} | {_number(m.get('mse_ratio_to_pca'), 3)} "
            f"| {denoise} |")
    iw = next((int(row.metrics["iwae_samples"]) for row in report.rows
               if "iwae_samples" in row.metrics), IW_SAMPLES)
    lines += [
        "",
        "### Likelihood and codes",
        "",
        f"| model | −ELBO (nats, 1 sample) | −log p(x) (nats, IWAE k={iw}) | KL (nats) | "
        "linear probe | k-NN (k=5) | PCA same size: linear probe | PCA same size: k-NN | "
        "training |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in report.rows:
        m, p = row.metrics, report.pca.get(row.pca_key, {})
        lines.append(
            f"| `{row.name}` | {_number(m.get('neg_elbo'), 1)} | {_number(m.get('iwae_nll'), 1)}"
            f" | {_number(m.get('kl_loss'), 1)} | "
            f"{_number(m.get('linear_probe_accuracy'), percent=True)} | "
            f"{_number(m.get('knn_accuracy'), percent=True)} | "
            f"{_number(p.get('linear_probe_accuracy'), percent=True)} | "
            f"{_number(p.get('knn_accuracy'), percent=True)} | {row.training} |")
    lines += [
        "",
        "### PCA baselines (fitted on the training digits, scored on the test set)",
        "",
        "| fitted on | components | MSE / pixel | PSNR (dB) | squared error / image | "
        "linear probe | k-NN (k=5) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for (train_name, components), p in sorted(report.pca.items(), key=lambda item: item[0]):
        lines.append(
            f"| {train_name} | {components} | {_number(p['mse_per_pixel'], 5)} | "
            f"{_number(p['psnr_db'], 2)} | {_number(p['squared_error_per_image'], 2)} | "
            f"{_number(p['linear_probe_accuracy'], percent=True)} | "
            f"{_number(p['knn_accuracy'], percent=True)} |")
    scored = [row for row in report.rows if "ood_auc" in row.metrics]
    if scored:
        count = int(scored[0].metrics["ood_count"])
        lines += [
            "",
            "### Out-of-distribution detection",
            "",
            f"Reconstruction error as the score: the first {count:,} images of "
            f"{report.test_name} (normal) against the first {count:,} of {report.ood_name} "
            "(out of distribution), as on the Anomaly page. 1.0: every stranger rebuilds "
            "worse than every normal image; 0.5: chance; below 0.5: strangers rebuild "
            "*better*.",
            "",
            "| model | family | ROC AUC |",
            "|---|---|---:|",
        ]
        lines += [f"| `{row.name}` | {row.family} | {row.metrics['ood_auc']:.3f} |"
                  for row in scored]
    if report.skipped:
        lines += ["", "Not scored: " + "; ".join(report.skipped)]
    return "\n".join(lines) + "\n"


OTHER_NOTES = """\
These models were trained on all 60,000 Fashion-MNIST training images (no validation
split; `scripts/train_checkpoints.py`, specs `fashion_*`), and PCA is fitted on the same
60,000. Their figures compare with each other and with PCA, not with the digit models above:
clothes have more texture and less empty background than digits.
"""


def markdown_other(report: QualityReport) -> str:
    """A section for the models of another kind of images, scored on their own test set."""
    return "\n".join([
        f"## Models of another dataset: {report.test_name}",
        "",
        f"Scored on **{report.test_name}** ({report.test_count:,} images), the same way.",
        "",
        OTHER_NOTES,
        markdown_tables(report),
    ])


STORAGE_NOTES = """\
Weights are stored in float16 (half the bytes; every metric above and in the files' metadata is
measured after that rounding, so it describes the file). Beside the weights each file carries,
in `extras`, the default UMAP map (15 neighbours, min_dist 0.1, seed 0) of the 5,000 embedded
digits' codes, float16 (5000 x 2, 20 kB, key `umap_embedded_15_0.1`; for a 2-D model it is
the code itself, which the map shows as it is); a Fashion-MNIST model stores instead the map of
its test set, the images its latent map opens on (10000 x 2 under `umap_fashion-test_15_0.1`,
and the first 5,000 in 3-D). UMAP takes tens of
seconds in a fresh process (import, numba compiling, fitting), far past the 3 s the latent map
may take, so it is computed once by `scripts/train_checkpoints.py`. The codes themselves and
PCA are recomputed when a page needs them (and cached): on 2 CPU cores encoding the 5,000
digits takes about 0.07 s for an MLP and about 1 s for the convolutional models, PCA 10 ms
(0.3 s for the VQ-VAE's 392-number codes; `benchmarks/README.md`), while storing the codes
would cost 320 kB per 32-D model in float16 and 3.9 MB for the VQ-VAE.
"""


SPARSITY_NOTES = """\
## Sparse autoencoder: how many units stay off (issue 14)

Measured by hand (no sparse checkpoint ships, so `ae_core quality` does not score one), on the
**MNIST test set** (10,000 digits): latent 32, hidden (512, 256), BCE, Adam 1e-3, batch 128,
seed 0, trained on all 5,000 embedded digits. A unit is *inactive* for a digit when its
activation is below 1 % of that unit's largest over the test digits
(`ae_core.sparsity.inactive_mask`); "typical digit" is the mean (median) over digits. PCA-32
fitted on the same 5,000 digits: MSE 0.01546.

| model | epochs | test MSE / pixel | units inactive per digit |
|---|---:|---:|---:|
| plain `ae` | 10 | 0.0255 | 1.7 % (0 %) |
| plain `ae` | 50 | 0.0123 | 2.2 % (3.1 %) |
| `sparse_ae` L1, old weight 1e-3 (ReLU code) | 10 | 0.0290 | 47.5 % (46.9 %) |
| `sparse_ae` L1 0.1 | 10 | 0.0291 | 58.6 % (59.4 %) |
| **`sparse_ae` L1 0.3 (default)** | 10 | 0.0301 | **65.4 % (65.6 %)** |
| **`sparse_ae` L1 0.3 (default)** | 50 | **0.01526** (below PCA-32) | **55.3 % (56.3 %)** |
| `sparse_ae` L1 0.4 | 50 | 0.0186 | 67.3 % (65.6 %) |
| `sparse_ae` L1 0.5 | 50 | 0.0220 | 76.4 % (75.0 %) |
| `sparse_ae` L1 1.0 | 50 | 0.0269 | 82.3 % (81.3 %) |
| `sparse_ae` KL, rho 0.05, weight 1 | 50 | 0.0194 | 9.5 % (6.3 %); mean activation 0.14 |
| `sparse_ae` KL, rho 0.05, weight 5 | 50 | 0.0201 | 10.3 % (9.4 %); mean activation 0.076 |

- Before issue 14 the code was linear and the L1 weight 1e-3: 2.0 % near zero after 2 epochs,
  no sparser than a plain AE. Now the L1 form's code is a ReLU and the default weight is 0.3,
  the largest of the sweep whose reconstruction still beats PCA of the same size (after 50
  epochs; after the default 10 epochs on 5,000 digits not even the plain AE beats PCA-32).
- More weight buys more silent units at a worse reconstruction (0.5: three units in four off,
  MSE 42 % above PCA-32).
- The KL form (sigmoid code) moves each unit's *mean* activation towards rho, but a unit's
  activation is then small for most digits rather than exactly zero, so few units fall below
  1 % of their maximum: it spreads activity thin instead of switching units off.
"""


VQ_PRIOR_NOTES = """\
## VQ-VAE: a learned prior over the code grid (issue 14)

The shipped `vqvae` encodes a digit as a 7x7 grid of entries from a 64-entry codebook. Its old
prior drew every position independently from that position's entry frequencies, which ignores
that neighbouring positions must agree on one stroke: the samples were scribbles. The file now
carries a learned autoregressive prior, p(c) = prod_i p(c_i | c_<i) in raster order (van den
Oord et al. 2017, sec. 3.3, used a PixelCNN; here a causal transformer, `ae_core.vq_prior`):
width 48, 2 layers, 4 heads, 65,248 parameters, float16 in the file under `code_prior.` with
its config in the metadata (the file grew from 205 kB to 339 kB). Fitted by
`scripts/fit_code_prior.py` for 30 epochs on the code grids of the VQ-VAE's own 4,500 training
digits (the VQ-VAE's weights unchanged; 693 s on a shared, heavily loaded 2-core machine).

Bits per position (-log2 p of each test digit's code grid, divided by its 49 positions) on the
**MNIST test set** (10,000 digits encoded by the shipped model), after the float16 rounding:

| prior | bits per position | bits per digit (49 positions) |
|---|---:|---:|
| uniform over the 64 entries | 6.000 | 294 |
| independent positions (training frequencies, each count + 1) | 3.331 | 163 |
| **learned autoregressive prior** | **2.137** | **105** |

- The learned prior saves 1.19 bits per position (36 %) on digits it never saw; on its own
  training grids it scores 2.060 and on the 500 held-out training digits 2.119, so it does not
  merely memorise. The independent row is the fairest version of that prior: the unsmoothed
  frequencies the model used to sample from give 316 of the 10,000 test grids probability 0.
- Samples, seed 0 (`docs/vq_prior_samples.png`, top to bottom): the independent prior at
  temperature 1, the learned prior at 1 and at 0.7. The learned prior's grids decode to
  strokes that hold together and mostly read as digits; at 0.7 most do. A rough measure of
  "reads as a digit": a logistic regression on the pixels of the 5,000 embedded digits (87.8 %
  on the test set) gives its most likely class a mean probability of 0.81 on real test digits
  (47 % of them above 0.9), 0.54 (4 %) on 1,000 independent-prior samples, 0.65 (18 %) on
  learned-prior samples at temperature 1 and 0.69 (23 %) at 0.7: better, still short of real.
- `python -m ae_core sample checkpoints/vqvae.safetensors` and the Samples page draw from the
  learned prior and say so. A VQ-VAE trained on the Train page or by `python -m ae_core train`
  gets one too, fitted to its training codes once its epochs are over (`code_prior_epochs`,
  default 3: about 5-12 s an epoch for 4,500 digits on one CPU core, 3.07 bits per position on
  the 500 validation digits against 3.45 for independent positions after a default 10-epoch
  run); a file without one (`code_prior_epochs` 0, or made before it) still loads and samples
  from the independent prior, saying that instead.
- The validation loss printed each epoch is now measured before the epoch's re-seeding of dead
  codebook entries (`ae_core.train.fit`): the re-seeded entries sit on encoder outputs the
  decoder has not learned yet, which once read 1,984 against 463 in training. Measured with
  the shipped settings (2 epochs): epoch 1 train 507.4, validation 334.9 (60 entries then
  re-seeded); epoch 2 train 154.8, validation 118.5.
"""


OVERCOMPLETE_NOTES = """\
## Overcomplete codes: does a 1024-unit code copy its input? (issue 14)

The `overcomplete` preset used to put a 784-512-256 encoder before its 1024-unit code, so every
digit was squeezed through 256 units first: it was not overcomplete where it mattered. It is
now a `sparse_ae` whose code is computed straight from the 784 pixels (`hidden_sizes=()`),
784 -> 1024 -> 784. Each row below is that shape trained with one regulariser on all 5,000
embedded digits (Adam 1e-3, batch 128, BCE, seed 0), generated by
`scripts/overcomplete_table.py` (382 s on 2 shared cores): MSE and correlation on the
**MNIST test set** (10,000 digits), the same for 200 images of uniform noise (pixels drawn from
[0, 1], seed 0), and the share of code units inactive per test digit (below 1 % of the unit's
largest activation, `ae_core.sparsity`: *units off*). *In → out* is the Pearson correlation
between an image's pixels and its reconstruction's, averaged over images
(`ae_core.overcomplete.passthrough`): 1 for a perfect copy. A model that had learned the
identity would give the noise back (correlation near 1, MSE near 0); giving back a constant
grey would score MSE 1/12 = 0.083.

| regulariser | epochs | digits: MSE | digits: in → out | noise: in → out | noise: MSE | units off |
|---|---:|---:|---:|---:|---:|---:|
| none (ReLU code: sparse_ae, weight 0) | 10 | 0.0066 | 0.965 | 0.014 | 0.333 | 13.6% |
| none (linear code: contractive_ae, weight 0) | 10 | 0.0060 | 0.970 | 0.017 | 0.332 | 2.0% |
| none (linear code), 60 epochs | 60 | 0.0016 | 0.991 | 0.055 | 0.279 | 2.7% |
| sparsity: L1, weight 0.3 | 10 | 0.0117 | 0.938 | 0.066 | 0.239 | 91.7% |
| sparsity: KL, rho 0.05, weight 5 | 10 | 0.0607 | 0.658 | 0.005 | 0.087 | 0.8% |
| denoising: gaussian 0.3 | 10 | 0.0777 | 0.786 | 0.117 | 0.334 | 2.5% |
| denoising: mask 0.5 | 10 | 0.0452 | 0.759 | 0.008 | 0.317 | 2.7% |
| contraction: weight 0.01 | 10 | 0.0065 | 0.967 | 0.138 | 0.332 | 1.8% |
| contraction: weight 1 | 10 | 0.0178 | 0.897 | 0.037 | 0.229 | 0.9% |

What this shows, against what the tutorials (003: an overcomplete autoencoder "requires
regularization to prevent trivial solutions") and issue 14 expected:

- **Without a regulariser the model does *not* learn the identity in a learner's budget.** It
  reconstructs test digits best of all (MSE 0.006 after 10 epochs, 0.0016 after 60, far below
  PCA-32's 0.0155), yet gives uniform noise back as an almost black image (correlation 0.01
  to 0.06, MSE 0.33 = the noise's mean square). The likely reason: gradient descent from a
  small random start learns the directions the digits vary along first; pixels and
  directions the training digits never use keep a near-zero gain, so noise mostly falls
  outside what the model passes. The
  copying the tutorials warn about is what the 1024-unit shape *allows*, not what 10 to 60
  epochs of Adam on 5,000 digits reach (noise correlation rises slowly with training: 0.017
  after 10 epochs, 0.055 after 60; an exploratory run with MSE loss reached 0.155 after 60).
- So the claim the old help made, that the L1 penalty is what keeps the code from learning
  the identity, is not borne out either: no regulariser passes noise much differently from
  none (every row lies between 0.005 and 0.14, and L1, gaussian denoising and weak contraction
  pass slightly *more* of it than no regulariser). What the regularisers change is the code
  and the reconstruction: L1 sparsity leaves **92 % of the units silent per digit** (14 % with
  weight 0) at a digit MSE of 0.0117, still below PCA-32, and turns noise into a
  digit-like blur; the KL form and denoising cost reconstruction (a one-layer DAE given clean
  digits after training on noisy ones, MSE 0.045 to 0.078); contraction at weight 0.01
  changes almost nothing, at weight 1 it blurs (MSE 0.018).
- The Train page shows the same test for any model with a code larger than the image: after
  training, four noise images, what the model gives back, and both correlations. Set the
  preset's sparsity weight to 0 to compare with the unregularised model.
- `tests/test_overcomplete.py` pins the finding: an unregularised 784 -> 1024 model trained for
  two epochs gives held-out digits back (correlation 0.90) but not noise (0.01).
"""


def markdown_files(checkpoint_folder: Path | str) -> str:
    """Size, storage and precomputed extras of each file in the folder."""
    from safetensors import safe_open

    lines = ["| file | size (MB) | weights | precomputed extras | training time |",
             "|---|---:|---|---|---:|"]
    total = 0
    for path in list_checkpoints(checkpoint_folder):
        info = read_metadata(path).get("info", {})
        with safe_open(str(path), framework="pt") as reader:
            extras = [f"`{name.removeprefix('extra.')}` {list(reader.get_slice(name).get_shape())}"
                      for name in reader.keys() if name.startswith("extra.")]
        size = path.stat().st_size
        total += size
        seconds = info.get("train_seconds")
        lines.append(f"| `{path.name}` | {size / 1e6:.2f} | {info.get('storage_dtype', '?')} | "
                     f"{', '.join(extras) or '–'} | "
                     f"{f'{seconds:.0f} s' if seconds is not None else '–'} |")
    lines.append(f"| **all** | **{total / 1e6:.2f}** (limit 25 MB) | | | |")
    return "\n".join(lines) + "\n"


def markdown_results(report: QualityReport) -> str:
    """Every table: the models of the test set's kind, then a section for each other kind's
    (Fashion-MNIST models on Fashion-MNIST's test set). What `quality` prints without --out."""
    return "\n".join([markdown_tables(report), *(markdown_other(other) for other in report.others)])


def markdown_document(report: QualityReport, command: str,
                      checkpoint_folder: Path | str | None = None) -> str:
    """The whole docs page: how it was made, the tables, the references, the files."""
    created = datetime.now(UTC).strftime("%Y-%m-%d")
    return "\n".join([
        "# Quality of the shipped models",
        "",
        f"Generated by `{command}` on {created} ({report.seconds:.0f} s): every checkpoint in "
        f"the folder scored on **{report.test_name}** ({report.test_count:,} digits)"
        + ("".join(f"; its models of another dataset on **{other.test_name}** (below)"
                   for other in report.others)) + ". Nothing "
        "here is copied from the checkpoints' metadata; each figure is measured again from "
        "the weights. MSE and PSNR are of the deterministic reconstruction (a VAE decodes its "
        "posterior mean); PSNR is the mean over digits of each digit's PSNR (peak 1). Probes "
        "are trained on the codes of the model's own training digits and scored on the test "
        "digits' codes (logistic regression on standardised codes; 5-nearest-neighbour vote). "
        "Noise for the last column is drawn with a fixed seed and clipped to [0, 1].",
        "",
        markdown_results(report),
        "## Published reference figures",
        "",
        markdown_references(),
        REFERENCE_NOTES,
        SPARSITY_NOTES,
        VQ_PRIOR_NOTES,
        OVERCOMPLETE_NOTES,
        *(["## The files", "", markdown_files(checkpoint_folder), STORAGE_NOTES]
          if checkpoint_folder is not None else []),
    ])
