//! Unit tests of the verifier: one or more per rule, on functions built through the DFG and layout API.
