//! `test verifier` (REFERENCE §4.13): run the verifier and compare its errors with the
//! `error:` annotations of the function.
//!
//! An annotation is a comment whose text, after its leading `;` and blanks, starts with
//! `error:`; the rest (trimmed) must be a substring of the message of one verifier error
//! located at the entity the comment is attached to, or match it as a regular expression
//! (what Cranelift's runner does; its patterns are mostly plain text). The test passes iff the annotations
//! can be matched to *distinct* errors (a maximum bipartite matching, so the order of
//! annotations and errors does not matter) and no error is left unmatched. The verifier
//! gets the file's settings and its target when there is exactly one (§4.5).

use crate::subtest::{Failure, TestContext, TestKind, TestResult, comment_body, no_options};
use kiln_ir::entities::AnyEntity;
use kiln_ir::function::Function;
use kiln_ir::text::{Details, Location, TestCommand};
use kiln_ir::verifier::{VerifierContext, VerifierError, verify_function};

/// The `verifier` test.
pub struct Verifier;

/// Build `test verifier` (no options).
pub fn make(command: &TestCommand) -> Result<Box<dyn TestKind>, String> {
    no_options(command)?;
    Ok(Box::new(Verifier))
}

/// An `error:` annotation.
struct Annotation<'a> {
    entity: AnyEntity,
    text: &'a str,
    regex: Option<regex::Regex>,
    location: Location,
}

fn annotations(details: &Details) -> Vec<Annotation<'_>> {
    details
        .comments
        .iter()
        .filter_map(|c| {
            let rest = comment_body(&c.text).strip_prefix("error:")?;
            let text = rest.trim();
            Some(Annotation { entity: c.entity, text, regex: regex::Regex::new(text).ok(), location: c.location })
        })
        .collect()
}

fn matches(a: &Annotation, e: &VerifierError) -> bool {
    a.entity == e.location && (e.message.contains(a.text) || a.regex.as_ref().is_some_and(|r| r.is_match(&e.message)))
}

/// A maximum matching between annotations and errors (Kuhn's augmenting paths; both sides
/// are small). Returns, per error, the annotation matched to it.
fn match_all(anns: &[Annotation], errors: &[VerifierError]) -> Vec<Option<usize>> {
    fn augment(
        a: usize,
        anns: &[Annotation],
        errors: &[VerifierError],
        seen: &mut [bool],
        owner: &mut [Option<usize>],
    ) -> bool {
        for (e, err) in errors.iter().enumerate() {
            if seen[e] || !matches(&anns[a], err) {
                continue;
            }
            seen[e] = true;
            let free = match owner[e] {
                None => true,
                Some(other) => augment(other, anns, errors, seen, owner),
            };
            if free {
                owner[e] = Some(a);
                return true;
            }
        }
        false
    }
    let mut owner = vec![None; errors.len()];
    let mut seen = vec![false; errors.len()];
    for a in 0..anns.len() {
        seen.iter_mut().for_each(|s| *s = false);
        augment(a, anns, errors, &mut seen, &mut owner);
    }
    owner
}

impl TestKind for Verifier {
    fn name(&self) -> &'static str {
        "verifier"
    }

    fn needs_verifier(&self) -> bool {
        false
    }

    fn run(&self, ctx: &TestContext, func: &Function, details: &Details) -> TestResult {
        let anns = annotations(details);
        let vctx = VerifierContext { flags: ctx.flags, target: ctx.target };
        let errors = match verify_function(func, &vctx) {
            Ok(()) => Vec::new(),
            Err(e) => e.0,
        };
        let owner = match_all(&anns, &errors);
        let mut matched = vec![false; anns.len()];
        for a in owner.iter().flatten() {
            matched[*a] = true;
        }
        let mut failures = Vec::new();
        for ann in anns.iter().zip(&matched).filter(|(_, m)| !**m).map(|(a, _)| a) {
            let mut msg = format!("expected error at {}: {}", ann.entity, ann.text);
            let here: Vec<&VerifierError> = errors.iter().filter(|e| e.location == ann.entity).collect();
            if here.is_empty() {
                msg.push_str(&format!(" (no error reported at {})", ann.entity));
            } else {
                msg.push_str(&format!("; errors reported at {}:", ann.entity));
                for e in here {
                    msg.push_str(&format!("\n    {e}"));
                }
            }
            failures.push(Failure::at(ann.location, msg));
        }
        for err in errors.iter().zip(&owner).filter(|(_, o)| o.is_none()).map(|(e, _)| e) {
            let location = details.map.location(err.location).unwrap_or(details.location);
            failures.push(Failure::at(location, format!("unexpected verifier error: {err}")));
        }
        if failures.is_empty() { Ok(()) } else { Err(failures.into()) }
    }
}
