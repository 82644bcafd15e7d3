pub(crate) mod byte_cursor;
pub(crate) mod bytes;
pub(super) mod hexdump;
mod parse_error;
pub(crate) mod utf16;
pub(crate) mod windows;

pub(crate) use self::byte_cursor::ByteCursor;
pub use self::hexdump::dump_stream;
pub(crate) use self::parse_error::invalid_data;
pub(crate) use self::utf16::{
    Utf16LeSlice, decode_utf16le_bytes_to_bump_str, trim_utf16le_whitespace,
};

#[cfg(feature = "wevt_templates")]
pub(crate) use self::utf16::decode_utf16le_bytes_z;
