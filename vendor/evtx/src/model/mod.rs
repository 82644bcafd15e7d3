pub mod ir;
pub mod ir_visit;
