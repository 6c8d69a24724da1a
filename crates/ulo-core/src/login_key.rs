//! The uniqueness key of a login, and the refusal of look-alike logins.
//!
//! Two logins that a person reads as the same must be one account: `ADMIN@ulo.example.com`,
//! its fullwidth form `ａｄｍｉｎ@ulo.example.com`, `admin@ulo.example.com` with a zero-width
//! space inside, and `strasse@…` beside `straße@…` all have one key. The key is Unicode's
//! NFKC_Casefold (compatibility caseless match, Unicode §3.13 D146, with default-ignorable
//! code points removed), computed with ICU4X. The login itself is kept as entered, for display.
//!
//! NFKC does not fold letters of other scripts that merely look alike (Cyrillic `а` beside
//! Latin `a`). Those are refused when a login is set: the local part and the domain must
//! each be written in one script, or in one of the combinations UTS #39 allows at its
//! "highly restrictive" level (Latin with Han and Japanese kana, with Han and Bopomofo, or
//! with Han and Hangul). A login wholly in another script (all Cyrillic) stays allowed: it
//! is a real name in that script, and no existing Latin login can be imitated without
//! mixing scripts.

use icu_casemap::CaseMapper;
use icu_normalizer::{ComposingNormalizerBorrowed, DecomposingNormalizerBorrowed};
use icu_properties::props::{DefaultIgnorableCodePoint, Script};
use icu_properties::script::ScriptWithExtensions;
use icu_properties::{CodePointSetData, PropertyNamesLong};

/// The key logins are compared by: NFKC_Casefold of the trimmed login. Applying it twice
/// gives the same key, so a stored key is its own key.
pub fn login_key(login: &str) -> String {
    let nfd = DecomposingNormalizerBorrowed::new_nfd();
    let nfkc = ComposingNormalizerBorrowed::new_nfkc();
    let fold = CaseMapper::new();
    let ignorable = CodePointSetData::new::<DefaultIgnorableCodePoint>();
    // D146: NFKD(toCasefold(NFKD(toCasefold(NFD(X))))), ending in NFKC instead of NFKD (the
    // two are equal exactly when the NFKD forms are) so the stored key reads naturally.
    let step = |s: &str| -> String {
        let folded = fold.fold_string(s).into_owned();
        nfkc.normalize(&folded).into_owned()
    };
    let twice = step(&step(&nfd.normalize(login.trim())));
    let key: String = twice.chars().filter(|c| !ignorable.contains(*c)).collect();
    // Dropping an ignorable can join characters that compose; normalize once more.
    nfkc.normalize(key.trim()).into_owned()
}

/// Script combinations UTS #39 §5.2 allows in one identifier at the "highly restrictive"
/// level, besides a single script.
const ALLOWED_MIXES: [&[Script]; 3] = [
    &[
        Script::Latin,
        Script::Han,
        Script::Hiragana,
        Script::Katakana,
    ],
    &[Script::Latin, Script::Han, Script::Bopomofo],
    &[Script::Latin, Script::Han, Script::Hangul],
];

/// Why a login is refused as a look-alike: the part of it that mixes scripts, with the
/// scripts' names (`None`: it is fine).
pub fn mixed_scripts(login: &str) -> Option<String> {
    let (local, domain) = login.trim().rsplit_once('@').unwrap_or((login.trim(), ""));
    for (part, what) in [(local, "the part before @"), (domain, "the domain")] {
        if let Some(names) = mixed_in(part) {
            return Some(format!(
                "{what} mixes letters of different scripts ({names})"
            ));
        }
    }
    None
}

/// The names of the scripts `part` mixes, when no single script (or allowed mix) covers it.
fn mixed_in(part: &str) -> Option<String> {
    let scripts = ScriptWithExtensions::new();
    // Each character's Script_Extensions: the scripts it is used with. Digits, punctuation
    // and combining marks (Common, Inherited) go with any script.
    let mut sets: Vec<Vec<Script>> = Vec::new();
    for c in part.chars() {
        let set: Vec<Script> = scripts
            .get_script_extensions_val(c)
            .iter()
            .filter(|s| !matches!(*s, Script::Common | Script::Inherited))
            .collect();
        if !set.is_empty() && !sets.contains(&set) {
            sets.push(set);
        }
    }
    let first = sets.first()?;
    // One script every character is used with: a single-script identifier.
    if first.iter().any(|s| sets.iter().all(|set| set.contains(s))) {
        return None;
    }
    // Every character usable in one of the allowed combinations.
    if ALLOWED_MIXES
        .iter()
        .any(|mix| sets.iter().all(|set| set.iter().any(|s| mix.contains(s))))
    {
        return None;
    }
    let names = PropertyNamesLong::<Script>::new();
    let mut seen: Vec<&str> = Vec::new();
    for s in sets.iter().filter_map(|set| set.first()) {
        let name = names.get(*s).unwrap_or("Unknown");
        if !seen.contains(&name) {
            seen.push(name);
        }
    }
    Some(seen.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn look_alikes_that_normalize_equal_share_a_key() {
        let key = login_key("admin@ulo.example.com");
        for same in [
            "admin@ulo.example.com",
            "  Admin@ULO.example.com ",
            "ADMIN@ULO.EXAMPLE.COM",
            // Fullwidth letters and at sign.
            "ａｄｍｉｎ@ulo.example.com",
            "ＡＤＭＩＮ＠ｕｌｏ.ｅｘａｍｐｌｅ.ｃｏｍ",
            // A zero-width space and a soft hyphen inside.
            "ad\u{200B}min@ulo.example.com",
            "ad\u{00AD}min@ulo.example.com",
            // Mathematical bold letters.
            "\u{1D41A}\u{1D41D}\u{1D426}\u{1D422}\u{1D427}@ulo.example.com",
        ] {
            assert_eq!(login_key(same), key, "{same:?}");
        }
        assert_eq!(
            login_key("straße@example.com"),
            login_key("STRASSE@example.com")
        );
        // A precomposed letter and its decomposed spelling.
        assert_eq!(
            login_key("jos\u{e9}@example.com"),
            login_key("jose\u{301}@example.com")
        );
        assert_ne!(login_key("admin2@ulo.example.com"), key);
    }

    #[test]
    fn the_key_is_its_own_key() {
        for login in [
            "ＡＤＭＩＮ@ulo.example.com",
            "Straße@Example.com",
            "ﬁnance@example.com",
            "Ǆ@example.com",
            "ΣΊΣΥΦΟΣ@example.gr",
        ] {
            let key = login_key(login);
            assert_eq!(login_key(&key), key, "{login:?}");
        }
    }

    #[test]
    fn logins_mixing_scripts_are_refused() {
        // Cyrillic а (U+0430) and о (U+043E) among Latin letters.
        assert!(mixed_scripts("\u{430}dmin@ulo.example.com").is_some());
        let why = mixed_scripts("admin@ul\u{43E}.example.com").expect("mixed domain");
        assert!(why.contains("domain") && why.contains("Cyrillic"), "{why}");
        // Greek ο among Latin.
        assert!(mixed_scripts("p\u{3BF}stmaster@example.com").is_some());
        for fine in [
            "admin@ulo.example.com",
            "jean-luc.o'neil+tag@example.com",
            "иван@пример.рф",
            "иван@example.com",
            "山田taro@example.jp",
            "やまだ.タロウ@example.jp",
            "jose\u{301}@example.com",
            "user_42@example.com",
            "ｆｕｌｌｗｉｄｔｈ@example.com",
        ] {
            assert_eq!(mixed_scripts(fine), None, "{fine:?}");
        }
    }
}
