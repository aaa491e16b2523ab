import warnings

import numpy as np
import pandas as pd

from onecard.report.excel import defuse, write_csv, write_xlsx
from onecard.core.mask import mask_frame, mask_id, mask_phone


def test_masks_keep_ends_and_missing():
    s = pd.Series(["110101195803120138", None, "13900000001"], dtype="string")
    assert mask_id(s)[0] == "1101**********0138"
    assert pd.isna(mask_id(s)[1])
    assert mask_phone(s)[2] == "139****0001"


def test_mask_frame_masks_evidence_and_subjects():
    f = pd.DataFrame({"subject_id": ["6228480000000012344"], "name": ["张三丰"],
                      "evidence": ["转入账户6228480000000012344，身份证110101195803120138"]})
    m = mask_frame(f)
    assert "6228480000000012344" not in m.loc[0, "evidence"]
    assert "110101195803120138" not in m.loc[0, "evidence"]
    assert m.loc[0, "subject_id"].startswith("6228") and m.loc[0, "subject_id"].endswith("2344")
    assert m.loc[0, "name"] == "张*丰"


def test_formula_injection_is_defused_in_csv_and_xlsx(tmp_path):
    f = pd.DataFrame({"name": ["=HYPERLINK(\"http://x\")", "+1", "张三"],
                      "person_id": ["110101195803120138", "11010119620907804X", "-"],
                      "amount_fen": pd.array([1, 2, 3], dtype="Int64")})
    d = defuse(f)
    assert d["name"].tolist() == ["'=HYPERLINK(\"http://x\")", "'+1", "张三"]
    write_csv(f, tmp_path / "a.csv")
    raw = (tmp_path / "a.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    write_xlsx(f, tmp_path / "a.xlsx")
    from openpyxl import load_workbook
    ws = load_workbook(tmp_path / "a.xlsx").active
    assert ws["A2"].value == "'=HYPERLINK(\"http://x\")" and ws["A2"].data_type == "s"
    assert ws["B2"].value == "110101195803120138" and ws["B2"].data_type == "s"  # ID stays text
    assert ws["C2"].value == 1 and ws["C2"].data_type == "n"


def test_chart_has_no_missing_glyphs_and_renders_chinese(tmp_path):
    """B35: Chinese labels (incl. an Extension A character) render with no missing-glyph warning."""
    import matplotlib.pyplot as plt

    from onecard.core.fonts import use_cjk_font
    family = use_cjk_font()
    assert "CJK" in family or "Hei" in family or "YaHei" in family
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig, ax = plt.subplots(figsize=(4, 2))
        ax.bar(["东华门街道", "景山街道", "王㛃"], [3, 2, 1])
        ax.set_title("各街道发放金额（元）")
        fig.savefig(tmp_path / "c.png", dpi=80)
        plt.close(fig)
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    assert missing == []
    img = plt.imread(tmp_path / "c.png")
    title_band = img[: img.shape[0] // 6]
    assert float(np.var(title_band)) > 1e-3  # the title is drawn, not blank


def test_every_template_parses():
    """A broken template (e.g. a macro left open by a merge) fails here, not in a run."""
    import os

    from onecard.core.resources import template_dir
    from onecard.report.render import _env

    env = _env()
    names = sorted(n for n in os.listdir(template_dir()) if n.endswith(".j2"))
    assert len(names) >= 6
    for name in names:
        env.get_template(name)
