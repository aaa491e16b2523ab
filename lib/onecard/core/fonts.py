"""Find a CJK font, register it with matplotlib, and give its file to the PDF renderer.

matplotlib falls back to DejaVu Sans, which has no Chinese glyphs, and draws
boxes with "Glyph ... missing from font(s)" warnings (REAL_WORLD_CASES B35).
We look for a CJK font file in known places (Debian's fonts-noto-cjk and
fonts-wqy-*, Windows' SimHei / Microsoft YaHei, macOS' PingFang), register it
with ``font_manager.addfont`` and set the family by the name read from the
file itself, never by a guessed name.

Raises :class:`~onecard.core.errors.WorkbenchError` (Chinese message) when no CJK
font exists: the setup step installs one (``fonts-noto-cjk``).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from .errors import WorkbenchError
from .log import logger

#: Candidate font files, best first. ``ONECARD_CJK_FONT`` overrides.
CANDIDATES = [
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "C:/Windows/Fonts/msyh.ttc",
    "C:/Windows/Fonts/simhei.ttf",
    "/System/Library/Fonts/PingFang.ttc",
    "/Library/Fonts/Arial Unicode.ttf",
]

#: Preferred face inside a collection (Simplified Chinese glyph forms).
PREFERRED_FAMILIES = ["Noto Sans CJK SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei",
                      "Microsoft YaHei", "SimHei", "PingFang SC", "Arial Unicode MS"]


def find_cjk_font() -> Path:
    """Path of the first CJK font file found.

    Raises
    ------
    WorkbenchError
        When none of the candidates (or ``$ONECARD_CJK_FONT``) exists.
    """
    env = os.environ.get("ONECARD_CJK_FONT")
    for cand in ([env] if env else []) + CANDIDATES:
        if cand and Path(cand).is_file():
            return Path(cand)
    raise WorkbenchError(
        "未找到中文字体，图表中的汉字将无法显示。请安装 fonts-noto-cjk（Debian/Ubuntu："
        "sudo apt-get install fonts-noto-cjk），或设置环境变量 ONECARD_CJK_FONT 指向一个中文字体文件。")


@lru_cache(maxsize=None)
def use_cjk_font() -> str:
    """Register the CJK font with matplotlib and make it the default family.

    Returns
    -------
    str
        The family name matplotlib now uses (read from the font file).
    """
    import matplotlib
    from matplotlib import font_manager

    path = find_cjk_font()
    before = {f.name for f in font_manager.fontManager.ttflist}
    font_manager.fontManager.addfont(str(path))
    added = {f.name for f in font_manager.fontManager.ttflist
             if Path(f.fname) == path} - set()
    names = added or ({font_manager.FontProperties(fname=str(path)).get_name()} - before)
    family = next((f for f in PREFERRED_FAMILIES if f in names), None) or sorted(names)[0]
    matplotlib.rcParams["font.family"] = "sans-serif"
    matplotlib.rcParams["font.sans-serif"] = [family, "DejaVu Sans"]
    matplotlib.rcParams["axes.unicode_minus"] = False
    logger.info("CJK font for charts: %s (%s)", family, path)
    return family


def css_font_face() -> str:
    """A CSS ``@font-face`` rule naming the same font file, for HTML and PDF reports."""
    path = find_cjk_font()
    return ("@font-face { font-family: 'ReportCJK'; "
            f"src: url('{path.resolve().as_uri()}'); }}")
