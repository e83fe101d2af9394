//! Page cursors: opaque and tamper-evident. A cursor is 48 lower-case hex digits: the seq to page
//! below (u64, big-endian) and the first 16 bytes of HMAC-SHA256 over
//! `economy-audit-cursor/v1\n` ‖ those 8 bytes, keyed with the secret of the key that listed. Any
//! replica with the same `API_KEYS` opens it; an edited cursor, or one another key received, is
//! refused with 400 naming `cursor`.

use shared::message::hmac_sha256;

const CONTEXT: &[u8] = b"economy-audit-cursor/v1\n";
const MAC_BYTES: usize = 16;

fn mac(secret: &[u8], seq: [u8; 8]) -> [u8; MAC_BYTES] {
    let mut data = CONTEXT.to_vec();
    data.extend_from_slice(&seq);
    let full = hmac_sha256(secret, &data);
    let mut out = [0u8; MAC_BYTES];
    out.copy_from_slice(&full[..MAC_BYTES]);
    out
}

/// The cursor for the page below `seq`, for the key whose secret is `secret`.
pub fn issue(secret: &[u8], seq: i64) -> String {
    let seq = (seq as u64).to_be_bytes();
    let mut bytes = seq.to_vec();
    bytes.extend_from_slice(&mac(secret, seq));
    hex::encode(bytes)
}

/// The seq a cursor carries, or `None` when it is not one issued with `secret`.
pub fn open(secret: &[u8], text: &str) -> Option<i64> {
    if text.len() != 2 * (8 + MAC_BYTES) || text.bytes().any(|b| b.is_ascii_uppercase()) {
        return None;
    }
    let bytes = hex::decode(text).ok()?;
    let (seq, tag) = bytes.split_at(8);
    let seq: [u8; 8] = seq.try_into().ok()?;
    let want = mac(secret, seq);
    // Constant time: every byte is compared whatever the first difference.
    let diff = want.iter().zip(tag).fold(0u8, |acc, (a, b)| acc | (a ^ b));
    let n = i64::try_from(u64::from_be_bytes(seq)).ok()?;
    (diff == 0 && n > 0).then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_any_edit() {
        let key = [7u8; 32];
        let c = issue(&key, 41);
        assert_eq!(c.len(), 48);
        assert_eq!(open(&key, &c), Some(41));
        assert_eq!(open(&[8u8; 32], &c), None, "another key's cursor");
        for i in 0..c.len() {
            let mut edited = c.clone().into_bytes();
            edited[i] = if edited[i] == b'0' { b'1' } else { b'0' };
            let edited = String::from_utf8(edited).unwrap();
            assert_eq!(open(&key, &edited), None, "edit at {i}");
        }
        for bad in ["", "41", &c[..46], &c.to_uppercase(), &format!("{c}00")] {
            assert_eq!(open(&key, bad), None, "{bad}");
        }
    }
}
