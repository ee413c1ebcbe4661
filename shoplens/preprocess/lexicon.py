"""Bilingual (English/Chinese) attribute lexicon for fashion catalogs.

One table serves three stages: query understanding (parse "男士 黑色 运动鞋"
or "men black shoes" into gender/colour/type), judgments-from-attributes
(word a query in either language) and alignment training (attribute captions
in several wordings). Canonical values are the catalog's own English values
(`baseColour`, `gender`, ...) or, for product types, a singular noun derived
from titles ("Tshirts" -> "tshirt").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class Term:
    field: str  # "gender" | "colour" | "type" | "usage" | "season"
    value: str  # canonical English value
    en: tuple[str, ...]  # English surface forms (lower-case); en[0] is the preferred wording
    zh: tuple[str, ...]  # Chinese surface forms; zh[0] is the preferred wording


def _t(field: str, value: str, en: str, zh: str) -> Term:
    return Term(
        field,
        value,
        tuple(w.strip() for w in en.split("|") if w.strip()),
        tuple(w.strip() for w in zh.split("|") if w.strip()),
    )


GENDERS = (
    _t("gender", "Men", "men|men's|mens|man|male|gents|for men", "男士|男式|男款|男装|男性|男人|男"),
    _t(
        "gender", "Women", "women|women's|womens|woman|female|ladies|lady|for women", "女士|女式|女款|女装|女性|女人|女"
    ),
    _t("gender", "Boys", "boys|boy|boy's|boys'", "男童|男孩"),
    _t("gender", "Girls", "girls|girl|girl's|girls'", "女童|女孩"),
    _t("gender", "Unisex", "unisex", "中性|男女通用|情侣"),
)

COLOURS = (
    _t("colour", "Black", "black", "黑色|黑"),
    _t("colour", "Blue", "blue", "蓝色|蓝"),
    _t("colour", "White", "white", "白色|白"),
    _t("colour", "Grey", "grey|gray", "灰色|灰"),
    _t("colour", "Brown", "brown", "棕色|褐色|棕"),
    _t("colour", "Red", "red", "红色|红"),
    _t("colour", "Green", "green", "绿色|绿"),
    _t("colour", "Navy Blue", "navy blue|navy", "藏青色|海军蓝|藏蓝色|藏青|深蓝色|深蓝"),
    _t("colour", "Purple", "purple|violet", "紫色|紫"),
    _t("colour", "Pink", "pink", "粉色|粉红色|粉红|粉"),
    _t("colour", "Beige", "beige", "米色"),
    _t("colour", "Maroon", "maroon", "栗色|枣红色"),
    _t("colour", "Yellow", "yellow", "黄色|黄"),
    _t("colour", "Olive", "olive|olive green", "橄榄色|橄榄绿|军绿色"),
    _t("colour", "Silver", "silver", "银色|银"),
    _t("colour", "Steel", "steel", "钢色|钢灰色"),
    _t("colour", "Orange", "orange", "橙色|橘色|橙"),
    _t("colour", "Cream", "cream", "奶油色|乳白色"),
    _t("colour", "Gold", "gold|golden", "金色|黄金|金"),
    _t("colour", "Tan", "tan", "棕褐色|驼色"),
    _t("colour", "Multi", "multi|multicolour|multicolor|multi-colour", "多色|彩色|拼色"),
    _t("colour", "Charcoal", "charcoal", "炭灰色|深灰色"),
    _t("colour", "Khaki", "khaki", "卡其色|卡其"),
    _t("colour", "Magenta", "magenta", "洋红色|品红色"),
    _t("colour", "Copper", "copper", "铜色"),
    _t("colour", "Off White", "off white|off-white", "米白色|象牙白"),
    _t("colour", "Lavender", "lavender", "淡紫色|薰衣草色"),
    _t("colour", "Peach", "peach", "桃色|桃红色"),
    _t("colour", "Teal", "teal", "蓝绿色|水鸭色"),
    _t("colour", "Mustard", "mustard", "芥末黄|姜黄色"),
    _t("colour", "Turquoise Blue", "turquoise blue|turquoise", "绿松石色|湖蓝色"),
    _t("colour", "Bronze", "bronze", "古铜色"),
    _t("colour", "Coffee Brown", "coffee brown|coffee", "咖啡色"),
    _t("colour", "Taupe", "taupe", "灰褐色"),
    _t("colour", "Burgundy", "burgundy|wine", "酒红色|勃艮第红"),
    _t("colour", "Rust", "rust", "铁锈色|锈红色"),
    _t("colour", "Grey Melange", "grey melange|gray melange", "麻灰色"),
    _t("colour", "Sea Green", "sea green", "海绿色"),
    _t("colour", "Metallic", "metallic", "金属色"),
    _t("colour", "Mauve", "mauve", "淡紫红色"),
    _t("colour", "Nude", "nude", "裸色"),
    _t("colour", "Fluorescent Green", "fluorescent green|neon green", "荧光绿"),
    _t("colour", "Skin", "skin", "肤色"),
)

TYPES = (
    _t(
        "type",
        "tshirt",
        "tshirt|t-shirt|tee|t shirt|tshirts|t-shirts|tees|t shirts",
        "T恤|t恤|短袖|体恤|polo衫|短袖T恤",
    ),
    _t("type", "shirt", "shirt|shirts", "衬衫|衬衣"),
    _t("type", "top", "top|tops", "上衣"),
    _t("type", "kurta", "kurta|kurtas|kurti|kurtis", "库尔塔|印度长衫"),
    _t("type", "tunic", "tunic|tunics", "束腰上衣"),
    _t(
        "type",
        "shoes",
        "shoes|shoe|sneakers|sneaker|trainers|sports shoes|casual shoes|formal shoes|boots|loafers|derbys|brogues|platforms|peep toes|moccasins",  # noqa: E501
        "运动鞋|鞋子|皮鞋|球鞋|跑鞋|板鞋|休闲鞋|帆布鞋|靴子|鞋",
    ),
    _t("type", "sandals", "sandals|sandal", "凉鞋"),
    _t("type", "flip flops", "flip flops|flip-flops|flops|flip flop", "人字拖|夹脚拖"),
    _t("type", "flats", "flats|flat|ballerinas", "平底鞋"),
    _t("type", "heels", "heels|heel|pumps|stilettos", "高跟鞋"),
    _t("type", "wedges", "wedges|wedge", "坡跟鞋"),
    _t("type", "slippers", "slippers|slipper", "拖鞋"),
    _t("type", "sunglasses", "sunglasses|sunglass|shades", "太阳镜|墨镜"),
    _t("type", "wallet", "wallet|wallets", "钱包|皮夹"),
    _t("type", "jeans", "jeans|jean|denims", "牛仔裤"),
    _t("type", "socks", "socks|sock", "袜子|袜"),
    _t("type", "belt", "belt|belts", "腰带|皮带"),
    _t("type", "handbag", "handbag|handbags|hand bag", "手提包|手袋"),
    _t("type", "backpack", "backpack|backpacks|rucksack", "双肩包|背包"),
    _t("type", "clutch", "clutch|clutches", "手拿包"),
    _t("type", "bag", "bag|bags|laptop bag|messenger bag", "包|挎包|斜挎包|单肩包"),
    _t("type", "sweater", "sweater|sweaters|pullover|cardigan", "毛衣|针织衫|毛衫"),
    _t("type", "sweatshirt", "sweatshirt|sweatshirts|hoodie|hoodies", "卫衣"),
    _t("type", "jacket", "jacket|jackets|blazer|blazers", "夹克|外套"),
    _t("type", "watch", "watch|watches|wristwatch", "手表|腕表"),
    _t("type", "trousers", "trousers|trouser|pants|pant|chinos|cargos|cargo", "长裤|裤子|西裤|休闲裤"),
    _t("type", "track pants", "track pants|trackpants|joggers|tracksuits|tracksuit", "运动裤"),
    _t("type", "shorts", "shorts|short", "短裤"),
    _t("type", "capris", "capris|capri", "七分裤"),
    _t("type", "leggings", "leggings|legging", "打底裤|紧身裤"),
    _t("type", "skirt", "skirt|skirts", "半身裙|裙子"),
    _t("type", "dress", "dress|dresses", "连衣裙|裙"),
    _t("type", "briefs", "briefs|brief|panties|breifs|v-brief|v-briefs|hipsters", "内裤|三角裤"),
    _t("type", "trunks", "trunks|trunk|boxers|boxer", "平角裤|四角裤"),
    _t("type", "vest", "vest|vests|innerwear vest", "背心"),
    _t("type", "bra", "bra|bras", "文胸|胸罩"),
    _t("type", "cap", "cap|caps|hat|hats|beanie|beanies", "帽子|棒球帽|鸭舌帽"),
    _t("type", "tie", "tie|ties|necktie", "领带"),
    _t("type", "scarf", "scarf|scarves|muffler|mufflers|stole|stoles", "围巾|丝巾"),
    _t("type", "cufflinks", "cufflinks|cufflink", "袖扣"),
    _t("type", "jersey", "jersey|jerseys", "球衣"),
    _t("type", "perfume", "perfume|perfumes|fragrance|deodorant|deo", "香水|香氛"),
    _t("type", "gloves", "gloves|glove", "手套"),
    _t("type", "pouch", "pouch|pouches", "小袋"),
    _t("type", "stockings", "stockings|stocking|tights|tight", "丝袜|连裤袜"),
    _t("type", "umbrella", "umbrella|umbrellas", "雨伞|伞"),
    _t("type", "necklace", "necklace|necklaces|pendant|pendants", "项链|吊坠"),
    _t("type", "bracelet", "bracelet|bracelets|bangle|bangles", "手链|手镯"),
    _t("type", "earrings", "earrings|earring", "耳环|耳钉"),
)

USAGES = (
    _t("usage", "Casual", "casual", "休闲"),
    _t("usage", "Formal", "formal|office", "正装|商务"),
    _t("usage", "Sports", "sports|sport|running|gym", "运动"),
    _t("usage", "Ethnic", "ethnic|traditional", "民族风|民族"),
)

SEASONS = (
    _t("season", "Summer", "summer", "夏季|夏天|夏"),
    _t("season", "Winter", "winter", "冬季|冬天|冬"),
    _t("season", "Fall", "fall|autumn", "秋季|秋天|秋"),
    _t("season", "Spring", "spring", "春季|春天|春"),
)

ALL_TERMS: tuple[Term, ...] = GENDERS + COLOURS + TYPES + USAGES + SEASONS
FIELDS = ("gender", "colour", "type", "usage", "season")


@dataclass(frozen=True)
class Match:
    field: str
    value: str
    surface: str
    start: int
    end: int
    lang: str  # "en" | "zh"


@lru_cache(maxsize=1)
def _en_index() -> dict[tuple[str, ...], Term]:
    """English surface form (as a token tuple) -> term; later tables never override earlier ones."""
    idx: dict[tuple[str, ...], Term] = {}
    for term in ALL_TERMS:
        for w in term.en:
            idx.setdefault(tuple(_en_tokens(w)), term)
    return idx


@lru_cache(maxsize=1)
def _zh_forms() -> list[tuple[str, Term]]:
    forms = [(w, t) for t in ALL_TERMS for w in t.zh]
    forms.sort(key=lambda p: -len(p[0]))  # longest match first: 男童 before 男
    return forms


_EN_TOKEN = re.compile(r"[a-z0-9]+(?:['-][a-z0-9]+)*")


def _en_tokens(text: str) -> list[str]:
    return _EN_TOKEN.findall(text.lower())


def lookup(field: str, value: str) -> Term | None:
    for t in ALL_TERMS:
        if t.field == field and t.value.lower() == str(value).lower():
            return t
    return None


def parse(text: str) -> list[Match]:
    """Find lexicon terms in an English and/or Chinese query (longest match wins)."""
    matches: list[Match] = []
    if not text:
        return matches
    lower = text.lower()
    # English: greedy longest n-gram over word tokens, with character spans.
    spans = [(m.group(), m.start(), m.end()) for m in _EN_TOKEN.finditer(lower)]
    idx, maxlen = _en_index(), 3
    i = 0
    while i < len(spans):
        for n in range(min(maxlen, len(spans) - i), 0, -1):
            key = tuple(s[0] for s in spans[i : i + n])
            term = idx.get(key)
            if term is not None:
                start, end = spans[i][1], spans[i + n - 1][2]
                matches.append(Match(term.field, term.value, text[start:end], start, end, "en"))
                i += n
                break
        else:
            i += 1
    # Chinese: longest-first scan over CJK characters, not overlapping earlier matches.
    taken = [False] * len(text)
    for w, term in _zh_forms():
        start = text.find(w)
        while start != -1:
            end = start + len(w)
            if not any(taken[start:end]):
                for j in range(start, end):
                    taken[j] = True
                matches.append(Match(term.field, term.value, w, start, end, "zh"))
            start = text.find(w, end)
    matches.sort(key=lambda m: m.start)
    return matches


def product_type(title: str | None) -> str | None:
    """Canonical product type named in a title, preferring the last type word ("Nike Men Shoe Socks" -> socks)."""
    if not title:
        return None
    found = [m for m in parse(title) if m.field == "type" and m.lang == "en"]
    return found[-1].value if found else None


def wording(field: str, value: str, lang: str = "en") -> str:
    """The preferred surface form of a value in a language (falls back to the value itself)."""
    term = lookup(field, value)
    if term is None:
        return str(value).lower() if lang == "en" else str(value)
    forms = term.en if lang == "en" else term.zh
    return forms[0] if forms else str(value)


def to_english(text: str) -> str:
    """Replace Chinese lexicon terms by their English wording, keep the rest.

    Lets an English catalog's BM25 and English-leaning encoders serve Chinese
    queries ("男士黑色运动鞋" -> "men black shoes").
    """
    out, last = [], 0
    for m in parse(text):
        if m.lang != "zh":
            continue
        out.append(text[last : m.start])
        out.append(" " + wording(m.field, m.value, "en") + " ")
        last = m.end
    out.append(text[last:])
    return re.sub(r"\s+", " ", "".join(out)).strip()
