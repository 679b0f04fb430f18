//! Shared by the encoder tests: assembling many small snippets with a GNU assembler in
//! one run and getting each snippet's bytes back, and comparing operand texts with a
//! disassembler's (numbers by value).
//!
//! Every snippet is placed between the labels `.Ls<i>` and `.Le<i>`; a `.data` table of
//! `.Le<i> - .Ls<i>` (computed by the assembler itself) splits the `.text` bytes again.
//! A snippet may contain directives that emit no bytes (`.set`), and refer to its own
//! start as `.Ls<i>`.

use std::fmt::Write as _;
use std::process::Command;

/// The tools of one target: the assembler with its arguments, and `objcopy`.
pub struct Gas<'a> {
    /// Assembler command and arguments before `-o`.
    pub as_cmd: &'a [&'a str],
    /// The `objcopy` that reads the assembler's objects.
    pub objcopy: &'a str,
    /// Lines placed before the snippets (`.arch`, …).
    pub header: &'a str,
    /// A word naming temporary files.
    pub tag: &'a str,
}

impl Gas<'_> {
    /// Assemble `snippets`, returning the bytes of each; errors carry the assembler's
    /// messages with the offending source lines.
    #[allow(dead_code)] // each test crate compiles this module; riscv64's only links
    pub fn assemble(&self, snippets: &[String]) -> Result<Vec<Vec<u8>>, String> {
        self.assemble_linked(snippets, None)
    }

    /// [`assemble`](Self::assemble), with the object first linked by `ld` (the command and
    /// its arguments before `-o`), so that relocations the assembler leaves for a linker
    /// (riscv64's PC-relative pairs and label differences) are resolved.
    pub fn assemble_linked(&self, snippets: &[String], ld: Option<&[&str]>) -> Result<Vec<Vec<u8>>, String> {
        static SEQ: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("kiln-{}-{}-{seq}", self.tag, std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let mut src = format!("{}\n.text\n", self.header);
        for (i, s) in snippets.iter().enumerate() {
            let _ = writeln!(src, ".Ls{i}:\n{s}\n.Le{i}:");
        }
        src.push_str(".data\n");
        for i in 0..snippets.len() {
            let _ = writeln!(src, ".long .Le{i} - .Ls{i}");
        }
        let s = dir.join("all.s");
        let o = dir.join("all.o");
        std::fs::write(&s, &src).map_err(|e| e.to_string())?;
        let (prog, args) = self.as_cmd.split_first().ok_or("no assembler given")?;
        let out = Command::new(prog).args(args).arg("-o").arg(&o).arg(&s).output().map_err(|e| {
            format!("cannot run `{prog}` ({e}); install binutils for the target or set KILN_SKIP_AS=1 to skip the assembler check")
        })?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            let lines: Vec<&str> = src.lines().collect();
            let mut msg = format!("{prog} failed:\n");
            // Errors first, then warnings; "all.s:LINE: Error: ..." → show the line.
            let mut errs: Vec<&str> = err.lines().filter(|l| l.contains("Error")).collect();
            errs.extend(err.lines().filter(|l| !l.contains("Error")));
            for l in errs.into_iter().take(60) {
                let _ = writeln!(msg, "{l}");
                if let Some(n) = l.split(':').nth(1).and_then(|n| n.trim().parse::<usize>().ok())
                    && let Some(t) = lines.get(n - 1)
                {
                    let _ = writeln!(msg, "    > {t}");
                }
            }
            return Err(msg);
        }
        let o = match ld {
            None => o,
            Some(ld) => {
                let elf = dir.join("all.elf");
                let (prog, args) = ld.split_first().ok_or("no linker given")?;
                let out = Command::new(prog)
                    .args(args)
                    .arg("-o")
                    .arg(&elf)
                    .arg(&o)
                    .output()
                    .map_err(|e| format!("cannot run `{prog}` ({e})"))?;
                if !out.status.success() {
                    return Err(format!("{prog} failed:\n{}", String::from_utf8_lossy(&out.stderr)));
                }
                elf
            }
        };
        let text_bin = dir.join("text.bin");
        let data_bin = dir.join("data.bin");
        for (sec, path) in [(".text", &text_bin), (".data", &data_bin)] {
            let st = Command::new(self.objcopy)
                .args(["-O", "binary", "-j", sec])
                .arg(&o)
                .arg(path)
                .status()
                .map_err(|e| format!("cannot run {} ({e})", self.objcopy))?;
            if !st.success() {
                return Err(format!("objcopy {sec} failed"));
            }
        }
        let text = std::fs::read(&text_bin).map_err(|e| e.to_string())?;
        let data = std::fs::read(&data_bin).map_err(|e| e.to_string())?;
        let _ = std::fs::remove_dir_all(&dir);
        let mut res = Vec::with_capacity(snippets.len());
        let mut off = 0usize;
        for i in 0..snippets.len() {
            let len = u32::from_le_bytes(data[4 * i..4 * i + 4].try_into().map_err(|_| "short length table")?) as usize;
            res.push(text.get(off..off + len).ok_or("short text section")?.to_vec());
            off += len;
        }
        Ok(res)
    }
}

/// A token of an instruction's operand text.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// A register, mnemonic or symbol (lowercased).
    Word(String),
    /// An integer (decimal or `0x` hex, signed).
    Num(i128),
    /// A floating-point immediate.
    Float(f64),
    /// Anything else (`,`, `(`, `[`, …); whitespace and `#` are dropped.
    Punct(char),
}

/// Split operand text into tokens.
pub fn tokenize(s: &str) -> Vec<Tok> {
    let mut v = Vec::new();
    let b: Vec<char> = s.chars().collect();
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '%' || c == '.';
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_whitespace() || c == '#' {
            i += 1;
        } else if c.is_ascii_digit() || (c == '-' && i + 1 < b.len() && b[i + 1].is_ascii_digit()) {
            let neg = c == '-';
            if neg {
                i += 1;
            }
            if b[i] == '0' && i + 1 < b.len() && b[i + 1] == 'x' {
                i += 2;
                let s2 = i;
                while i < b.len() && b[i].is_ascii_hexdigit() {
                    i += 1;
                }
                let val = i128::from_str_radix(&b[s2..i].iter().collect::<String>(), 16).unwrap_or(0);
                v.push(Tok::Num(if neg { -val } else { val }));
            } else {
                let start = i;
                let mut float = false;
                while i < b.len()
                    && (b[i].is_ascii_digit()
                        || b[i] == '.'
                        || b[i] == 'e'
                        || ((b[i] == '+' || b[i] == '-') && b[i - 1] == 'e'))
                {
                    float |= !b[i].is_ascii_digit();
                    i += 1;
                }
                let t: String = b[start..i].iter().collect();
                if float {
                    let f: f64 = t.parse().unwrap_or(f64::NAN);
                    v.push(Tok::Float(if neg { -f } else { f }));
                } else {
                    let n: i128 = t.parse().unwrap_or(0);
                    v.push(Tok::Num(if neg { -n } else { n }));
                }
            }
        } else if word(c) {
            let start = i;
            while i < b.len() && word(b[i]) {
                i += 1;
            }
            v.push(Tok::Word(b[start..i].iter().collect::<String>().to_lowercase()));
        } else {
            v.push(Tok::Punct(c));
            i += 1;
        }
    }
    v
}

/// Two integers with the same bits at 8, 16, 32 or 64 bits (disassemblers print some
/// immediates unsigned, some signed).
pub fn nums_match(a: i128, b: i128) -> bool {
    a == b
        || [8u32, 16, 32, 64].iter().any(|&bits| {
            let m = 1i128 << bits;
            a.rem_euclid(m) == b.rem_euclid(m) && a.abs() < m && b.abs() < m
        })
}

/// Do two operand texts say the same thing (numbers compared by value)?
pub fn operands_match(mine: &str, theirs: &str) -> bool {
    let (t1, t2) = (tokenize(mine), tokenize(theirs));
    t1.len() == t2.len()
        && t1.iter().zip(&t2).all(|(a, b)| match (a, b) {
            (Tok::Num(x), Tok::Num(y)) => nums_match(*x, *y),
            (Tok::Float(x), Tok::Float(y)) => x == y,
            _ => a == b,
        })
}

/// Print the failures (one per distinct beginning of `key_chars` characters of their
/// first three words, at most `max`), then panic with their number.
pub fn report_failures(failures: &[String], key_chars: usize, max: usize) {
    if failures.is_empty() {
        return;
    }
    let mut seen = std::collections::HashSet::new();
    for f in failures {
        let key: String = f.split_whitespace().take(3).collect::<Vec<_>>().join(" ");
        let key = key.chars().take(key_chars).collect::<String>();
        if seen.insert(key) && seen.len() <= max {
            eprintln!("{f}");
        }
    }
    panic!("{} encoding failures", failures.len());
}

/// A capstone disassembler for x86-64 in AT&T syntax (the syntax Kiln's printer uses).
#[allow(dead_code)]
pub fn capstone_x64_att() -> capstone::Capstone {
    use capstone::prelude::*;
    Capstone::new()
        .x86()
        .mode(arch::x86::ArchMode::Mode64)
        .syntax(arch::x86::ArchSyntax::Att)
        .build()
        .expect("capstone")
}
