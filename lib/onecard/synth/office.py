"""The files the offices hand over: Chinese file names, varied headers and value formats."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from . import base
from .people import District
from .writers import XLS_MAX_ROWS, Sheet, split_rows, write_csv, write_xls, write_xlsx

TOWN_ALIAS_2020 = {"索河街道": "索河镇", "玉贤街道": "玉贤镇"}
CATEGORY = {1: "视力", 2: "听力", 3: "言语", 4: "肢体", 5: "智力", 6: "精神", 7: "多重"}
GRADE = {1: "一级", 2: "二级", 3: "三级", 4: "四级"}


def _d(values, fmt="%Y-%m-%d") -> pd.Series:
    s = pd.to_datetime(pd.Series(values))
    out = s.dt.strftime(fmt) if "年" not in fmt else (
        s.dt.year.astype("string") + "年" + s.dt.month.astype("string") + "月" + s.dt.day.astype("string") + "日")
    return out.fillna("").astype(object)


def _m(ix, style="dash") -> pd.Series:
    ix = pd.Series(np.asarray(ix, dtype=np.int64))
    y = 2020 + np.floor_divide(ix, 12)
    mo = ix % 12 + 1
    if style == "dash":
        return y.astype(str) + "-" + mo.astype(str).str.zfill(2)
    if style == "compact":
        return y.astype(str) + mo.astype(str).str.zfill(2)
    return y.astype(str) + "年" + mo.astype(str) + "月"


def _yuan(fen) -> np.ndarray:
    return np.asarray(fen, dtype=np.int64) / 100.0


def mask_name(names: pd.Series) -> pd.Series:
    """张*明 for three characters, 张* for two."""
    return np.where(names.str.len() >= 3, names.str[0] + "*" + names.str[2:], names.str[0] + "*")


def mask_id(ids: pd.Series) -> pd.Series:
    """4201**********1234."""
    return ids.str[:4] + "*" * 10 + ids.str[-4:]


def payout_files(d: District, out: Path, po: pd.DataFrame, cards: pd.DataFrame) -> list[tuple]:
    """Three payout layouts: 2020 .xlsx by township sheet, 2021 .xls per 街道, 2021 GBK CSV."""
    info = cards.drop_duplicates("account_no").set_index("account_no")
    holder_name = po["account_no"].map(info["holder_name"]).fillna(po["account_no"].map(
        {k: v[1] for k, v in d.unregistered.items()})).fillna(po["name"])
    bank = po["account_no"].map(info["bank"]).fillna(po["account_no"].map(
        {k: v[0] for k, v in d.unregistered.items()}))
    tcode = po["township"].map(d.town_codes)
    batch = "PC" + _m(po["period_ix"], "compact").to_numpy() + tcode.str[-3:].to_numpy()
    q: list[tuple] = []
    y2020 = (po["period_ix"] < 12).to_numpy()
    a = pd.DataFrame({
        "流水号": ["LS" + str(i).zfill(9) for i in range(len(po))], "发放批次": batch,
        "补贴年月": _m(po["period_ix"]).to_numpy(), "发放日期": _d(po["paid_on"]).to_numpy(),
        "补贴项目": po["item"].to_numpy(), "身份证号": po["person_id"].to_numpy(),
        "姓名": po["name"].to_numpy(), "银行卡号": po["account_no"].to_numpy(),
        "户名": holder_name.to_numpy(), "开户行": bank.to_numpy(), "发放金额": _yuan(po["amount"]),
        "发放状态": po["status"].to_numpy(),
        "街道": po["township"].replace(TOWN_ALIAS_2020).to_numpy(), "村(社区)": po["village"].to_numpy(),
    })[y2020]
    sheets = []
    for j, (t, g) in enumerate(a.groupby(tcode[y2020].to_numpy(), sort=True)):
        g = g.reset_index(drop=True)
        if j == 0:  # malformed rows for intake tests: unparseable amount, blank ID
            bad = g.iloc[[5, 9]].copy().astype(object)
            bad.iloc[0, bad.columns.get_loc("发放金额")] = "1200.5.0"
            bad.iloc[1, bad.columns.get_loc("身份证号")] = ""
            bad["流水号"] = ["LSX000000001", "LSX000000002"]
            g = pd.concat([g.iloc[:10], bad, g.iloc[10:]], ignore_index=True)
        for c, chunk in enumerate(split_rows(g, 1_000_000)):
            name = d.town_names[t] + (f"_{c + 1}" if c else "")
            sheets.append(Sheet(name, chunk, title="蔡甸区2020年残疾人两项补贴一卡通发放明细表" if j < 3 else None,
                                total_col="发放金额", footer=True))
            if j == 0:
                top = 3 + 1
                q += [("一卡通发放明细_2020年.xlsx", name, top + 10, "unparseable_amount"),
                      ("一卡通发放明细_2020年.xlsx", name, top + 11, "id_missing")]
    q += write_xlsx(out / "一卡通发放明细_2020年.xlsx", sheets)
    y21 = ~y2020
    street = tcode.str[-3:].isin([f"00{j}" for j in range(1, 9)]).to_numpy()
    b = pd.DataFrame({
        "交易流水号": ["JY" + str(i).zfill(9) for i in range(len(po))], "批次号": batch,
        "所属期": _m(po["period_ix"], "compact").to_numpy(), "到账日期": _d(po["paid_on"], "%Y.%m.%d").to_numpy(),
        "项目名称": po["item"].to_numpy(), "公民身份号码": po["person_id"].to_numpy(),
        "享受人姓名": po["name"].to_numpy(), "社保卡号": po["account_no"].to_numpy(),
        "户名": holder_name.to_numpy(), "代理银行": bank.map(base.BANK_BRANCH).to_numpy(),
        "应发金额": _yuan(po["amount"]), "实发金额": _yuan(po["net"]), "手续费": _yuan(po["fee"]),
        "到账状态": po["status"].to_numpy(), "退回日期": "",
        "乡镇(街道)": po["township"].to_numpy(), "村居": po["village"].to_numpy(),
    })
    for t, g in b[y21 & street].groupby(tcode[y21 & street].to_numpy(), sort=True):
        name = d.town_names[t]
        sheets = [Sheet(f"2021年_{c + 1}", ch.reset_index(drop=True), footer=(c == 0))
                  for c, ch in enumerate(split_rows(g, XLS_MAX_ROWS - 10))]
        q += write_xls(out / f"一卡通发放明细_2021年_{name}.xls", sheets)
    c = po[y21 & ~street]
    amt = pd.Series(_yuan(c["amount"])).map(lambda v: f"{v:,.2f}")
    amt = np.where(np.arange(len(c)) % 3 == 0, amt + "元", amt)
    csv = pd.DataFrame({
        "序号": np.arange(1, len(c) + 1), "发放批次": batch[y21 & ~street],
        "享受年月": _m(c["period_ix"], "cn").to_numpy(), "入账日期": _d(c["paid_on"], "年").to_numpy(),
        "资金项目": c["item"].to_numpy(), "证件号码": c["person_id"].to_numpy(),
        "补贴对象姓名": c["name"].to_numpy(), "收款账号": c["account_no"].to_numpy(),
        "持卡人姓名": holder_name[y21 & ~street].to_numpy(), "发放银行": bank[y21 & ~street].to_numpy(),
        "补贴金额": amt, "状态": c["status"].to_numpy(), "所属街道": c["township"].to_numpy(),
        "村": c["village"].to_numpy(),
    })
    write_csv(out / "发放明细_2021年_开发区及乡场.csv", csv, "gbk")
    return q


def roster_file(d: District, out: Path, roster: pd.DataFrame) -> list[tuple]:
    """残疾人基础信息.xlsx with a title row, a footer and two IDs stored as numbers."""
    r = roster
    f = pd.DataFrame({
        "序号": np.arange(1, len(r) + 1), "姓名": r["name"].to_numpy(), "公民身份号码": r["person_id"].to_numpy(),
        "残疾证号": r["cert_no"].to_numpy(), "残疾类别": r["category"].map(CATEGORY).to_numpy(),
        "残疾等级": r["grade"].map(GRADE).to_numpy(), "证件状态": r["cert_status"].to_numpy(),
        "发证日期": _d(r["cert_issued"]).to_numpy(), "有效期至": _d(r["cert_expires"]).to_numpy(),
        "注销日期": _d(r["cert_cancelled"]).to_numpy(), "户口性质": r["hukou"].to_numpy(),
        "所属街道": r["township"].to_numpy(), "村(社区)": r["village"].to_numpy(),
        "家庭住址": r["address"].to_numpy(), "联系电话": r["phone"].to_numpy(),
        "监护人身份证号": r["guardian_id"].to_numpy(), "监护人姓名": r["guardian_name"].to_numpy(),
        "户号": r["household_id"].to_numpy(), "数据截止日期": base.EXTRACT_DATE.strftime("%Y-%m-%d"),
    }).astype(object)
    q = []
    for pid in d.numeric_ids:
        ix = np.flatnonzero(f["公民身份号码"].to_numpy() == pid)[0]
        f.iat[ix, 2] = float(int(pid))
        q.append(("残疾人基础信息.xlsx", "残疾人基础信息", ix + 4, "id_precision_lost"))
    return q + write_xlsx(out / "残疾人基础信息.xlsx",
                          [Sheet("残疾人基础信息", f, title="蔡甸区持证残疾人基础信息表", footer=True)])


def simple_files(d: District, out: Path, t: dict[str, pd.DataFrame]) -> list[tuple]:
    """Entitlements, cards, reference lists, officials, relations, banks and 公示 lists."""
    q = []
    e = t["entitlements"]
    ent = pd.DataFrame({
        "身份证号码": e["person_id"], "姓名": e["name"], "补贴类型": e["subsidy"],
        "享受起始年月": _m(e["start_ix"], "compact").to_numpy(),
        "终止年月": np.where(e["end_ix"] > 23, "", _m(np.minimum(e["end_ix"], 99), "compact")),
        "月补贴标准": _yuan(e["monthly"]), "审批日期": _d(e["approved_on"]).to_numpy(),
        "审批人": e["approver"], "经办人": e["handler"],
        "享受状态": np.where(e["end_ix"] > 23, "享受中", "已停发"),
    }).reset_index(drop=True)
    q += write_xls(out / "补贴享受名单.xls", [Sheet(f"享受名单{c + 1}", ch.reset_index(drop=True))
                                         for c, ch in enumerate(split_rows(ent, XLS_MAX_ROWS - 10))])
    c = t["cards"]
    cards = pd.DataFrame({
        "银行账号": c["account_no"], "持卡人身份证号": c["holder_id"], "持卡人姓名": c["holder_name"],
        "开户银行": c["bank"], "开卡日期": _d(c["opened_on"]).to_numpy(), "销户日期": _d(c["closed_on"]).to_numpy(),
        "预留手机号": c["phone"], "联系地址": c["address"], "开卡经办人": c["opened_by"],
        "卡状态": c["card_status"], "集中供养机构": c["institution"],
    })
    q += write_xlsx(out / "一卡通账户信息.xlsx", [Sheet("账户信息", cards, footer=True)])
    x = t["deaths"]
    q += write_xls(out / "死亡人员名单.xls", [Sheet("死亡名单", pd.DataFrame({
        "身份证号": x["person_id"], "姓名": x["name"], "死亡日期": _d(x["date"], "%Y.%m.%d").to_numpy(),
        "数据来源": x["source"], "乡镇": x["township"], "村": x["village"]}))])
    x = t["moves"]
    write_csv(out / "户籍迁出名单.csv", pd.DataFrame({
        "公民身份号码": x["person_id"], "姓名": x["name"], "迁出日期": _d(x["date"]).to_numpy(),
        "迁往地": x["source"], "乡镇": x["township"], "村": x["village"]}), "utf-8-sig")
    x = t["custody"]
    q += write_xlsx(out / "服刑在押人员名单.xlsx", [Sheet("服刑在押", pd.DataFrame({
        "证件号码": x["person_id"], "姓名": x["name"], "羁押日期": _d(x["date"]).to_numpy(),
        "释放日期": _d(x["end"]).to_numpy(), "乡镇": x["township"], "村": x["village"]}))])
    x = t["dibao"]
    q += write_xlsx(out / "低保特困名单.xlsx", [Sheet("低保名单", pd.DataFrame({
        "身份证号": x["person_id"], "姓名": x["name"], "保障类别": "低保",
        "起始月份": _m(x["start_ix"]).to_numpy(),
        "终止年月": np.where(x["end_ix"] > 23, "", _m(np.minimum(x["end_ix"], 99))),
        "户主身份证号": x["head"], "街道": x["township"], "社区": x["village"]}), title="蔡甸区低保对象花名册")])
    x = t["other"]
    q += write_xls(out / "其他待遇名单.xls", [Sheet("其他待遇", pd.DataFrame({
        "身份证号码": x["person_id"], "姓名": x["name"], "待遇项目": x["program"],
        "起始月份": _m(x["start_ix"], "compact").to_numpy(),
        "终止年月": np.where(x["end_ix"] > 23, "", _m(np.minimum(x["end_ix"], 99), "compact")),
        "月待遇金额": _yuan(x["monthly"])}))])
    o = t["officials"]
    q += write_xlsx(out / "公职人员及村干部名单.xlsx", [Sheet("名单", pd.DataFrame({
        "身份证号": o["person_id"], "姓名": o["name"], "工作单位": o["employer"], "职务": o["position"],
        "乡镇": o["township"], "村": o["village"], "联系电话": o["phone"], "银行账号": o["account_no"]}))])
    write_csv(out / "亲属关系.csv", pd.DataFrame(t["relations"], columns=["公职人员身份证号", "亲属身份证号", "亲属关系"]), "gbk")
    bk = d.banks
    q += write_xlsx(out / "代理银行准入名单.xlsx", [Sheet("代理银行", pd.DataFrame({
        "银行名称": bk["bank"], "准入日期": _d(bk["approved_from"]).to_numpy(),
        "退出日期": _d(bk["approved_to"]).to_numpy()}))])
    x = t["disclosures"]
    for m, g in x.groupby("period_ix"):
        label = base.month_str(m)
        q += write_xlsx(out / f"公示名单_{label[:4]}年{int(label[5:])}月.xlsx", [Sheet("公示", pd.DataFrame({
            "姓名": mask_name(g["name"]), "身份证号": mask_id(g["person_id"]), "村(社区)": g["village"],
            "补贴项目": g["subsidy"], "发放金额": _yuan(g["amount"]), "所属月份": _m(g["period_ix"]).to_numpy(),
            "街道": g["township"]}).reset_index(drop=True), title=f"蔡甸区{label[:4]}年{int(label[5:])}月残疾人两项补贴发放公示")])
    return q
