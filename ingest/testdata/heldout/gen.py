#!/usr/bin/env python3
"""Held-out CRM export generator for pipelens (stdlib only, fixed seed).

Writes, per vendor, one export shaped after the vendor's documentation (see
SOURCES.md) plus truth.json computed from the generator's own records:

  salesforce/Opportunity.csv          Data Loader / Data Export (API names)
  salesforce_report/report.csv        report -> Export -> Details Only (labels)
  hubspot/all-deals.csv               HubSpot deals index export
  zoho/Deals.csv                      Zoho CRM Deals module export
  fxiaoke/商机.csv                    纷享销客 商机 list export (GBK)

Conventions (also in README.md):
  * row numbers count the header as row 1, so the first data row is row 2;
  * "rows" = data rows (report footer lines are not data rows);
  * "valid" = opportunities a correct loader must load = rows - rejects -
    superseded duplicate rows (of two rows with one Id the later wins);
    "rows_passing_validation" = rows - rejects (counts both duplicate rows);
  * per_owner counts distinct opportunities after duplicates are resolved
    (later row wins), excluding rejected rows; win_rate = won/(won+lost).
"""
import csv
import datetime as dt
import io
import json
import os
import random

SEED = 20261202
OUT = os.path.dirname(os.path.abspath(__file__))
TODAY = dt.date(2026, 11, 30)
START = dt.date(2025, 1, 1)

EN_FIRST = ["Emily", "James", "Olivia", "Michael", "Sophia", "Daniel", "Ava",
            "Matthew", "Isabella", "David", "Mia", "Ryan", "Chloe", "Ethan",
            "Grace", "Lucas", "Hannah", "Noah", "Zoë", "José", "Priya",
            "Siobhán", "Mateo", "Aisha"]
EN_LAST = ["Carter", "Nguyen", "Patel", "O'Brien", "Schmidt", "Johnson",
           "Martínez", "Kowalski", "Reyes", "Thompson", "Brooks", "Fischer",
           "Müller", "Walsh", "Hughes", "Kim", "Alvarez", "Bennett"]
COMPANY_A = ["Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne",
             "Wonka", "Hooli", "Vandelay", "Soylent", "Cyberdyne", "Tyrell",
             "Aperture", "Massive Dynamic", "Pied Piper", "Gringotts",
             "Northwind", "Contoso", "Fabrikam", "Litware", "Tailspin",
             "Blue Yonder", "Adventure Works", "Proseware", "Woodgrove",
             "Lamna", "Trey Research", "Alpine Ski House", "Coho Winery",
             "Margie's Travel", "Fourth Coffee", "Wide World Importers"]
COMPANY_B = ["Inc.", "LLC", "Corp.", "Ltd", "GmbH", "Holdings", "Group",
             "Industries", "S.A.", "Partners"]
PRODUCTS = ["Platform licence", "Renewal", "Expansion", "Pilot",
            "Enterprise plan", "Support upgrade", "Analytics add-on",
            "Onboarding services", "Seats", "Multi-year deal"]

CN_SURNAME = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
CN_GIVEN = ["伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋",
            "勇", "艳", "杰", "娟", "涛", "明", "超", "秀兰", "霞", "平", "刚",
            "桂英", "晓东", "志强", "海燕", "建华", "文博", "思远", "雨桐"]
CN_CITY = ["上海", "北京", "杭州", "苏州", "南京", "深圳", "广州", "成都",
           "武汉", "西安", "宁波", "无锡", "合肥", "青岛", "天津", "重庆"]
CN_CORE = ["华信", "恒达", "瑞丰", "中科", "鼎盛", "嘉禾", "博远", "天元",
           "启明", "宏图", "安泰", "金桥", "蓝海", "远航", "智联", "新元",
           "东方", "润泽", "海纳", "腾跃"]
CN_KIND = ["科技有限公司", "信息技术有限公司", "制造有限公司", "贸易有限公司",
           "医药股份有限公司", "物流有限公司", "电子有限公司", "集团有限公司"]
CN_PRODUCT = ["ERP升级", "CRM采购", "数据中台", "年度维保", "私有化部署",
              "二期扩容", "SaaS订阅", "咨询服务", "智能仓储", "安全加固"]
CN_DEPT = ["华东一组", "华东二组", "华北一组", "华南一组", "西南一组"]
CN_LOSS = ["价格偏高", "选择竞争对手", "预算取消", "需求变更", "决策人变动",
           "产品功能不满足"]


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)

    def en_person(self, used):
        while True:
            n = "%s %s" % (self.r.choice(EN_FIRST), self.r.choice(EN_LAST))
            if n not in used:
                used.add(n)
                return n

    def cn_person(self, used):
        while True:
            n = self.r.choice(CN_SURNAME) + self.r.choice(CN_GIVEN)
            if n not in used:
                used.add(n)
                return n

    def en_company(self):
        return "%s %s" % (self.r.choice(COMPANY_A), self.r.choice(COMPANY_B))

    def cn_company(self):
        return (self.r.choice(CN_CITY) + self.r.choice(CN_CORE)
                + self.r.choice(CN_KIND))

    def amount(self):
        # log-ish spread 2k .. 900k, rounded like people enter them
        a = self.r.choice([1, 1, 1, 2, 2, 5]) * 10 ** self.r.randint(3, 5)
        a = a * self.r.uniform(0.8, 1.9)
        step = self.r.choice([1, 50, 100, 500, 1000])
        return round(a / step) * step or 1000

    def dates(self, closed):
        created = START + dt.timedelta(days=self.r.randint(0, (TODAY - START).days - 20))
        if closed:
            close = created + dt.timedelta(days=self.r.randint(5, 160))
            if close > TODAY:
                close = TODAY - dt.timedelta(days=self.r.randint(0, 10))
                if close < created:
                    close = created
        else:
            close = created + dt.timedelta(days=self.r.randint(20, 200))
        secs = self.r.randint(8 * 3600, 19 * 3600)
        created_ts = dt.datetime.combine(created, dt.time()) + dt.timedelta(seconds=secs)
        return created_ts, close


def sfdc_id(r, prefix):
    """18-character Salesforce id with a correct case-safe suffix."""
    alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    base = prefix + "5g00000" + "".join(r.choice(alnum) for _ in range(15 - len(prefix) - 7))
    table = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
    suf = ""
    for i in range(3):
        bits = 0
        for j, ch in enumerate(base[i * 5:i * 5 + 5]):
            if "A" <= ch <= "Z":
                bits |= 1 << j
        suf += table[bits]
    return base + suf


def build(g, n, owners, open_stages, won_stages, lost_stages, mix=(0.45, 0.33, 0.22)):
    """Return n clean records: dict(owner, stage, outcome, amount, close, created)."""
    recs = []
    for i in range(n):
        x = g.r.random()
        outcome = "open" if x < mix[0] else ("won" if x < mix[0] + mix[1] else "lost")
        # owners differ in skill: a per-owner win tilt
        owner = g.r.choice(owners)
        if outcome != "open":
            tilt = (owners.index(owner) % 4) * 0.08
            if g.r.random() < tilt:
                outcome = "won"
        stage = {"open": g.r.choice(open_stages), "won": g.r.choice(won_stages),
                 "lost": g.r.choice(lost_stages)}[outcome]
        created, close = g.dates(outcome != "open")
        amount = g.amount()
        if outcome == "open" and g.r.random() < 0.03:
            amount = None  # blank amount on an early deal: valid, amount unknown
        modified = created + dt.timedelta(days=g.r.randint(1, 60), seconds=g.r.randint(0, 9999))
        recs.append(dict(owner=owner, stage=stage, outcome=outcome, amount=amount,
                         close=close, created=created, modified=modified, bad=None))
    return recs


def plant(g, recs, make_id, bad_amount, bad_date, open_stages, won_stage, lost_stage):
    """Plant bad rows and two duplicate ids. Mutates recs; returns dup info list.

    bad kinds: amount (text), close (impossible date), stage (empty)."""
    n = len(recs)
    picks = g.r.sample(range(10, n - 10), 6)
    kinds = [("amount", bad_amount[0]), ("amount", bad_amount[1]),
             ("close", bad_date[0]), ("close", bad_date[1]),
             ("stage", ""), ("stage", "")]
    for i, (k, v) in zip(picks, kinds):
        recs[i]["bad"] = (k, v)
    # duplicates: copy an earlier open record and re-emit it later, closed.
    clean = [i for i in range(5, n // 2) if recs[i]["bad"] is None and recs[i]["outcome"] == "open"]
    a, b = g.r.sample(clean, 2)
    dups = []
    for k, src in enumerate((a, b)):
        d = dict(recs[src])
        d["outcome"] = "won" if k == 0 else "lost"
        d["stage"] = won_stage if k == 0 else lost_stage
        d["close"] = min(TODAY, d["created"].date() + dt.timedelta(days=45))
        # the later row is also the later version by its modification stamp
        d["modified"] = max(d["modified"], dt.datetime.combine(d["close"], dt.time(17))) \
            + dt.timedelta(days=g.r.randint(1, 5))
        if k == 1:
            # the second duplicate was also reassigned to another owner
            d["owner"] = "__REASSIGN__"
        pos = g.r.randint(n // 2 + 5, n - 5) + k
        recs.insert(pos, d)
        dups.append((src, d))
    return dups


def truth(file, rows, rej, id_of, owner_of, outcome_of, is_footer=None, extra=None):
    """rows: list of record dicts in file order (data rows only)."""
    rejects, latest, seen = [], {}, {}
    dup_rows = {}
    for i, rec in enumerate(rows):
        rowno = i + 2
        if rec["bad"]:
            col, reason, val = rej(rec)
            rejects.append({"row": rowno, "column": col, "reason": reason, "value": val})
            continue
        k = id_of(rec)
        if k in seen:
            dup_rows.setdefault(k, [seen[k]]).append(rowno)
        seen[k] = rowno
        latest[k] = rec
    per = {}
    for rec in latest.values():
        o = owner_of(rec)
        p = per.setdefault(o, {"won": 0, "lost": 0, "open": 0})
        p[outcome_of(rec)] += 1
    for p in per.values():
        c = p["won"] + p["lost"]
        p["win_rate"] = round(p["won"] / c, 6) if c else None
    t = {"file": file, "rows": len(rows), "valid": len(latest),
         "rows_passing_validation": len(rows) - len(rejects),
         "distinct_opportunities": len(latest), "rejects": rejects,
         "duplicates": [{"id": k, "rows": v, "winner_row": v[-1]} for k, v in dup_rows.items()],
         "per_owner": dict(sorted(per.items()))}
    if extra:
        t.update(extra)
    # per-opportunity expectation (the winning row), for row-level comparison
    t["_expected"] = {k: {"row": seen[k], "owner": owner_of(r), "status": outcome_of(r),
                          "amount": r["amount"], "close": r["close"].isoformat(),
                          "created": r["created"].date().isoformat()}
                      for k, r in latest.items()}
    return t


def write_csv(path, header, rows, encoding, bom, quote_all=True, footer=None, crlf=True):
    buf = io.StringIO(newline="")
    w = csv.writer(buf, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL,
                   lineterminator="\r\n" if crlf else "\n")
    w.writerow(header)
    for r in rows:
        w.writerow(r)
    if footer:
        for line in footer:
            buf.write(line + ("\r\n" if crlf else "\n"))
    data = buf.getvalue().encode(encoding)
    if bom:
        data = b"\xef\xbb\xbf" + data
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def _col(i):
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def write_xlsx(path, header, rows, sheet="Sheet1"):
    """Minimal Office Open XML workbook (stdlib zipfile), shared strings, styles.

    A cell is a str (shared string), int (number, General), float (number,
    style 1 = #,##0.00),
    dt.datetime (serial, style 2 = yyyy-mm-dd hh:mm), dt.date (serial, style 3
    = yyyy-mm-dd) or None (no cell)."""
    import zipfile
    from xml.sax.saxutils import escape
    sst, sidx = [], {}

    def si(v):
        if v not in sidx:
            sidx[v] = len(sst)
            sst.append(v)
        return sidx[v]
    epoch = dt.datetime(1899, 12, 30)
    out = []
    for r, vals in enumerate([header] + rows, start=1):
        cells = []
        for c, v in enumerate(vals):
            ref = "%s%d" % (_col(c), r)
            if v is None or v == "":
                continue
            if isinstance(v, dt.datetime):
                x = (v - epoch).total_seconds() / 86400
                cells.append('<c r="%s" s="2"><v>%.10f</v></c>' % (ref, x))
            elif isinstance(v, dt.date):
                x = (dt.datetime.combine(v, dt.time()) - epoch).days
                cells.append('<c r="%s" s="3"><v>%d</v></c>' % (ref, x))
            elif isinstance(v, int):
                cells.append('<c r="%s"><v>%d</v></c>' % (ref, v))
            elif isinstance(v, float):
                cells.append('<c r="%s" s="1"><v>%s</v></c>' % (ref, repr(v)))
            else:
                cells.append('<c r="%s" t="s"><v>%d</v></c>' % (ref, si(str(v))))
        out.append('<row r="%d">%s</row>' % (r, "".join(cells)))
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rns = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
    dim = "A1:%s%d" % (_col(len(header) - 1), len(rows) + 1)
    sheet_xml = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet %s %s>'
                 '<dimension ref="%s"/><sheetData>%s</sheetData></worksheet>' % (ns, rns, dim, "".join(out)))
    sst_xml = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst %s count="%d" uniqueCount="%d">%s</sst>'
               % (ns, len(sst), len(sst), "".join('<si><t xml:space="preserve">%s</t></si>' % escape(x) for x in sst)))
    styles = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<styleSheet %s>'
              '<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy-mm-dd hh:mm"/>'
              '<numFmt numFmtId="165" formatCode="yyyy-mm-dd"/></numFmts>'
              '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
              '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>'
              '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
              '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
              '<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
              '<xf numFmtId="4" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
              '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
              '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
              '</styleSheet>' % ns)
    wb = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook %s %s><sheets>'
          '<sheet name="%s" sheetId="1" r:id="rId1"/></sheets></workbook>' % (ns, rns, escape(sheet)))
    wb_rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
               '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
               '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
               '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
               '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>'
               '</Relationships>')
    rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
            '</Relationships>')
    ct = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
          '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
          '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
          '<Default Extension="xml" ContentType="application/xml"/>'
          '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
          '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
          '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
          '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
          '</Types>')
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in (("[Content_Types].xml", ct), ("_rels/.rels", rels),
                           ("xl/workbook.xml", wb), ("xl/_rels/workbook.xml.rels", wb_rels),
                           ("xl/worksheets/sheet1.xml", sheet_xml), ("xl/sharedStrings.xml", sst_xml),
                           ("xl/styles.xml", styles)):
            zi = zipfile.ZipInfo(name, date_time=(2026, 11, 30, 9, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(zi, data)


def dump(path, obj):
    exp = obj.pop("_expected", None)
    if exp is not None:
        with open(os.path.join(os.path.dirname(path), "expected_opportunities.json"), "w", encoding="utf-8") as f:
            json.dump(exp, f, ensure_ascii=False, indent=0, sort_keys=True)
            f.write("\n")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=1)
        f.write("\n")


def resolve_reassign(g, recs, owners):
    for i, rec in enumerate(recs):
        if rec["owner"] == "__REASSIGN__":
            src = next(r for r in recs if r.get("id") == rec["id"] and r is not rec)
            rec["owner"] = next(o for o in owners if o != src["owner"])


# ---------------------------------------------------------------- Salesforce
SF_OPEN = ["Prospecting", "Qualification", "Needs Analysis", "Value Proposition",
           "Id. Decision Makers", "Perception Analysis", "Proposal/Price Quote",
           "Negotiation/Review"]
SF_PROB = {"Prospecting": 10, "Qualification": 10, "Needs Analysis": 20,
           "Value Proposition": 50, "Id. Decision Makers": 60,
           "Perception Analysis": 70, "Proposal/Price Quote": 75,
           "Negotiation/Review": 90, "Closed Won": 100, "Closed Lost": 0}
SF_FC = {"Prospecting": ("Pipeline", "Pipeline"), "Qualification": ("Pipeline", "Pipeline"),
         "Needs Analysis": ("Pipeline", "Pipeline"), "Value Proposition": ("Pipeline", "Pipeline"),
         "Id. Decision Makers": ("Pipeline", "Pipeline"),
         "Perception Analysis": ("BestCase", "Best Case"),
         "Proposal/Price Quote": ("BestCase", "Best Case"),
         "Negotiation/Review": ("Forecast", "Commit"),
         "Closed Won": ("Closed", "Closed"), "Closed Lost": ("Omitted", "Omitted")}


def salesforce(g):
    users = [sfdc_id(g.r, "005") for _ in range(8)]
    recs = build(g, 520, users, SF_OPEN, ["Closed Won"], ["Closed Lost"])
    accounts = [sfdc_id(g.r, "001") for _ in range(140)]
    for rec in recs:
        rec["id"] = sfdc_id(g.r, "006")
        rec["account"] = g.r.choice(accounts)
        rec["name"] = "%s - %s" % (g.en_company(), g.r.choice(PRODUCTS))
        rec["type"] = g.r.choice(["New Customer", "Existing Customer - Upgrade",
                                  "Existing Customer - Replacement", ""])
        rec["source"] = g.r.choice(["Web", "Phone Inquiry", "Partner Referral",
                                    "Purchased List", "Other", ""])
    plant(g, recs, None, ("TBD", "approx 40k"), ("2025-02-30", "2026-13-05"),
          SF_OPEN, "Closed Won", "Closed Lost")
    resolve_reassign(g, recs, users)
    header = ["Id", "IsDeleted", "AccountId", "Name", "Type", "StageName", "Amount",
              "Probability", "ExpectedRevenue", "CloseDate", "LeadSource", "IsClosed",
              "IsWon", "ForecastCategory", "ForecastCategoryName", "CurrencyIsoCode",
              "OwnerId", "CreatedDate", "CreatedById", "LastModifiedDate",
              "SystemModstamp", "FiscalQuarter", "FiscalYear"]
    rows = []
    for rec in recs:
        bad = rec["bad"] or (None, None)
        st = "" if bad[0] == "stage" else rec["stage"]
        prob = SF_PROB.get(rec["stage"], 0)
        amt = "" if rec["amount"] is None else "%.1f" % rec["amount"]
        exp = "" if rec["amount"] is None else "%.1f" % (rec["amount"] * prob / 100)
        if bad[0] == "amount":
            amt, exp = bad[1], ""
        close = bad[1] if bad[0] == "close" else rec["close"].isoformat()
        closed = rec["outcome"] != "open" and bad[0] != "stage"
        won = rec["outcome"] == "won" and bad[0] != "stage"
        fc = SF_FC.get(rec["stage"], ("Pipeline", "Pipeline")) if st else ("", "")
        created = rec["created"].strftime("%Y-%m-%dT%H:%M:%S.000Z")
        mod = rec["modified"].strftime("%Y-%m-%dT%H:%M:%S.000Z")
        q = (rec["close"].month - 1) // 3 + 1
        rows.append([rec["id"], "false", rec["account"], rec["name"], rec["type"], st,
                     amt, "%d" % prob, exp, close, rec["source"],
                     "true" if closed else "false", "true" if won else "false",
                     fc[0], fc[1], "USD", rec["owner"], created, rec["owner"], mod, mod,
                     str(q), str(rec["close"].year)])
    fn = "Opportunity.csv"
    write_csv(os.path.join(OUT, "salesforce", fn), header, rows, "utf-8", bom=False, crlf=False)
    cols = {"amount": ("Amount", "amount_not_numeric"), "close": ("CloseDate", "invalid_date"),
            "stage": ("StageName", "missing_stage")}
    t = truth(fn, recs,
              lambda r: cols[r["bad"][0]] + (r["bad"][1],),
              lambda r: r["id"], lambda r: r["owner"], lambda r: r["outcome"],
              extra={"encoding": "UTF-8 without BOM", "owner_column": "OwnerId"})
    dump(os.path.join(OUT, "salesforce", "truth.json"), t)


def salesforce_report(g):
    used = set()
    owners = [g.en_person(used) for _ in range(9)]
    recs = build(g, 410, owners, SF_OPEN, ["Closed Won"], ["Closed Lost"])
    for rec in recs:
        rec["id"] = sfdc_id(g.r, "006")[:15]  # reports show the 15-char id
        rec["account"] = g.en_company()
        rec["name"] = "%s - %s" % (rec["account"], g.r.choice(PRODUCTS))
        if g.r.random() < 0.05:
            rec["name"] = '%s - "%s" seats, phase 2' % (rec["account"], g.r.randint(20, 400))
        rec["source"] = g.r.choice(["Web", "Phone Inquiry", "Partner Referral", "Other", ""])
    plant(g, recs, None, ("TBD", "n/a"), ("2/30/2025", "14/02/2026"),
          SF_OPEN, "Closed Won", "Closed Lost")
    resolve_reassign(g, recs, owners)
    header = ["Opportunity Owner", "Account Name", "Opportunity Name", "Stage",
              "Fiscal Period", "Amount", "Probability (%)", "Age", "Close Date",
              "Created Date", "Lead Source", "Opportunity ID"]
    usd = lambda d: "%d/%d/%d" % (d.month, d.day, d.year)
    rows = []
    for rec in recs:
        bad = rec["bad"] or (None, None)
        st = "" if bad[0] == "stage" else rec["stage"]
        amt = "" if rec["amount"] is None else "%.2f" % rec["amount"]
        if bad[0] == "amount":
            amt = bad[1]
        close = bad[1] if bad[0] == "close" else usd(rec["close"])
        end = rec["close"] if rec["outcome"] != "open" else TODAY
        age = (end - rec["created"].date()).days
        rows.append([rec["owner"], rec["account"], rec["name"], st,
                     "Q%d-%d" % ((rec["close"].month - 1) // 3 + 1, rec["close"].year),
                     amt, str(SF_PROB.get(rec["stage"], 0)), str(age), close,
                     usd(rec["created"].date()), rec["source"], rec["id"]])
    footer = ["", '"Opportunities with Owner"', '"Copyright (c) 2000-2026 salesforce.com, inc. All rights reserved."',
              '"Confidential Information - Do Not Distribute"',
              '"Generated By:  Emily Carter  11/30/2026 9:14 AM"', '"Northwind Traders Ltd"']
    fn = "report1764493200000.csv"
    write_csv(os.path.join(OUT, "salesforce_report", fn), header, rows, "utf-8", bom=True, footer=footer)
    cols = {"amount": ("Amount", "amount_not_numeric"), "close": ("Close Date", "invalid_date"),
            "stage": ("Stage", "missing_stage")}
    t = truth(fn, recs, lambda r: cols[r["bad"][0]] + (r["bad"][1],),
              lambda r: r["id"], lambda r: r["owner"], lambda r: r["outcome"],
              extra={"encoding": "UTF-8 with BOM",
                     "note": "6 footer lines after the data (blank, title, copyright, confidentiality, generated-by, company) are not data rows; dates M/D/YYYY (en_US)"})
    dump(os.path.join(OUT, "salesforce_report", "truth.json"), t)
    # a smaller report of the same kind (data rows 61..116 of the big one, no
    # bad rows): what a manager exports for one team. Same footer.
    small = recs[59:115]
    fn2 = "report1764493260000.csv"
    write_csv(os.path.join(OUT, "salesforce_report_small", fn2), header, rows[59:115], "utf-8",
              bom=True, footer=footer)
    t2 = truth(fn2, small, lambda r: cols[r["bad"][0]] + (r["bad"][1],),
               lambda r: r["id"], lambda r: r["owner"], lambda r: r["outcome"],
               extra={"encoding": "UTF-8 with BOM",
                      "note": "data rows 61..116 of report1764493200000.csv with the same 6-line footer; no bad rows"})
    dump(os.path.join(OUT, "salesforce_report_small", "truth.json"), t2)
    # the same report exported by a user with the English (UK) locale:
    # dates DD/MM/YYYY. Bad dates in that file: 30/02/2025 and a US-typed 02/14/2026.
    uk = lambda d: d.strftime("%d/%m/%Y")
    ukbad = {"2/30/2025": "30/02/2025", "14/02/2026": "02/14/2026"}
    urows = []
    for rec, row in zip(recs, rows):
        x = list(row)
        bad = rec["bad"] or (None, None)
        x[8] = ukbad[bad[1]] if bad[0] == "close" else uk(rec["close"])
        x[9] = uk(rec["created"].date())
        urows.append(x)
    fn3 = "report1764493320000.csv"
    write_csv(os.path.join(OUT, "salesforce_report_uk", fn3), header, urows, "utf-8", bom=True, footer=footer)
    for rec in recs:
        if rec["bad"] and rec["bad"][0] == "close":
            rec["bad"] = ("close", ukbad[rec["bad"][1]])
    t3 = truth(fn3, recs, lambda r: cols[r["bad"][0]] + (r["bad"][1],),
               lambda r: r["id"], lambda r: r["owner"], lambda r: r["outcome"],
               extra={"encoding": "UTF-8 with BOM",
                      "note": "the same records as report1764493200000.csv exported with the en_GB locale (DD/MM/YYYY); same 6-line footer"})
    dump(os.path.join(OUT, "salesforce_report_uk", "truth.json"), t3)


# ------------------------------------------------------------------ HubSpot
HS_OPEN = ["Appointment Scheduled", "Qualified To Buy", "Presentation Scheduled",
           "Decision Maker Bought-In", "Contract Sent"]


def hubspot(g):
    used = set()
    owners = [g.en_person(used) for _ in range(7)]
    recs = build(g, 460, owners, HS_OPEN, ["Closed Won"], ["Closed Lost"])
    next_id = 18233440001
    for rec in recs:
        next_id += g.r.randint(1, 900)
        rec["id"] = str(next_id)
        rec["account"] = g.en_company()
        rec["name"] = "%s - %s" % (rec["account"], g.r.choice(PRODUCTS))
        rec["dtype"] = g.r.choice(["New Business", "Existing Business", ""])
    plant(g, recs, None, ("TBD", "ask finance"), ("2025-02-30 00:00", "2026-04-31 12:00"),
          HS_OPEN, "Closed Won", "Closed Lost")
    resolve_reassign(g, recs, owners)
    header = ["Record ID", "Deal Name", "Deal Stage", "Pipeline", "Amount", "Close Date",
              "Create Date", "Deal owner", "Deal Type", "Associated Company",
              "Last Activity Date", "Last Modified Date"]
    rows = []
    for rec in recs:
        bad = rec["bad"] or (None, None)
        st = "" if bad[0] == "stage" else rec["stage"]
        a = rec["amount"]
        amt = "" if a is None else ("%d" % a if a == int(a) else "%.2f" % a)
        if bad[0] == "amount":
            amt = bad[1]
        ct = "%s %02d:%02d" % (rec["close"].isoformat(), g.r.randint(8, 18), g.r.choice([0, 15, 30, 45]))
        close = bad[1] if bad[0] == "close" else ct
        la = (rec["created"] + dt.timedelta(days=g.r.randint(0, 40))).strftime("%Y-%m-%d %H:%M")
        rows.append([rec["id"], rec["name"], st, "Sales Pipeline", amt, close,
                     rec["created"].strftime("%Y-%m-%d %H:%M"), rec["owner"], rec["dtype"],
                     rec["account"], la, rec["modified"].strftime("%Y-%m-%d %H:%M")])
    fn = "hubspot-crm-exports-all-deals-2026-11-30.csv"
    write_csv(os.path.join(OUT, "hubspot", fn), header, rows, "utf-8", bom=True, quote_all=False, crlf=False)
    cols = {"amount": ("Amount", "amount_not_numeric"), "close": ("Close Date", "invalid_date"),
            "stage": ("Deal Stage", "missing_stage")}
    t = truth(fn, recs, lambda r: cols[r["bad"][0]] + (r["bad"][1],),
              lambda r: r["id"], lambda r: r["owner"], lambda r: r["outcome"],
              extra={"encoding": "UTF-8 with BOM", "note": "stage labels of the default Sales Pipeline; datetimes YYYY-MM-DD HH:MM"})
    dump(os.path.join(OUT, "hubspot", "truth.json"), t)
    # the same records as HubSpot's default XLSX export: typed cells (numbers,
    # Excel datetimes); bad values stay text cells.
    xrows = []
    for rec, row in zip(recs, rows):
        bad = rec["bad"] or (None, None)
        x = list(row)
        x[0] = int(row[0])
        if bad[0] != "amount" and rec["amount"] is not None:
            x[4] = float(rec["amount"])
        if bad[0] != "close":
            x[5] = dt.datetime.strptime(row[5], "%Y-%m-%d %H:%M")
        for i in (6, 10, 11):
            x[i] = dt.datetime.strptime(row[i], "%Y-%m-%d %H:%M")
        xrows.append(x)
    fx = "hubspot-crm-exports-all-deals-2026-11-30.xlsx"
    write_xlsx(os.path.join(OUT, "hubspot_xlsx", fx), header, xrows, sheet="All deals")
    t = truth(fx, recs, lambda r: cols[r["bad"][0]] + (r["bad"][1],),
              lambda r: r["id"], lambda r: r["owner"], lambda r: r["outcome"])
    t["encoding"] = "XLSX (shared strings; amounts numeric #,##0.00; dates Excel serials yyyy-mm-dd hh:mm)"
    t["note"] = "same records and row numbers as the HubSpot CSV; Record ID numeric"
    dump(os.path.join(OUT, "hubspot_xlsx", "truth.json"), t)


# --------------------------------------------------------------------- Zoho
ZO_OPEN = ["Qualification", "Needs Analysis", "Value Proposition",
           "Identify Decision Makers", "Proposal/Price Quote", "Negotiation/Review"]
ZO_PROB = {"Qualification": 10, "Needs Analysis": 20, "Value Proposition": 40,
           "Identify Decision Makers": 60, "Proposal/Price Quote": 75,
           "Negotiation/Review": 90, "Closed Won": 100, "Closed Lost": 0,
           "Closed-Lost to Competition": 0}


def zoho(g):
    used = set()
    owners = [g.en_person(used) for _ in range(9)]
    recs = build(g, 390, owners, ZO_OPEN, ["Closed Won"], ["Closed Lost", "Closed-Lost to Competition"])
    for rec in recs:
        rec["id"] = "zcrm_5725767000%09d" % g.r.randint(1000000, 999999999)
        rec["account"] = g.en_company()
        rec["name"] = "%s - %s" % (rec["account"], g.r.choice(PRODUCTS))
        rec["contact"] = g.en_person(set())
    plant(g, recs, None, ("TBD", "12k-15k"), ("2025-06-31", "2025-02-29"),
          ZO_OPEN, "Closed Won", "Closed-Lost to Competition")
    resolve_reassign(g, recs, owners)
    header = ["Record Id", "Deal Owner", "Deal Name", "Amount", "Stage", "Closing Date",
              "Account Name", "Contact Name", "Probability (%)", "Expected Revenue", "Type",
              "Lead Source", "Created By", "Modified By", "Created Time", "Modified Time",
              "Currency"]
    rows = []
    for rec in recs:
        bad = rec["bad"] or (None, None)
        st = "" if bad[0] == "stage" else rec["stage"]
        prob = ZO_PROB.get(rec["stage"], 0)
        amt = "" if rec["amount"] is None else "%.2f" % rec["amount"]
        exp = "" if rec["amount"] is None else "%.2f" % (rec["amount"] * prob / 100)
        if bad[0] == "amount":
            amt, exp = bad[1], ""
        close = bad[1] if bad[0] == "close" else rec["close"].isoformat()
        mt = rec["modified"]
        rows.append([rec["id"], rec["owner"], rec["name"], amt, st, close, rec["account"],
                     rec["contact"], str(prob), exp,
                     g.r.choice(["New Business", "Existing Business"]),
                     g.r.choice(["Advertisement", "Cold Call", "Employee Referral",
                                 "Online Store", "Partner", "Web Download", "Trade Show"]),
                     rec["owner"], rec["owner"], rec["created"].strftime("%Y-%m-%d %H:%M:%S"),
                     mt.strftime("%Y-%m-%d %H:%M:%S"), "USD"])
    fn = "Deals_2026_11_30.csv"
    write_csv(os.path.join(OUT, "zoho", fn), header, rows, "utf-8", bom=False)
    cols = {"amount": ("Amount", "amount_not_numeric"), "close": ("Closing Date", "invalid_date"),
            "stage": ("Stage", "missing_stage")}
    t = truth(fn, recs, lambda r: cols[r["bad"][0]] + (r["bad"][1],),
              lambda r: r["id"], lambda r: r["owner"], lambda r: r["outcome"],
              extra={"encoding": "UTF-8 without BOM", "note": "Closed Lost and Closed-Lost to Competition both count as lost; 2025-02-29 is impossible (2025 is not a leap year)"})
    dump(os.path.join(OUT, "zoho", "truth.json"), t)


# ------------------------------------------------------------------ Fxiaoke
FX_OPEN = ["初步接洽", "需求确定", "方案/报价", "谈判审核"]
FX_PROB = {"初步接洽": 10, "需求确定": 30, "方案/报价": 60, "谈判审核": 80, "赢单": 100, "输单": 0}


def fxiaoke(g):
    used = set()
    owners = [g.cn_person(used) for _ in range(10)]
    dept = {o: CN_DEPT[i % len(CN_DEPT)] for i, o in enumerate(owners)}
    recs = build(g, 600, owners, FX_OPEN, ["赢单"], ["输单"])
    seq = 0
    for rec in recs:
        seq += 1
        rec["id"] = "SJ%s%04d" % (rec["created"].strftime("%Y%m%d"), seq)
        rec["account"] = g.cn_company()
        rec["name"] = "%s-%s" % (rec["account"].replace("有限公司", "").replace("股份", ""), g.r.choice(CN_PRODUCT))
        rec["src"] = g.r.choice(["市场活动", "客户介绍", "电话营销", "官网", "展会", ""])
        rec["loss"] = g.r.choice(CN_LOSS) if rec["outcome"] == "lost" else ""
    plant(g, recs, None, ("面议", "待定"), ("2025-02-30", "2026-11-31"),
          FX_OPEN, "赢单", "输单")
    resolve_reassign(g, recs, owners)
    for rec in recs:
        if rec["outcome"] == "lost" and not rec.get("loss"):
            rec["loss"] = g.r.choice(CN_LOSS)
        if rec["outcome"] != "lost":
            rec["loss"] = ""
    header = ["商机编号", "商机名称", "客户名称", "销售阶段", "阶段状态", "商机金额(元)", "赢率",
              "预计成交日期", "负责人", "负责人所属部门", "商机来源", "输单原因", "创建人",
              "创建时间", "最后修改时间", "生命状态"]
    state = {"open": "进行中", "won": "赢单", "lost": "输单"}
    rows = []
    for rec in recs:
        bad = rec["bad"] or (None, None)
        st = "" if bad[0] == "stage" else rec["stage"]
        ss = "" if bad[0] == "stage" else state[rec["outcome"]]
        amt = "" if rec["amount"] is None else "{:,.2f}".format(rec["amount"])
        if bad[0] == "amount":
            amt = bad[1]
        close = bad[1] if bad[0] == "close" else rec["close"].isoformat()
        mt = rec["modified"]
        rows.append([rec["id"], rec["name"], rec["account"], st, ss, amt,
                     "%d%%" % FX_PROB.get(rec["stage"], 0), close, rec["owner"],
                     dept[rec["owner"]], rec["src"], rec["loss"], rec["owner"],
                     rec["created"].strftime("%Y-%m-%d %H:%M"), mt.strftime("%Y-%m-%d %H:%M"), "正常"])
    fn = "商机_20261130.csv"
    write_csv(os.path.join(OUT, "fxiaoke", fn), header, rows, "gbk", bom=False, quote_all=False)
    cols = {"amount": ("商机金额(元)", "amount_not_numeric"), "close": ("预计成交日期", "invalid_date"),
            "stage": ("销售阶段", "missing_stage")}
    t = truth(fn, recs, lambda r: cols[r["bad"][0]] + (r["bad"][1],),
              lambda r: r["id"], lambda r: r["owner"], lambda r: r["outcome"],
              extra={"encoding": "GBK (no BOM)", "note": "amounts with thousands separators; 赢率 as N%; empty-stage rows also have an empty 阶段状态"})
    dump(os.path.join(OUT, "fxiaoke", "truth.json"), t)
    # the same records as 纷享销客's Excel export: amounts numeric, dates as text
    xrows = []
    for rec, row in zip(recs, rows):
        bad = rec["bad"] or (None, None)
        x = list(row)
        if bad[0] != "amount" and rec["amount"] is not None:
            x[5] = float(rec["amount"])
        xrows.append(x)
    fx = "商机_20261130.xlsx"
    write_xlsx(os.path.join(OUT, "fxiaoke_xlsx", fx), header, xrows, sheet="商机")
    t = truth(fx, recs, lambda r: cols[r["bad"][0]] + (r["bad"][1],),
              lambda r: r["id"], lambda r: r["owner"], lambda r: r["outcome"],
              extra={"encoding": "XLSX (shared strings; 商机金额 numeric #,##0.00; dates as text)",
                     "note": "same records and row numbers as the 纷享销客 CSV"})
    dump(os.path.join(OUT, "fxiaoke_xlsx", "truth.json"), t)


def main():
    g = Gen(SEED)
    salesforce(g)
    salesforce_report(g)
    hubspot(g)
    zoho(g)
    fxiaoke(g)


if __name__ == "__main__":
    main()
