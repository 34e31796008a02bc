"""HTML of the snapshot's pages in the three bokete layouts (current Next.js, 2016, 2013 XHTML).

Each renderer gets plain dicts (odai: id, photo, by, posted; boke: id, odai_id, text, stars, votes,
date, category) and root-relative URLs, so the snapshot works on whatever port serves it.
"""

from __future__ import annotations

import json
from datetime import datetime
from html import escape

SITE = "ボケて（bokete）"
BUILD_ID = "neta-snapshot"


def _e(text: str) -> str:
    return escape(text, quote=True)


def _pager_nextjs(path: str, page: int, total: int) -> str:
    if total <= 1:
        return ""
    links = []
    if page > 1:
        links.append(f'<a href="{path}{"" if page == 2 else f"?page={page - 1}"}">前へ</a>')
    for n in range(1, total + 1):
        href = path if n == 1 else f"{path}?page={n}"
        links.append(f"<span>{n}</span>" if n == page else f'<a href="{href}">{n}</a>')
    if page < total:
        links.append(f'<a href="{path}?page={page + 1}" rel="next">次へ</a>')
    return "<nav>" + "".join(links) + "</nav>"


def _next_data(page_props: dict, route: str, query: dict) -> str:
    data = {
        "props": {"pageProps": page_props, "__N_SSP": True},
        "page": route,
        "query": query,
        "buildId": BUILD_ID,
        "isFallback": False,
        "gssp": True,
        "scriptLoader": [],
    }
    # Like Next.js, escape "<" so the JSON cannot close the script element.
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")
    return f'<script id="__NEXT_DATA__" type="application/json">{text}</script>'


def odai_json(odai: dict) -> dict:
    return {
        "id": odai["id"],
        "photo": {"id": odai["photo_id"], "largeUrl": odai["photo"], "width": odai["width"], "height": odai["height"]},
        "user": {"name": odai["by"]},
        "bokeCount": odai["boke_count"],
        "createdAt": odai["posted"],
    }


def boke_json(boke: dict, odai: dict | None = None) -> dict:
    record = {
        "id": boke["id"],
        "odaiId": boke["odai_id"],
        "text": boke["text"],
        "rateSum": boke["stars"],
        "rateCount": boke["votes"],
        "date": boke["date"],
        "category": boke["category"],
    }
    if odai is not None:
        record["odai"] = {"id": odai["id"], "photo": {"largeUrl": odai["photo"]}}
    return record


def _nextjs_boke_card(boke: dict, odai: dict | None) -> str:
    photo = ""
    if odai is not None:
        photo = f'<a href="/odai/{odai["id"]}"><figure><img alt="お題" src="{odai["photo"]}"/></figure></a>'
    day = datetime.fromisoformat(boke["date"]).strftime("%Y/%m/%d")
    return (
        f'<div><div><div><div>{photo}<a href="/boke/{boke["id"]}"><h1>{_e(boke["text"])}</h1></a>'
        f'<div><div><a href="/boke/{boke["id"]}">★<!-- -->{boke["stars"]:,}</a></div>'
        f'<div><a href="/boke/{boke["id"]}">{day}</a></div></div></div></div></div></div>'
    )


def _nextjs_shell(title: str, canonical: str, main: str, next_data: str) -> str:
    return (
        '<!DOCTYPE html><html lang="ja"><head><meta charSet="utf-8"/>'
        '<meta name="viewport" content="width=device-width"/>'
        f"<title>{_e(title)} | {SITE}</title>"
        f'<link rel="canonical" href="{canonical}"/></head><body><div id="__next">'
        '<header><a href="/">ボケて</a><a href="/boke/hot">注目</a><a href="/boke/legend">殿堂入り</a>'
        '<a href="/login">ログイン</a></header>'
        f"<main><div>{main}</div></main></div>{next_data}</body></html>\n"
    )


def nextjs_odai(odai: dict, bokes: list[dict], page: int, total: int) -> str:
    path = f"/odai/{odai['id']}"
    main = (
        f'<div><a href="{path}"><figure><img alt="お題" src="{odai["photo"]}" width="{odai["width"]}" '
        f'height="{odai["height"]}"/></figure></a><div><span>{_e(odai["by"])}</span></div></div>'
        + "".join(_nextjs_boke_card(b, None) for b in bokes)
        + _pager_nextjs(path, page, total)
    )
    props = {"odai": odai_json(odai), "bokes": [boke_json(b) for b in bokes], "page": page, "totalPages": total}
    query = {"id": str(odai["id"])} | ({"page": str(page)} if page > 1 else {})
    return _nextjs_shell(f"お題番号 {odai['id']}", path, main, _next_data(props, "/odai/[id]", query))


def nextjs_boke(boke: dict, odai: dict) -> str:
    path = f"/boke/{boke['id']}"
    main = _nextjs_boke_card(boke, odai)
    props = {"boke": boke_json(boke, odai)}
    return _nextjs_shell(boke["text"][:30], path, main, _next_data(props, "/boke/[id]", {"id": str(boke["id"])}))


def nextjs_list(sort: str, title: str, entries: list[tuple[dict, dict]], page: int, total: int) -> str:
    path = f"/boke/{sort}"
    main = "<section>" + "".join(_nextjs_boke_card(b, o) for b, o in entries) + "</section>"
    main += _pager_nextjs(path, page, total)
    props = {
        "sort": sort,
        "bokes": [boke_json(b, o) for b, o in entries],
        "pagination": {"currentPage": page, "lastPage": total},
    }
    query = {"page": str(page)} if page > 1 else {}
    return _nextjs_shell(title, path, main, _next_data(props, f"/boke/{sort}", query))


def nextjs_home(entries: list[tuple[dict, dict]]) -> str:
    main = "<h2>ピックアップ</h2><section>" + "".join(_nextjs_boke_card(b, o) for b, o in entries) + "</section>"
    props = {"pickup": [boke_json(b, o) for b, o in entries]}
    return _nextjs_shell("写真で一言ボケて", "/", main, _next_data(props, "/", {}))


# --- 2016–2020 layout ------------------------------------------------------------------------


def _classic_shell(title: str, content: str) -> str:
    return f"""<!DOCTYPE html>
<html lang="ja">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{_e(title)} : {SITE}</title>
</head>
<body ng-app="bokete">
<nav class="navbar navbar-default"><div class="container">
  <a class="navbar-brand" href="/">ボケて</a>
  <ul class="nav navbar-nav"><li><a href="/boke/hot">注目</a></li><li><a href="/boke/legend">殿堂入り</a></li><li><a href="/login">ログイン</a></li></ul>
</div></nav>
<div class="container"><div class="row">
<div id="content" class="col-md-8">
{content}
</div>
</div></div>
</body>
</html>
"""


def _classic_photo(odai: dict) -> str:
    return (
        '  <div class="boke-photo"><div class="photo-content">'
        f'<a href="/odai/{odai["id"]}"><img src="{odai["photo"]}" alt="" width="{odai["width"]}" height="{odai["height"]}"></a>'
        "</div></div>\n"
    )


def _classic_boke(boke: dict) -> str:
    stamp = datetime.fromisoformat(boke["date"]).strftime("%Y-%m-%d %H:%M")
    href = f"/boke/{boke['id']}"
    return (
        f'  <a class="boke-text" href="{href}"><div>{_e(boke["text"])}</div></a>\n'
        '  <div class="boke-meta">\n'
        f'    <div class="boke-stars"><a href="{href}"><i class="fa fa-star"></i></a><a href="{href}">{boke["stars"]:,}</a></div>\n'
        f'    <div class="boke-information-label"><a href="{href}">{stamp}</a> {_e(boke["category"])}</div>\n'
        "  </div>\n"
    )


def classic_odai(odai: dict, bokes: list[dict], page: int, total: int) -> str:
    blocks = [f'<div class="boke">\n{_classic_photo(odai)}  <div class="odai-information">お題 by {_e(odai["by"])}</div>\n</div>']
    blocks += [f'<div class="boke">\n{_classic_boke(b)}</div>' for b in bokes]
    if total > 1:
        items = []
        for n in range(1, total + 1):
            href = f"/odai/{odai['id']}" + ("" if n == 1 else f"?page={n}")
            active = ' class="active"' if n == page else ""
            items.append(f'<li{active}><a href="{href}">{n}</a></li>')
        if page < total:
            items.append(f'<li><a href="/odai/{odai["id"]}?page={page + 1}" rel="next">次へ &raquo;</a></li>')
        blocks.append('<ul class="pagination">' + "".join(items) + "</ul>")
    return _classic_shell(f"お題番号{odai['id']}", "\n".join(blocks))


def classic_boke(boke: dict, odai: dict) -> str:
    return _classic_shell(boke["text"][:30], f'<div class="boke">\n{_classic_photo(odai)}{_classic_boke(boke)}</div>')


# --- 2013 XHTML layout -----------------------------------------------------------------------


def _xhtml_shell(title: str, content: str) -> str:
    return f"""<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"
          "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" lang="ja" xml:lang="ja">
 <head>
  <meta http-equiv="Content-Type" content="text/html; charset=utf-8" />
  <title>{_e(title)} : {SITE}</title>
 </head>
 <body>
  <div id="pagetop" class="wrap">
   <div id="header" class="fix"><h1><a href="/">{SITE}</a></h1>
    <ul><li><a href="/login">ログイン</a></li></ul></div>
   <div id="main_base" class="fix"><div class="main_container">
<h2>{_e(title)}</h2>
{content}
   </div></div>
  </div>
 </body>
</html>
"""


def _xhtml_entry(boke: dict, odai: dict) -> str:
    bid = boke["id"]
    return f"""<!-- BEGIN boke-entry -->
<div class="boke-entry ui-widget" id="boke-entry-{bid}">
<div class="photo">
  <a href="/odai/{odai["id"]}">
    <img src="{odai["photo"]}" alt="" style="width:{odai["width"]};height:{odai["height"]};" />
  </a>
  <p>お題 by {_e(odai["by"])}</p>
</div>
<p class="boke_read">{_e(boke["text"])}</p>
<p class="boke-entry-info">【{_e(boke["category"])}】 <a href="/boke/{bid}">{datetime.fromisoformat(boke["date"]).strftime("%Y/%m/%d")}</a></p>
<div class="accordion boke-entry-rating-info">
<span id="accordion-header-{bid}" class="accordion-header">
  <a href="/boke/{bid}#boke-permalink-rating">
  ★
  の合計&nbsp;<em>{boke["stars"]}</em>（{boke["votes"]}）</a>
</span>
</div>
</div>
<!-- END boke-entry -->
"""


def xhtml_odai(odai: dict, bokes: list[dict], page: int, total: int) -> str:
    content = "".join(_xhtml_entry(b, odai) for b in bokes)
    if total > 1:
        content += '<div id="pager-plusone">\n'
        if page > 1:
            prev = f"/odai/{odai['id']}" + ("" if page == 2 else f"?page={page - 1}")
            content += f'  <span class="pager-plusone-prev"><a href="{prev}">&laquo; 前</a></span>\n'
        content += f'  <span class="pager-plusone-current"><em>{page}</em></span>\n'
        if page < total:
            content += f'  <span class="pager-plusone-next"><a href="/odai/{odai["id"]}?page={page + 1}">次 &raquo;</a></span>\n'
        content += "</div>\n"
    return _xhtml_shell(f"お題番号{odai['id']}のボケ", content)


def xhtml_boke(boke: dict, odai: dict) -> str:
    return _xhtml_shell("ボケ", _xhtml_entry(boke, odai))
