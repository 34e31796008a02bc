"""Caption datasets in their real on-disk formats, tiny, written into a test's folder.

The photos are sample photos bundled with scikit-image, saved as JPEG; the captions were written for
these tests (Japanese bokes for the cans and bokes.csv, English for COCO and Karpathy). Each writer
returns what ``prepare_captions`` takes for that dataset.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

import numpy as np
import skimage.data
from PIL import Image

CAN_COLUMNS = ["id", "odai_id", "odai_photo_id", "odai_photo_url", "odai_user_id", "odai_photo_by",
               "boke_user_id", "text", "category", "posted_at", "rate_sum", "rate_count", "labels"]
BOKE_COLUMNS = ["boke_id", "odai_id", "text", "stars", "votes", "image_url", "date", "source_url", "layout"]
MANIFEST_COLUMNS = ["url", "sha256", "path", "bytes", "width", "height", "status", "error"]
PHOTOS = ("coffee", "astronaut", "chelsea", "rocket", "cat")


def photo_jpeg(name: str, size: int = 96) -> bytes:
    """JPEG bytes of a bundled sample photo, longest side ``size``."""
    pixels = getattr(skimage.data, name)()
    if name == "cat":
        pixels = pixels[:, ::-1]  # skimage's cat() is chelsea(); mirrored it is a photo of its own
    image = Image.fromarray(np.ascontiguousarray(pixels)).convert("RGB")
    image.thumbnail((size, size))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def _save(path: Path, name: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(photo_jpeg(name))
    return path


# (photo, [(text, rate_sum, rate_count, labels)]): one odai a photo. Bokes of one photo are spread
# over the file as in a real can, one text is full-width (NFKC), one boke is an image-only (empty) one.
CAN_BOKES = [
    ("coffee", [("このコーヒー、俺の給料より熱い", 12, 5, "あるある/食べ物"),
                ("社長が淹れたので飲むしかない", 30, 9, "会社"), ("泡で描いたのは上司の顔です", 30, 8, "")]),
    ("astronaut", [("月面で有給申請中", 45, 12, "シュール"), ("地球に忘れ物をした", 7, 3, ""),
                   ("ＮＡＳＡ　から　電話が　来た", 18, 6, "宇宙")]),
    ("chelsea", [("会議、もう終わりました？", 60, 20, "動物/猫"), ("", 2, 1, "")]),
    ("rocket", [("遅刻しそうなので本気を出した", 25, 7, "乗り物"), ("ただの通勤です", 9, 4, "")]),
    ("cat", [("左向きの俺も悪くない", 14, 6, "動物/猫"), ("鏡の中の自分に説教中", 3, 2, "動物")]),
]


def write_boke_can(folder, name: str = "blue_000") -> Path:
    """A boke can ``folder/name``: boke.csv (the 13 columns, labels joined by "/") and images/*.jpg."""
    can = Path(folder) / name
    rows = []
    for number, (photo, bokes) in enumerate(CAN_BOKES):
        odai_id, photo_id = 4000 + number, 880000 + number
        url = f"https://photos.bokete.example/photo/odai/600/{photo_id}_600.jpg?updated=2019"
        _save(can / "images" / f"{photo_id}_600.jpg", photo)
        for k, (text, rate_sum, rate_count, labels) in enumerate(bokes):
            rows.append([10_000 * (k + 1) + number, odai_id, photo_id, url, 500 + number, f"user{number}",
                         700 + k, text, "", f"2016-0{number + 1}-1{k} 12:00:00", rate_sum, rate_count, labels])
    rows.sort(key=lambda row: row[0])  # by boke id: a photo's bokes are not adjacent
    can.mkdir(parents=True, exist_ok=True)
    with open(can / "boke.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CAN_COLUMNS)
        writer.writerows(rows)
    return can


def can_photo(can: Path, odai_number: int) -> Path:
    """The image file of the ``odai_number``-th odai of a :func:`write_boke_can` can."""
    return Path(can) / "images" / f"{880000 + odai_number}_600.jpg"


COCO_CAPTIONS = {
    "train2014": [("coffee", ["A cup of coffee on a saucer.", "Coffee with latte art in a white cup",
                              "a hot drink sits on a plate next to a spoon"]),
                  ("astronaut", ["An astronaut poses in front of a flag.", "A woman in a space suit smiling."]),
                  ("rocket", ["A rocket stands on the launch pad.", "A space shuttle ready for launch",
                              "The rocket is next to a tall tower."])],
    "val2014": [("chelsea", ["An orange cat looks to the side.", "A tabby cat sitting indoors"]),
                ("cat", ["A cat with stripes looks at the camera.", "A small cat's face close up"])],
}


def write_coco(folder) -> dict:
    """annotations/captions_{train,val}2014.json and images/{train,val}2014/COCO_<split>_<id:012>.jpg."""
    folder = Path(folder)
    image_id, note_id = 0, 100
    for split, photos in COCO_CAPTIONS.items():
        images, notes = [], []
        for photo, captions in photos:
            image_id += 1
            file_name = f"COCO_{split}_{image_id:012d}.jpg"
            _save(folder / "images" / split / file_name, photo)
            images.append({"license": 3, "file_name": file_name,
                           "coco_url": f"http://images.cocodataset.org/{split}/{file_name}", "height": 64,
                           "width": 96, "date_captured": "2013-11-14 16:28:13",
                           "flickr_url": f"http://farm4.staticflickr.com/{image_id}.jpg", "id": image_id})
            for caption in captions:
                note_id += 7
                notes.append({"image_id": image_id, "id": note_id, "caption": caption})
        notes = notes[::2] + notes[1::2]  # interleaved, as in the real files
        obj = {"info": {"description": "test fixture", "year": 2014}, "images": images,
               "licenses": [{"url": "http://creativecommons.org/licenses/by/2.0/", "id": 3, "name": "by"}],
               "type": "captions", "annotations": notes}
        (folder / "annotations").mkdir(parents=True, exist_ok=True)
        (folder / "annotations" / f"captions_{split}.json").write_text(json.dumps(obj), encoding="utf-8")
    return {"coco_annotations": [folder / "annotations" / f"captions_{s}.json" for s in COCO_CAPTIONS],
            "coco_images": folder / "images"}


KARPATHY_IMAGES = [("train2014", "coffee", "train"), ("train2014", "astronaut", "restval"),
                   ("val2014", "chelsea", "val"), ("val2014", "cat", "test"), ("train2014", "rocket", "train")]


def write_karpathy(folder) -> dict:
    """dataset_coco.json (images[].filepath, filename, split, sentences[].raw/tokens) and images/<filepath>/."""
    folder = Path(folder)
    captions = {photo: texts for photos in COCO_CAPTIONS.values() for photo, texts in photos}
    entries, sentence_id = [], 0
    for number, (filepath, photo, split) in enumerate(KARPATHY_IMAGES):
        cocoid = 9000 + number
        filename = f"COCO_{filepath}_{cocoid:012d}.jpg"
        _save(folder / "images" / filepath / filename, photo)
        sentences = []
        for raw in captions[photo]:
            tokens = [word.strip(".,").lower() for word in raw.split()]
            sentences.append({"tokens": tokens, "raw": raw, "imgid": number, "sentid": sentence_id})
            sentence_id += 1
        entries.append({"filepath": filepath, "sentids": [s["sentid"] for s in sentences], "filename": filename,
                        "imgid": number, "split": split, "sentences": sentences, "cocoid": cocoid})
    path = folder / "dataset_coco.json"
    path.write_text(json.dumps({"images": entries, "dataset": "coco"}), encoding="utf-8")
    return {"karpathy_file": path, "karpathy_images": folder / "images"}


def write_bokete(folder) -> dict:
    """bokes.csv as the scrape stage writes it and images/manifest.csv as the download stage does,
    content-addressed files included; the last odai's photo failed to download."""
    folder = Path(folder)
    images = folder / "images"
    bokes, manifest = [], []
    for number, (photo, texts) in enumerate(CAN_BOKES[:4]):
        url = f"http://snapshot.bokete.test/photo/{number + 1}.jpg"
        if number < 3:
            data = photo_jpeg(photo)
            sha = hashlib.sha256(data).hexdigest()
            _save(images / f"{sha}.jpg", photo)
            width, height = Image.open(io.BytesIO(data)).size
            manifest.append([url, sha, f"{sha}.jpg", len(data), width, height, "ok", ""])
        else:
            manifest.append([url, "", "", "", "", "", "http_error", "HTTP 404"])
        for k, (text, stars, votes, _labels) in enumerate(texts):
            boke_id = 100 * (number + 1) + k
            bokes.append([boke_id, number + 1, text, stars, votes, url, "2016-01-01",
                          f"http://snapshot.bokete.test/boke/{boke_id}", "nextjs"])
    for path, header, rows in ((folder / "bokes.csv", BOKE_COLUMNS, bokes),
                               (images / "manifest.csv", MANIFEST_COLUMNS, manifest)):
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)
    return {"bokes_csv": folder / "bokes.csv", "bokete_manifest": images / "manifest.csv"}


OOGIRI_FIRST_ID = 5651380


def oogiri_photo(images: Path, number: int) -> Path:
    """The picture of the ``number``-th odai of a :func:`write_oogiri_go` folder."""
    return Path(images) / f"{OOGIRI_FIRST_ID + number}.jpg"


def write_oogiri_go(folder) -> dict:
    """jp.jsonl as Oogiri-GO's Japanese part is laid out, and images/<id>.jpg.

    The I2T answers are the CAN_BOKES bokes (star their rate_sum), a picture's answers spread over the
    file; ``image`` is the id without its extension, as in the public files, once the whole file name.
    Besides: a T2T item (no picture), an IT2T item (a picture of its own), an I2T answer whose star is
    null, and a blank last line.
    """
    folder = Path(folder)
    images = folder / "images"
    items = []
    for number, (photo, bokes) in enumerate(CAN_BOKES):
        _save(oogiri_photo(images, number), photo)
        for text, rate_sum, *_ in bokes:
            items.append({"type": "I2T", "question": None, "image": str(OOGIRI_FIRST_ID + number), "text": text,
                          "star": rate_sum})
    items[1]["image"] = oogiri_photo(images, 0).name
    items.append({"type": "I2T", "question": None, "image": str(OOGIRI_FIRST_ID + 4),
                  "text": "猫の集会、議題は晩ごはん", "star": None})
    items = items[::2] + items[1::2]
    items.insert(3, {"type": "T2T", "question": None, "image": None, "text": "校長の話が三秒で終わった", "star": 40})
    speech = images / "7100001.png"
    Image.open(io.BytesIO(photo_jpeg("coffee", 80))).save(speech)  # a picture of its own, not a JPEG
    items.insert(6, {"type": "IT2T", "question": "「ちょっと、それ俺の（　）」", "image": "7100001",
                     "text": "プリンです", "star": 11})
    path = folder / "jp.jsonl"
    path.write_text("".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items) + "\n",
                    encoding="utf-8")
    return {"file": path, "images": images}
