//! The seed-compatible facade: the ten operations of the APICloud `wxFacePay` module.
//! The logic lives in `facepay-facade` (no JNI, also driven by the simulator's seed
//! apps); this module only names it for the bridge and the session.

pub use facepay_facade::{Answer, Call, Facade, Op, Operation, Params, Route, Token, Value, parse, refusal_code};
