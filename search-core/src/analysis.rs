//! Text analysis shared by indexing and querying: normalisation, code folding, stemming,
//! transliteration and keyboard-layout repair.
//!
//! Everything here is a pure function over strings, so the same analysis runs on documents and
//! on queries and is unit-tested without an index.

use rust_stemmers::{Algorithm, Stemmer};
use std::sync::OnceLock;

/// Lowercases and folds `ё` to `е`.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            'Ё' | 'ё' => out.push('е'),
            c => push_lower(&mut out, c),
        }
    }
    out
}

/// Appends the lowercase form of `c`; ASCII and the Russian alphabet without the Unicode
/// tables, which dominate tokenizing otherwise.
#[inline]
fn push_lower(out: &mut String, c: char) {
    match c {
        'A'..='Z' => out.push(c.to_ascii_lowercase()),
        _ if c.is_ascii() => out.push(c),
        // А..Я → а..я is a fixed offset in Unicode.
        'А'..='Я' => out.push(char::from_u32(c as u32 + 0x20).unwrap_or(c)),
        'а'..='я' => out.push(c),
        _ => out.extend(c.to_lowercase()),
    }
}

/// `char::is_alphanumeric` with fast paths for ASCII and the Russian alphabet.
#[inline]
pub fn is_word_char(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric()
    } else {
        // `Ø` as catalogs write it is the diameter sign (`Ø1,2 мм`), not a letter.
        matches!(c, 'а'..='я' | 'А'..='Я' | 'ё' | 'Ё')
            || (c.is_alphanumeric() && !matches!(c, 'Ø' | 'ø'))
    }
}

/// Maps a Cyrillic letter that looks like a Latin one to that Latin letter (lowercase input).
fn lookalike(c: char) -> char {
    match c {
        'а' => 'a',
        'в' => 'b',
        'е' | 'ё' => 'e',
        'к' => 'k',
        'м' => 'm',
        'н' => 'h',
        'о' => 'o',
        'р' => 'p',
        'с' => 'c',
        'т' => 't',
        'х' => 'x',
        'у' => 'y',
        _ => c,
    }
}

/// Folds a part number or model code to a canonical key: lowercase alphanumerics only, with
/// Cyrillic look-alikes mapped to Latin, so `6205-2RS`, `6205 2rs` and `62052RS` meet and
/// `16К20` (Cyrillic К) equals `16K20`.
pub fn fold_code(text: &str) -> String {
    let mut lower = String::with_capacity(text.len());
    for c in text.chars().filter(|c| is_word_char(*c)) {
        push_lower(&mut lower, c);
    }
    // Lowercasing can yield non-alphanumerics (combining marks); keep the old filter after it.
    lower
        .chars()
        .filter(|c| is_word_char(*c))
        .map(lookalike)
        .collect()
}

/// Russian names of Latin letters, as a code read aloud is typed (`аку 400` for `AQ400`,
/// `эмвэ 1200` for `MV1200`). The one-letter vowels stand for themselves.
const LETTER_NAMES: &[(&str, char)] = &[
    ("а", 'a'),
    ("бэ", 'b'),
    ("би", 'b'),
    ("цэ", 'c'),
    ("си", 'c'),
    ("дэ", 'd'),
    ("ди", 'd'),
    ("е", 'e'),
    ("э", 'e'),
    ("эф", 'f'),
    ("гэ", 'g'),
    ("джи", 'g'),
    ("аш", 'h'),
    ("эйч", 'h'),
    ("и", 'i'),
    ("ай", 'i'),
    ("джей", 'j'),
    ("ка", 'k'),
    ("кей", 'k'),
    ("эл", 'l'),
    ("эль", 'l'),
    ("эм", 'm'),
    ("эн", 'n'),
    ("о", 'o'),
    ("пэ", 'p'),
    ("пи", 'p'),
    ("ку", 'q'),
    ("кью", 'q'),
    ("эр", 'r'),
    ("эс", 's'),
    ("тэ", 't'),
    ("ти", 't'),
    ("у", 'u'),
    ("ю", 'u'),
    ("вэ", 'v'),
    ("ви", 'v'),
    ("икс", 'x'),
    ("игрек", 'y'),
    ("уай", 'y'),
    ("зэт", 'z'),
    ("зет", 'z'),
    ("зед", 'z'),
];

/// The Latin codes a code read aloud letter by letter may stand for (`аку400` → `aq400`):
/// every Cyrillic run of `word` parsed whole into letter names (see `LETTER_NAMES`), other
/// characters kept. At most 8, none when a run does not parse or `word` has no Cyrillic.
pub fn letter_names_to_latin(word: &str) -> Vec<String> {
    const MAX: usize = 8;
    let norm = normalize(word);
    if !norm.chars().any(is_cyrillic) || norm.chars().count() > 16 {
        return Vec::new();
    }
    let mut outs = vec![String::new()];
    let chars: Vec<char> = norm.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if !is_cyrillic(chars[i]) {
            outs.iter_mut().for_each(|o| o.push(chars[i]));
            i += 1;
            continue;
        }
        let end = (i..chars.len())
            .find(|&j| !is_cyrillic(chars[j]))
            .unwrap_or(chars.len());
        let run: String = chars[i..end].iter().collect();
        let spelled = spell_letters(&run, MAX);
        if spelled.is_empty() {
            return Vec::new();
        }
        outs = outs
            .iter()
            .flat_map(|o| spelled.iter().map(move |s| format!("{o}{s}")))
            .take(MAX)
            .collect();
        i = end;
    }
    outs
}

/// Every way (up to `max`) to read `run` whole as a sequence of letter names.
fn spell_letters(run: &str, max: usize) -> Vec<String> {
    if run.is_empty() {
        return vec![String::new()];
    }
    let mut out = Vec::new();
    for (name, latin) in LETTER_NAMES {
        if let Some(rest) = run.strip_prefix(name) {
            for tail in spell_letters(rest, max) {
                if out.len() == max {
                    return out;
                }
                out.push(format!("{latin}{tail}"));
            }
        }
    }
    out
}

/// Designations equivalent to a folded code under ГОСТ ↔ ISO conventions for bearings and
/// belt profiles (`3182118` = `NN3018K`, `180205` = `6205-2RS`, ГОСТ `7205` = `30205`,
/// belt `Б-1600` = `B-1600`, `УБ` = `SPB`). Returned folded; the code itself is not included.
pub fn code_equivalents(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let digits = code.chars().all(|c| c.is_ascii_digit());
    if digits {
        match code.len() {
            // 31821xx: double-row cylindrical roller, tapered bore = NN30xxK.
            7 if code.starts_with("31821") => out.push(format!("nn30{}k", &code[5..])),
            // 1802xx / 1803xx: two rubber seals = 62xx-2RS / 63xx-2RS.
            6 if code.starts_with("180") => {
                out.push(format!("6{}2rs", &code[3..]));
            }
            // 802xx: two shields = 62xx-2Z.
            5 if code.starts_with("80") => out.push(format!("6{}2z", &code[2..])),
            // 362xx / 462xx: angular contact = 72xxC / 72xxAC.
            5 if code.starts_with("36") => out.push(format!("7{}c", &code[2..])),
            5 if code.starts_with("46") => out.push(format!("7{}ac", &code[2..])),
            // ГОСТ 72xx / 73xx tapered roller = 302xx / 303xx (ISO 72xx is angular contact,
            // which the code itself still finds).
            4 if code.starts_with("72") || code.starts_with("73") => {
                out.push(format!("30{}", &code[1..]));
            }
            _ => {}
        }
    }
    // Belt profiles, as folded (У→y, А→a, В→b): УБ = SPB, УА = SPA, УВ = SPC, Б = B.
    // (Cyrillic В = C folds like Latin B and cannot be told apart here.)
    for (ru, iso) in [("yб", "spb"), ("ya", "spa"), ("yb", "spc"), ("б", "b")] {
        if let Some(rest) = code.strip_prefix(ru) {
            if rest.chars().next().is_some_and(|c| c.is_ascii_digit()) {
                out.push(format!("{iso}{rest}"));
            }
        }
    }
    out
}

/// True for tokens that are codes rather than words: they contain a digit.
pub fn is_code_like(token: &str) -> bool {
    token.chars().any(|c| c.is_ascii_digit())
}

/// A letter of the Cyrillic block.
pub fn is_cyrillic(c: char) -> bool {
    matches!(c, '\u{0400}'..='\u{04FF}')
}

/// Units that people glue to numbers (`380В`, `2,2кВт`, `1000мм`).
fn is_unit(s: &str) -> bool {
    matches!(
        normalize(s).as_str(),
        "в" | "вт"
            | "квт"
            | "мм"
            | "см"
            | "м"
            | "а"
            | "ма"
            | "гц"
            | "кг"
            | "г"
            | "л"
            | "мкм"
            | "нм"
            | "об"
            | "бар"
            | "v"
            | "w"
            | "kw"
            | "mm"
            | "cm"
            | "a"
            | "hz"
            | "kg"
            | "bar"
            | "um"
    )
}

/// Splits `380В` into `380` and `В` when the letters are a unit; other runs stay whole.
fn split_unit<'a>(start: usize, word: &'a str, out: &mut Vec<(usize, usize, &'a str)>) {
    let digits_end = word
        .char_indices()
        .find(|&(i, c)| !c.is_ascii_digit() && !is_decimal_mark(word, i))
        .map_or(word.len(), |(i, _)| i);
    if digits_end > 0 && digits_end < word.len() && is_unit(&word[digits_end..]) {
        out.push((start, start + digits_end, &word[..digits_end]));
        out.push((start + digits_end, start + word.len(), &word[digits_end..]));
    } else {
        out.push((start, start + word.len(), word));
    }
}

/// A `,` or `.` at byte `i` of `text` between two digits: the mark of a decimal fraction
/// (`1,2`, `0.75`), part of the number.
fn is_decimal_mark(text: &str, i: usize) -> bool {
    let b = text.as_bytes();
    matches!(b.get(i), Some(b',' | b'.'))
        && i > 0
        && b[i - 1].is_ascii_digit()
        && b.get(i + 1).is_some_and(|c| c.is_ascii_digit())
}

/// The integer and fraction digits of a decimal fraction, digits on both sides of one mark
/// (`2,5`, `0.75`); `None` for any other word.
fn decimal_parts(word: &str) -> Option<(&str, &str)> {
    let (int, frac) = word.split_once([',', '.'])?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    (digits(int) && digits(frac)).then_some((int, frac))
}

/// Splits text into alphanumeric runs with their byte offsets. A decimal fraction is one run
/// (`Ø1,2 мм` has the word `1,2`, not `1` and `2`), so that a query's `2` is not met by it.
pub fn split_words(text: &str) -> Vec<(usize, usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        if is_word_char(c) || (start.is_some() && is_decimal_mark(text, i)) {
            if start.is_none() {
                start = Some(i);
            }
        } else if let Some(s) = start.take() {
            split_unit(s, &text[s..i], &mut out);
        }
    }
    if let Some(s) = start {
        split_unit(s, &text[s..], &mut out);
    }
    out
}

fn stemmers() -> &'static (Stemmer, Stemmer) {
    static S: OnceLock<(Stemmer, Stemmer)> = OnceLock::new();
    S.get_or_init(|| {
        (
            Stemmer::create(Algorithm::Russian),
            Stemmer::create(Algorithm::English),
        )
    })
}

/// The index term for one word: codes are folded, Cyrillic words get the Russian Snowball
/// stemmer, other words the English one.
pub fn term_for_word(word: &str) -> String {
    let norm = normalize(word);
    if let Some((int, frac)) = decimal_parts(&norm) {
        // One spelling for both marks and without trailing zeros (`5.0` is `5`, `2,50` is
        // `2,5`); never folded into the integer of its digits (`2,5` is not `25`).
        let frac = frac.trim_end_matches('0');
        return if frac.is_empty() {
            int.to_string()
        } else {
            format!("{int},{frac}")
        };
    }
    if is_code_like(&norm) {
        return fold_code(&norm);
    }
    // Stemming is the costliest step of analysis and a catalog's vocabulary is small, so each
    // thread remembers its stems (a pure function: a cached stem is always right).
    thread_local! {
        static STEMS: std::cell::RefCell<std::collections::HashMap<String, String>> =
            std::cell::RefCell::new(std::collections::HashMap::new());
    }
    const MAX_CACHED_STEMS: usize = 200_000;
    STEMS.with(|cache| {
        if let Some(stem) = cache.borrow().get(&norm) {
            return stem.clone();
        }
        let (ru, en) = stemmers();
        let stem = if norm.chars().any(is_cyrillic) {
            ru.stem(&norm).into_owned()
        } else {
            en.stem(&norm).into_owned()
        };
        let mut cache = cache.borrow_mut();
        if cache.len() >= MAX_CACHED_STEMS {
            cache.clear();
        }
        cache.insert(norm, stem.clone());
        stem
    })
}

/// Analyses a text into `(start, end, term)` triples.
pub fn analyze(text: &str) -> Vec<(usize, usize, String)> {
    split_words(text)
        .into_iter()
        .map(|(s, e, w)| (s, e, term_for_word(w)))
        .filter(|(_, _, t)| !t.is_empty())
        .collect()
}

/// A Russian word with an adjective's ending in any case (`клиновой`, `главного`,
/// `линейных`, `шарико-винтовая`), not a verbal noun in `-ние`/`-тие` (`уплотнение`).
pub fn is_adjective(norm_word: &str) -> bool {
    const ENDINGS: &[&str] = &[
        "ый", "ий", "ой", "ая", "яя", "ое", "ее", "ые", "ие", "ого", "его", "ому", "ему", "ым",
        "им", "ую", "юю", "ых", "их", "ыми", "ими",
    ];
    let w = norm_word.rsplit('-').next().unwrap_or(norm_word);
    w.chars().count() >= 4
        && w.chars().all(is_cyrillic)
        && !w.ends_with("ние")
        && !w.ends_with("тие")
        && ENDINGS.iter().any(|e| w.ends_with(e))
}

/// Combining forms that begin Russian technical compounds (`сервомотор`, `гидронасос`,
/// `шарикоподшипник`, `фильтроэлемент`): what follows names the thing itself.
const COMBINING_FORMS: &[&str] = &[
    "электро",
    "гидро",
    "пневмо",
    "серво",
    "шарико",
    "ролико",
    "термо",
    "вибро",
    "мото",
    "фото",
    "фильтро",
    "энерго",
    "тепло",
    "масло",
    "водо",
    "турбо",
    "радио",
    "вакуум",
    // Abbreviated compounds: `техобслуживание`, `техпаспорт` (not `технический`, see below).
    "тех",
];

/// The term of a compound's last part, for a word of the form combining form + a word of at
/// least five letters (`сервомотор` → the term of `мотор`), so that a card's `Сервомотор`
/// also answers a query for a `мотор`. `None` for any other word.
pub fn compound_tail_term(word: &str) -> Option<String> {
    let norm = normalize(word);
    let tail = COMBINING_FORMS
        .iter()
        .find_map(|form| norm.strip_prefix(form))?;
    if tail.chars().count() < 5 || !tail.chars().all(is_cyrillic) {
        return None;
    }
    // `техн…` (`технический`, `технолог`) is one word, not `тех` + a word.
    if norm.starts_with("техн") {
        return None;
    }
    let term = term_for_word(tail);
    (!term.is_empty()).then_some(term)
}

/// Russian and English words that carry no meaning in a catalog query.
pub fn is_stopword(norm_word: &str) -> bool {
    matches!(
        norm_word,
        "для"
            | "на"
            | "и"
            | "в"
            | "с"
            | "к"
            | "по"
            | "под"
            | "от"
            | "из"
            | "до"
            | "или"
            // The same prepositions typed in Latin letters (`podshipnik dlya 1k62`, `uci na 2
            // osi`); single letters are left out, they are model pieces too (`DMC 635 V`).
            | "dlya"
            | "na"
            | "po"
            | "pod"
            | "ot"
            | "iz"
            | "ili"
            | "the"
            | "for"
            | "of"
            | "a"
            | "an"
            | "and"
            | "with"
            | "to"
            | "on"
            | "in"
            | "купить"
            | "куплю"
            | "цена"
            | "цены"
            | "стоимость"
            | "заказать"
            | "продажа"
            | "недорого"
            | "наличии"
            | "buy"
            | "price"
            // Words asking for an equivalent name a relation, not the item: the codes and
            // their cross-references carry the search ("подшипник 3182118 импортный аналог").
            | "аналог"
            | "аналоги"
            | "аналога"
            | "замена"
            | "замену"
            | "импортный"
            | "импортные"
            | "импортного"
            | "equivalent"
            | "replacement"
            | "substitute"
    )
}

/// Words that ask for a machine itself rather than its parts.
pub fn is_machine_word(norm_word: &str) -> bool {
    const STEMS: &[&str] = &[
        "станок",
        "станк",
        "станоч",
        "machine",
        "lathe",
        "центр",
        "center",
        "centre",
        "пресс",
        "press",
        "листогиб",
    ];
    STEMS.iter().any(|s| norm_word.starts_with(s))
}

/// Words naming a type of machine (`токарного`, `фрезерный`, `milling`): after "для"/"for"
/// they say which machine a part is for, not what the part is.
pub fn is_machine_type_word(norm_word: &str) -> bool {
    const STEMS: &[&str] = &[
        "токарн",
        "фрезерн",
        "шлифовальн",
        "сверлильн",
        "расточн",
        "пильн",
        "ленточнопильн",
        "листогибочн",
        "обрабатывающ",
        "электроэрозионн",
        "универсальн",
        "координатн",
        "вертикальн",
        "горизонтальн",
        "milling",
        "grinding",
        "drilling",
        "boring",
        "turning",
    ];
    STEMS.iter().any(|s| norm_word.starts_with(s))
}

/// Power written in the other unit the catalog may use: `370 Вт` → `0,37 кВт`, `1500W` →
/// `1,5 кВт`, `0,75 кВт` → `750 Вт`. Returns (the words as written, the alternative), for each
/// power in the text. Catalog cards write kilowatts with a decimal comma.
pub fn power_alternatives(text: &str) -> Vec<(String, String)> {
    fn number(s: &str) -> Option<f64> {
        if s.is_empty()
            || !s
                .chars()
                .all(|c| c.is_ascii_digit() || c == ',' || c == '.')
        {
            return None;
        }
        s.replace(',', ".").parse().ok()
    }
    fn unit(s: &str) -> Option<bool> {
        // true = kilowatts
        match s.to_lowercase().trim_end_matches('.') {
            "вт" | "w" | "ватт" => Some(false),
            "квт" | "kw" => Some(true),
            _ => None,
        }
    }
    fn format_kw(v: f64) -> String {
        let s = format!("{v:.3}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        s.replace('.', ",")
    }
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let w = words[i];
        let split = w
            .char_indices()
            .find(|(_, c)| c.is_alphabetic())
            .map(|(at, _)| w.split_at(at));
        let (value, kw, written) = match split {
            Some((n, u)) if !n.is_empty() => match (number(n), unit(u)) {
                (Some(v), Some(k)) => (v, k, w.to_string()),
                _ => {
                    i += 1;
                    continue;
                }
            },
            _ => match (number(w), words.get(i + 1).and_then(|u| unit(u))) {
                (Some(v), Some(k)) => {
                    i += 1;
                    (v, k, format!("{w} {}", words[i]))
                }
                _ => {
                    i += 1;
                    continue;
                }
            },
        };
        i += 1;
        let alt = if kw {
            (value < 10.0 && value > 0.0).then(|| format!("{} Вт", (value * 1000.0).round()))
        } else {
            (value >= 100.0).then(|| format!("{} кВт", format_kw(value / 1000.0)))
        };
        if let Some(alt) = alt {
            out.push((written, alt));
        }
    }
    out
}

/// A unit of measure as typed after a number, in its canonical form and the factor to it
/// (`кВт` → watts × 1000, `м` → millimetres × 1000).
fn quantity_unit(unit: &str) -> Option<(&'static str, f64)> {
    Some(match unit {
        "мм" | "mm" => ("mm", 1.0),
        "см" | "cm" => ("mm", 10.0),
        "м" | "m" | "метр" | "метра" | "метров" => ("mm", 1000.0),
        "вт" | "w" | "ватт" => ("w", 1.0),
        "квт" | "kw" => ("w", 1000.0),
        "в" | "v" | "вольт" => ("v", 1.0),
        "а" | "a" | "ампер" => ("a", 1.0),
        "об/мин" | "rpm" => ("rpm", 1.0),
        "л/мин" | "l/min" | "lpm" => ("lpm", 1.0),
        "н·м" | "нм" | "н*м" | "nm" | "n·m" | "n*m" => ("nm", 1.0),
        "мкм" | "микрон" | "микрона" | "микронов" | "micron" | "microns" | "um" | "µm" | "μm" => {
            ("um", 1.0)
        }
        "т" | "t" | "тонн" | "тонны" | "ton" | "tons" => ("t", 1.0),
        "кг" | "kg" => ("kg", 1.0),
        "бар" | "bar" => ("bar", 1.0),
        "мпа" | "mpa" => ("mpa", 1.0),
        "гц" | "hz" => ("hz", 1.0),
        "л" | "l" | "литр" | "литра" | "литров" => ("l", 1.0),
        "см³/об" | "см3/об" | "см³" | "см3" | "cm³" | "cm3" | "cm³/rev" | "cm3/rev" => {
            ("cm3", 1.0)
        }
        "°" | "град" | "deg" => ("deg", 1.0),
        "ква" | "kva" => ("kva", 1.0),
        "м/с" | "m/s" => ("ms", 1.0),
        _ => return None,
    })
}

/// The unit an attribute key names by its last `_` part (`power_kw`, `length_mm`), with the
/// canonical form and factor of [`quantity_unit`].
pub fn attribute_unit(key: &str) -> Option<(&'static str, f64)> {
    let suffix = key.rsplit('_').next()?;
    if suffix == key {
        return None;
    }
    match suffix {
        // Metres per second (`max_speed_ms`); typed text writes `м/с`, and `ms` there would
        // read as milliseconds.
        "ms" => Some(("ms", 1.0)),
        "mm" | "m" | "kw" | "w" | "v" | "a" | "rpm" | "lpm" | "nm" | "um" | "t" | "kg" | "bar"
        | "mpa" | "hz" | "l" | "cm3" | "deg" | "kva" => quantity_unit(suffix),
        _ => None,
    }
}

/// The token of a quantity: the value in the canonical unit, then the unit (`2200w`, `15mm`).
pub fn quantity_token(value: f64, unit: &str) -> Option<String> {
    if !value.is_finite() || value <= 0.0 {
        return None;
    }
    let rounded = (value * 10_000.0).round() / 10_000.0;
    let mut s = format!("{rounded:.4}");
    while s.ends_with('0') {
        s.pop();
    }
    if s.ends_with('.') {
        s.pop();
    }
    Some(format!("{s}{unit}"))
}

/// True when `text` is one quantity and nothing else (`380В`, `2,2 кВт`, `40A`): a value the
/// query states, not a part number.
pub fn is_quantity(text: &str) -> bool {
    let t = normalize(text);
    let t = t.trim();
    let digits = t
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_digit() || *c == ',' || *c == '.'))
        .map_or(t.len(), |(i, _)| i);
    digits > 0
        && t[..digits]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit())
        && quantity_unit(t[digits..].trim_start()).is_some()
}

/// Quantities written in `text` (a number, then a unit, with or without a space between), as
/// canonical tokens: `2,2 кВт` and `2200 W` are both `2200w`, `1500 об/мин` is `1500rpm`,
/// `3 м` is `3000mm`. Numbers inside codes (`IM3081`, `2М55`, `25x52x15`) are not quantities.
pub fn quantities(text: &str) -> Vec<String> {
    let mut t: Vec<char> = normalize(text).chars().collect();
    // The numbers of a size (`400 x 1600 мм`) are not quantities on their own.
    for (start, end, _) in size_spans(&t) {
        for c in &mut t[start..end] {
            *c = ' ';
        }
    }
    let is_unit_char = |c: char| c.is_alphabetic() || matches!(c, '/' | '·' | '*' | '³' | '°');
    let mut out = Vec::new();
    let mut i = 0;
    while i < t.len() {
        let Some((number, end)) = number_at(&t, i) else {
            i += 1;
            continue;
        };
        i = end;
        let mut j = skip_spaces(&t, i);
        let unit_start = j;
        while j < t.len() && is_unit_char(t[j]) {
            j += 1;
        }
        // The unit must end the word: `2м55` is a code, not two metres.
        if j < t.len() && t[j].is_ascii_digit() {
            continue;
        }
        let unit: String = t[unit_start..j].iter().collect();
        let unit = unit.trim_end_matches(['/', '*', '·']);
        if let (Ok(value), Some((canon, factor))) = (number.parse::<f64>(), quantity_unit(unit)) {
            if let Some(tok) = quantity_token(value * factor, canon) {
                if !out.contains(&tok) {
                    out.push(tok);
                }
            }
        }
    }
    out
}

/// A number at `t[i..]` (digits, then an optional decimal part after `,` or `.`), not glued to
/// a word before it: its text with `.` as the decimal point, and where it ends.
fn number_at(t: &[char], i: usize) -> Option<(String, usize)> {
    if i >= t.len()
        || !t[i].is_ascii_digit()
        || (i > 0 && (is_word_char(t[i - 1]) || t[i - 1] == '.'))
    {
        return None;
    }
    let mut j = i;
    while j < t.len() && t[j].is_ascii_digit() {
        j += 1;
    }
    if j + 1 < t.len() && matches!(t[j], ',' | '.') && t[j + 1].is_ascii_digit() {
        j += 1;
        while j < t.len() && t[j].is_ascii_digit() {
            j += 1;
        }
    }
    Some((t[i..j].iter().collect::<String>().replace(',', "."), j))
}

fn skip_spaces(t: &[char], mut i: usize) -> usize {
    while i < t.len() && matches!(t[i], ' ' | '\u{a0}') {
        i += 1;
    }
    i
}

/// The separator of a size at `t[i..]` (`x`, `х`, `×`, `*`, or the word `на`): where what
/// follows it starts.
fn size_separator(t: &[char], i: usize) -> Option<usize> {
    let j = skip_spaces(t, i);
    let after = match t.get(j)? {
        'x' | 'х' | '×' | '*' => j + 1,
        'н' if t.get(j + 1) == Some(&'а') && j > i && t.get(j + 2) == Some(&' ') => j + 2,
        _ => return None,
    };
    let k = skip_spaces(t, after);
    t.get(k).filter(|c| c.is_ascii_digit()).map(|_| k)
}

/// Sizes written as two or three numbers (`1250x320`, `320 х 1250 мм`, `1250 на 320`,
/// `600x63x305`) with the character spans they cover. The token holds the numbers largest
/// first, so the order they are written in does not matter: `size1250x320`.
fn size_spans(t: &[char]) -> Vec<(usize, usize, String)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < t.len() {
        let Some((first, end)) = number_at(t, i) else {
            i += 1;
            continue;
        };
        let mut numbers = vec![first];
        let mut j = end;
        while numbers.len() < 3 {
            let Some(k) = size_separator(t, j) else { break };
            // The next number starts right after the separator (`x320` is glued to it).
            let glued_ok = k > 0 && !is_word_char(t[k - 1]);
            let next = if glued_ok {
                number_at(t, k)
            } else {
                let mut e = k;
                while e < t.len() && t[e].is_ascii_digit() {
                    e += 1;
                }
                Some((t[k..e].iter().collect::<String>(), e))
            };
            let Some((n, e)) = next else { break };
            numbers.push(n);
            j = e;
        }
        // A size ends the word: `25x52x15` is one, `2x3A` is not.
        if numbers.len() >= 2 && !(j < t.len() && is_word_char(t[j]) && !t[j].is_ascii_digit()) {
            let values: Vec<f64> = numbers.iter().filter_map(|n| n.parse().ok()).collect();
            if values.len() == numbers.len() {
                if let Some(token) = size_token(&values) {
                    out.push((i, j, token));
                    i = j;
                    continue;
                }
            }
        }
        i = end;
    }
    // A ring's two diameters named, in any order and apart (`внутренний 35 наружный 62`,
    // `внутренний диаметр 35 мм, наружный 62 мм`): the size `62x35`, as a ring's attributes
    // state it.
    let inner = labelled_number(t, "внутрен");
    let outer = labelled_number(t, "наружн");
    if let (Some((s1, e1, d)), Some((s2, e2, big))) = (inner, outer) {
        let free = |s: usize, e: usize| out.iter().all(|(a, b, _)| e <= *a || s >= *b);
        if free(s1, e1) && free(s2, e2) {
            if let Some(token) = size_token(&[big, d]) {
                out.push((s1, e1, token.clone()));
                out.push((s2, e2, token));
                out.sort_by_key(|x| x.0);
            }
        }
    }
    out
}

/// The size token of two or three positive numbers, largest first: `size1250x320`.
pub fn size_token(values: &[f64]) -> Option<String> {
    if !values.iter().all(|v| v.is_finite() && *v > 0.0) {
        return None;
    }
    let mut values = values.to_vec();
    values.sort_by(|a, b| b.total_cmp(a));
    let parts: Vec<String> = values
        .iter()
        .filter_map(|v| quantity_token(*v, ""))
        .collect();
    (parts.len() == values.len()).then(|| format!("size{}", parts.join("x")))
}

/// The number a word starting with `label` names (`внутренний 35`, `наружный диаметр: 62 мм`,
/// `внутр. d 35`): the first number after the label with at most the word `диаметр` (or `d`,
/// `ø`) and punctuation between; its span and value.
fn labelled_number(t: &[char], label: &str) -> Option<(usize, usize, f64)> {
    let label: Vec<char> = label.chars().collect();
    let mut i = 0;
    while i + label.len() <= t.len() {
        let starts_word = i == 0 || !is_word_char(t[i - 1]);
        if !(starts_word && t[i..i + label.len()] == label[..]) {
            i += 1;
            continue;
        }
        let mut j = i + label.len();
        while j < t.len() && (is_word_char(t[j]) || t[j] == '.') {
            j += 1;
        }
        let mut fillers = 0;
        loop {
            while j < t.len() && matches!(t[j], ' ' | '\u{a0}' | ':' | '=' | ',' | '-' | '.') {
                j += 1;
            }
            if let Some((n, e)) = number_at(t, j) {
                return n.parse().ok().map(|v| (j, e, v));
            }
            let w = j;
            while j < t.len() && (is_word_char(t[j]) || t[j] == 'ø') {
                j += 1;
            }
            let word: String = t[w..j].iter().collect();
            let filler = word.starts_with("диам") || matches!(word.as_str(), "d" | "ø");
            fillers += 1;
            if !filler || fillers > 2 {
                break;
            }
        }
        i += 1;
    }
    None
}

/// Sizes a text states (see [`size_spans`]): `стол 1250 на 320` is `size1250x320`.
pub fn sizes(text: &str) -> Vec<String> {
    let t: Vec<char> = normalize(text).chars().collect();
    let mut out: Vec<String> = Vec::new();
    for (_, _, token) in size_spans(&t) {
        if !out.contains(&token) {
            out.push(token);
        }
    }
    out
}

/// Axis travels a text states, as tokens `travelx400`: a machine's `Ходы X/Y/Z 400/300/250 мм`
/// (the axes and the numbers paired in order) and an axis letter before a number of two to
/// four digits (`X400`, `Y 300`, `Z=250`). Not where the letter is a multiplication sign
/// (`400 x 1600`) or part of a word or code (`X6332M`, `HX400`).
pub fn travels(text: &str) -> Vec<String> {
    let t: Vec<char> = normalize(text).chars().collect();
    let axis = |c: char| matches!(c, 'x' | 'y' | 'z');
    let mut out: Vec<String> = Vec::new();
    for i in 0..t.len() {
        if !axis(t[i]) || (i > 0 && (t[i - 1].is_alphanumeric() || t[i - 1] == '/')) {
            continue;
        }
        // Not a multiplication sign: no number just before the letter.
        let before = t[..i].iter().rev().find(|c| **c != ' ');
        if before.is_some_and(|c| c.is_ascii_digit()) {
            continue;
        }
        let mut axes = vec![t[i]];
        let mut j = i + 1;
        while j + 1 < t.len() && t[j] == '/' && axis(t[j + 1]) {
            axes.push(t[j + 1]);
            j += 2;
        }
        if j < t.len() && t[j].is_alphabetic() {
            continue;
        }
        while j < t.len() && matches!(t[j], ' ' | '=' | ':') {
            j += 1;
        }
        let mut values: Vec<String> = Vec::new();
        loop {
            let start = j;
            while j < t.len() && t[j].is_ascii_digit() {
                j += 1;
            }
            if !(2..=4).contains(&(j - start)) {
                values.clear();
                break;
            }
            values.push(t[start..j].iter().collect());
            if j + 1 < t.len() && t[j] == '/' && t[j + 1].is_ascii_digit() {
                j += 1;
            } else {
                break;
            }
        }
        // The number ends there: no decimal part, no letters glued to it but a unit.
        let glued: String = t[j..].iter().take_while(|c| c.is_alphanumeric()).collect();
        let decimal = j + 1 < t.len() && matches!(t[j], ',' | '.') && t[j + 1].is_ascii_digit();
        let unit = glued.is_empty() || glued == "мм" || glued == "mm";
        if values.len() != axes.len() || decimal || !unit {
            continue;
        }
        for (a, v) in axes.iter().zip(&values) {
            let token = format!("travel{a}{}", v.trim_start_matches('0'));
            if !out.contains(&token) {
                out.push(token);
            }
        }
    }
    out
}

/// Tool tapers a text names, as tokens: the steep 7:24 taper by family and number
/// (`ISO 40`, `SK40`, `DIN 69871 SK 40` and `7:24 №40` are `taperiso40`, `BT40` is
/// `taperbt40`, `CAT40` `tapercat40`), `HSK-A63` `taperhska63`, Morse tapers (`КМ5`, `конус
/// Морзе 5`, `MT5`) `taperkm5`. A bare `конус 40` names the number alone, `taper40`; with
/// `generic` every family token also yields that one, so a card's `ISO 40` meets it.
pub fn tapers(text: &str, generic: bool) -> Vec<String> {
    let norm = normalize(text);
    let words: Vec<&str> = norm
        .split(|c: char| !(c.is_alphanumeric() || c == ':' || c == '№'))
        .filter(|w| !w.is_empty())
        .collect();
    let mut out = Vec::new();
    let push = |family: &str, n: &str, out: &mut Vec<String>| {
        let n = n.trim_start_matches('№');
        if n.is_empty() || !n.chars().all(|c| c.is_ascii_digit()) {
            return;
        }
        out.push(format!("taper{family}{n}"));
        if generic && family != "km" && !family.starts_with("hsk") {
            out.push(format!("taper{n}"));
        }
    };
    let steep = |n: &str| matches!(n.trim_start_matches('№'), "30" | "40" | "45" | "50" | "60");
    for (i, w) in words.iter().enumerate() {
        let next = words.get(i + 1).copied().unwrap_or("");
        // A family glued to its number (`sk40`, `bt30`, `iso50`, `км5`, `hsk63a`).
        let split = w.find(|c: char| c.is_ascii_digit()).unwrap_or(w.len());
        let (head, tail) = w.split_at(split);
        let family = match head {
            "iso" | "исо" | "sk" | "ск" => Some("iso"),
            "bt" => Some("bt"),
            "cat" => Some("cat"),
            "км" | "km" | "mt" | "mk" => Some("km"),
            "морзе" | "morse" => Some("km"),
            "hsk" => Some("hsk"),
            _ => None,
        };
        let Some(family) = family else {
            // `7:24 №40`, `конус 40`, `конус шпинделя 40`.
            if *w == "7:24" && steep(next) {
                push("iso", next, &mut out);
            } else if w.starts_with("конус") {
                let n = if steep(next) || next.starts_with('№') {
                    next
                } else if next.starts_with("шпинд") {
                    words.get(i + 2).copied().unwrap_or("")
                } else {
                    ""
                };
                if steep(n) {
                    out.push(format!("taper{}", n.trim_start_matches('№')));
                }
            }
            continue;
        };
        let number = if tail.is_empty() { next } else { tail };
        if family == "hsk" {
            // `hsk-a63`, `hsk a 63`, `hsk63a`, `hsk-63`.
            let rest: String = if tail.is_empty() {
                let mut r = next.to_string();
                if r.len() == 1 {
                    r.push_str(words.get(i + 2).copied().unwrap_or(""));
                }
                r
            } else {
                tail.to_string()
            };
            let letter = rest
                .chars()
                .find(|c| c.is_ascii_alphabetic())
                .unwrap_or('a');
            let n: String = rest.chars().filter(|c| c.is_ascii_digit()).collect();
            if !n.is_empty() {
                out.push(format!("taperhsk{letter}{n}"));
            }
        } else if family == "km" {
            if number.len() == 1 && number.chars().all(|c| c.is_ascii_digit()) {
                push("km", number, &mut out);
            }
        } else if steep(number) {
            push(family, number, &mut out);
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Words that only say "parts" without naming which.
pub fn is_generic_parts_word(norm_word: &str) -> bool {
    const STEMS: &[&str] = &[
        "запчаст",
        "запасн",
        "расходник",
        "комплектующ",
        "parts",
        "part",
        "spare",
        "component",
        "consumable",
    ];
    STEMS.iter().any(|s| norm_word.starts_with(s))
}

/// A noun naming a collection of things (`комплект`, `набор`): a need it heads is named by
/// what follows it (`набор для обслуживания`, `комплект цифровой индикации`).
pub fn is_collective_noun(norm_word: &str) -> bool {
    const STEMS: &[&str] = &["комплект", "набор"];
    STEMS
        .iter()
        .any(|s| norm_word.starts_with(s) && !is_generic_parts_word(norm_word))
}

/// Re-types a word typed on the Latin keyboard layout while meaning Russian (`yfcjc` → `насос`).
pub fn layout_en_to_ru(word: &str) -> String {
    const EN: &str = "qwertyuiop[]asdfghjkl;'zxcvbnm,.`";
    const RU: &str = "йцукенгшщзхъфывапролджэячсмитьбюё";
    word.chars()
        .map(|c| {
            let lc = c.to_ascii_lowercase();
            match EN.chars().position(|e| e == lc) {
                Some(i) => RU.chars().nth(i).unwrap_or(c),
                None => c,
            }
        })
        .collect()
}

/// Transliterates Latin-typed Russian to Cyrillic (`podshipnik` → `подшипник`, `shvp` → `швп`).
pub fn translit_lat_to_cyr(word: &str) -> String {
    const MULTI: &[(&str, &str)] = &[
        ("shch", "щ"),
        ("sch", "щ"),
        ("zh", "ж"),
        ("kh", "х"),
        ("ts", "ц"),
        ("ch", "ч"),
        ("sh", "ш"),
        ("yu", "ю"),
        ("ya", "я"),
        ("yo", "е"),
        ("iy", "ий"),
        ("yy", "ый"),
        ("oy", "ой"),
        ("ey", "ей"),
        ("ay", "ай"),
        ("uy", "уй"),
    ];
    let lower = word.to_lowercase();
    let mut out = String::new();
    let mut rest = lower.as_str();
    'outer: while !rest.is_empty() {
        for (lat, cyr) in MULTI {
            if let Some(r) = rest.strip_prefix(lat) {
                // A `y` before a vowel starts the next syllable (`ayu` is `аю`, not `айу`:
                // `vrashchayushchiysya`), so a vowel + `y` pair is `й` only before a consonant.
                if lat.len() == 2
                    && lat.ends_with('y')
                    && r.starts_with(['a', 'e', 'i', 'o', 'u', 'y'])
                {
                    continue;
                }
                out.push_str(cyr);
                rest = r;
                continue 'outer;
            }
        }
        let c = rest.chars().next().unwrap_or(' ');
        let mapped = match c {
            'a' => "а",
            'b' => "б",
            'v' | 'w' => "в",
            'g' => "г",
            'd' => "д",
            'e' => "е",
            'z' => "з",
            'i' => "и",
            'j' => "й",
            'k' | 'q' => "к",
            'l' => "л",
            'm' => "м",
            'n' => "н",
            'o' => "о",
            'p' => "п",
            'r' => "р",
            's' => "с",
            't' => "т",
            'u' => "у",
            'f' => "ф",
            'h' => "х",
            'c' => "ц",
            'y' => "ы",
            'x' => "кс",
            _ => "",
        };
        if mapped.is_empty() {
            out.push(c);
        } else {
            out.push_str(mapped);
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// Transliterates Cyrillic to Latin the way brand names are usually written (`хаас` → `haas`).
pub fn translit_cyr_to_lat(word: &str) -> String {
    let mut out = String::new();
    for c in normalize(word).chars() {
        let s = match c {
            'а' => "a",
            'б' => "b",
            'в' => "v",
            'г' => "g",
            'д' => "d",
            'е' => "e",
            'ж' => "zh",
            'з' => "z",
            'и' => "i",
            'й' => "y",
            'к' => "k",
            'л' => "l",
            'м' => "m",
            'н' => "n",
            'о' => "o",
            'п' => "p",
            'р' => "r",
            'с' => "s",
            'т' => "t",
            'у' => "u",
            'ф' => "f",
            'х' => "h",
            'ц' => "ts",
            'ч' => "ch",
            'ш' => "sh",
            'щ' => "sch",
            'ы' => "y",
            'э' => "e",
            'ю' => "yu",
            'я' => "ya",
            'ъ' | 'ь' => "",
            _ => {
                out.push(c);
                continue;
            }
        };
        out.push_str(s);
    }
    out
}

/// Edit distance allowed for a fuzzy match of a word: none for short words, codes and numbers.
pub fn fuzzy_distance(word: &str) -> u8 {
    if is_code_like(word) {
        return 0;
    }
    match word.chars().count() {
        0..=4 => 0,
        5..=8 => 1,
        _ => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adjectives_by_their_endings() {
        for w in [
            "клиновой",
            "главного",
            "линейных",
            "шарико-винтовая",
            "радиальный",
        ] {
            assert!(is_adjective(w), "{w}");
        }
        for w in [
            "ремень",
            "подшипник",
            "уплотнение",
            "покрытие",
            "муфта",
            "шпинделя",
            "swiss",
        ] {
            assert!(!is_adjective(w), "{w}");
        }
    }

    #[test]
    fn codes_read_aloud_letter_by_letter() {
        assert_eq!(letter_names_to_latin("аку400"), ["aq400"]);
        assert!(letter_names_to_latin("эмвэ1200").contains(&"mv1200".to_string()));
        assert!(letter_names_to_latin("эйчэсКа-63").contains(&"hsk-63".to_string()));
        // A run that is no sequence of letter names, and a Latin code, give nothing.
        assert!(letter_names_to_latin("подшипник6205").is_empty());
        assert!(letter_names_to_latin("aq400").is_empty());
    }

    #[test]
    fn a_compound_answers_for_its_last_part() {
        let tail = |w: &str| compound_tail_term(w);
        assert_eq!(tail("Сервомотор"), Some(term_for_word("мотор")));
        assert_eq!(
            tail("гидрораспределителя"),
            Some(term_for_word("распределителя"))
        );
        assert_eq!(tail("шарикоподшипник"), Some(term_for_word("подшипник")));
        // Too short a remainder is no word of its own (`электрошкаф`, `автомат`), a word that
        // only begins like a combining form is none, and codes are left alone.
        assert_eq!(tail("электрошкаф"), None);
        assert_eq!(tail("мотор"), None);
        assert_eq!(tail("гидро"), None);
        assert_eq!(tail("электро5000"), None);
        assert_eq!(tail("подшипник"), None);
        // Abbreviated compounds of `тех`, but not the words that merely begin with it.
        assert_eq!(tail("техобслуживания"), Some(term_for_word("обслуживания")));
        assert_eq!(tail("техническое"), None);
        assert_eq!(tail("технологический"), None);
    }

    #[test]
    fn sizes_meet_in_any_order_and_notation() {
        let table = vec!["size1250x320".to_string()];
        assert_eq!(sizes("стол 1250x320"), table);
        assert_eq!(sizes("стол 320 х 1250 мм"), table);
        assert_eq!(sizes("рабочий стол 1250 на 320"), table);
        assert_eq!(sizes("table 320×1250"), table);
        assert_eq!(
            sizes("Шлифовальный круг 1 600x63x305 25А"),
            vec!["size600x305x63"]
        );
        assert_eq!(sizes("сальник 70x90x10"), vec!["size90x70x10"]);
        assert_eq!(sizes("кольцо 38x5 и 1,5x2"), vec!["size38x5", "size2x1.5"]);
        // A ring's diameters named apart are its size too.
        let ring = vec!["size62x35".to_string()];
        assert_eq!(sizes("подшипник внутренний 35 наружный 62"), ring);
        assert_eq!(sizes("наружный диаметр: 62 мм, внутренний 35 мм"), ring);
        assert_eq!(
            sizes("Размеры: внутренний диаметр 35 мм, наружный 62 мм, ширина 14 мм"),
            ring
        );
        assert!(sizes("внутренний 35").is_empty());
        assert!(sizes("наружный 62 и внутренний паз").is_empty());
        assert!(quantities("внутренний 35 мм наружный 62 мм").is_empty());
        // Codes and other numbers are not sizes.
        assert!(sizes("M12x1.5 6205-2RS HGH20CA 2x3A").is_empty());
        assert!(sizes("листогиб 130 т на 3 м, 2 шт").is_empty());
        // The numbers of a size are not lengths of their own.
        assert!(quantities("стол 400 x 1600 мм").is_empty());
        assert_eq!(quantities("ремень 1600 мм"), vec!["1600mm"]);
    }

    #[test]
    fn axis_travels_meet_between_a_query_and_a_machine() {
        assert_eq!(
            travels("Ходы X/Y/Z 400/300/250 мм; проволока 0,1–0,3 мм"),
            vec!["travelx400", "travely300", "travelz250"]
        );
        assert_eq!(travels("электроэрозия вырезная X400"), vec!["travelx400"]);
        assert_eq!(
            travels("ход Y 300 мм, Z=250"),
            vec!["travely300", "travelz250"]
        );
        // Multiplication signs, codes, decimals and unpaired lists are not travels.
        assert!(travels("стол 400 x 1600 мм").is_empty());
        assert!(travels("фреза HX400 X6332M X40000").is_empty());
        assert!(travels("x 400,5").is_empty());
        assert!(travels("X/Y 400/300/250").is_empty());
    }

    #[test]
    fn tapers_meet_across_notations() {
        assert_eq!(tapers("ISO 40", false), vec!["taperiso40"]);
        assert_eq!(tapers("SK40", false), vec!["taperiso40"]);
        assert_eq!(tapers("конус ISO-50", false), vec!["taperiso50"]);
        assert_eq!(
            tapers("7:24 №50 (ISO 50)", true),
            vec!["taper50", "taperiso50"]
        );
        assert_eq!(tapers("BT40", true), vec!["taper40", "taperbt40"]);
        assert_eq!(tapers("конус шпинделя 40", false), vec!["taper40"]);
        assert_eq!(tapers("HSK-A63", false), vec!["taperhska63"]);
        assert_eq!(tapers("hsk a 63", false), vec!["taperhska63"]);
        assert_eq!(tapers("пиноль КМ5", false), vec!["taperkm5"]);
        assert_eq!(tapers("конус Морзе 4", false), vec!["taperkm4"]);
        assert!(tapers("ISO 9001, конус 1:12, 40 мм", false).is_empty());
    }

    #[test]
    fn quantities_are_canonical_and_codes_are_not_quantities() {
        assert_eq!(
            quantities("двигатель АИР 2,2 кВт 1500 об/мин IM3081, 380В"),
            vec!["2200w", "1500rpm", "380v"]
        );
        assert_eq!(quantities("servo motor 2200 W"), vec!["2200w"]);
        assert_eq!(quantities("насос 0,37 кВт"), quantities("насос 370 Вт"));
        assert_eq!(quantities("листогиб 130 т на 3 м"), vec!["130t", "3000mm"]);
        assert_eq!(
            quantities("картридж 10 микрон, 250 л/мин; муфта 40 Н·м; 8 см³/об"),
            vec!["10um", "250lpm", "40nm", "8cm3"]
        );
        // Codes, sizes and bare numbers carry no unit.
        assert!(quantities("2М55 6205-2RS 25x52x15 L=1000 VF-2 ISO 50").is_empty());
        assert!(is_quantity("380В") && is_quantity("2,2 кВт") && is_quantity("40A"));
        assert!(!is_quantity("6205-2RS") && !is_quantity("2М55") && !is_quantity("VF-2"));
        assert_eq!(quantity_token(2.2 * 1000.0, "w").as_deref(), Some("2200w"));
        assert_eq!(quantity_token(0.5, "mm").as_deref(), Some("0.5mm"));
        assert_eq!(attribute_unit("power_kw"), Some(("w", 1000.0)));
        assert_eq!(attribute_unit("length_m"), Some(("mm", 1000.0)));
        assert_eq!(attribute_unit("series"), None);
        assert_eq!(attribute_unit("axis"), None);
    }

    #[test]
    fn power_is_offered_in_the_other_unit() {
        let alt = |t: &str| {
            power_alternatives(t)
                .into_iter()
                .map(|x| x.1)
                .collect::<Vec<_>>()
        };
        assert_eq!(alt("насос 370 Вт на 380 В"), vec!["0,37 кВт"]);
        assert_eq!(alt("servo motor 1500W 380V"), vec!["1,5 кВт"]);
        assert_eq!(alt("двигатель 0,75 кВт"), vec!["750 Вт"]);
        assert_eq!(alt("мотор 2.2kW"), vec!["2200 Вт"]);
        // Large kilowatts and small watts have no useful other form; voltages are not power.
        assert!(alt("шпиндель 15 кВт, 40 Вт, 380 В").is_empty());
        assert_eq!(power_alternatives("1500 W")[0].0, "1500 W");
    }
    use proptest::prelude::*;

    #[test]
    fn codes_meet_across_punctuation_and_scripts() {
        assert_eq!(fold_code("6205-2RS"), "62052rs");
        assert_eq!(fold_code("6205 2RS"), fold_code("62052rs"));
        assert_eq!(fold_code("16К20"), fold_code("16K20"));
        assert_eq!(fold_code("ВТ40"), "bt40");
        assert_eq!(fold_code("1FK7042-5AF71"), "1fk70425af71");
        assert_ne!(fold_code("6205"), fold_code("6206"));
    }

    #[test]
    fn words_are_stemmed_per_script() {
        assert_eq!(term_for_word("подшипники"), term_for_word("подшипник"));
        assert_eq!(term_for_word("Bearings"), term_for_word("bearing"));
        assert_eq!(term_for_word("ёлка"), term_for_word("елка"));
        assert_eq!(term_for_word("16К20"), "16k20");
    }

    #[test]
    fn analysis_keeps_offsets() {
        let text = "Подшипник 6205-2RS";
        let toks = analyze(text);
        assert_eq!(toks.len(), 3);
        assert_eq!(&text[toks[0].0..toks[0].1], "Подшипник");
        assert_eq!(toks[1].2, "6205");
        assert_eq!(toks[2].2, "2rs");
    }

    #[test]
    fn gost_designations_map_to_iso() {
        assert_eq!(code_equivalents("3182118"), vec!["nn3018k"]);
        assert_eq!(code_equivalents("180205"), vec!["62052rs"]);
        assert_eq!(code_equivalents("80205"), vec!["62052z"]);
        assert_eq!(code_equivalents("7205"), vec!["30205"]);
        assert_eq!(code_equivalents(&fold_code("УБ-1400")), vec!["spb1400"]);
        assert_eq!(code_equivalents(&fold_code("Б-1600")), vec!["b1600"]);
        assert!(code_equivalents("6205").is_empty());
    }

    #[test]
    fn units_glued_to_numbers_are_split() {
        let words: Vec<&str> = split_words("мотор 380В 2кВт 6205 16К20")
            .into_iter()
            .map(|w| w.2)
            .collect();
        assert_eq!(
            words,
            vec!["мотор", "380", "В", "2", "кВт", "6205", "16К20"]
        );
    }

    #[test]
    fn a_decimal_fraction_is_one_word() {
        let words = |t: &str| -> Vec<String> { analyze(t).into_iter().map(|w| w.2).collect() };
        // `Ø1,2` is not met by a query's `2`; both marks and trailing zeros spell it alike.
        assert_eq!(words("сопло Ø1,2 мм"), words("сопло 1.20 мм"));
        assert!(!words("сопло Ø1,2 мм").contains(&"2".to_string()));
        assert_eq!(
            words("2,2кВт"),
            vec!["2,2".to_string(), term_for_word("кВт")]
        );
        // An attribute written `5.0` is the number 5; a list `1, 2` stays two numbers.
        assert_eq!(words("power kw 5.0"), words("power kw 5"));
        assert_eq!(words("1, 2"), vec!["1", "2"]);
        // A fraction is never read as the integer of its digits.
        assert_ne!(term_for_word("2,5"), term_for_word("25"));
    }

    #[test]
    fn layout_and_translit_repairs() {
        assert_eq!(layout_en_to_ru("yfcjc"), "насос");
        assert_eq!(layout_en_to_ru("yfghfdkz.ob["), "направляющих");
        assert_eq!(translit_lat_to_cyr("podshipnik"), "подшипник");
        assert_eq!(translit_lat_to_cyr("shvp"), "швп");
        assert_eq!(translit_lat_to_cyr("privodnoy"), "приводной");
        // `y` before a vowel opens a syllable; after one, before a consonant, it is `й`.
        assert_eq!(translit_lat_to_cyr("vrashchayushchiysya"), "вращающийся");
        assert_eq!(translit_lat_to_cyr("zadnyuyu"), "заднюю");
        assert_eq!(translit_lat_to_cyr("lineynykh"), "линейных");
        assert_eq!(translit_lat_to_cyr("stoyka"), "стойка");
        // Russian prepositions typed in Latin letters are stopwords like their Cyrillic selves.
        for w in ["dlya", "na", "po", "iz"] {
            assert!(is_stopword(w), "{w}");
        }
        assert!(!is_stopword("v"), "a model piece (`DMC 635 V`)");
        assert_eq!(translit_cyr_to_lat("хаас"), "haas");
    }

    #[test]
    fn fuzzy_distance_depends_on_length_and_never_on_codes() {
        assert_eq!(fuzzy_distance("вал"), 0);
        assert_eq!(fuzzy_distance("насос"), 1);
        assert_eq!(fuzzy_distance("подшибник"), 2);
        assert_eq!(fuzzy_distance("6205"), 0);
        assert_eq!(fuzzy_distance("sfu1605"), 0);
    }

    proptest! {
        #[test]
        fn fast_paths_agree_with_the_unicode_tables(s in "(\\PC|[А-Яа-яЁё]){0,40}") {
            let reference: String = s
                .chars()
                .flat_map(char::to_lowercase)
                .map(|c| if c == 'ё' { 'е' } else { c })
                .collect();
            prop_assert_eq!(normalize(&s), reference);
            for c in s.chars().chain("АЯаяЁёЖжZz09_-".chars()) {
                // The one exception: the diameter sign.
                let expected = c.is_alphanumeric() && !matches!(c, 'Ø' | 'ø');
                prop_assert_eq!(is_word_char(c), expected, "{:?}", c);
            }
        }

        #[test]
        fn fold_code_is_idempotent_and_alnum(s in "\\PC{0,40}") {
            let once = fold_code(&s);
            prop_assert_eq!(fold_code(&once), once.clone());
            prop_assert!(once.chars().all(|c| c.is_alphanumeric()));
        }

        #[test]
        fn fold_code_ignores_separators(a in "[0-9A-Z]{1,8}", b in "[0-9A-Z]{1,8}", sep in "[ ./-]{0,3}") {
            prop_assert_eq!(fold_code(&format!("{a}{sep}{b}")), fold_code(&format!("{a}{b}")));
        }

        #[test]
        fn analyze_offsets_are_char_boundaries(s in "\\PC{0,60}") {
            for (start, end, _) in analyze(&s) {
                prop_assert!(s.is_char_boundary(start) && s.is_char_boundary(end) && start < end);
            }
        }
    }
}
