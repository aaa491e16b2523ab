#!/usr/bin/env bash
# Set up everything the workbench needs on a Debian/Ubuntu machine; safe to re-run.
#  - system packages (when apt-get is available and we are root or have sudo):
#    a CJK font for charts and PDFs, the pango libraries WeasyPrint needs, make;
#  - a .venv with the pinned Python dependencies and the package (editable);
#  - the venv's own "python3" Jupyter kernel, so papermill never picks another Python.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[setup] %s\n' "$*"; }

# `setup.sh --browser` (run by `make test`, not by `make demo`): Debian's chromium for the
# explorer's real-browser test (Playwright drives /usr/bin/chromium; no browser download).
if [ "${1:-}" = "--browser" ]; then
  if [ ! -x /usr/bin/chromium ]; then
    if command -v apt-get >/dev/null 2>&1; then
      SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
      say "安装浏览器测试所需的 chromium"
      $SUDO apt-get update -qq
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
    else
      say "警告：本机没有 apt-get，无法安装 chromium；浏览器测试在 CI=true 时会失败。"
    fi
  fi
  exit 0
fi

need_apt=()
fc-list :lang=zh 2>/dev/null | grep -q . || need_apt+=(fonts-noto-cjk)
for lib in libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0; do
  dpkg -s "$lib" >/dev/null 2>&1 || need_apt+=("$lib")
done
command -v fc-list >/dev/null 2>&1 || need_apt+=(fontconfig)
if [ ${#need_apt[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    say "安装系统软件包：${need_apt[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  else
    say "警告：缺少 ${need_apt[*]}，且本机没有 apt-get；请用本机的包管理器安装中文字体和 pango。"
  fi
fi

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
  say "需要 Python 3.11 或更高版本（当前：$("$PYTHON" --version 2>&1)）。可设置 PYTHON=/path/to/python3.11 后重试。"
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  say "创建虚拟环境 .venv"
  "$PYTHON" -m venv .venv
fi
say "安装固定版本的 Python 依赖（requirements.txt + constraints.txt）"
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt -c constraints.txt
.venv/bin/python -m pip install -q --disable-pip-version-check --no-deps -e .
.venv/bin/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (onecard)" >/dev/null
say "完成。"
