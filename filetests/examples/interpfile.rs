//! Development aid: run the `; run:` lines of files with the interpreter.
use kiln_ir::interp::{InterpConfig, Interpreter};
use kiln_ir::text::runcommand::{Comparison, RunCommand, parse_run_command};
use kiln_ir::text::{ParseOptions, parse_test};

fn main() {
    let (mut pass, mut fail) = (0, 0);
    for path in std::env::args().skip(1) {
        let text = std::fs::read_to_string(&path).unwrap();
        let tf = parse_test(&text, &ParseOptions::default()).unwrap();
        let funcs: Vec<_> = tf.functions.iter().map(|(f, _)| f.clone()).collect();
        let mut interp = Interpreter::new(&funcs, InterpConfig::default());
        for (i, (f, d)) in tf.functions.iter().enumerate() {
            for c in &d.comments {
                let Ok(Some(RunCommand::Run { invocation, comparison, expected })) =
                    parse_run_command(&c.text, &f.signature)
                else {
                    continue;
                };
                match interp.call(i, &invocation.args) {
                    Ok(got) if (got == expected) == (comparison == Comparison::Equals) => pass += 1,
                    r => {
                        fail += 1;
                        println!("{path}:{}: {} -> {r:?}", c.location.line, c.text.trim());
                    }
                }
            }
        }
    }
    println!("{pass} passed, {fail} failed");
}
