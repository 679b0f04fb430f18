//! The CLIF writer: prints a [`Function`] in the canonical text form of REFERENCE §3.13.
//!
//! The output is a fixed point of parse-then-print: printing, parsing the text and printing
//! again gives the same text. Value aliases are printed right after the definition of
//! their target; constant operands are listed in a trailing comment (`; v2 = 5`).
//!
//! [`DisplayFunction::cranelift_style`] prints as Cranelift's printer does where the two
//! differ: Cranelift prints the user name of a global-value symbol without the function's
//! name table, as `userextnameK` (its index in the table), which loses the name (`u8:9`);
//! `test cat` accepts either form so that Cranelift's own `test cat` files pass.

use crate::dfg::ValueDef;
use crate::entities::*;
use crate::extname::ExternalName;
use crate::function::{Function, GlobalValueData};
use crate::immediates::{Ieee128, Imm64};
use crate::instructions::{ExceptionItem, InstructionData};
use crate::opcodes::Opcode;
use crate::types::Type;
use core::fmt::{self, Write};

/// Displays a function in canonical CLIF.
pub struct DisplayFunction<'a> {
    func: &'a Function,
    cranelift_style: bool,
}

impl<'a> DisplayFunction<'a> {
    /// Wrap `func`.
    pub fn new(func: &'a Function) -> Self {
        DisplayFunction { func, cranelift_style: false }
    }

    /// Print user names of global-value symbols as Cranelift does (`userextnameK`). The
    /// text does not read back when such a name is not also used by an external function.
    pub fn cranelift_style(self) -> Self {
        DisplayFunction { cranelift_style: true, ..self }
    }
}

impl fmt::Display for DisplayFunction<'_> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write_function_styled(f, self.func, self.cranelift_style)
    }
}

/// Write `func` to `w`.
pub fn write_function(w: &mut dyn Write, func: &Function) -> fmt::Result {
    write_function_styled(w, func, false)
}

fn write_function_styled(w: &mut dyn Write, func: &Function, cranelift_style: bool) -> fmt::Result {
    let aliases = alias_map(func);
    write!(w, "function ")?;
    write!(w, "{}{} {{", func.name, func.signature)?;
    writeln!(w)?;
    let mut any = write_preamble(w, func, cranelift_style)?;
    let wide = func.layout.blocks().any(|b| {
        func.layout
            .block_insts(b)
            .any(|i| !func.srclocs[i].is_default() || func.debug_tags.get(&i).is_some_and(|t| !t.is_empty()))
    });
    let (block_indent, inst_indent) = if wide { (32, 36) } else { (0, 4) };
    for block in func.layout.blocks() {
        if any {
            writeln!(w)?;
        }
        any = true;
        write_block_header(w, func, block, block_indent)?;
        for &p in func.dfg.block_params(block) {
            write_aliases(w, &aliases, p, inst_indent)?;
        }
        for inst in func.layout.block_insts(block) {
            write_instruction(w, func, inst, inst_indent)?;
            for &r in func.dfg.inst_results(inst) {
                write_aliases(w, &aliases, r, inst_indent)?;
            }
        }
    }
    writeln!(w, "}}")
}

/// Map from a value to the values that are direct aliases of it.
fn alias_map(func: &Function) -> std::collections::HashMap<Value, Vec<Value>> {
    let mut m: std::collections::HashMap<Value, Vec<Value>> = std::collections::HashMap::new();
    for v in func.dfg.values() {
        if let Some(t) = func.dfg.alias_target(v) {
            m.entry(t).or_default().push(v);
        }
    }
    m
}

fn write_aliases(
    w: &mut dyn Write,
    aliases: &std::collections::HashMap<Value, Vec<Value>>,
    target: Value,
    indent: usize,
) -> fmt::Result {
    // Depth-first with an explicit stack: alias chains may be arbitrarily long.
    let Some(list) = aliases.get(&target) else { return Ok(()) };
    let mut stack: Vec<(Value, Value)> = list.iter().rev().map(|&a| (a, target)).collect();
    while let Some((a, t)) = stack.pop() {
        writeln!(w, "{:indent$}{a} -> {t}", "")?;
        if let Some(more) = aliases.get(&a) {
            stack.extend(more.iter().rev().map(|&b| (b, a)));
        }
    }
    Ok(())
}

fn write_preamble(w: &mut dyn Write, func: &Function, cranelift_style: bool) -> Result<bool, fmt::Error> {
    let mut any = false;
    let ph = &func.placeholders;
    for (k, d) in func.dynamic_stack_slots.iter() {
        if !ph.dynamic_stack_slots.contains(k) {
            writeln!(w, "    {k} = explicit_dynamic_slot {}", d.dyn_ty)?;
            any = true;
        }
    }
    for (k, d) in func.stack_slots.iter() {
        if !ph.stack_slots.contains(k) {
            writeln!(w, "    {k} = {d}")?;
            any = true;
        }
    }
    for (k, d) in func.alias_regions.iter() {
        writeln!(w, "    {k} = {} \"{}\"", d.id, d.name)?;
        any = true;
    }
    for (k, d) in func.global_values.iter() {
        if !ph.global_values.contains(k) {
            write!(w, "    {k} = ")?;
            write_global_value(w, func, d, cranelift_style)?;
            writeln!(w)?;
            any = true;
        }
    }
    for (k, d) in func.dynamic_types.iter() {
        if !ph.dynamic_types.contains(k) {
            writeln!(w, "    {k} = {}*{}", d.base_vector_ty, d.dynamic_scale)?;
            any = true;
        }
    }
    for (k, s) in func.dfg.signatures.iter() {
        if !ph.signatures.contains(k) {
            writeln!(w, "    {k} = {s}")?;
            any = true;
        }
    }
    for (k, e) in func.dfg.ext_funcs.iter() {
        if !ph.func_refs.contains(k) {
            write!(w, "    {k} = ")?;
            if e.colocated {
                write!(w, "colocated ")?;
            }
            if e.patchable {
                write!(w, "patchable ")?;
            }
            write_external_name(w, func, &e.name)?;
            writeln!(w, " {}", e.signature)?;
            any = true;
        }
    }
    for (k, c) in func.dfg.constants.iter() {
        if !ph.constants.contains(k) {
            writeln!(w, "    {k} = {c}")?;
            any = true;
        }
    }
    if let Some(gv) = func.stack_limit {
        writeln!(w, "    stack_limit = {gv}")?;
        any = true;
    }
    Ok(any)
}

/// Write an external name (`%foo`, `u1:2`, `%CeilF32`).
pub fn write_external_name(w: &mut dyn Write, func: &Function, name: &ExternalName) -> fmt::Result {
    match name {
        ExternalName::User(r) => match func.user_named_funcs.get(*r) {
            Some(u) => write!(w, "{u}"),
            None => write!(w, "{r}"),
        },
        ExternalName::TestCase(s) => write!(w, "%{s}"),
        ExternalName::LibCall(l) => write!(w, "{l}"),
        ExternalName::KnownSymbol(k) => write!(w, "{k}"),
    }
}

fn write_signed_imm(w: &mut dyn Write, imm: Imm64) -> fmt::Result {
    if imm.0 >= 0 { write!(w, "+{imm}") } else { write!(w, "{imm}") }
}

fn write_global_value(w: &mut dyn Write, func: &Function, d: &GlobalValueData, cranelift_style: bool) -> fmt::Result {
    match d {
        GlobalValueData::VMContext => write!(w, "vmctx"),
        GlobalValueData::Load { base, offset, global_type, flags } => {
            write!(w, "load.{global_type}{flags} {base}{offset}")
        }
        GlobalValueData::IAddImm { base, offset, global_type } => {
            write!(w, "iadd_imm.{global_type} {base}, {offset}")
        }
        GlobalValueData::Symbol { name, offset, colocated, tls } => {
            write!(w, "symbol ")?;
            if *colocated {
                write!(w, "colocated ")?;
            }
            if *tls {
                write!(w, "tls ")?;
            }
            match name {
                ExternalName::User(r) if cranelift_style => write!(w, "{r}")?,
                _ => write_external_name(w, func, name)?,
            }
            if offset.0 != 0 {
                // After `uN:M` a `-` would continue the number token of M: separate it.
                if matches!(name, ExternalName::User(_)) && offset.0 < 0 {
                    write!(w, " ")?;
                }
                write_signed_imm(w, *offset)?;
            }
            Ok(())
        }
        GlobalValueData::DynScaleTargetConst { vector_type } => write!(w, "dyn_scale_target_const.{vector_type}"),
    }
}

fn write_block_header(w: &mut dyn Write, func: &Function, block: Block, indent: usize) -> fmt::Result {
    write!(w, "{:indent$}{block}", "")?;
    let params = func.dfg.block_params(block);
    if !params.is_empty() {
        write!(w, "(")?;
        for (i, &p) in params.iter().enumerate() {
            if i > 0 {
                write!(w, ", ")?;
            }
            write!(w, "{p}: ")?;
            write_type(w, func, func.dfg.value_type(p))?;
        }
        write!(w, ")")?;
    }
    if func.layout.is_cold(block) {
        write!(w, " cold")?;
    }
    writeln!(w, ":")
}

/// The `.T` suffix an instruction needs in canonical text, if any.
pub fn type_suffix(func: &Function, inst: Inst) -> Option<Type> {
    let op = func.dfg.opcode(inst);
    if !op.is_polymorphic() {
        return None;
    }
    if let Some(v) = func.dfg.typevar_operand(inst) {
        // The suffix may be omitted when the reader can infer it: the operand is defined
        // earlier in the same block (a parameter, or a result of a preceding instruction)
        // and is not an alias.
        let block = func.layout.inst_block(inst);
        let earlier_in_block = match func.dfg.value_def(v) {
            Some(ValueDef::Result(i, _)) => {
                block.is_some() && func.layout.inst_block(i) == block && func.layout.cmp_insts(i, inst).is_lt()
            }
            Some(ValueDef::Param(b, _)) => block == Some(b),
            None => false,
        };
        if earlier_in_block && !func.dfg.value_is_alias(v) {
            return None;
        }
    }
    let t = func.dfg.ctrl_typevar(inst);
    (!t.is_invalid()).then_some(t)
}

/// Write a type suffix, naming dynamic types by their declaration (`.dt0`).
fn write_suffix(w: &mut dyn Write, func: &Function, t: Type) -> fmt::Result {
    write!(w, ".")?;
    write_type(w, func, t)
}

/// Write a type, naming dynamic types by their (first non-placeholder) declaration.
fn write_type(w: &mut dyn Write, func: &Function, t: Type) -> fmt::Result {
    if t.is_dynamic_vector() {
        let base = t.dynamic_to_vector();
        if let Some((dt, _)) = func
            .dynamic_types
            .iter()
            .find(|(k, d)| Some(d.base_vector_ty) == base && !func.placeholders.dynamic_types.contains(*k))
        {
            return write!(w, "{dt}");
        }
    }
    write!(w, "{t}")
}

/// Write one instruction line (with its indentation and trailing constant comment).
pub fn write_instruction(w: &mut dyn Write, func: &Function, inst: Inst, indent: usize) -> fmt::Result {
    let mut prefix = String::new();
    if let Some(tags) = func.debug_tags.get(&inst)
        && !tags.is_empty()
    {
        prefix.push('<');
        for (i, t) in tags.iter().enumerate() {
            if i > 0 {
                prefix.push_str(", ");
            }
            write!(prefix, "{t}")?;
        }
        prefix.push_str("> ");
    }
    let loc = func.srclocs[inst];
    if !loc.is_default() {
        write!(prefix, "{loc} ")?;
    }
    write!(w, "{prefix:indent$}")?;
    let results = func.dfg.inst_results(inst);
    if !results.is_empty() {
        for (i, r) in results.iter().enumerate() {
            if i > 0 {
                write!(w, ", ")?;
            }
            write!(w, "{r}")?;
        }
        write!(w, " = ")?;
    }
    let op = func.dfg.opcode(inst);
    write!(w, "{op}")?;
    if let Some(t) = type_suffix(func, inst) {
        write_suffix(w, func, t)?;
    }
    write_operands(w, func, inst)?;
    if let Some(entries) = func.stack_maps.get(&inst)
        && !entries.is_empty()
    {
        write!(w, ", stack_map=[")?;
        for (i, e) in entries.iter().enumerate() {
            if i > 0 {
                write!(w, ", ")?;
            }
            write!(w, "{} @ {}+{}", e.ty, e.slot, e.offset)?;
        }
        write!(w, "]")?;
    }
    write_constant_comment(w, func, inst)?;
    writeln!(w)
}

/// Write the operands of `inst` (everything after the opcode and suffix).
pub fn write_operands(w: &mut dyn Write, func: &Function, inst: Inst) -> fmt::Result {
    use InstructionData::*;
    let dfg = &func.dfg;
    let pool = &dfg.value_lists;
    let data = &dfg.insts[inst];
    let flags = |id| dfg.mem_flags.get(id);
    match *data {
        NullAry { .. } => Ok(()),
        Unary { arg, .. } => write!(w, " {arg}"),
        UnaryImm { imm, .. } => {
            let bits = dfg.first_result(inst).map_or(64, |r| dfg.value_type(r).bits());
            write!(w, " {}", imm.sign_extend_from(bits))
        }
        UnaryIeee16 { imm, .. } => write!(w, " {imm}"),
        UnaryIeee32 { imm, .. } => write!(w, " {imm}"),
        UnaryIeee64 { imm, .. } => write!(w, " {imm}"),
        UnaryConst { opcode: Opcode::F128const, constant, .. } => match dfg.constants.get(constant) {
            Some(c) if c.len() == 16 => write!(w, " {}", Ieee128(c.as_u128())),
            _ => write!(w, " {constant}"),
        },
        UnaryConst { constant, .. } => write!(w, " {constant}"),
        UnaryGlobalValue { global_value, .. } => write!(w, " {global_value}"),
        Binary { args, .. } => write!(w, " {}, {}", args[0], args[1]),
        BinaryImm8 { arg, imm, .. } => write!(w, " {arg}, {imm}"),
        Ternary { args, .. } => write!(w, " {}, {}, {}", args[0], args[1], args[2]),
        TernaryImm8 { args, imm, .. } => write!(w, " {}, {}, {imm}", args[0], args[1]),
        MultiAry { args, .. } => {
            let a = args.as_slice(pool);
            if !a.is_empty() {
                write!(w, " ")?;
                write_value_list(w, a)?;
            }
            Ok(())
        }
        Shuffle { args, mask, .. } => {
            write!(w, " {}, {}, ", args[0], args[1])?;
            match dfg.immediates.get(mask) {
                Some(m) => write!(w, "{m}"),
                None => write!(w, "{mask}"),
            }
        }
        IntCompare { cond, args, .. } => write!(w, " {cond} {}, {}", args[0], args[1]),
        FloatCompare { cond, args, .. } => write!(w, " {cond} {}, {}", args[0], args[1]),
        IntAddTrap { args, code, .. } => write!(w, " {}, {}, {code}", args[0], args[1]),
        Jump { destination, .. } => write!(w, " {}", destination.display(pool)),
        Brif { arg, blocks, .. } => {
            write!(w, " {arg}, {}, {}", blocks[0].display(pool), blocks[1].display(pool))
        }
        BranchTable { arg, table, .. } => {
            let jt = &dfg.jump_tables[table];
            write!(w, " {arg}, {}, [", jt.default_block().display(pool))?;
            for (i, e) in jt.as_slice().iter().enumerate() {
                if i > 0 {
                    write!(w, ", ")?;
                }
                write!(w, "{}", e.display(pool))?;
            }
            write!(w, "]")
        }
        Call { func_ref, args, .. } => {
            write!(w, " {func_ref}(")?;
            write_value_list(w, args.as_slice(pool))?;
            write!(w, ")")
        }
        CallIndirect { sig_ref, args, .. } => {
            let a = args.as_slice(pool);
            write!(w, " {sig_ref}, {}(", a.first().map_or(String::new(), |v| v.to_string()))?;
            write_value_list(w, a.get(1..).unwrap_or(&[]))?;
            write!(w, ")")
        }
        TryCall { func_ref, args, exception, .. } => {
            write!(w, " {func_ref}(")?;
            write_value_list(w, args.as_slice(pool))?;
            write!(w, "), ")?;
            write_exception_table(w, func, exception)
        }
        TryCallIndirect { args, exception, .. } => {
            let a = args.as_slice(pool);
            write!(w, " {}(", a.first().map_or(String::new(), |v| v.to_string()))?;
            write_value_list(w, a.get(1..).unwrap_or(&[]))?;
            write!(w, "), ")?;
            write_exception_table(w, func, exception)
        }
        FuncAddr { func_ref, .. } => write!(w, " {func_ref}"),
        StackAddr { stack_slot, offset, .. } => write!(w, " {stack_slot}{offset}"),
        DynamicStackAddr { dynamic_stack_slot, .. } => write!(w, " {dynamic_stack_slot}"),
        Load { flags: fl, arg, offset, .. } => write!(w, "{} {arg}{offset}", flags(fl)),
        Store { flags: fl, args, offset, .. } => write!(w, "{} {}, {}{offset}", flags(fl), args[0], args[1]),
        LoadNoOffset { flags: fl, arg, .. } => write!(w, "{} {arg}", flags(fl)),
        StoreNoOffset { flags: fl, args, .. } => write!(w, "{} {}, {}", flags(fl), args[0], args[1]),
        AtomicRmw { flags: fl, op, args, .. } => write!(w, "{} {op} {}, {}", flags(fl), args[0], args[1]),
        AtomicCas { flags: fl, args, .. } => write!(w, "{} {}, {}, {}", flags(fl), args[0], args[1], args[2]),
        Trap { code, .. } => write!(w, " {code}"),
        CondTrap { arg, code, .. } => write!(w, " {arg}, {code}"),
        ExceptionHandlerAddress { block, imm, .. } => write!(w, " {block}, {imm}"),
    }
}

fn write_value_list(w: &mut dyn Write, vals: &[Value]) -> fmt::Result {
    for (i, v) in vals.iter().enumerate() {
        if i > 0 {
            write!(w, ", ")?;
        }
        write!(w, "{v}")?;
    }
    Ok(())
}

fn write_exception_table(w: &mut dyn Write, func: &Function, et: ExceptionTable) -> fmt::Result {
    let pool = &func.dfg.value_lists;
    let data = &func.dfg.exception_tables[et];
    write!(w, "{}, {}, [", data.sig, data.normal_return().display(pool))?;
    let mut first = true;
    for (item, target) in data.items_with_targets() {
        write!(w, "{}", if first { " " } else { ", " })?;
        first = false;
        match (item, target) {
            (ExceptionItem::Tag(t), Some(b)) => write!(w, "tag{t}: {}", b.display(pool))?,
            (ExceptionItem::Default, Some(b)) => write!(w, "default: {}", b.display(pool))?,
            (ExceptionItem::Context(v), _) => write!(w, "context {v}")?,
            _ => write!(w, "?")?,
        }
    }
    if !first {
        write!(w, " ")?;
    }
    write!(w, "]")
}

/// The text of a constant-producing instruction's immediate, for the trailing comment.
fn constant_text(func: &Function, src: Inst, v: Value) -> Option<String> {
    let dfg = &func.dfg;
    Some(match *dfg.insts.get(src)? {
        InstructionData::UnaryImm { imm, .. } => imm.sign_extend_from(dfg.value_type(v).bits()).to_string(),
        InstructionData::UnaryIeee16 { imm, .. } => imm.to_string(),
        InstructionData::UnaryIeee32 { imm, .. } => imm.to_string(),
        InstructionData::UnaryIeee64 { imm, .. } => imm.to_string(),
        InstructionData::UnaryConst { opcode: Opcode::F128const, constant, .. } => match dfg.constants.get(constant) {
            Some(c) if c.len() == 16 => Ieee128(c.as_u128()).to_string(),
            _ => constant.to_string(),
        },
        InstructionData::UnaryConst { constant, .. } => constant.to_string(),
        _ => return None,
    })
}

fn write_constant_comment(w: &mut dyn Write, func: &Function, inst: Inst) -> fmt::Result {
    let mut sep = "  ; ";
    let mut err = Ok(());
    func.dfg.for_each_inst_value(inst, |v| {
        if err.is_err() {
            return;
        }
        if let Some(ValueDef::Result(src, _)) = func.dfg.value_def(v)
            && let Some(text) = constant_text(func, src, v)
        {
            err = write!(w, "{sep}{v} = {text}");
            sep = ", ";
        }
    });
    err
}

/// Display helper for a single instruction (without indentation or newline), for
/// diagnostics.
pub fn inst_to_string(func: &Function, inst: Inst) -> String {
    let mut s = String::new();
    let _ = write_instruction(&mut s, func, inst, 0);
    while s.ends_with('\n') {
        s.pop();
    }
    s
}
