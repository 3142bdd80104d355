"""Item tables (``--set item_table=FILE``) and metadata columns as model inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ncf.data.interactions import Interactions, Vocabulary
from ncf.data.io.metadata import multi_hot, read_item_table, value_codes, with_item_table
from ncf.errors import DataError
from ncf.experiment.pipeline import train_run
from ncf.experiment.settings import resolve_config
from ncf.inference.recommender import load

GENRES = pd.Series(["Action|Comedy", "Drama", "Comedy", None, "Drama|Action"])


def items_of(ids) -> Vocabulary:
    return Vocabulary(np.asarray(ids))


def test_a_csv_table_aligns_with_the_items_and_counts_the_rest(tmp_path):
    path = tmp_path / "items.csv"
    path.write_text("title,movieId,year\nHeat,30,1995\nAlien,10,1979\nUnknown,99,2000\n")
    table, unknown = read_item_table(path, items_of([10, 20, 30]))
    assert unknown == 1  # id 99: a catalogue may hold more items than the interactions
    assert list(table.columns) == ["title", "year"]  # the id column found by its name
    assert table["title"].tolist()[0::2] == ["Alien", "Heat"] and table.loc[1].isna().all()


def test_a_parquet_table_with_string_ids(tmp_path):
    path = tmp_path / "items.parquet"
    pd.DataFrame({"sku": ["b", "a"], "brand": ["x", "y"]}).to_parquet(path)
    table, unknown = read_item_table(path, items_of(np.array(["a", "b"], dtype=object)))
    assert unknown == 0 and table["brand"].tolist() == ["y", "x"]


@pytest.mark.parametrize(
    "text, message",
    [
        ("item,title\n1,A\n1,B\n", "line 3: item id 1 has a second row"),
        ("item,title\n1,A\nx,B\n", "line 3: item id 'x' is not a whole number"),
        ("item,title\n7,A\n", "no item id of the table"),
        ("item\n1\n", "at least one more"),
        ("item,title\n1,A,extra\n", "line 2: malformed line"),
    ],
)
def test_bad_tables_fail_with_the_line(tmp_path, text, message):
    path = tmp_path / "items.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=message):
        read_item_table(path, items_of([1, 2]))


def test_a_table_adds_to_the_data_own_metadata(tmp_path):
    path = tmp_path / "items.tsv"
    path.write_text("item\tgenres\tyear\n2\tDrama\t1990\n")
    own = pd.DataFrame({"title": ["A", "B"], "genres": ["Comedy", "Comedy"]})
    data = Interactions(
        np.array([0, 1]), np.array([0, 1]), items_of([5, 6]), items_of([1, 2]), items=own
    )
    merged, _ = with_item_table(data, path)
    assert merged.items["title"].tolist() == ["A", "B"]  # kept
    # the table's value for the item it lists, the data's own for the other
    assert merged.items["genres"].tolist() == ["Comedy", "Drama"]
    assert merged.items["year"].tolist()[1] == "1990"


def test_multi_hot_and_value_codes_by_hand():
    hot = multi_hot(GENRES)
    assert list(hot.columns) == ["Action", "Comedy", "Drama"]
    assert hot.to_numpy().tolist() == [[1, 1, 0], [0, 0, 1], [0, 1, 0], [0, 0, 0], [1, 0, 1]]
    codes = value_codes(GENRES)
    assert codes.shape == (5, 2) and (codes[3] == -1).all()
    shares = [
        bool(set(codes[i][codes[i] >= 0]) & set(codes[j][codes[j] >= 0]))
        for i, j in [(0, 2), (0, 1), (1, 4), (0, 4), (3, 3)]
    ]
    assert shares == [True, False, True, True, False]


def test_an_item_table_reaches_the_bundle_and_the_recommendations(shared_data, tmp_path):
    table = tmp_path / "studios.csv"
    ids = np.arange(1, 1683)
    pd.DataFrame({"item": ids, "studio": [f"studio {i % 7}" for i in ids]}).to_csv(
        table, index=False
    )
    config = resolve_config(
        {"model": "item-knn", "data": str(shared_data / "ml-100k"), "item_table": str(table)}
    )
    train_run(config, tmp_path / "run", progress=False)
    recommender = load(tmp_path / "run")
    top = recommender.recommend(["196"], k=3)
    assert {"title", "genres", "studio"} <= set(top.columns)  # its own metadata and the table's
    expected = [f"studio {int(i) % 7}" for i in top["item"]]
    assert top["studio"].tolist() == expected
    similar = recommender.similar(top["item"].iloc[0], k=2)
    assert "studio" in similar.columns
