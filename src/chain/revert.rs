//! Revert data, decoded for people: `Error(string)` gives its message, `Panic(uint256)` its
//! code, anything else (a custom error) its 4-byte selector and length.

use alloy_sol_types::{Panic, Revert, SolError};

/// The reason in a revert's return data; `None` for empty data (a bare `revert()`).
pub fn decode(data: &[u8]) -> Option<String> {
    if data.is_empty() {
        return None;
    }
    if let Ok(r) = Revert::abi_decode(data) {
        return Some(r.reason);
    }
    if let Ok(p) = Panic::abi_decode(data) {
        return Some(format!("panic code {:#x}", p.code));
    }
    Some(match data.get(..4) {
        Some(sel) => format!(
            "custom error 0x{} ({} bytes of data)",
            hex::encode(sel),
            data.len()
        ),
        None => format!("undecodable revert data 0x{}", hex::encode(data)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::U256;

    #[test]
    fn decodes_error_string_panic_and_custom_errors() {
        let data = Revert::from("condition not prepared yet").abi_encode();
        assert_eq!(&data[..4], &[0x08, 0xc3, 0x79, 0xa0]);
        assert_eq!(decode(&data).as_deref(), Some("condition not prepared yet"));
        let p = Panic {
            code: U256::from(0x11),
        }
        .abi_encode();
        assert_eq!(decode(&p).as_deref(), Some("panic code 0x11"));
        assert_eq!(
            decode(&[0xde, 0xad, 0xbe, 0xef]).as_deref(),
            Some("custom error 0xdeadbeef (4 bytes of data)")
        );
        assert_eq!(decode(&[]), None);
    }
}
