"""3-D projections: the same `project` and stored-map key as the 2-D map, one argument more."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ae_core import projection


def test_pca_to_three_axes_at_once():
    codes = np.random.default_rng(0).normal(size=(200, 6)) * [5, 3, 2, 1, 0.5, 0.1]
    result = projection.project(codes, "pca", n_components=3)
    assert result.coords.shape == (200, 3) and result.method == "pca"
    assert [title[:3] for title in result.axis_titles] == ["PC1", "PC2", "PC3"]
    assert result.coords.var(axis=0)[0] > result.coords.var(axis=0)[2]


def test_a_3d_map_shows_a_3d_code_as_it_is_and_refuses_a_2d_one():
    codes = np.random.default_rng(0).normal(size=(50, 3))
    result = projection.project(codes, "umap", n_components=3)
    assert result.method == "identity" and np.allclose(result.coords, codes, atol=1e-6)
    with pytest.raises(ValueError, match="at least 3 numbers"):
        projection.project(codes[:, :2], "pca", n_components=3)
    with pytest.raises(ValueError, match="n_components"):
        projection.project(codes, "pca", n_components=4)


def test_the_3d_key_sits_beside_the_unchanged_2d_one():
    assert projection.precomputed_key("umap", "embedded") == "umap_embedded_15_0.1"
    key = projection.precomputed_key("umap", "embedded", n_components=3)
    assert key == "umap_embedded_15_0.1_3d"
    extras = {key: torch.zeros(10, 3)}
    assert projection.precomputed_projection(extras, key, 10, n_components=3).shape == (10, 3)
    assert projection.precomputed_projection(extras, key, 10) is None  # a 2-D reader


def test_map_csv_takes_a_3d_map():
    codes = np.zeros((4, 5))
    csv = projection.map_csv(codes, np.ones((4, 3)), np.arange(4), np.zeros(4)).decode()
    assert csv.splitlines()[0] == "index,label,error,x,y,z,z0,z1,z2,z3,z4"


def test_subsample_is_seeded_sorted_and_grows_by_adding_points():
    subsample = projection.subsample
    small, large = subsample(70_000, 5000), subsample(70_000, 20_000)
    assert len(small) == 5000 and len(np.unique(small)) == 5000
    assert (np.diff(small) > 0).all() and 0 <= small[0] and small[-1] < 70_000
    np.testing.assert_array_equal(small, subsample(70_000, 5000))  # the same every rerun
    assert np.isin(small, large).all()  # a bigger sample keeps the points already drawn
    assert not np.array_equal(small, subsample(70_000, 5000, seed=1))
    # Uniform: each tenth of the dataset holds about a tenth of the sample.
    per_tenth = np.bincount(small // 7000, minlength=10)
    assert per_tenth.min() > 400 and per_tenth.max() < 600
    np.testing.assert_array_equal(subsample(300, None), np.arange(300))
    np.testing.assert_array_equal(subsample(300, 1000), np.arange(300))
    with pytest.raises(ValueError, match="size"):
        subsample(10, 0)


def test_map_csv_names_classes_and_dataset_indices():
    codes = np.arange(6, dtype=float).reshape(3, 2)
    csv = projection.map_csv(codes, np.zeros((3, 2)), np.array([0, 1, 0]), np.zeros(3),
                             indices=np.array([4, 7, 9]), class_names=("Coat", "a, b"),
                             with_codes=False).decode()
    assert csv.splitlines() == ["index,label,class,error,x,y", "4,0,Coat,0,0,0",
                                '7,1,"a, b",0,0,0', "9,0,Coat,0,0,0"]
