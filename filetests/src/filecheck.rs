//! FileCheck: match the text a test produces against `check:`-style directives
//! (REFERENCE §4.11).
//!
//! Directives are collected from comment lines (`check`, `sameln`, `nextln`, `unordered`,
//! `not`, `regex`), compiled to regular expressions once variables are known, and matched
//! in order against the whole output. Each pattern is literal text with `$` escapes:
//! `$$`, `$()`, `$(=RX)`, `$V`/`$(V)`, `$(V=RX)`, `$(V=$R)`. Invariants: matches of
//! ordered directives never go backwards; `not:` patterns are checked on the gap between
//! the surrounding positive matches.

use regex::Regex;
use std::collections::HashMap;
use std::fmt::Write;

/// The kind of a directive.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum Kind {
    /// Match after the previous match.
    Check,
    /// Match on the same line as the previous match.
    SameLn,
    /// Match on the line after the previous match.
    NextLn,
    /// Match in any order with the neighbouring `unordered` directives.
    Unordered,
    /// Must not match between the surrounding matches.
    Not,
    /// Define a regex variable.
    Regex,
}

/// One directive.
#[derive(Clone, Debug)]
pub struct Directive {
    /// Its kind.
    pub kind: Kind,
    /// The pattern text (for `regex:`, `NAME=RX`).
    pub pattern: String,
}

/// A list of directives ready to match.
#[derive(Clone, Debug, Default)]
pub struct Checker {
    directives: Vec<Directive>,
}

fn directive_regex() -> &'static Regex {
    use std::sync::OnceLock;
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"\b(check|sameln|nextln|unordered|not|regex):\s+(.*)$").expect("valid regex"))
}

impl Checker {
    /// An empty checker.
    pub fn new() -> Self {
        Self::default()
    }

    /// Scan one comment line for a directive and add it. Returns whether one was found.
    pub fn add_line(&mut self, line: &str) -> Result<bool, String> {
        let Some(c) = directive_regex().captures(line) else { return Ok(false) };
        let kind = match &c[1] {
            "check" => Kind::Check,
            "sameln" => Kind::SameLn,
            "nextln" => Kind::NextLn,
            "unordered" => Kind::Unordered,
            "not" => Kind::Not,
            _ => Kind::Regex,
        };
        let pattern = c[2].trim().to_string();
        if kind == Kind::Regex {
            let Some((name, rx)) = pattern.split_once('=') else {
                return Err(format!("regex directive needs NAME=REGEX: {pattern}"));
            };
            if !is_ident(name) {
                return Err(format!("invalid regex variable name '{name}'"));
            }
            Regex::new(rx).map_err(|e| format!("invalid regex for {name}: {e}"))?;
        }
        self.directives.push(Directive { kind, pattern });
        Ok(true)
    }

    /// Add every line of `text`.
    pub fn add_text(&mut self, text: &str) -> Result<(), String> {
        for line in text.lines() {
            self.add_line(line)?;
        }
        Ok(())
    }

    /// Are there directives (other than `regex:` definitions)?
    pub fn is_empty(&self) -> bool {
        self.directives.iter().all(|d| d.kind == Kind::Regex)
    }

    /// Match `text`. On failure the error explains which directive failed and shows the
    /// text around the position.
    pub fn check(&self, text: &str) -> Result<(), String> {
        Matcher::new(text).run(&self.directives)
    }
}

fn is_ident(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(ch) if ch.is_ascii_alphabetic() || ch == '_')
        && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
}

#[derive(Clone, Debug)]
enum Var {
    Text(String),
    Regex(String),
}

/// A compiled pattern: the regex and the variables it binds, by capture-group name.
struct Compiled {
    regex: Regex,
    binds: Vec<String>,
}

struct Matcher<'t> {
    text: &'t str,
    vars: HashMap<String, Var>,
    /// Where each variable was bound (end of the defining match).
    var_pos: HashMap<String, usize>,
}

impl<'t> Matcher<'t> {
    fn new(text: &'t str) -> Self {
        Matcher { text, vars: HashMap::new(), var_pos: HashMap::new() }
    }

    /// Translate a pattern into a regex, resolving variables in the current environment.
    fn compile(&self, pat: &str) -> Result<(Compiled, Vec<String>), String> {
        let mut rx = String::new();
        let mut binds = Vec::new();
        let mut uses = Vec::new();
        let bytes = pat.as_bytes();
        let mut i = 0;
        let mut lit = String::new();
        let flush = |lit: &mut String, rx: &mut String| {
            rx.push_str(&regex::escape(lit));
            lit.clear();
        };
        // Word boundaries at the ends when the pattern begins/ends with a word character.
        if pat.chars().next().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            rx.push_str(r"\b");
        }
        while i < bytes.len() {
            if bytes[i] != b'$' {
                let ch = pat[i..].chars().next().unwrap_or('\0');
                lit.push(ch);
                i += ch.len_utf8().max(1);
                continue;
            }
            flush(&mut lit, &mut rx);
            i += 1;
            match bytes.get(i) {
                Some(b'$') => {
                    rx.push_str(r"\$");
                    i += 1;
                }
                Some(b'(') => {
                    // Find the matching ')', honouring nesting.
                    let start = i + 1;
                    let mut depth = 1;
                    let mut j = start;
                    while j < bytes.len() && depth > 0 {
                        match bytes[j] {
                            b'\\' => j += 1,
                            b'(' => depth += 1,
                            b')' => depth -= 1,
                            _ => {}
                        }
                        j += 1;
                    }
                    if depth != 0 {
                        return Err(format!("unterminated $( in pattern: {pat}"));
                    }
                    let inner = &pat[start..j - 1];
                    i = j;
                    if inner.is_empty() {
                        continue;
                    }
                    if let Some(r) = inner.strip_prefix('=') {
                        write!(rx, "(?:{r})").ok();
                    } else if let Some((name, def)) = inner.split_once('=') {
                        if !is_ident(name) {
                            return Err(format!("invalid variable name '{name}' in: {pat}"));
                        }
                        let body = if let Some(rname) = def.strip_prefix('$') {
                            match self.vars.get(rname) {
                                Some(Var::Regex(r)) => r.clone(),
                                Some(Var::Text(_)) | None => {
                                    return Err(format!("${rname} is not a regex variable in: {pat}"));
                                }
                            }
                        } else {
                            def.to_string()
                        };
                        let group = format!("b{}", binds.len());
                        write!(rx, "(?P<{group}>{body})").ok();
                        binds.push(name.to_string());
                    } else if is_ident(inner) {
                        rx.push_str(&self.var_regex(inner, pat)?);
                        uses.push(inner.to_string());
                    } else {
                        return Err(format!("invalid $({inner}) in pattern: {pat}"));
                    }
                }
                Some(c) if c.is_ascii_alphabetic() || *c == b'_' => {
                    let start = i;
                    while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                        i += 1;
                    }
                    let name = &pat[start..i];
                    rx.push_str(&self.var_regex(name, pat)?);
                    uses.push(name.to_string());
                }
                _ => return Err(format!("invalid '$' in pattern: {pat}")),
            }
        }
        let ends_word = !lit.is_empty() && lit.chars().last().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        flush(&mut lit, &mut rx);
        if ends_word {
            rx.push_str(r"\b");
        }
        let regex = regex::RegexBuilder::new(&rx)
            .multi_line(true)
            .build()
            .map_err(|e| format!("invalid pattern {pat}: {e}"))?;
        Ok((Compiled { regex, binds }, uses))
    }

    fn var_regex(&self, name: &str, pat: &str) -> Result<String, String> {
        match self.vars.get(name) {
            Some(Var::Text(t)) => Ok(regex::escape(t)),
            Some(Var::Regex(r)) => Ok(format!("(?:{r})")),
            None => Err(format!("undefined variable ${name} in: {pat}")),
        }
    }

    /// Find `c` in `text[from..to]`; returns (start, end) and binds its variables.
    fn find(&mut self, c: &Compiled, from: usize, to: usize) -> Option<(usize, usize)> {
        let hay = &self.text[..to];
        let caps = c.regex.captures_at(hay, from)?;
        let m = caps.get(0)?;
        for (k, name) in c.binds.iter().enumerate() {
            if let Some(g) = caps.name(&format!("b{k}")) {
                self.vars.insert(name.clone(), Var::Text(g.as_str().to_string()));
                self.var_pos.insert(name.clone(), m.end());
            }
        }
        Some((m.start(), m.end()))
    }

    fn line_end(&self, pos: usize) -> usize {
        self.text[pos..].find('\n').map_or(self.text.len(), |n| pos + n)
    }

    fn line_start(&self, pos: usize) -> usize {
        self.text[..pos].rfind('\n').map_or(0, |n| n + 1)
    }

    fn context(&self, pos: usize) -> String {
        let start = self.line_start(pos.min(self.text.len()));
        let mut out = String::new();
        for (k, line) in self.text[start..].lines().take(6).enumerate() {
            let _ = writeln!(out, "{}{line}", if k == 0 { "  > " } else { "    " });
        }
        out
    }

    fn run(mut self, directives: &[Directive]) -> Result<(), String> {
        let text_len = self.text.len();
        // Position after the last ordered match, and the start of that match's line.
        let mut pos = 0usize;
        let mut last_match: Option<(usize, usize)> = None;
        let mut pending_not: Vec<&Directive> = Vec::new();
        let mut i = 0;
        while i < directives.len() {
            let d = &directives[i];
            match d.kind {
                Kind::Regex => {
                    if let Some((name, rx)) = d.pattern.split_once('=') {
                        self.vars.insert(name.to_string(), Var::Regex(rx.to_string()));
                    }
                    i += 1;
                }
                Kind::Not => {
                    pending_not.push(d);
                    i += 1;
                }
                Kind::Unordered => {
                    // A group of consecutive unordered directives.
                    let mut group = Vec::new();
                    while i < directives.len() && directives[i].kind == Kind::Unordered {
                        group.push(&directives[i]);
                        i += 1;
                    }
                    let base = pos;
                    let mut max_end = pos;
                    let mut first_start = text_len;
                    for g in group {
                        let (c, uses) = self.compile(&g.pattern)?;
                        let from = uses.iter().filter_map(|u| self.var_pos.get(u)).copied().fold(base, usize::max);
                        match self.find(&c, from, text_len) {
                            Some((s, e)) => {
                                max_end = max_end.max(e);
                                first_start = first_start.min(s);
                            }
                            None => {
                                return Err(format!(
                                    "unordered: {} not found after:\n{}",
                                    g.pattern,
                                    self.context(base)
                                ));
                            }
                        }
                    }
                    self.check_nots(&mut pending_not, pos, first_start.min(max_end))?;
                    last_match = Some((first_start, max_end));
                    pos = max_end;
                }
                Kind::Check | Kind::SameLn | Kind::NextLn => {
                    let (c, _) = self.compile(&d.pattern)?;
                    let (from, to) = match d.kind {
                        Kind::Check => (pos, text_len),
                        Kind::SameLn => match last_match {
                            Some(_) => (pos, self.line_end(pos)),
                            None => (0, self.line_end(0)),
                        },
                        _ => {
                            let here = last_match.map_or(0, |(_, e)| e);
                            let nl = self.line_end(here);
                            if nl >= text_len {
                                return Err(format!(
                                    "nextln: {} has no next line after:\n{}",
                                    d.pattern,
                                    self.context(here)
                                ));
                            }
                            (nl + 1, self.line_end(nl + 1))
                        }
                    };
                    match self.find(&c, from, to) {
                        Some((s, e)) => {
                            self.check_nots(&mut pending_not, pos, s)?;
                            last_match = Some((s, e));
                            pos = e;
                        }
                        None => {
                            let what = match d.kind {
                                Kind::Check => "check",
                                Kind::SameLn => "sameln",
                                _ => "nextln",
                            };
                            return Err(format!("{what}: {} not found after:\n{}", d.pattern, self.context(from)));
                        }
                    }
                    i += 1;
                }
            }
        }
        self.check_nots(&mut pending_not, pos, text_len)
    }

    fn check_nots(&mut self, nots: &mut Vec<&Directive>, from: usize, to: usize) -> Result<(), String> {
        for d in nots.drain(..) {
            let (c, _) = self.compile(&d.pattern)?;
            if !c.binds.is_empty() {
                return Err(format!("not: may not define variables: {}", d.pattern));
            }
            let hay = &self.text[..to.max(from)];
            if let Some(m) = c.regex.find_at(hay, from) {
                return Err(format!("not: {} matched:\n{}", d.pattern, self.context(m.start())));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(directives: &str, text: &str) -> Result<(), String> {
        let mut c = Checker::new();
        c.add_text(directives)?;
        c.check(text)
    }

    #[test]
    fn check_in_order() {
        let text = "one two\nthree four\nfive\n";
        assert!(run("; check: two\n; check: four", text).is_ok());
        assert!(run("; check: four\n; check: two", text).is_err());
        assert!(run("; check: tw", text).is_err(), "word boundary at the end");
        assert!(run("; check: tw$()", text).is_ok(), "$() suppresses the boundary");
    }

    #[test]
    fn sameln_and_nextln() {
        let text = "a = iadd b, c\nreturn a\n";
        assert!(run("; check: iadd\n; sameln: b, c\n; nextln: return", text).is_ok());
        assert!(run("; check: iadd\n; sameln: return", text).is_err());
        assert!(run("; check: iadd\n; nextln: iadd", text).is_err());
    }

    #[test]
    fn not_between_matches() {
        let text = "start\nbad\nend\n";
        assert!(run("; check: start\n; not: bad\n; check: end", text).is_err());
        assert!(run("; check: start\n; not: worse\n; check: end", text).is_ok());
        assert!(run("; check: bad\n; not: start", text).is_ok(), "not only looks after the previous match");
        assert!(run("; check: start\n; not: end", text).is_err(), "trailing not runs to the end");
    }

    #[test]
    fn variables() {
        let text = "v1 = iconst.i32 7\nv2 = iadd v1, v1\n";
        assert!(run("; check: $(x=v\\d+) = iconst\n; check: iadd $x, $x", text).is_ok());
        assert!(run("; check: $(x=v\\d+) = iconst\n; check: iadd $x, v2", text).is_err());
        assert!(run("; regex: V=v\\d+\n; check: $(y=$V) = iadd $V, $V", text).is_ok());
        assert!(run("; check: $$", "costs $5").is_ok());
        assert!(run("; check: iconst.$(=i\\d+) 7", text).is_ok());
        assert!(run("; check: $undefined", text).is_err());
    }

    #[test]
    fn unordered_groups() {
        let text = "b\na\nc\n";
        assert!(run("; unordered: a\n; unordered: b\n; check: c", text).is_ok());
        assert!(run("; check: a\n; unordered: b\n", text).is_err());
    }

    #[test]
    fn directive_recognition() {
        let mut c = Checker::new();
        assert_eq!(c.add_line(";check: x"), Ok(true));
        assert_eq!(c.add_line("; do not: y"), Ok(true), "unanchored, as the reference says");
        assert_eq!(c.add_line("; check:x"), Ok(false), "a space after the colon is required");
        assert_eq!(c.add_line("; nothing here"), Ok(false));
        assert!(c.add_line("; regex: bad").is_err());
    }
}
