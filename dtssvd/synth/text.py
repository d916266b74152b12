"""Seeded Mandarin sentence generator (built-in vocabulary + grammar templates).

Sentences are produced as lists of *words* (so the AISHELL transcript can be word-segmented
with spaces) from a small vocabulary (~200 distinct characters), so a small ASR can learn the
character inventory while hundreds/thousands of distinct sentences can still be made.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

# --- vocabulary (by slot) -------------------------------------------------------------
VOCAB: Dict[str, Tuple[str, ...]] = {
    "PERSON": ("我", "你", "他", "她", "我们", "你们", "他们", "老师", "学生", "妈妈", "爸爸",
               "朋友", "医生", "小王", "老李", "孩子", "同学", "哥哥", "姐姐", "大家"),
    "TIME": ("今天", "明天", "昨天", "现在", "早上", "晚上", "下午", "周末", "去年", "明年", "每天"),
    "PLACE": ("学校", "公司", "家里", "公园", "北京", "上海", "市场", "医院", "图书馆",
              "车站",
              "海边", "山上", "城市", "饭店"),
    "VERB_OBJ": ("看", "买", "写", "读", "听", "吃", "喝", "学", "做", "找", "卖", "唱"),
    "OBJ": ("书", "电影", "音乐", "新闻", "水果", "米饭", "茶", "咖啡", "报告", "作业", "歌",
            "房子", "汽车", "衣服", "东西", "问题", "中文", "电脑"),
    "VERB_INTR": ("工作", "休息", "跑步", "唱歌", "跳舞", "回家", "开会", "上课", "睡觉", "出发",
                  "说话", "等人"),
    "ADJ": ("高兴", "快乐", "忙", "累", "好", "漂亮", "安静", "热闹", "冷", "热", "便宜",
            "重要", "简单", "有意思", "干净", "清楚"),
    "ADV": ("很", "非常", "真", "特别", "有点", "比较"),
    "NUM": ("一", "两", "三", "四", "五", "六", "七", "八", "九", "十", "几"),
    "MEAS": ("个", "本", "杯", "件", "首", "张"),
    "MOTION": ("去", "来", "到"),
    "NOUN_TOPIC": ("天气", "市场", "房价", "生活", "城市", "风景", "今年", "价格", "经济", "月亮",
                   "花", "春天", "夜晚", "心情", "世界"),
    "LYRIC_NOUN": ("月亮", "星星", "风", "雨", "花", "大海", "天空", "梦", "爱", "心", "春天",
                   "远方", "明天", "时光", "歌声"),
    "LYRIC_VERB": ("想", "爱", "等", "看", "听", "唱", "找", "忘"),
    "LYRIC_ADJ": ("美", "远", "长", "亮", "静", "好", "蓝", "红", "温柔", "自由"),
}

#: measure word that fits each object (default 个)
MEASURE_FOR: Dict[str, str] = {"书": "本", "茶": "杯", "咖啡": "杯", "衣服": "件", "歌": "首",
                               "报告": "个", "作业": "个", "问题": "个", "电影": "个",
                               "房子": "个", "汽车": "个", "东西": "个", "电脑": "个"}

# Templates: sequences of slots or literal words (literals prefixed with '=').
SPEECH_TEMPLATES: Tuple[Tuple[str, ...], ...] = (
    ("PERSON", "TIME", "=在", "PLACE", "VERB_OBJ", "OBJ"),
    ("TIME", "PERSON", "=要", "MOTION", "PLACE", "VERB_INTR"),
    ("PERSON", "=想", "VERB_OBJ", "NUM_MEAS_OBJ"),
    ("PLACE", "=的", "NOUN_TOPIC", "ADV", "ADJ"),
    ("TIME", "=的", "NOUN_TOPIC", "=不", "ADJ"),
    ("PERSON", "=觉得", "OBJ", "ADV", "ADJ"),
    ("PERSON", "=和", "PERSON", "=一起", "MOTION", "PLACE"),
    ("PERSON", "TIME", "=没有", "VERB_INTR"),
    ("PERSON", "=已经", "VERB_OBJ", "=了", "NUM_MEAS_OBJ"),
    ("=因为", "NOUN_TOPIC", "ADJ", "PERSON", "=不", "MOTION", "PLACE"),
    ("PERSON", "=在", "PLACE", "VERB_INTR", "=呢"),
    ("TIME", "PLACE", "=有", "ADV", "=多", "=人"),
    ("PERSON", "=说", "TIME", "=的", "NOUN_TOPIC", "ADJ"),
    ("PERSON", "=可以", "=在", "PLACE", "VERB_OBJ", "OBJ", "=吗"),
)
LYRIC_TEMPLATES: Tuple[Tuple[str, ...], ...] = (
    ("LYRIC_NOUN", "=那么", "LYRIC_ADJ"),
    ("=我", "LYRIC_VERB", "=你", "=在", "LYRIC_NOUN", "=里"),
    ("LYRIC_ADJ", "LYRIC_ADJ", "=的", "LYRIC_NOUN"),
    ("=我们", "=一起", "LYRIC_VERB", "LYRIC_NOUN"),
    ("LYRIC_NOUN", "=和", "LYRIC_NOUN", "=都", "=在", "LYRIC_VERB", "=你"),
    ("=你", "=是", "=我", "=的", "LYRIC_NOUN"),
    ("TIME", "=的", "LYRIC_NOUN", "ADV", "LYRIC_ADJ"),
    ("=不要", "LYRIC_VERB", "=我", "=的", "LYRIC_NOUN"),
    ("=让", "LYRIC_NOUN", "=带", "=我", "=去", "=远方"),
    ("LYRIC_NOUN", "=下", "=的", "=你", "ADV", "LYRIC_ADJ"),
)


@dataclass(frozen=True)
class Sentence:
    """A generated sentence: words (for the AISHELL transcript) and per-character pinyin."""

    words: Tuple[str, ...]
    pinyin: Tuple[str, ...]  # numbered pinyin per character, tone 1-5 (5 = neutral)

    @property
    def text(self) -> str:
        """The characters without spaces."""
        return "".join(self.words)

    @property
    def chars(self) -> Tuple[str, ...]:
        return tuple(self.text)


def to_pinyin(text: str) -> List[str]:
    """Numbered pinyin (``Style.TONE3``, neutral tone as 5, ü as v) per character."""
    try:
        from pypinyin import Style, lazy_pinyin
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RuntimeError("pypinyin is missing: pip install pypinyin") from exc
    syl = lazy_pinyin(text, style=Style.TONE3, neutral_tone_with_five=True, v_to_u=False)
    if len(syl) != len(text):
        raise ValueError(f"pinyin/character count mismatch for {text!r}: {syl}")
    return [s.lower() for s in syl]


def _expand(slot: str, rng: random.Random) -> List[str]:
    """Words for one template slot."""
    if slot.startswith("="):
        return [slot[1:]]
    if slot == "NUM_MEAS_OBJ":
        obj = rng.choice(VOCAB["OBJ"])
        return [rng.choice(VOCAB["NUM"]) + MEASURE_FOR.get(obj, "个"), obj]
    return [rng.choice(VOCAB[slot])]


def make_sentence(template: Sequence[str], rng: random.Random) -> Sentence:
    """Fill one template."""
    words: List[str] = []
    for slot in template:
        words.extend(_expand(slot, rng))
    text = "".join(words)
    return Sentence(tuple(words), tuple(to_pinyin(text)))


def make_sentences(n: int, seed: int, kind: str = "speech", max_chars: int = 16) -> List[Sentence]:
    """``n`` distinct sentences (deterministic for a seed); ``kind`` is ``speech`` or ``lyric``."""
    templates = SPEECH_TEMPLATES if kind == "speech" else LYRIC_TEMPLATES
    rng = random.Random(f"text-{kind}-{seed}")
    seen: Dict[str, Sentence] = {}
    tries = 0
    while len(seen) < n:
        tries += 1
        if tries > 200 * n + 1000:
            raise RuntimeError(f"could only make {len(seen)} distinct {kind} sentences (asked {n})")
        s = make_sentence(rng.choice(templates), rng)
        if len(s.text) <= max_chars and s.text not in seen:
            seen[s.text] = s
    return list(seen.values())


def split_disjoint(items: Sequence[Sentence], sizes: Sequence[int]) -> List[List[Sentence]]:
    """Cut a list into consecutive disjoint parts of the given sizes."""
    if sum(sizes) > len(items):
        raise ValueError(f"need {sum(sizes)} sentences, have {len(items)}")
    out, start = [], 0
    for size in sizes:
        out.append(list(items[start:start + size]))
        start += size
    return out


def character_inventory() -> List[str]:
    """All characters the grammar can produce (sorted)."""
    chars = set()
    for words in VOCAB.values():
        for w in words:
            chars.update(w)
    for templates in (SPEECH_TEMPLATES, LYRIC_TEMPLATES):
        for t in templates:
            for slot in t:
                if slot.startswith("="):
                    chars.update(slot[1:])
    chars.update(MEASURE_FOR.values())
    return sorted(chars)
