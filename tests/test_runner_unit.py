import nbformat
import pytest

from onecard.core.errors import ParameterError, RunError
from onecard.batch.runner import (SUMMARY_NOTEBOOK, TOWNSHIP_NOTEBOOK, check_parameters_cell,
                            resolve_townships, safe_folder_name)
from onecard.analysis.district import parse_period


def test_resolve_townships_accepts_names_codes_aliases_and_short_forms():
    assert resolve_townships(["蔡甸街道", "420114002", "索河镇", "侏儒街道", "蔡甸街", "消泗"]) == [
        "蔡甸街道", "奓山街道", "索河街道", "侏儒山街道", "消泗乡"]


def test_unknown_township_lists_valid_names():
    with pytest.raises(ParameterError) as err:
        resolve_townships(["东华门街道"])
    assert "东华门街道" in str(err.value) and "蔡甸街道(420114001)" in str(err.value)


def test_safe_folder_name_strips_space_and_path_characters():
    """B27 variant: a trailing space must not make a second folder."""
    assert safe_folder_name("东华门街道 ") == safe_folder_name("东华门街道") == "东华门街道"
    assert safe_folder_name("a/b") == "a_b"


def _template(tmp_path, tags_per_cell):
    nb = nbformat.v4.new_notebook()
    for tags in tags_per_cell:
        cell = nbformat.v4.new_code_cell("x = 1")
        if tags is not None:
            cell.metadata["tags"] = tags
        nb.cells.append(cell)
    path = tmp_path / "t.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.mark.parametrize("tags", [[None], [["Parameters"]], [["parameters"], ["parameters"]]])
def test_template_without_exactly_one_parameters_cell_is_refused(tmp_path, tags):
    """B25: untagged, mistyped or doubled parameters cells are refused before running."""
    with pytest.raises(RunError):
        check_parameters_cell(_template(tmp_path, tags))


def test_shipped_templates_have_one_parameters_cell_and_python3_kernel():
    for nb_path in (TOWNSHIP_NOTEBOOK, SUMMARY_NOTEBOOK):
        check_parameters_cell(nb_path)
        nb = nbformat.read(nb_path, as_version=4)
        assert nb.metadata["kernelspec"]["name"] == "python3"
        # thin notebooks: every code cell after the parameters is a few lines
        assert all(len(c.source.splitlines()) <= 10 for c in nb.cells if c.cell_type == "code")


def test_parse_period():
    start, end = parse_period("2020-01:2021-12")
    assert (str(start), str(end)) == ("2020-01", "2021-12")
    with pytest.raises(ParameterError):
        parse_period("2021-12:2020-01")
    with pytest.raises(ParameterError):
        parse_period("2020")


def test_township_params_cover_every_official_township_and_validate(tmp_path):
    from onecard.core.reference import townships
    from onecard.analysis.townships import load_township_params

    table, threshold = load_township_params()
    assert table["township"].tolist() == townships()["name"].tolist()
    assert threshold == 3 and table["self_reported"].isna().all()
    bad = tmp_path / "t.yaml"
    bad.write_text("townships:\n  东华门街道: {self_reported: 0}\n", encoding="utf-8")
    with pytest.raises(ParameterError, match="东华门街道"):
        load_township_params(bad)
    bad.write_text("townships:\n  蔡甸街道: {self_reported: -1}\n", encoding="utf-8")
    with pytest.raises(ParameterError, match="self_reported"):
        load_township_params(bad)
    bad.write_text("townshipz: {}\n", encoding="utf-8")
    with pytest.raises(ParameterError, match="townshipz"):
        load_township_params(bad)
