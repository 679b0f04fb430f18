//! CLIF text: the writer (canonical printing) and the reader (lexer, parser, filetest
//! headers and run commands).

pub mod writer;
