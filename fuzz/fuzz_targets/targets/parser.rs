//! The CLIF parser on arbitrary text: never panics; whatever parses prints to text that
//! parses again to the same printed form (print(parse(t)) is canonical).
#![no_main]
use kiln_ir::text::{ParseOptions, parse_functions, parse_test};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = parse_test(text, &ParseOptions::default());
    let Ok(funcs) = parse_functions(text) else { return };
    for f in funcs {
        let printed = f.display().to_string();
        let again = match parse_functions(&printed) {
            Ok(mut v) if v.len() == 1 => v.pop().unwrap(),
            Ok(v) => panic!("printed function reparses as {} functions:\n{printed}", v.len()),
            Err(e) => panic!("printed function does not parse: {e}\n{printed}"),
        };
        let reprinted = again.display().to_string();
        assert_eq!(printed, reprinted, "print(parse(print(f))) differs");
    }
});
