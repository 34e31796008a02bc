"""bokete layout adapters on a real 2013 page, hand-written 2016/Next.js fixtures and charset cases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from neta.boke.site import bokes_to_json_lines, parse_bokete, parse_bokete_file
from neta.boke.site.records import BOKE_COLUMNS
from neta.errors import NetaError

DATA = Path(__file__).resolve().parents[1] / "data" / "bokete"
CDN = "http://d2dcan0armyq93.cloudfront.net/photo/odai/400/"

# Read off boke_hot_2013.html by hand: (boke id, odai id, text, star total, raters, photo file).
REAL_2013 = [
    (11141771, 469179, "鼻に仕込んだピーナッツが絶望的な場所まで入りこんだ", 1324, 595,
     "e0e6f82aa21cf2a9df4878cdd87b257e_400.jpg"),
    (11141129, 469087,
     "空を自由に～飛～びた～いな～♪見たまえ！飛行石！(ﾁｬﾘｰﾝ！ｳｫﾝｳｫﾝｳｫﾝｳｫﾝ)ハッハッハ！ハッハッハッハ！",
     928, 398, "a212bc3753c21608bc617ca10bb9cd50_400.jpg"),
    (11142528, 469225, "むちゃぶり", 806, 373, "821d728817c40141c83f5965592ac27b_400.jpg"),
    (11141246, 469171, "蚊に刺された", 688, 327, "678ee319faaac3576d050cad33a20d6d_400.jpg"),
    (11142130, 468010, "本日は故人のために参列頂き まじあざっす", 672, 319, "de9cc96b40bd0d1c75db3ed5c16ec3e1_400.jpg"),
    (11140934, 469154,
     "「母さん、お元気ですか。今、\u3000\u3000方向オンチの父さんと旅行に\u3000来ています。おそらくあれが\u3000\u3000\u3000バッキンガム宮殿です」",
     584, 273, "db212272b8f21496ccc111681f255468_400.jpg"),
    (11142564, 469226, "「妊婦さんこの席どうぞ」/「ただのデブかい！」", 525, 249,
     "8f2abc0cd5ebc041beb822317363373b_400.jpg"),
    (11139975, 469122, "だーれd…", 445, 211, "c2c0715540b145faa33439632814cce5_400.jpg"),
    (11142488, 457656, "「あの、まだ似顔絵描き終わらないんですか？」", 428, 203,
     "0006a4b72728e8b13af63e9b6d0ec6c3_400.jpg"),
    (11145224, 468514, "ケートの結果、抱き枕にしたいのは絶", 407, 187, "05b4edf713b802db59a1416e3838ded1_400.jpg"),
]


def test_real_2013_page_gives_all_ten_bokes_exactly():
    url = "http://bokete.jp/boke/hot"
    page = parse_bokete((DATA / "boke_hot_2013.html").read_bytes(), url)
    assert page.layout == "xhtml2013"
    got = [(b.boke_id, b.odai_id, b.text, b.stars, b.votes, b.image_url) for b in page.items]
    assert got == [(i, o, t, s, v, CDN + f) for i, o, t, s, v, f in REAL_2013]
    assert all(b.date is None and b.source_url == url and b.layout == "xhtml2013" for b in page.items)
    assert "http://bokete.jp/boke/hot?page=2" in page.links
    assert "http://bokete.jp/odai/469179" in page.links and "http://bokete.jp/boke/11145224" in page.links
    # navigation, category, rating and user links are not worth crawling
    assert not [u for u in page.links if "/category/" in u or "/rating" in u or "/user/" in u or u.endswith("/odai")]


def test_classic2016_odai_page_thousands_separators_and_protocol_relative_photo():
    url = "https://bokete.jp/odai/2718281"
    page = parse_bokete_file(DATA / "classic2016_odai.html", url)
    assert page.layout == "classic2016"
    photo = "https://d2dcan0armyq93.cloudfront.net/photo/odai/600/3f1c9a0d2b7e4c58a6e1f0b9d8c7a654_600.jpg"
    assert [(b.boke_id, b.odai_id, b.text, b.stars, b.date) for b in page.items] == [
        (61803398, 2718281, "家賃の話はまた今度にしよう", 12345, "2016-05-12T21:03:00+09:00"),
        (61803421, 2718281, "今日から\nこの家の主は私です", 1234, "2017-01-03T08:15:00+09:00"),
        (61803577, 2718281, "\u3000缶詰の開け方を覚えた", 7, "2020-02-29T23:59:00+09:00"),
    ]
    assert {b.image_url for b in page.items} == {photo}
    assert all(b.votes is None for b in page.items)
    # the sidebar's div.boke is not a child of #content
    assert 50000001 not in {b.boke_id for b in page.items}
    assert "https://bokete.jp/odai/2718281?page=2" in page.links
    assert "https://bokete.jp/boke/61803421" in page.links
    assert not any("login" in u or "tag" in u or u.endswith("?page=1") for u in page.links)


def test_classic2016_list_page_each_block_has_its_own_odai():
    page = parse_bokete_file(DATA / "classic2016_legend.html", "http://bokete.jp/boke/legend")
    assert [(b.boke_id, b.odai_id, b.stars) for b in page.items] == [
        (31415926, 1414213, 104857), (27182818, 1732050, 9999)]
    assert page.items[0].image_url.startswith("http://d2dcan0armyq93.cloudfront.net/photo/odai/600/0a1b2c3d")
    assert page.items[1].image_url.startswith("https://d2dcan0armyq93.cloudfront.net/photo/odai/600/ffeedd")
    assert page.items[1].text == "「1,000円からお預かりします」"
    assert "http://bokete.jp/boke/legend?page=3" in page.links


def test_nextjs_odai_page_reads_next_data():
    url = "https://bokete.jp/odai/5772156"
    page = parse_bokete_file(DATA / "nextjs_odai.html", url)
    assert page.layout == "nextjs"
    photo = "https://d2dcan0armyq93.cloudfront.net/photo/odai/600/9d5ed678fe57bcca610140957afab571_600.jpg"
    assert [(b.boke_id, b.odai_id, b.text, b.stars, b.votes, b.image_url, b.date) for b in page.items] == [
        (102030405, 5772156, "この後めちゃくちゃ怒られた", 2048, 913, photo, "2023-04-01T09:30:00+09:00"),
        (102030999, 5772156, "「ここ、Wi-Fi飛んでます？」", 3, 2, photo, "2023-04-02T00:05:41+09:00"),
    ]
    assert "https://bokete.jp/odai/5772156?page=2" in page.links  # from page/totalPages in pageProps


def test_nextjs_list_page_with_nested_odais_and_pagination_object():
    page = parse_bokete_file(DATA / "nextjs_hot.html", "https://bokete.jp/boke/hot")
    assert [(b.boke_id, b.odai_id, b.stars, b.votes) for b in page.items] == [
        (110000001, 6000001, 1532, 640), (110000002, 6000002, 88, 40)]
    assert page.items[1].image_url.endswith("/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb_600.jpg")
    assert page.items[1].date == "2024-01-15T19:45:10+00:00"
    assert page.links[-1] == "https://bokete.jp/boke/hot?page=2"
    assert {"https://bokete.jp/odai/6000001", "https://bokete.jp/boke/110000002"} <= set(page.links)


def _next_page(props: dict) -> str:
    data = json.dumps({"props": {"pageProps": props}}, ensure_ascii=False)
    return ('<html><body><div id="__next"></div>'
            f'<script id="__NEXT_DATA__" type="application/json">{data}</script></body></html>')


def test_nextjs_missing_text_names_url_and_json_path():
    html = _next_page({"odai": {"id": 1, "photo": {"largeUrl": "/p.jpg"}}, "bokes": [
        {"id": 5, "odaiId": 1, "text": "ok", "rateSum": 1}, {"id": 6, "odaiId": 1, "rateSum": 2}]})
    with pytest.raises(NetaError,
                       match=r"https://bokete\.jp/odai/1: boke 6 at props\.pageProps\.bokes\[1\] has no 'text'"):
        parse_bokete(html, "https://bokete.jp/odai/1")


def test_nextjs_missing_id_and_missing_photo_are_errors():
    no_id = _next_page({"odai": {"id": 1, "photo": {"largeUrl": "/p.jpg"}},
                        "bokes": [{"odaiId": 1, "text": "x", "rateSum": 1}]})
    with pytest.raises(NetaError, match=r"props\.pageProps\.bokes\[0\] has no integer 'id'"):
        parse_bokete(no_id, "https://bokete.jp/odai/1")
    no_photo = _next_page({"boke": {"id": 7, "odaiId": 9, "text": "x", "rateSum": 1}})
    with pytest.raises(NetaError, match=r"refers to odai 9"):
        parse_bokete(no_photo, "https://bokete.jp/boke/7")


def test_nextjs_finds_bokes_wherever_pageprops_keeps_them():
    html = _next_page({"data": {"section": {"odaiDetail": {"id": 3, "photo": {"originalUrl": "//cdn.example/o.jpg"}},
                                            "popularBokes": [{"id": 8, "text": "深い所", "rateSum": 4}]}}})
    page = parse_bokete(html, "https://bokete.jp/odai/3")
    assert [(b.boke_id, b.odai_id, b.image_url) for b in page.items] == [(8, 3, "https://cdn.example/o.jpg")]


def test_unknown_layout_is_an_error_naming_the_url():
    with pytest.raises(NetaError, match=r"^https://bokete\.jp/maintenance: not a bokete page in any known layout"):
        parse_bokete_file(DATA / "unknown_layout.html", "https://bokete.jp/maintenance")


def _classic_page(charset_meta: str, text: str) -> str:
    return (f"<html><head>{charset_meta}<title>お題</title></head><body><div id='content'>"
            "<div class='boke'><div class='photo-content'>"
            "<a href='/odai/77'><img src='//img.example/77.jpg'></a></div></div>"
            f"<div class='boke'><a class='boke-text' href='/boke/78'><div>{text}</div></a>"
            "<div class='boke-stars'><a href='/boke/78'>2,001</a></div></div></div></body></html>")


@pytest.mark.parametrize(
    ("meta", "codec"),
    [
        ('<meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS">', "cp932"),
        ('<meta charset="EUC-JP">', "euc_jp"),
        ('<meta charset="utf-8">', "utf-8"),
    ],
)
def test_declared_japanese_charsets_decode(meta, codec):
    text = "ｶﾀｶﾅと漢字～「表」ソ①" if codec == "cp932" else "ｶﾀｶﾅと漢字「表」ソ"
    raw = _classic_page(meta, text).encode(codec)
    if codec != "utf-8":
        assert raw != _classic_page(meta, text).encode("utf-8")  # the bytes really are in that charset
    page = parse_bokete(raw, "https://bokete.jp/odai/77")
    assert [(b.boke_id, b.odai_id, b.text, b.stars) for b in page.items] == [(78, 77, text, 2001)]


def test_json_lines_one_record_a_boke_in_column_order():
    page = parse_bokete_file(DATA / "boke_hot_2013.html", "http://bokete.jp/boke/hot")
    lines = bokes_to_json_lines(page).splitlines()
    assert len(lines) == 10
    first = json.loads(lines[0])
    assert list(first) == BOKE_COLUMNS
    assert first["boke_id"] == 11141771 and first["votes"] == 595
    assert "鼻に仕込んだ" in lines[0]  # UTF-8 text, not \u escapes


def test_file_without_url_resolves_against_canonical_or_bokete():
    page = parse_bokete_file(DATA / "classic2016_odai.html")
    assert page.items[0].source_url.startswith("file://")
    assert page.items[0].image_url.startswith("https://d2dcan0armyq93.cloudfront.net/")
    assert "https://bokete.jp/odai/2718281?page=2" in page.links
    assert "https://bokete.jp/odai/2718281" not in page.links  # the page itself


def test_missing_file_is_a_neta_error(tmp_path):
    with pytest.raises(NetaError, match="cannot read"):
        parse_bokete_file(tmp_path / "nope.html")
